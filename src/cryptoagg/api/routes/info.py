"""`/api/trending`, `/api/sentiment` and `/api/defi`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.hot import ResponsesDep
from cryptoagg.api.render import iso, render
from cryptoagg.api.routes.news import news_sentiment
from cryptoagg.core.models import DefiOverview, TrendingCoin
from cryptoagg.resilience.pool import Answer
from cryptoagg.services.context import Served

router = APIRouter(prefix="/api", tags=["info"])

Body = dict[str, Any]


@router.get("/trending", summary="Trending coins")
async def trending(request: Request, container: ContainerDep, responses: ResponsesDep) -> Response:
    served = await container.market.trending()
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
            "thumb": c.thumb,
        }
        for c in answer.value[:10]
    ]
    return {"trending": coins, **_freshness(served, answer.fetched_at)}


@router.get("/sentiment", summary="Fear & Greed index and news sentiment summary")
async def sentiment(container: ContainerDep) -> Response:
    served = await container.market.fear_greed()
    fg = served.value.value
    return render(
        {
            "fear_greed": {
                "value": fg.value,
                "classification": fg.classification,
                **_freshness(served, fg.as_of),
            },
            "news": await news_sentiment(container),
        }
    )


@router.get("/defi", summary="Total DeFi TVL, top protocols and chains")
async def defi(request: Request, container: ContainerDep, responses: ResponsesDep) -> Response:
    served = await container.market.defi()
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
