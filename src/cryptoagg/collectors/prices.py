"""Price ticks for the tracked assets, recorded even when nobody is asking."""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.services.events import Publisher, price_data, price_topic
from cryptoagg.services.prices import PriceService
from cryptoagg.storage.repositories import PriceRecord, PriceRepository

log = structlog.get_logger("cryptoagg.collectors")


class PriceTicks:
    """One consensus price per tracked asset per run, from one batch call per provider.
    A consensus unchanged since the last run (same `as_of`, e.g. served from cache) is not
    written again. Each new consensus is published to `prices:<asset_id>` once written
    (the fan-out then runs without a writer thread competing for the GIL)."""

    def __init__(
        self,
        prices: PriceService,
        repo: PriceRepository,
        registry: AssetRegistry,
        top: int,
        publisher: Publisher | None = None,
    ) -> None:
        self.prices = prices
        self.repo = repo
        self.registry = registry
        self.top = top
        self.publisher = publisher
        self._last: dict[str, datetime] = {}

    async def __call__(self) -> int:
        ids = [a.id for a in self.registry.tracked()[: self.top]]
        batch = await self.prices.collect(ids)
        now = self.prices.ctx.clock()
        records = []
        fresh = []
        for report in batch.reports:
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
            fresh.append(report)
        written = await asyncio.to_thread(self.repo.add_many, records)
        if self.publisher is not None:
            for report in fresh:
                data = price_data(report.consensus, report.asset.symbol)
                self.publisher.publish(price_topic(report.asset.id), data)
        log.info("prices_collected", written=written, missing=batch.missing)
        return written
