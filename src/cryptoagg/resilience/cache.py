"""A TTL cache with single-flight loading, stale-while-revalidate and stale-if-error.

- Concurrent misses for one key share one loader call, so a thousand clients asking the same
  thing cost one upstream call per TTL.
- Past `refresh_after_s` (the soft TTL) a hit starts one background refresh; the request
  that started it waits up to `revalidate_wait_s` for it, so a refresh that ends quickly
  (with a new value, or with a failure) is what that request sees. Other hits are served at
  once. Past `ttl_s` the value is no longer served without a successful load.
- Staleness is decided here, once: a value is `stale` as soon as a refresh that should have
  replaced it has failed (`Cached.error` says why), or while a refresh has been running for
  longer than `overdue_s` (its deadline). A value being refreshed within its deadline is not.
- A stale value is served while it is younger than `stale_if_error_s`; after that a request
  loads as on a miss, and the error propagates if that fails too.
Entries are bounded (least recently used go first); the clock is injected so tests never sleep.

With a shared tier (`SharedLoads`: REDIS_URL, `resilience/shared_cache.py`) a load first asks
the other replicas: a value one of them loaded is taken with its age, so N replicas with a
cold cache make one upstream call; hits stay in this process.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import structlog

T = TypeVar("T")

Clock = Callable[[], float]
log = structlog.get_logger("cryptoagg.cache")


@dataclass(frozen=True, slots=True)
class SharedCounts:
    """What a shared tier did since start (for /metrics)."""

    #: values taken from the other replicas' loads
    hits: int
    #: loads made here for every replica (holding the key's lock)
    loads: int
    #: loads made for this replica alone (Redis down, or a lock wait given up)
    alone: int
    #: polls while another replica held the key's lock
    waits: int


class SharedLoads(Protocol):
    """A tier the replicas share: `load` answers the value and its age (seconds)."""

    def counts(self) -> SharedCounts: ...

    async def load(
        self,
        key: str,
        loader: Callable[[], Awaitable[Any]],
        *,
        fresh_s: float,
        ttl_s: float,
        accept_s: float,
    ) -> tuple[Any, float]: ...


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    value: T
    stored_at: float
    hit: bool
    stale: bool = False
    age_s: float = 0.0
    #: why a stale value is stale: the failed refresh's error (None: fresh, or a refresh
    #: running past its deadline)
    error: BaseException | None = None


@dataclass(slots=True)
class _Entry:
    value: Any
    stored_at: float
    expires_at: float
    #: the last refresh of this value failed with this (until a refresh replaces the value)
    failed: BaseException | None = None
    #: when the refresh now running started
    refreshing_since: float | None = None


class TTLCache:
    def __init__(
        self,
        max_entries: int = 4096,
        clock: Clock = time.monotonic,
        shared: SharedLoads | None = None,
    ) -> None:
        self.shared = shared
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[_Entry]] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._max = max_entries
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self.stale_served = 0

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: str) -> Cached[Any] | None:
        """The stored entry even when expired, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = self.clock() - entry.stored_at
        expired = entry.expires_at <= self.clock()
        return Cached(entry.value, entry.stored_at, True, expired, age, entry.failed)

    def _store(self, key: str, value: Any, ttl_s: float, age_s: float = 0.0) -> _Entry:
        stored_at = self.clock() - age_s
        entry = _Entry(value, stored_at, stored_at + ttl_s)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return entry

    async def _load(
        self,
        key: str,
        ttl_s: float,
        loader: Callable[[], Awaitable[Any]],
        fresh_s: float,
        accept_s: float,
    ) -> _Entry:
        """Load once for every concurrent caller of `key` (and, with a shared tier, for
        every replica: a shared value younger than `fresh_s` is taken, or younger than
        `accept_s` while another replica refreshes it).

        The load runs as its own task: a caller that is cancelled (its request hit its
        deadline) stops waiting, but neither cancels the load the others wait for nor hands
        them its cancellation; the value is still stored for the next request."""
        task = self._inflight.get(key)
        if task is None:
            shared = self.shared

            async def load() -> _Entry:
                if shared is None or ttl_s <= 0:
                    return self._store(key, await loader(), ttl_s)
                value, age_s = await shared.load(
                    key, loader, fresh_s=fresh_s, ttl_s=ttl_s, accept_s=accept_s
                )
                return self._store(key, value, ttl_s, age_s)

            task = asyncio.create_task(load(), name=f"load:{key}")
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._loaded(key, done))
        return await asyncio.shield(task)

    def _loaded(self, key: str, task: asyncio.Task[_Entry]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: waiters re-raise it, nobody else must

    def _refresh_in_background(
        self,
        key: str,
        entry: _Entry,
        ttl_s: float,
        loader: Callable[[], Awaitable[Any]],
        fresh_s: float,
    ) -> asyncio.Task[None] | None:
        """Start refreshing `entry` (None: a load or refresh of `key` already runs)."""
        if key in self._inflight or key in self._refreshing:
            return None
        entry.refreshing_since = self.clock()

        async def refresh() -> None:
            try:
                # a shared value as old as this one is no refresh: wait for a fresher one
                await self._load(key, ttl_s, loader, fresh_s, fresh_s)
            except Exception as exc:
                entry.failed = exc
                log.info("background_refresh_failed", key=key, error=type(exc).__name__)
            finally:
                entry.refreshing_since = None

        task = asyncio.create_task(refresh(), name=f"refresh:{key}")
        self._refreshing[key] = task
        task.add_done_callback(lambda _t: self._refreshing.pop(key, None))
        return task

    def _serve(self, entry: _Entry, now: float, overdue_s: float) -> Cached[Any]:
        """A hit on a live entry: fresh, or stale with the reason."""
        age = now - entry.stored_at
        if entry.failed is not None:
            self.stale_served += 1
            return Cached(entry.value, entry.stored_at, True, True, age, entry.failed)
        since = entry.refreshing_since
        overdue = since is not None and now - since > overdue_s
        if overdue:
            self.stale_served += 1
        return Cached(entry.value, entry.stored_at, True, overdue, age)

    async def get_or_load(
        self,
        key: str,
        ttl_s: float,
        loader: Callable[[], Awaitable[T]],
        *,
        refresh_after_s: float | None = None,
        stale_if_error_s: float = 0.0,
        revalidate_wait_s: float = 0.0,
        overdue_s: float = math.inf,
    ) -> Cached[T]:
        now = self.clock()
        fresh_s = ttl_s if refresh_after_s is None else refresh_after_s
        entry = self._entries.get(key)
        servable = entry is not None and (
            entry.failed is None or now - entry.stored_at <= stale_if_error_s
        )
        if entry is not None and entry.expires_at > now and servable:
            self.hits += 1
            self._entries.move_to_end(key)
            if refresh_after_s is not None and now - entry.stored_at >= refresh_after_s:
                started = self._refresh_in_background(key, entry, ttl_s, loader, fresh_s)
                if started is not None and entry.failed is None and revalidate_wait_s > 0:
                    # the first request after the TTL sees a quick refresh's outcome
                    await asyncio.wait({started}, timeout=revalidate_wait_s)
                    current = self._entries.get(key)
                    if current is not None and current is not entry:
                        age = self.clock() - current.stored_at
                        return Cached(current.value, current.stored_at, True, False, age)
                    now = self.clock()
            return self._serve(entry, now, overdue_s)
        shared = key in self._inflight
        try:
            loaded = await self._load(key, ttl_s, loader, fresh_s, ttl_s)
        except Exception as exc:
            if entry is not None and now - entry.stored_at <= stale_if_error_s:
                entry.failed = exc
                self.stale_served += 1
                return Cached(entry.value, entry.stored_at, True, True, now - entry.stored_at, exc)
            raise
        if shared:
            self.hits += 1
        else:
            self.misses += 1
        return Cached(
            loaded.value, loaded.stored_at, shared, False, self.clock() - loaded.stored_at
        )

    async def aclose(self) -> None:
        """Cancel background refreshes and loads (shutdown)."""
        tasks: list[asyncio.Task[Any]] = [*self._refreshing.values(), *self._inflight.values()]
        for task in tasks:
            task.cancel()
        # a load that failed while being cancelled has nobody left to tell
        await asyncio.gather(*tasks, return_exceptions=True)
