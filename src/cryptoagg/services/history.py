"""Self-filling candle history: gap detection, chunked backfill, rollups and retention.

A fill looks up which open times of a range are missing and fetches only those, in chunks
every OHLCV provider accepts (720 candles: Kraken's cap, inside Binance's 1,000 and
CryptoCompare's 2,000), through the OHLCV pool and so within every provider's budget. Because
it is driven by what is stored, an interrupted fill resumes where it stopped. A chunk that no
provider has data for and that lies before the oldest stored candle moves the asset's
*history floor* (kept in `configuration`), so it is never asked for again.

A closed period whose only candle is a *partial* rollup (some of its finer candles are not
stored: the 16 hours of a day whose history starts at 08:00) counts as missing, so a fill
asks a provider for its own candle of the period, which then replaces the rollup.

Which answer a chunk takes, and what the pool's refusals mean for a fill, is
`history_fetch.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from cryptoagg.core.assets import Asset
from cryptoagg.core.candles import ROLLUP_FROM, Span, aggregate, chunks, floor_time, last_closed
from cryptoagg.core.candles import missing_spans as find_missing
from cryptoagg.core.errors import NoProviderAvailable
from cryptoagg.core.models import Candle, Capability, Interval, utc
from cryptoagg.resilience.retry import Deadline
from cryptoagg.services.context import ServiceContext
from cryptoagg.services.history_fetch import fetch_chunk, no_data, over_budget
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.configuration import ConfigurationRepository

log = structlog.get_logger("cryptoagg.history")

CHUNK_CANDLES = 720
#: a paced fill (`over_budget`) asks again after this, for one chunk up to PACE_GIVE_UP_S
PACE_WAIT_S = 1.0
PACE_GIVE_UP_S = 120.0

Progress = Callable[[int, int], None]
"""Called after each chunk with (candles covered, candles added)."""


@dataclass(frozen=True, slots=True)
class Retention:
    """Days each tier is kept; 0 keeps it forever."""

    minute_days: int = 7
    hour_days: int = 365
    day_days: int = 0

    def days(self, interval: Interval) -> int:
        return {Interval.M1: self.minute_days, Interval.H1: self.hour_days}.get(
            interval, self.day_days
        )


@dataclass(slots=True)
class FillReport:
    asset_id: str
    interval: Interval
    missing: int = 0
    calls: int = 0
    added: int = 0
    unfilled: list[Span] = field(default_factory=list)


class HistoryService:
    def __init__(
        self,
        ctx: ServiceContext,
        candles: CandleRepository,
        configuration: ConfigurationRepository,
        retention: Retention | None = None,
        chunk_candles: int = CHUNK_CANDLES,
    ) -> None:
        self.ctx = ctx
        self.candles = candles
        self.configuration = configuration
        self.retention = retention or Retention()
        self.chunk_candles = chunk_candles
        self._locks: dict[tuple[str, Interval], asyncio.Lock] = {}

    # --- reading -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.ctx.clock()

    async def stored(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        return await asyncio.to_thread(self.candles.between, asset.id, interval, start, end)

    def _floor_key(self, asset: Asset, interval: Interval) -> str:
        return f"history_floor:{asset.id}:{interval.value}"

    async def floor(self, asset: Asset, interval: Interval) -> datetime | None:
        """The asset's history floor: no provider has `interval` candles before it (None:
        not found yet)."""
        floor = await asyncio.to_thread(self.configuration.get, self._floor_key(asset, interval))
        return None if floor is None else datetime.fromisoformat(floor)

    async def missing(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Span]:
        """Gaps in `[start, end]` that a provider could fill: only closed periods, inside
        the tier's retention and after the asset's history floor. A period holding only a
        partial rollup is a gap."""
        start, end = utc(start), min(utc(end), last_closed(self.ctx.clock(), interval))
        keep_days = self.retention.days(interval)
        if keep_days:
            start = max(start, floor_time(self.ctx.clock(), interval) - timedelta(days=keep_days))
        floor = await self.floor(asset, interval)
        if floor is not None:
            start = max(start, floor)
        start = floor_time(start, interval)
        if start > end:
            return []
        stored = await asyncio.to_thread(
            self.candles.open_times, asset.id, interval, start, end, complete=True
        )
        return find_missing(stored, interval, start, end)

    # --- filling -------------------------------------------------------------------------

    async def fill(
        self,
        asset: Asset,
        interval: Interval,
        start: datetime,
        end: datetime,
        *,
        max_calls: int | None = None,
        progress: Progress | None = None,
        paced: bool = False,
        deadline: Deadline | None = None,
    ) -> FillReport:
        """Fetch the missing candles of `[start, end]`, at most `max_calls` upstream calls.

        `paced` (the backfill command): when the providers' rate budgets say "not now", wait
        and go on rather than stop (up to PACE_GIVE_UP_S for one chunk). `deadline` (a
        request's): no chunk is started once it has passed (one in flight is finished, so
        its rollups are written)."""
        lock = self._locks.setdefault((asset.id, interval), asyncio.Lock())
        async with lock:
            return await self._fill(
                asset,
                interval,
                start,
                end,
                max_calls=max_calls,
                progress=progress,
                paced=paced,
                deadline=deadline,
            )

    async def _fill(
        self,
        asset: Asset,
        interval: Interval,
        start: datetime,
        end: datetime,
        *,
        max_calls: int | None,
        progress: Progress | None,
        paced: bool = False,
        deadline: Deadline | None = None,
    ) -> FillReport:
        report = FillReport(asset.id, interval)
        # the end is fixed now: a period that closes while the fill runs is the next
        # fill's, not one this fill left missing
        end = min(utc(end), last_closed(self.ctx.clock(), interval))
        spans = await self.missing(asset, interval, start, end)
        report.missing = sum(s.count for s in spans)
        pending = [chunk for span in spans for chunk in chunks(span, self.chunk_candles)]
        # newest first: recent history is what users look at, and older chunks may lie
        # before the asset's history floor
        pending.reverse()
        touched: list[Candle] = []
        for chunk in pending:
            if max_calls is not None and report.calls >= max_calls:
                break
            if deadline is not None and deadline.expired:
                break
            report.calls += 1
            try:
                rows, nothing_before = await self._fetch(asset, chunk, paced=paced)
            except NoProviderAvailable as exc:
                if not no_data(exc):
                    log.info("backfill_paused", asset=asset.id, reasons=exc.reasons)
                    break
                await self._raise_floor(asset, interval, chunk.end + interval.delta)
                if progress:
                    progress(chunk.count, 0)
                continue
            added = await asyncio.to_thread(self.candles.add_many, rows)
            if nothing_before is not None:
                await self._raise_floor(asset, interval, nothing_before)
            report.added += added
            touched.extend(rows[:1] + rows[-1:])
            if progress:
                progress(chunk.count, added)
        if touched:
            first = min(c.open_time for c in touched)
            last = max(c.open_time for c in touched)
            await self.rollup(asset, interval, first, last)
        # what is still missing, measured rather than tallied (answers may be partial)
        report.unfilled = await self.missing(asset, interval, start, end) if report.calls else spans
        return report

    async def _fetch(
        self, asset: Asset, chunk: Span, *, paced: bool = False
    ) -> tuple[list[Candle], datetime | None]:
        """`fetch_chunk`; paced, a refusal for the rate budgets is waited out."""
        waited = 0.0
        while True:
            try:
                return await fetch_chunk(self.ctx.pool(Capability.OHLCV), asset, chunk)
            except NoProviderAvailable as exc:
                if not (paced and over_budget(exc)) or waited >= PACE_GIVE_UP_S:
                    raise
            await asyncio.sleep(PACE_WAIT_S)
            waited += PACE_WAIT_S

    async def _raise_floor(self, asset: Asset, interval: Interval, floor: datetime) -> None:
        """No provider has `interval` candles of `asset` before `floor`: never ask again,
        unless candles before it are stored (then the gap is a hole, not the beginning)."""
        key = self._floor_key(asset, interval)
        current = await asyncio.to_thread(self.configuration.get, key)
        if current is not None and datetime.fromisoformat(current) >= floor:
            return
        earliest = await asyncio.to_thread(self.candles.earliest, asset.id, interval)
        if earliest is not None and earliest < floor:
            return
        await asyncio.to_thread(self.configuration.set, key, floor.isoformat())
        log.info("history_floor", asset=asset.id, interval=interval.value, floor=floor)

    # --- rollups and retention -----------------------------------------------------------

    async def rollup(
        self, asset: Asset, interval: Interval, first: datetime, last: datetime
    ) -> int:
        """Re-aggregate every coarser period that `[first, last]` of `interval` touches."""
        written = 0
        finer = interval
        for coarser in (Interval.H1, Interval.D1):
            if ROLLUP_FROM[coarser] is not finer:
                continue
            start = floor_time(first, coarser)
            end = floor_time(last, coarser) + coarser.delta - finer.delta
            rows = await asyncio.to_thread(self.candles.between, asset.id, finer, start, end)
            written += await asyncio.to_thread(self.candles.put_rollups, aggregate(rows, coarser))
            first, last, finer = start, floor_time(last, coarser), coarser
        return written

    async def enforce_retention(self) -> dict[str, int]:
        """Delete candles older than their tier keeps (finer tiers are rolled up first,
        as fills roll up what they add)."""
        now = self.ctx.clock()
        deleted: dict[str, int] = {}
        for interval in Interval:
            days = self.retention.days(interval)
            if days:
                cutoff = floor_time(now, interval) - timedelta(days=days)
                deleted[interval.value] = await asyncio.to_thread(
                    self.candles.delete_before, interval, cutoff
                )
        return deleted


def plan_backfill(days: int, retention: Retention) -> list[tuple[Interval, int]]:
    """Which tiers a `backfill --days N` fills and how far back each: every tier, within
    its retention (a minute tier kept 7 days is not fetched for a year)."""
    plan = []
    for interval in (Interval.D1, Interval.H1, Interval.M1):
        keep = retention.days(interval)
        plan.append((interval, min(days, keep) if keep else days))
    return plan
