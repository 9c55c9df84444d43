"""The leader lock as a Redis lease with a fencing token (LEADER_LOCK=redis).

For deployments where a PostgreSQL session lock cannot be held (a pooler in transaction
mode hands each statement to any server session). The lease is one key holding
`<token>:<owner>` with a TTL of LEADER_LEASE_S:

- taking it is one Lua script: if the key is free, INCR the fencing counter and SET the key
  (the SET NX PX of the classic recipe, made atomic with the token), so every term of
  leadership has a token larger than all before it;
- the leader renews it (`held`, every lease / 3 and before each job run) with a
  compare-and-renew script: PEXPIRE only while the key still holds our `<token>:<owner>`;
- releasing is compare-and-delete, so a leader never deletes its successor's lease.

A leader that cannot reach Redis keeps the lease only until its own deadline: the send
time of its last successful renewal plus the lease, minus `margin` for clock drift. The key
in Redis lives at least that long, so no other process can hold it while this one still
believes it does. While Redis is down nobody can take the lease: collection pauses, serving
does not.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import structlog
from redis.asyncio import Redis

from cryptoagg.resilience.redis_link import RedisLink

log = structlog.get_logger("cryptoagg.collectors")

#: KEYS: lease, fence counter; ARGV: owner, ttl ms. Returns the token (0: held by another).
ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':', 1, true)
  if sep and string.sub(current, sep + 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(current, 1, sep - 1))
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return token
"""

#: KEYS: lease; ARGV: "<token>:<owner>", ttl ms. 1 when renewed, 0 when no longer ours.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

#: KEYS: lease; ARGV: "<token>:<owner>". 1 when deleted.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLease:
    """One process's side of the lease (`owner` is random per process)."""

    kind = "redis"

    def __init__(
        self,
        link: RedisLink,
        lease_s: float,
        *,
        name: str = "leader",
        margin: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.lease_ms = int(lease_s * 1000)
        self.key = link.key(name)
        self.fence_key = link.key(name, "fence")
        self.owner = uuid.uuid4().hex
        self.margin = margin
        self.clock = clock
        self._token: int | None = None
        #: monotonic deadline of the lease as this process must assume it
        self._until = 0.0
        self._acquire = link.script(ACQUIRE)
        self._renew = link.script(RENEW)
        self._release = link.script(RELEASE)

    @property
    def token(self) -> int | None:
        return self._token

    @property
    def _value(self) -> str:
        return f"{self._token}:{self.owner}"

    def _extend(self, sent_at: float) -> None:
        self._until = sent_at + self.lease_ms / 1000 * (1 - self.margin)

    async def try_acquire(self) -> bool:
        if self._token is not None:
            return await self.held()
        sent_at = self.clock()

        async def take(client: Redis) -> int:
            args: list[str | int] = [self.owner, self.lease_ms]
            keys = [self.key, self.fence_key]
            return int(await self._acquire(keys=keys, args=args, client=client))

        token = await self.link.run(take, lambda: 0)
        if token <= 0:
            return False
        self._token = token
        self._extend(sent_at)
        return True

    async def held(self) -> bool:
        """Renew the lease; when Redis does not answer, ours until the local deadline."""
        if self._token is None:
            return False
        sent_at = self.clock()

        async def renew(client: Redis) -> int:
            args: list[str | int] = [self._value, self.lease_ms]
            return int(await self._renew(keys=[self.key], args=args, client=client))

        def unknown() -> int:
            return -1

        answer = await self.link.run(renew, unknown)
        if answer == 1:
            self._extend(sent_at)
            return True
        if answer == -1 and self.clock() < self._until:
            return True
        log.warning("leader_lease_lost", token=self._token, redis_up=self.link.up)
        self._token = None
        return False

    async def release(self) -> None:
        if self._token is None:
            return
        value, self._token = self._value, None

        async def drop(client: Redis) -> int:
            return int(await self._release(keys=[self.key], args=[value], client=client))

        await self.link.run(drop, lambda: 0)  # unreachable: it expires on its own
