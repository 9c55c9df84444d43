"""`/api/trending`, `/api/sentiment` and `/api/defi`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.http.hot import ResponsesDep
from cryptoagg.api.render import iso, render
from cryptoagg.api.routes.images import image_url
from cryptoagg.api.routes.news_sentiment import (
    AssetSentimentOut,
    asset_sentiment,
    news_sentiment,
)
from cryptoagg.api.routes.symbols import SYMBOL_PATTERN
from cryptoagg.core.models import DefiOverview, TrendingCoin
from cryptoagg.resilience.pool import Answer
from cryptoagg.services.context import Served

router = APIRouter(prefix="/api", tags=["info"])

Body = dict[str, Any]


class Freshness(BaseModel):
    as_of: datetime | None
    age_s: float
    sources: list[str] = Field(description="the provider that answered")
    stale: bool
    unavailable: dict[str, str] = Field(description="failing providers and why")


class TrendingCoinOut(BaseModel):
    asset_id: str
    symbol: str
    name: str
    market_cap_rank: int | None
    score: int
    price_btc: float | None
    thumb: str = Field(
        description="the coin's image on this server (`/api/images/{asset_id}`): the "
        "provider's, fetched by the server, or a generated icon"
    )


class TrendingOut(Freshness):
    trending: list[TrendingCoinOut]


class FearGreedOut(Freshness):
    value: int = Field(description="0 (extreme fear) to 100 (extreme greed)")
    classification: str


class NewsSentimentOut(BaseModel):
    window_h: int
    since: datetime
    items: int
    scored: int
    labels: dict[str, int]
    mean_score: float | None = Field(description="-1 to 1; null when none is scored")
    model: str | None


class MarketSentimentOut(BaseModel):
    fear_greed: FearGreedOut
    news: NewsSentimentOut
    asset: AssetSentimentOut | None = Field(
        None,
        description="with `symbol`: that asset's news sentiment over `24h` and `7d` (labels, "
        "mean score) and the items behind it, as in `/api/news/sentiment?symbol=`",
    )


class ProtocolOut(BaseModel):
    name: str
    slug: str
    tvl: float
    category: str | None
    chains: list[str]
    change_1d: float | None = Field(description="percent")


class ChainOut(BaseModel):
    name: str
    tvl: float
    token_symbol: str | None


class DefiOut(Freshness):
    total_tvl: float
    protocols: list[ProtocolOut]
    chains: list[ChainOut]


@router.get(
    "/trending",
    summary="Trending coins",
    response_model=TrendingOut,
    responses=error_responses(503),
)
async def trending(request: Request, services: ServicesDep, responses: ResponsesDep) -> Response:
    served = await services.market.trending()
    return responses.serve(request, served, lambda: _trending_body(served))


def _freshness(served: Served[Answer[Any]], as_of: datetime) -> Body:
    return {
        "as_of": iso(as_of),
        "age_s": served.age_s,
        "sources": [served.value.provider],
        "stale": served.stale,
        "unavailable": served.unavailable,
    }


def _trending_body(served: Served[Answer[list[TrendingCoin]]]) -> Body:
    answer = served.value
    coins = [
        {
            "asset_id": c.asset_id,
            "symbol": c.symbol,
            "name": c.name,
            "market_cap_rank": c.market_cap_rank,
            "score": c.score,
            "price_btc": c.price_btc,
            "thumb": image_url(c.asset_id),
        }
        for c in answer.value[:10]
    ]
    return {"trending": coins, **_freshness(served, answer.fetched_at)}


@router.get(
    "/sentiment",
    summary="Fear & Greed index and news sentiment summary (per asset with `symbol`)",
    response_model=MarketSentimentOut,
    response_model_exclude_none=True,
    responses=error_responses(404, 409, 422, 503),
)
async def sentiment(
    services: ServicesDep,
    symbol: Annotated[
        str | None,
        Query(pattern=SYMBOL_PATTERN, description="add this asset's news sentiment"),
    ] = None,
) -> Response:
    asset = services.assets.resolve(symbol).asset if symbol else None
    served = await services.market.fear_greed()
    fg = served.value.value
    body: Body = {
        "fear_greed": {
            "value": fg.value,
            "classification": fg.classification,
            **_freshness(served, fg.as_of),
        },
        "news": await news_sentiment(services),
    }
    if asset is not None:
        body["asset"] = await asset_sentiment(services, asset)
    return render(body)


@router.get(
    "/defi",
    summary="Total DeFi TVL, top protocols and chains",
    response_model=DefiOut,
    responses=error_responses(503),
)
async def defi(request: Request, services: ServicesDep, responses: ResponsesDep) -> Response:
    served = await services.market.defi()
    return responses.serve(request, served, lambda: _defi_body(served))


def _defi_body(served: Served[Answer[DefiOverview]]) -> Body:
    answer = served.value
    d = answer.value
    return {
        "total_tvl": d.total_tvl,
        "protocols": [
            {
                "name": p.name,
                "slug": p.slug,
                "tvl": p.tvl,
                "category": p.category,
                "chains": list(p.chains),
                "change_1d": p.change_1d_pct,
            }
            for p in d.protocols
        ],
        "chains": [
            {"name": c.name, "tvl": c.tvl, "token_symbol": c.token_symbol} for c in d.chains
        ],
        **_freshness(served, d.as_of),
    }
