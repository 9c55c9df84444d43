"""Price ticks for the tracked assets, recorded even when nobody is asking."""

from __future__ import annotations

import structlog

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.services.event_payloads import price_data
from cryptoagg.services.events import Publisher, price_topic
from cryptoagg.services.prices import PriceService
from cryptoagg.services.recorder import Recorder

log = structlog.get_logger("cryptoagg.collectors")


class PriceTicks:
    """One consensus price per tracked asset per run, from one batch call per provider.
    The recorder, the prices table's one writer, stores each consensus it has not stored
    yet (one with the same `as_of`, e.g. served from cache, is not written again). Each new
    consensus is published to `prices:<asset_id>` once written (the fan-out then runs
    without a writer thread competing for the GIL)."""

    def __init__(
        self,
        prices: PriceService,
        recorder: Recorder,
        registry: AssetRegistry,
        top: int,
        publisher: Publisher | None = None,
    ) -> None:
        self.prices = prices
        self.recorder = recorder
        self.registry = registry
        self.top = top
        self.publisher = publisher

    async def __call__(self) -> int:
        ids = [a.id for a in self.registry.tracked()[: self.top]]
        batch = await self.prices.collect(ids)
        now = self.prices.ctx.clock()
        written = await self.recorder.consensus([r.consensus for r in batch.reports], now)
        if self.publisher is not None:
            new = {c.asset_id for c in written}
            for report in batch.reports:
                if report.asset.id in new:
                    data = price_data(report)
                    self.publisher.publish(price_topic(report.asset.id), data)
        log.info("prices_collected", written=len(written), missing=batch.missing)
        return len(written)
