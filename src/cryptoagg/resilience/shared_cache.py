"""The response cache's shared tier: cached values in Redis, with single-flight across
replicas.

Each replica keeps its own `TTLCache` (a hit never leaves the process); only when it would
call a loader (a miss, or a refresh past the soft TTL) does it come here:

1. a value in Redis young enough is taken as it is, with its age (so `age_s`, staleness and
   the TTLs mean the same on every replica);
2. otherwise the replica takes the key's lock (`SET NX PX`, a lease of `lease_s`, so a
   replica that dies while loading holds nobody up for longer), calls the loader, writes the
   value for the hard TTL and releases the lock (only its own: compare-and-delete);
3. a replica that finds the lock taken polls for the value the holder writes, and gives up
   after the lease (then it loads itself). On a miss it takes an older value still within
   its hard TTL at once instead of waiting, as the local cache does (stale-while-revalidate).

When the holder's load fails with `NoProviderAvailable`, it leaves the error in Redis for a
moment, and the waiters raise the same error instead of each trying the providers again;
the local cache then applies stale-if-error as it does to its own failures.

Redis down (`RedisLink.up` false, or an error on the way): the loader is called locally, as
without Redis. A value the codec cannot write (`Unshareable`) is loaded and kept locally.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import orjson
import structlog
from redis.asyncio import Redis

from cryptoagg.core.errors import NoProviderAvailable
from cryptoagg.resilience.cache import SharedCounts
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.resilience.shared_codec import Undecodable, Unshareable, ValueCodec

log = structlog.get_logger("cryptoagg.cache.shared")

#: delete the lock only if it is still ours (a lease that ran out may be someone else's now)
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SharedTier:
    def __init__(
        self,
        link: RedisLink,
        codec: ValueCodec,
        *,
        lease_s: float = 15.0,
        poll_s: float = 0.02,
        error_keep_s: float = 2.0,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.codec = codec
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.error_keep_s = error_keep_s
        self._wall = wall
        self._clock = clock
        self._release = link.script(RELEASE)
        self._unshareable: set[str] = set()
        #: values taken from Redis, loads made for every replica, loads made alone (Redis
        #: down or the lease given up), polls while another replica held the lock
        self.shared_hits = 0
        self.loads = 0
        self.local_loads = 0
        self.waits = 0

    def counts(self) -> SharedCounts:
        return SharedCounts(self.shared_hits, self.loads, self.local_loads, self.waits)

    async def load(
        self,
        key: str,
        loader: Callable[[], Awaitable[Any]],
        *,
        fresh_s: float,
        ttl_s: float,
        accept_s: float,
    ) -> tuple[Any, float]:
        """The value of `key` and its age: from Redis when younger than `fresh_s` (or
        `accept_s` while another replica refreshes it), else loaded here once for every
        replica and kept in Redis for `ttl_s`."""
        if not self.link.up or key in self._unshareable:
            return await self._alone(loader)
        data, lock, err = self._keys(key)
        token = uuid.uuid4().hex
        started = self._wall()
        give_up = self._clock() + self.lease_s
        delay = self.poll_s
        while True:
            found = await self.link.run(lambda c: _read(c, data, err), lambda: None)
            if found is None:
                return await self._alone(loader)
            entry = self._entry(key, found[0])
            if entry is not None and entry[1] < fresh_s:
                self.shared_hits += 1
                return entry
            self._raise_if_failed(found[1], started)
            taken = await self.link.run(lambda c: _lock(c, lock, token, self.lease_s), lambda: None)
            if taken is None:
                return await self._alone(loader)
            if taken:
                # another replica may have stored a value and unlocked between the read
                # above and the lock: read once more before calling upstream
                again = await self.link.run(lambda c: _read(c, data, err), lambda: None)
                fresh = self._entry(key, again[0]) if again is not None else None
                if fresh is not None and fresh[1] < fresh_s:
                    await self._unlock(lock, token)
                    self.shared_hits += 1
                    return fresh
                return await self._load_for_all(key, loader, token, ttl_s)
            if entry is not None and entry[1] < accept_s:
                self.shared_hits += 1
                return entry
            if self._clock() >= give_up:
                log.info("shared_lock_given_up", key=key)
                return await self._alone(loader)
            self.waits += 1
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    async def _load_for_all(
        self, key: str, loader: Callable[[], Awaitable[Any]], token: str, ttl_s: float
    ) -> tuple[Any, float]:
        data, lock, err = self._keys(key)
        self.loads += 1
        try:
            value = await loader()
        except NoProviderAvailable as exc:
            await self._store_error(err, exc)  # before the unlock: a waiter sees one of them
            await self._unlock(lock, token)
            raise
        except BaseException:
            await self._unlock(lock, token)
            raise
        try:
            blob = orjson.dumps({"at": self._wall(), "v": self.codec.encode(value)})
        except Unshareable as exc:
            self._unshareable.add(key)
            log.warning("cache_value_unshareable", key=key, error=str(exc))
            await self._unlock(lock, token)
            return value, 0.0
        await self.link.run(lambda c: c.set(data, blob, px=_ms(ttl_s)), lambda: None)
        await self._unlock(lock, token)
        return value, 0.0

    async def _store_error(self, err: str, exc: NoProviderAvailable) -> None:
        body = {
            "at": self._wall(),
            "capability": exc.capability,
            "reasons": exc.reasons,
            "retry_after_s": exc.retry_after_s,
        }
        await self.link.run(
            lambda c: c.set(err, orjson.dumps(body), px=_ms(self.error_keep_s)), lambda: None
        )

    def _raise_if_failed(self, raw: bytes | None, started: float) -> None:
        """Raise the error a holder left since this load began."""
        if raw is None:
            return
        try:
            body = orjson.loads(raw)
            if body["at"] < started:
                return
            error = NoProviderAvailable(
                str(body["capability"]), dict(body["reasons"]), body["retry_after_s"]
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return
        raise error

    async def _unlock(self, lock: str, token: str) -> None:
        await self.link.run(
            lambda c: self._release(keys=[lock], args=[token], client=c), lambda: None
        )

    def _entry(self, key: str, raw: bytes | None) -> tuple[Any, float] | None:
        if raw is None:
            return None
        try:
            body = orjson.loads(raw)
            value = self.codec.decode(body["v"])
            age = max(0.0, self._wall() - float(body["at"]))
        except (Undecodable, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("cache_value_undecodable", key=key, error=f"{type(exc).__name__}")
            return None
        return value, age

    async def _alone(self, loader: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
        self.local_loads += 1
        return await loader(), 0.0

    def _keys(self, key: str) -> tuple[str, str, str]:
        return (
            self.link.key("cache", key),
            self.link.key("cache-lock", key),
            self.link.key("cache-err", key),
        )


async def _read(client: Redis, data: str, err: str) -> tuple[bytes | None, bytes | None]:
    """The value and a holder's error, in one round trip (the link's client never decodes
    responses, so both are bytes)."""
    value, error = await client.mget(data, err)
    return cast(bytes | None, value), cast(bytes | None, error)


async def _lock(client: Redis, lock: str, token: str, lease_s: float) -> bool:
    return bool(await client.set(lock, token, nx=True, px=_ms(lease_s)))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
