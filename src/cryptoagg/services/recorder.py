"""The one writer of the `prices` table, and write-behind recording of user queries.

Two streams of prices reach the table, both through here: the market listings the API
serves (`market`) and the consensus of every price collector run (`consensus`). The recorder
keeps the one record of what each stream last wrote per asset, so a value is written once
however often it is served or collected.

Requests only put rows on a bounded queue; one background task writes them in batches
(every `flush_s` or `batch` rows), so recording never slows a response. When the queue is
full, new rows are dropped and counted rather than blocking a request. Shutdown drains the
queue. A market listing is recorded once per upstream refresh, not once per request: rows
whose `as_of` was already recorded for the asset are skipped. Queries are aggregated before
they are queued: identical requests (endpoint, parameters, status) within one second become one
`user_queries` row with a `count` and their mean duration, so a busy hot path writes a row
per second per distinct query instead of one per request (a row per request cost a third of
the cached-request throughput, the writer thread competing for the GIL).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import structlog

from cryptoagg.core.consensus import Consensus
from cryptoagg.core.listing import ListingRow
from cryptoagg.core.models import from_unix
from cryptoagg.storage.repositories import (
    PriceRecord,
    PriceRepository,
    QueryRecord,
    QueryRepository,
)

log = structlog.get_logger("cryptoagg.recorder")


Row = PriceRecord | QueryRecord
#: the price rows' origins: a listing row is priced by the collector's latest consensus and
#: shares its `as_of`, but carries the listing's volume, change and market cap, so neither
#: stream's row may stand for the other's
Stream = Literal["market", "consensus"]
STOP = None
#: how often a part-filled batch looks for more rows before `flush_s` is up
FILL_POLL_S = 0.05


@dataclass
class Recorder:
    prices: PriceRepository
    queries: QueryRepository
    max_queue: int = 10_000
    batch: int = 500
    flush_s: float = 0.5
    dropped: int = 0
    written: int = 0
    _queue: asyncio.Queue[Row | None] = field(init=False)
    #: the `as_of` last written (or queued) per stream and asset
    _last_as_of: dict[tuple[Stream, str], datetime] = field(default_factory=dict)
    #: (endpoint, params, status) -> [first record, count, total duration ms], for the
    #: second `_window`
    _queries: dict[tuple[object, ...], list[Any]] = field(default_factory=dict)
    _window: int | None = None
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        # one slot more than rows may take, for the stop marker
        self._queue = asyncio.Queue(self.max_queue + 1)

    def _put(self, row: Row) -> None:
        if self._queue.qsize() >= self.max_queue:
            self.dropped += 1
            return
        self._queue.put_nowait(row)

    def _is_new(self, stream: Stream, asset_id: str, as_of: datetime) -> bool:
        """Whether `as_of` is not what `stream` last wrote for the asset (and remember it)."""
        key = (stream, asset_id)
        if self._last_as_of.get(key) == as_of:
            return False
        self._last_as_of[key] = as_of
        return True

    def market(self, entries: Sequence[ListingRow], recorded_at: datetime) -> None:
        """Queue the listing rows of a refresh (the rows of a listing served again from the
        cache were queued already)."""
        for e in entries:
            if not self._is_new("market", e.asset_id, e.as_of):
                continue
            self._put(
                PriceRecord(
                    asset_id=e.asset_id,
                    price=e.price,
                    as_of=e.as_of,
                    recorded_at=recorded_at,
                    sources=list(e.sources),
                    volume_24h=e.volume_24h,
                    change_24h=e.change_24h_pct,
                    market_cap=e.market_cap,
                    stream="market",
                )
            )

    async def consensus(
        self, results: Sequence[Consensus], recorded_at: datetime
    ) -> list[Consensus]:
        """Write the consensus prices this stream has not written yet (one whose `as_of` was
        written, e.g. served from the cache again, is skipped) and return them. Not queued
        but written before returning, in a worker thread: the price collector publishes a
        consensus once it is stored, and a failed write fails the collector's run."""
        fresh = [c for c in results if self._is_new("consensus", c.asset_id, c.as_of)]
        records = [
            PriceRecord(
                asset_id=c.asset_id,
                price=c.price,
                as_of=c.as_of,
                recorded_at=recorded_at,
                sources=c.sources,
                stream="consensus",
            )
            for c in fresh
        ]
        if records:
            self.written += await asyncio.to_thread(self._write, records)
        return fresh

    def query(self, record: QueryRecord) -> None:
        self.hit(
            record.endpoint,
            tuple(sorted(record.params.items())),
            record.status,
            record.duration_ms,
            at=record.at,
        )

    def hit(
        self,
        endpoint: str,
        params: tuple[tuple[str, str], ...],
        status: int,
        duration_ms: float,
        at: datetime | None = None,
    ) -> None:
        """Count one request (the hot path calls this thousands of times a second: it only
        bumps a counter unless the query is new in this second)."""
        second = int(at.timestamp()) if at is not None else int(time.time())
        if self._window != second:
            self._flush_queries()
            self._window = second
        key = (endpoint, params, status)
        pending = self._queries.get(key)
        if pending is not None:
            pending[1] += 1
            pending[2] += duration_ms
            return
        if len(self._queries) >= self.max_queue:
            self.dropped += 1
            return
        first = QueryRecord(at or from_unix(second), endpoint, dict(params), status, duration_ms)
        self._queries[key] = [first, 1, duration_ms]

    def _flush_ended_second(self) -> None:
        """Queue aggregated queries once their second is over, even if no request follows."""
        if self._window is not None and self._window < int(time.time()):
            self._flush_queries()
            self._window = None

    def _flush_queries(self) -> None:
        """Queue the aggregated rows of the second that ended."""
        for first, count, total_ms in self._queries.values():
            self._put(replace(first, duration_ms=total_ms / count, count=count))
        self._queries.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="recorder")

    async def _take_batch(self) -> tuple[list[Row], bool]:
        """Rows for one write, and whether the stop marker came: everything queued (up to
        `batch`), waiting at most `flush_s` after the first row for more. Draining with
        `get_nowait` keeps the per-row cost at a few instructions under load."""
        loop = asyncio.get_running_loop()
        first: Row | None = None
        while first is None:
            try:
                first = await asyncio.wait_for(self._queue.get(), self.flush_s)
            except TimeoutError:
                self._flush_ended_second()
                continue
            if first is STOP:
                return [], True
        if first is STOP:
            return [], True
        rows = [first]
        deadline = loop.time() + self.flush_s
        while True:
            while len(rows) < self.batch:
                try:
                    row = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if row is STOP:
                    return rows, True
                rows.append(row)
            remaining = deadline - loop.time()
            if len(rows) >= self.batch or remaining <= 0:
                return rows, False
            await asyncio.sleep(min(FILL_POLL_S, remaining))

    def _write(self, rows: Sequence[Row]) -> int:
        """Store `rows` (in a worker thread); the caller counts them on the event loop, so
        `written` is only ever changed from one thread."""
        self.prices.add_many([r for r in rows if isinstance(r, PriceRecord)])
        self.queries.add_many([r for r in rows if isinstance(r, QueryRecord)])
        return len(rows)

    async def _run(self) -> None:
        stop = False
        while not stop:
            rows, stop = await self._take_batch()
            if not rows:
                continue
            try:
                self.written += await asyncio.to_thread(self._write, rows)
            except Exception as exc:
                log.warning("record_failed", rows=len(rows), error=type(exc).__name__)

    async def aclose(self) -> None:
        """Write everything queued, then stop."""
        if self._task is None:
            return
        self._flush_queries()
        self._queue.put_nowait(STOP)
        await self._task
