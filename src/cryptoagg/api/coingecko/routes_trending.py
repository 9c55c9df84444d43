"""`GET /api/v3/search/trending`: trending coins in CoinGecko's shape, the trending
provider's coins with our listing's figures where a coin is in it (`shapes_trending.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg.api.coingecko.errors import compat_router, errors
from cryptoagg.api.coingecko.listing import load_listing, stale_header, with_listing
from cryptoagg.api.coingecko.shapes_trending import trending_item
from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.http.hot import ResponsesDep
from cryptoagg.api.routes.images import trending_images

router = compat_router()


class CgTrendingContentOut(BaseModel):
    title: str | None
    description: str | None


class CgTrendingDataOut(BaseModel):
    """Null only where the trending provider sent nothing and the listing has nothing."""

    price: float | None
    price_btc: str | None
    price_change_percentage_24h: dict[str, float] = Field(description="usd and btc, if known")
    market_cap: str | None
    market_cap_btc: str | None
    total_volume: str | None
    total_volume_btc: str | None
    sparkline: str | None = Field(description="the provider's sparkline image URL")
    content: CgTrendingContentOut | None


class CgTrendingItemOut(BaseModel):
    id: str
    coin_id: int | None
    name: str
    symbol: str
    market_cap_rank: int | None
    thumb: str | None
    small: str | None
    large: str | None
    slug: str | None
    price_btc: float | None
    score: int
    data: CgTrendingDataOut


class CgTrendingCoinOut(BaseModel):
    item: CgTrendingItemOut


class CgTrendingOut(BaseModel):
    coins: list[CgTrendingCoinOut]
    nfts: list[dict[str, Any]]
    categories: list[dict[str, Any]]


@router.get(
    "/search/trending",
    summary="Trending coins in CoinGecko's shape",
    response_model=CgTrendingOut,
    responses=errors(503),
)
async def search_trending(
    request: Request, services: ServicesDep, responses: ResponsesDep
) -> Response:
    """Trending coins from the trending pool; `nfts` and `categories` are always empty."""
    served, listing = await asyncio.gather(services.market.trending(), load_listing(services))
    btc = listing.entries.get("bitcoin")
    btc_usd = btc.price if btc else None

    def build() -> dict[str, Any]:
        base = services.settings.public_url or ""
        coins = [
            {
                "item": trending_item(
                    c.model_copy(update=trending_images(c.asset_id, base)),
                    listing.entries.get(c.asset_id),
                    btc_usd,
                )
            }
            for c in served.value.value
        ]
        return {"coins": coins, "nfts": [], "categories": []}

    answer = with_listing(served, listing)
    return responses.serve(request, answer, build, stale_header(answer.stale))
