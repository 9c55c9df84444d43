"""Messari API v2 — https://docs.messari.io/api-reference/authentication

Limits: every endpoint requires a key (header `x-messari-api-key`); 200 requests/minute on
the unpaid, Lite and Pro plans, plus per-service limits. The provider uses the current
`GET /metrics/v2/assets/details?slugs=…`. No recording of that endpoint exists: its payload
model follows the MessariKit OpenAPI schema (tests/fixtures/providers/SCHEMAS.md) and its test
fixture is hand-built from that schema. The legacy v1 body
(`data.messari.io/api/v1/assets/{slug}/metrics`, recorded) parses with `parse_v1_metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import BadResponse, NotSupported
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, Quote
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "messari"

# -- payload models: v2 (from the OpenAPI schema) ------------------------------------------


class _Marketcap(BaseModel):
    circulatingUsd: Decimal | None = None


class _MarketData(BaseModel):
    priceUsd: Decimal | None = None
    volume24Hour: Decimal | None = None
    marketcap: _Marketcap | None = None


class _V2Asset(BaseModel):
    id: str
    slug: str
    symbol: str
    name: str
    marketData: _MarketData | None = None


class _V2Body(BaseModel):
    data: list[_V2Asset] | None = None
    error: str | None = None


# -- payload models: v1 (recorded, legacy) --------------------------------------------------


class _V1MarketData(BaseModel):
    price_usd: Decimal
    volume_last_24_hours: Decimal | None = None
    percent_change_usd_last_24_hours: Decimal | None = None


class _V1Marketcap(BaseModel):
    current_marketcap_usd: Decimal | None = None


class _V1Data(BaseModel):
    slug: str
    market_data: _V1MarketData
    marketcap: _V1Marketcap | None = None


class _V1Status(BaseModel):
    timestamp: datetime  # nanoseconds in the recording; pydantic keeps microseconds


class _V1Body(BaseModel):
    status: _V1Status
    data: _V1Data


# -- parse functions -----------------------------------------------------------------------


def parse_asset_details(payload: Any, by_slug: dict[str, Asset], now: datetime) -> list[Quote]:
    """`/metrics/v2/assets/details` (fixture: messari/v2_assets_details_FROM_SCHEMA.json,
    constructed from the schema — not a recording).

    The schema carries no observation time, so quotes are stamped `now`, the receive time,
    and marked so (`time_source="received"`). Assets not asked for, or without
    `marketData.priceUsd`, are skipped."""
    body = _V2Body.model_validate(payload)
    if body.data is None:
        raise BadResponse(NAME, f"error response: {(body.error or 'no data')[:200]}")
    quotes = []
    for row in body.data:
        asset = by_slug.get(row.slug)
        market = row.marketData
        if asset is None or market is None or market.priceUsd is None:
            continue
        quotes.append(
            Quote(
                asset_id=asset.id,
                provider=NAME,
                price=market.priceUsd,
                as_of=now,
                time_source="received",
                volume_24h=market.volume24Hour,
                market_cap=market.marketcap.circulatingUsd if market.marketcap else None,
            )
        )
    return quotes


def parse_v1_metrics(payload: Any, asset: Asset) -> Quote:
    """Legacy v1 `/api/v1/assets/{slug}/metrics` (fixture: messari/asset_metrics.json)."""
    body = _V1Body.model_validate(payload)
    market = body.data.market_data
    return Quote(
        asset_id=asset.id,
        provider=NAME,
        price=market.price_usd,
        as_of=body.status.timestamp,
        volume_24h=market.volume_last_24_hours,
        change_24h_pct=market.percent_change_usd_last_24_hours,
        market_cap=body.data.marketcap.current_marketcap_usd if body.data.marketcap else None,
    )


class MessariProvider(HttpProvider):
    name = NAME
    order = 80
    # 200 requests/min on unpaid plans
    limits = Limits(per_minute=200)
    hosts: ClassVar[dict[str, str]] = {"": "https://api.messari.io"}
    capabilities = frozenset({Capability.SPOT_PRICE})
    uses_key = requires_key = True
    docs_url = "https://docs.messari.io/api-reference/authentication"
    shapes = (
        Recording(
            "/metrics/v2/assets/details",
            "messari/v2_assets_details_FROM_SCHEMA.json",
            lambda p, s: parse_asset_details(p, {"bitcoin": s.asset("bitcoin")}, s.now),
        ),
    )

    @classmethod
    def derived_id(cls, asset: Asset) -> str | None:
        """Messari's slugs are CoinCap's ids (`bitcoin`, `binance-coin`)."""
        return asset.native_id("coincap")

    def auth_headers(self) -> dict[str, str]:
        key = self.key()
        return {"x-messari-api-key": key} if key else {}

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_slug = self.native_ids(assets)
        if not by_slug:
            raise NotSupported(NAME, "none of the assets is listed")
        payload = await self.get_json(
            "/metrics/v2/assets/details", params={"slugs": ",".join(sorted(by_slug))}
        )
        with self.parsing("assets/details"):
            return parse_asset_details(payload, by_slug, self.now())
