"""A TTL cache with single-flight loading.

Concurrent misses for one key share one loader call, so a thousand clients asking the same
thing cost one upstream call per TTL. Entries are bounded (least recently used go first).
The clock is injected so tests never sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    value: T
    stored_at: float
    hit: bool

    def age_s(self, now: float) -> float:
        return max(0.0, now - self.stored_at)


@dataclass(slots=True)
class _Entry:
    value: Any
    stored_at: float
    expires_at: float


class TTLCache:
    def __init__(self, max_entries: int = 4096, clock: Clock = time.monotonic) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[_Entry]] = {}
        self._max = max_entries
        self.clock = clock
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: str) -> Cached[Any] | None:
        """The stored entry even when expired (for stale-if-error), or None."""
        entry = self._entries.get(key)
        return Cached(entry.value, entry.stored_at, True) if entry else None

    def _fresh(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry.expires_at <= self.clock():
            return None
        self._entries.move_to_end(key)
        return entry

    def _store(self, key: str, value: Any, ttl_s: float) -> _Entry:
        now = self.clock()
        entry = _Entry(value, now, now + ttl_s)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return entry

    async def get_or_load(
        self, key: str, ttl_s: float, loader: Callable[[], Awaitable[T]]
    ) -> Cached[T]:
        entry = self._fresh(key)
        if entry is not None:
            self.hits += 1
            return Cached(entry.value, entry.stored_at, True)
        pending = self._inflight.get(key)
        if pending is not None:
            self.hits += 1
            shared = await asyncio.shield(pending)
            return Cached(shared.value, shared.stored_at, True)
        self.misses += 1
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            entry = self._store(key, value, ttl_s)
            future.set_result(entry)
            return Cached(value, entry.stored_at, False)
        finally:
            del self._inflight[key]
