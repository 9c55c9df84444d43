"""1-minute candles for the tracked assets, rolled up to 1h/1d, with retention per tier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.models import Interval
from cryptoagg.services.history import HistoryService

log = structlog.get_logger("cryptoagg.collectors")


@dataclass
class CandleCollector:
    """Each run fills the last `lookback` of 1-minute candles for the top `top` tracked
    assets: only the minutes missing since the last run are fetched (usually one call per
    asset), at most `calls_per_asset` calls each. Retention runs once per `retention_every`.
    """

    history: HistoryService
    registry: AssetRegistry
    top: int
    lookback: timedelta = timedelta(hours=6)
    calls_per_asset: int = 3
    retention_every: timedelta = timedelta(hours=1)
    _last_retention: datetime | None = None

    async def __call__(self) -> int:
        now = self.history.ctx.clock()
        added = calls = unfilled = 0
        for asset in self.registry.tracked()[: self.top]:
            report = await self.history.fill(
                asset, Interval.M1, now - self.lookback, now, max_calls=self.calls_per_asset
            )
            added += report.added
            calls += report.calls
            unfilled += sum(s.count for s in report.unfilled)
        if self._last_retention is None or now - self._last_retention >= self.retention_every:
            deleted = await self.history.enforce_retention()
            self._last_retention = now
            log.info("retention", deleted=deleted)
        log.info("candles_collected", added=added, calls=calls, unfilled=unfilled)
        return added
