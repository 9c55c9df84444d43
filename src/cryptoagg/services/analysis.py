"""Market analysis as a use case: stored candles in, indicators out, each result stored.

An analysis covers the `window` newest closed candles. Missing ones are fetched first through
`HistoryService.fill`, within the caller's upstream-call budget; a partial rollup counts as
missing (the fill asks for the provider's own candle) and is never computed on. A stored
analysis of the same asset, interval and window (and method version) is reused while no newer
candle has closed since it was computed, so at most for one interval; concurrent requests for
the same analysis wait for one computation instead of each filling and computing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from cryptoagg.core.analysis import METHOD_VERSION, MIN_CANDLES, analyse
from cryptoagg.core.assets import Asset
from cryptoagg.core.candles import complete, floor_time, last_closed
from cryptoagg.core.errors import NotEnoughCandles
from cryptoagg.core.models import Candle, Interval
from cryptoagg.resilience.cpu import CpuLimiter
from cryptoagg.services.history import HistoryService
from cryptoagg.storage.analysis import AnalysisRepository, StoredAnalysis

log = structlog.get_logger("cryptoagg.analysis")

Key = tuple[str, Interval, int]


@dataclass(frozen=True, slots=True)
class AnalysisReport:
    analysis: StoredAnalysis
    #: served from `market_analysis` without recomputing
    reused: bool
    #: candles fetched from providers for this analysis
    backfilled: int = 0

    @property
    def result(self) -> dict[str, Any]:
        return self.analysis.result


class AnalysisService:
    def __init__(
        self,
        history: HistoryService,
        repo: AnalysisRepository,
        clock: Callable[[], datetime] | None = None,
        retention: timedelta = timedelta(days=30),
        limiter: CpuLimiter | None = None,
    ) -> None:
        self.history = history
        self.repo = repo
        self.clock = clock or history.ctx.clock
        self.retention = retention
        #: the shared CPU limiter (None: a plain worker thread, as in unit tests)
        self.limiter = limiter
        self._locks: dict[Key, tuple[asyncio.Lock, int]] = {}
        self._pruned_at: datetime | None = None

    @contextlib.asynccontextmanager
    async def _exclusive(self, key: Key) -> AsyncIterator[None]:
        """One computation per key at a time; the lock lives only while someone holds or
        waits for it (the keys are unbounded: every asset, interval and window)."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def span(self, interval: Interval, window: int) -> tuple[datetime, datetime]:
        """Open times of the first and last of the `window` newest closed candles."""
        end = last_closed(self.clock(), interval)
        return end - interval.delta * (window - 1), end

    async def analyse(
        self, asset: Asset, interval: Interval, window: int, *, max_calls: int
    ) -> AnalysisReport:
        """The analysis of `asset`'s newest `window` closed candles (NotEnoughCandles when
        fewer than the indicators need are stored, even after filling)."""
        async with self._exclusive((asset.id, interval, window)):
            now = self.clock()
            stored = await asyncio.to_thread(
                self.repo.latest, asset.id, interval, window, METHOD_VERSION
            )
            if stored is not None and stored.computed_at >= floor_time(now, interval):
                return AnalysisReport(stored, reused=True)
            start, end = self.span(interval, window)
            added = 0
            if max_calls > 0:
                filled = await self.history.fill(asset, interval, start, end, max_calls=max_calls)
                added = filled.added
            candles = complete(await self.history.stored(asset, interval, start, end))
            if len(candles) < MIN_CANDLES:
                gaps = await self.history.missing(asset, interval, start, end)
                fetchable = sum(span.count for span in gaps)
                raise NotEnoughCandles(
                    asset.id, interval.value, MIN_CANDLES, len(candles), fetchable
                )
            result = await self._compute(asset, interval, candles, window)
            record = StoredAnalysis(asset.id, interval, window, now, METHOD_VERSION, result)
            await asyncio.to_thread(self.repo.add, record)
            await self._prune(now)
            log.info(
                "analysis_computed",
                asset=asset.id,
                interval=interval.value,
                window=window,
                candles=len(candles),
                backfilled=added,
            )
            return AnalysisReport(record, reused=False, backfilled=added)

    async def _compute(
        self, asset: Asset, interval: Interval, candles: list[Candle], window: int
    ) -> dict[str, Any]:
        """The indicators, off the event loop: about 10 ms for 1,000 candles, on the shared CPU
        limiter's worker. It waits for a worker however long the queue is (bounded by the
        request deadline): it is short, and an analysis has no refusal to answer with."""
        if self.limiter is None:
            return await asyncio.to_thread(analyse, asset.id, interval, candles, window)
        return await self.limiter.run(
            analyse, asset.id, interval, candles, window, refuse_when_full=False
        )

    async def _prune(self, now: datetime) -> None:
        """Drop analyses older than the retention, at most once an hour."""
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return
        self._pruned_at = now
        deleted = await asyncio.to_thread(self.repo.delete_before, now - self.retention)
        if deleted:
            log.info("analyses_pruned", deleted=deleted)
