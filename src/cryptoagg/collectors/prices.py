"""Price ticks for the tracked assets, recorded even when nobody is asking."""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.services.prices import PriceService
from cryptoagg.storage.repositories import PriceRecord, PriceRepository

log = structlog.get_logger("cryptoagg.collectors")


class PriceTicks:
    """One consensus price per tracked asset per run, from one batch call per provider.
    A consensus unchanged since the last run (same `as_of`, e.g. served from cache) is not
    written again."""

    def __init__(
        self, prices: PriceService, repo: PriceRepository, registry: AssetRegistry, top: int
    ) -> None:
        self.prices = prices
        self.repo = repo
        self.registry = registry
        self.top = top
        self._last: dict[str, datetime] = {}

    async def __call__(self) -> int:
        ids = [a.id for a in self.registry.tracked()[: self.top]]
        served = await self.prices.prices(ids)
        now = self.prices.ctx.clock()
        records = []
        for report in served.value.reports:
            c = report.consensus
            if self._last.get(c.asset_id) == c.as_of:
                continue
            self._last[c.asset_id] = c.as_of
            records.append(
                PriceRecord(
                    asset_id=c.asset_id,
                    price=c.price,
                    as_of=c.as_of,
                    recorded_at=now,
                    sources=c.sources,
                )
            )
        written = await asyncio.to_thread(self.repo.add_many, records)
        log.info("prices_collected", written=written, missing=served.value.missing)
        return written
