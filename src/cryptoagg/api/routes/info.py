"""`/api/trending`, `/api/sentiment` and `/api/defi`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.hot import ResponsesDep, request_key
from cryptoagg.api.render import iso, render
from cryptoagg.api.routes.news import news_sentiment
from cryptoagg.core.models import DefiOverview, TrendingCoin
from cryptoagg.resilience.cache import Cached
from cryptoagg.resilience.pool import Answer
from cryptoagg.services.context import ServiceContext

router = APIRouter(prefix="/api", tags=["info"])

Body = dict[str, Any]


@router.get("/trending", summary="Trending coins")
async def trending(request: Request, container: ContainerDep, responses: ResponsesDep) -> Response:
    served = await container.market.trending()
    ctx = container.market.ctx
    encoded = responses.get(
        request_key(request), (served.stored_at, served.stale), lambda: _trending_body(served, ctx)
    )
    return responses.respond(request, encoded, ctx.ttls.slow_s - served.age_s)


def _trending_body(served: Cached[Answer[list[TrendingCoin]]], ctx: ServiceContext) -> Body:
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
    return {
        "trending": coins,
        "as_of": iso(answer.fetched_at),
        "age_s": ctx.age_s(answer.fetched_at),
        "sources": [answer.provider],
        "stale": served.stale or ctx.is_stale(answer.fetched_at, ctx.ttls.slow_s * 2),
    }


@router.get("/sentiment", summary="Fear & Greed index and news sentiment summary")
async def sentiment(container: ContainerDep) -> Response:
    served = await container.market.fear_greed()
    answer = served.value
    fg = answer.value
    ctx = container.market.ctx
    return render(
        {
            "fear_greed": {
                "value": fg.value,
                "classification": fg.classification,
                "as_of": iso(fg.as_of),
                "age_s": ctx.age_s(fg.as_of),
                # the index is published daily
                "stale": served.stale or ctx.is_stale(fg.as_of, max_age_s=2 * 86400),
                "sources": [answer.provider],
            },
            "news": await news_sentiment(container),
        }
    )


@router.get("/defi", summary="Total DeFi TVL, top protocols and chains")
async def defi(request: Request, container: ContainerDep, responses: ResponsesDep) -> Response:
    served = await container.market.defi()
    ctx = container.market.ctx
    encoded = responses.get(
        request_key(request), (served.stored_at, served.stale), lambda: _defi_body(served, ctx)
    )
    return responses.respond(request, encoded, ctx.ttls.slow_s - served.age_s)


def _defi_body(served: Cached[Answer[DefiOverview]], ctx: ServiceContext) -> Body:
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
        "as_of": iso(d.as_of),
        "age_s": ctx.age_s(d.as_of),
        "sources": [answer.provider],
        "stale": served.stale or ctx.is_stale(d.as_of, ctx.ttls.slow_s * 2),
    }
