"""Write-behind recording of what the API serves: price records and user queries.

Requests only put rows on a bounded queue; one background task writes them in batches
(every `flush_s` or `batch` rows), so recording never slows a response. When the queue is
full, new rows are dropped and counted rather than blocking a request. Shutdown drains the
queue. A market listing is recorded once per upstream refresh, not once per request: rows
whose `as_of` was already recorded for the asset are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from cryptoagg.core.models import MarketEntry
from cryptoagg.storage.repositories import (
    PriceRecord,
    PriceRepository,
    QueryRecord,
    QueryRepository,
)

log = structlog.get_logger("cryptoagg.recorder")


Row = PriceRecord | QueryRecord
STOP = None


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
    _last_as_of: dict[str, datetime] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        # one slot more than rows may take, for the stop marker
        self._queue = asyncio.Queue(self.max_queue + 1)

    def _put(self, row: Row) -> None:
        if self._queue.qsize() >= self.max_queue:
            self.dropped += 1
            return
        self._queue.put_nowait(row)

    def market(self, entries: Sequence[MarketEntry], recorded_at: datetime) -> None:
        for e in entries:
            if self._last_as_of.get(e.asset_id) == e.as_of:
                continue
            self._last_as_of[e.asset_id] = e.as_of
            self._put(
                PriceRecord(
                    asset_id=e.asset_id,
                    price=e.price,
                    as_of=e.as_of,
                    recorded_at=recorded_at,
                    sources=[e.provider],
                    volume_24h=e.volume_24h,
                    change_24h=e.change_24h_pct,
                    market_cap=e.market_cap,
                )
            )

    def query(self, record: QueryRecord) -> None:
        self._put(record)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="recorder")

    async def _take_batch(self) -> tuple[list[Row], bool]:
        """Rows for one write, and whether the stop marker came."""
        loop = asyncio.get_running_loop()
        first = await self._queue.get()
        if first is STOP:
            return [], True
        rows = [first]
        deadline = loop.time() + self.flush_s
        while len(rows) < self.batch and (timeout := deadline - loop.time()) > 0:
            try:
                row = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                break
            if row is STOP:
                return rows, True
            rows.append(row)
        return rows, False

    def _write(self, rows: list[Row]) -> None:
        self.prices.add_many([r for r in rows if isinstance(r, PriceRecord)])
        self.queries.add_many([r for r in rows if isinstance(r, QueryRecord)])
        self.written += len(rows)

    async def _run(self) -> None:
        stop = False
        while not stop:
            rows, stop = await self._take_batch()
            if not rows:
                continue
            try:
                await asyncio.to_thread(self._write, rows)
            except Exception as exc:
                log.warning("record_failed", rows=len(rows), error=type(exc).__name__)

    async def aclose(self) -> None:
        """Write everything queued, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(STOP)
        await self._task
