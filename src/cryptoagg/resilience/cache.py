"""A TTL cache with single-flight loading, stale-while-revalidate and stale-if-error.

- Concurrent misses for one key share one loader call, so a thousand clients asking the same
  thing cost one upstream call per TTL.
- Past `refresh_after_s` (the soft TTL) a hit is served at once and one background refresh
  starts; past `ttl_s` the value is no longer served fresh.
- When loading fails, the last good value is served flagged `stale` if it is younger than
  `stale_if_error_s`; otherwise the error propagates.
Entries are bounded (least recently used go first); the clock is injected so tests never sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog

T = TypeVar("T")

Clock = Callable[[], float]
log = structlog.get_logger("cryptoagg.cache")


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    value: T
    stored_at: float
    hit: bool
    stale: bool = False
    age_s: float = 0.0


@dataclass(slots=True)
class _Entry:
    value: Any
    stored_at: float
    expires_at: float


class TTLCache:
    def __init__(self, max_entries: int = 4096, clock: Clock = time.monotonic) -> None:
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
        return Cached(entry.value, entry.stored_at, True, entry.expires_at <= self.clock(), age)

    def _store(self, key: str, value: Any, ttl_s: float) -> _Entry:
        now = self.clock()
        entry = _Entry(value, now, now + ttl_s)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return entry

    async def _load(self, key: str, ttl_s: float, loader: Callable[[], Awaitable[Any]]) -> _Entry:
        """Load once for every concurrent caller of `key`.

        The load runs as its own task: a caller that is cancelled (its request hit its
        deadline) stops waiting, but neither cancels the load the others wait for nor hands
        them its cancellation; the value is still stored for the next request."""
        task = self._inflight.get(key)
        if task is None:

            async def load() -> _Entry:
                return self._store(key, await loader(), ttl_s)

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
        self, key: str, ttl_s: float, loader: Callable[[], Awaitable[Any]]
    ) -> None:
        if key in self._inflight or key in self._refreshing:
            return

        async def refresh() -> None:
            try:
                await self._load(key, ttl_s, loader)
            except Exception as exc:
                log.info("background_refresh_failed", key=key, error=type(exc).__name__)

        task = asyncio.create_task(refresh(), name=f"refresh:{key}")
        self._refreshing[key] = task
        task.add_done_callback(lambda _t: self._refreshing.pop(key, None))

    async def get_or_load(
        self,
        key: str,
        ttl_s: float,
        loader: Callable[[], Awaitable[T]],
        *,
        refresh_after_s: float | None = None,
        stale_if_error_s: float = 0.0,
    ) -> Cached[T]:
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at > now:
            self.hits += 1
            self._entries.move_to_end(key)
            age = now - entry.stored_at
            if refresh_after_s is not None and age >= refresh_after_s:
                self._refresh_in_background(key, ttl_s, loader)
            return Cached(entry.value, entry.stored_at, True, False, age)
        shared = key in self._inflight
        try:
            loaded = await self._load(key, ttl_s, loader)
        except Exception:
            if entry is not None and now - entry.stored_at <= stale_if_error_s:
                self.stale_served += 1
                return Cached(entry.value, entry.stored_at, True, True, now - entry.stored_at)
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
