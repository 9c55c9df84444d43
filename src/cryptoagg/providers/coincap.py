"""CoinCap API v3 — https://pro.coincap.io/api-docs (v2 at api.coincap.io was retired in 2025)

Limits: no free figure is published; v3 requires a key, sent here as `Authorization: Bearer`
(never as the `apiKey` query parameter, so it stays out of URLs); `limit` is at most 2000.
401 "You did not provide a valid API key" and 429 "exceeded the rate limit" are mapped by the
base. Numbers are strings with up to 18 decimals, some null; `timestamp` is in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel

from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.errors import NotSupported
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, MarketEntry, Quote, from_unix
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "coincap"
MAX_LIMIT = 2000

# -- payload models ------------------------------------------------------------------------


class _Asset(BaseModel):
    id: str
    rank: int | None = None  # a numeric string ("1")
    symbol: str
    name: str
    supply: Decimal | None = None  # CoinCap's circulating supply
    priceUsd: Decimal | None = None
    marketCapUsd: Decimal | None = None
    volumeUsd24Hr: Decimal | None = None
    changePercent24Hr: Decimal | None = None


class _Body(BaseModel):
    # `/v3/assets` answers a list, `/v3/assets/{id}` a single object
    data: list[_Asset] | _Asset
    timestamp: int

    def rows(self) -> list[_Asset]:
        return self.data if isinstance(self.data, list) else [self.data]

    def as_of(self) -> datetime:
        # integer arithmetic: ms / 1000 as a float can land a microsecond off
        return from_unix(self.timestamp // 1000) + timedelta(milliseconds=self.timestamp % 1000)


# -- parse functions -----------------------------------------------------------------------


def parse_assets(payload: Any, by_id: dict[str, Asset]) -> list[Quote]:
    """`/v3/assets?ids=…` (fixtures: coincap/v3_assets_bitcoin.json, coincap/v2_assets.json).

    Rows not asked for, or without a price, are skipped."""
    body = _Body.model_validate(payload)
    as_of = body.as_of()
    return [
        Quote(
            asset_id=by_id[row.id].id,
            provider=NAME,
            price=row.priceUsd,
            as_of=as_of,
            volume_24h=row.volumeUsd24Hr,
            change_24h_pct=row.changePercent24Hr,
            market_cap=row.marketCapUsd,
        )
        for row in body.rows()
        if row.id in by_id and row.priceUsd is not None
    ]


def parse_markets(payload: Any, registry: AssetRegistry) -> list[MarketEntry]:
    """`/v3/assets?limit=…` as a market listing, in CoinCap's (rank) order
    (fixture: coincap/v2_assets.json)."""
    body = _Body.model_validate(payload)
    as_of = body.as_of()
    entries = []
    for row in body.rows():
        if row.priceUsd is None:
            continue
        known = registry.by_native(NAME, row.id)
        entries.append(
            MarketEntry(
                asset_id=known.id if known else row.id,
                symbol=row.symbol.upper(),
                name=row.name,
                rank=row.rank,
                price=row.priceUsd,
                as_of=as_of,
                provider=NAME,
                change_24h_pct=row.changePercent24Hr,
                market_cap=row.marketCapUsd,
                volume_24h=row.volumeUsd24Hr,
                circulating_supply=row.supply,
            )
        )
    return entries


class CoinCapProvider(HttpProvider):
    name = NAME
    order = 60
    # none published (guess)
    limits = Limits(per_minute=60)
    hosts: ClassVar[dict[str, str]] = {"": "https://rest.coincap.io"}
    capabilities = frozenset({Capability.SPOT_PRICE, Capability.MARKETS})
    uses_key = requires_key = True
    docs_url = "https://pro.coincap.io/api-docs"
    shapes = (
        Recording(
            "/v3/assets",
            "coincap/v2_assets.json",
            lambda p, s: parse_assets(p, {"bitcoin": s.asset("bitcoin")}),
        ),
    )

    def auth_headers(self) -> dict[str, str]:
        key = self.key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_id = self.native_ids(assets)
        if not by_id:
            raise NotSupported(NAME, "none of the assets is listed")
        payload = await self.get_json("/v3/assets", params={"ids": ",".join(sorted(by_id))})
        with self.parsing("assets"):
            return parse_assets(payload, by_id)

    async def markets(self, limit: int) -> list[MarketEntry]:
        capped = min(max(limit, 1), MAX_LIMIT)
        payload = await self.get_json("/v3/assets", params={"limit": capped})
        with self.parsing("assets"):
            return parse_markets(payload, self.ctx.registry)[:capped]
