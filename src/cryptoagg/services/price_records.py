"""The stored price records of an asset (`/api/market/history`): what the price collector and
the served answers wrote to `prices`, newest first.

A read of what was recorded, not a price to serve: a served price comes from `PriceService`
or `MarketService` (checked against the consensus).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cryptoagg.core.assets import Asset
from cryptoagg.services.assets import AssetService
from cryptoagg.storage.repositories import PriceRecord, PriceRepository


@dataclass(frozen=True, slots=True)
class RecordedPrices:
    asset: Asset
    #: newest first
    records: list[PriceRecord]


class PriceRecords:
    def __init__(self, assets: AssetService, repo: PriceRepository) -> None:
        self.assets = assets
        self.repo = repo

    async def latest(self, symbol: str, limit: int) -> RecordedPrices:
        """The newest `limit` records of the asset `symbol` names (a ticker or an id)."""
        asset = self.assets.resolve(symbol).asset
        records = await asyncio.to_thread(self.repo.latest, asset.id, limit)
        return RecordedPrices(asset, records)
