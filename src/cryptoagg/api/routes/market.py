"""`/api/market` (listings) and `/api/price/{symbol}` (consensus price)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.render import iso, render
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Quote
from cryptoagg.services.context import ServiceContext
from cryptoagg.services.prices import PriceReport
from cryptoagg.storage.repositories import QueryRecord

router = APIRouter(prefix="/api", tags=["market"])

SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_SYMBOLS = 50


def parse_symbols(raw: str | None) -> list[str]:
    if not raw:
        return []
    symbols = [s.strip() for s in raw.split(",") if s.strip()]
    if len(symbols) > MAX_SYMBOLS:
        raise InvalidInput(f"at most {MAX_SYMBOLS} symbols per request")
    for symbol in symbols:
        if not symbol.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise InvalidInput("symbols must be letters, digits, '-', '_' or '.'")
    return symbols


@router.get("/market", summary="Top assets with price, 24h change, market cap and volume")
async def market(
    container: ContainerDep,
    symbols: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=250)] = 100,
) -> Response:
    started = time.perf_counter()
    report = await container.market.market(parse_symbols(symbols), limit)
    ctx = container.market.ctx
    now = ctx.clock()
    container.recorder.market(report.entries, now)
    params = {"limit": str(limit), **({"symbols": symbols} if symbols else {})}
    duration_ms = (time.perf_counter() - started) * 1000
    container.recorder.query(QueryRecord(now, "/api/market", params, 200, duration_ms))
    rows = [
        {
            "rank": e.rank,
            "name": e.name,
            "symbol": e.symbol,
            "asset_id": e.asset_id,
            "price": e.price,
            "change_24h": e.change_24h_pct,
            "market_cap": e.market_cap,
            "volume_24h": e.volume_24h,
            "as_of": iso(e.as_of),
            "age_s": ctx.age_s(e.as_of),
            "sources": [e.provider],
            "stale": report.stale or ctx.is_stale(e.as_of),
        }
        for e in report.entries
    ]
    return render(
        {
            "cryptocurrencies": rows,
            "provider": report.provider,
            "stale": report.stale,
            "timestamp": iso(ctx.clock()),
        }
    )


@router.get("/market/history", summary="Stored price records of an asset, newest first")
async def market_history(
    container: ContainerDep,
    symbol: Annotated[str, Query(pattern=SYMBOL_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> Response:
    asset = container.assets.resolve(symbol).asset
    records = await asyncio.to_thread(container.prices_repo.latest, asset.id, limit)
    return render(
        {
            "symbol": asset.symbol,
            "asset_id": asset.id,
            "count": len(records),
            "history": [
                {
                    "price": r.price,
                    "as_of": iso(r.as_of),
                    "recorded_at": iso(r.recorded_at),
                    "sources": r.sources,
                    "volume_24h": r.volume_24h,
                    "change_24h": r.change_24h,
                    "market_cap": r.market_cap,
                }
                for r in records
            ],
        }
    )


def _quote(q: Quote) -> dict[str, Any]:
    return {
        "provider": q.provider,
        "price": q.price,
        "as_of": iso(q.as_of),
        "converted_from": q.converted_from,
    }


def _price_body(report: PriceReport, stale: bool, ctx: ServiceContext) -> dict[str, Any]:
    c = report.consensus
    return {
        "asset_id": report.asset.id,
        "symbol": report.asset.symbol,
        "name": report.asset.name,
        "price": c.price,
        "confidence": {
            "low": c.low,
            "high": c.high,
            "spread_bps": c.spread_bps,
            "mad": c.mad,
            "method": "median of fresh quotes; outliers beyond 3 scaled MADs and 1% dropped",
        },
        "as_of": iso(c.as_of),
        "age_s": ctx.age_s(c.as_of),
        "stale": stale or ctx.is_stale(c.as_of),
        "sources": c.sources,
        "quotes": [_quote(q) for q in c.used],
        "outliers": [{**_quote(d.quote), "reason": d.reason} for d in c.dropped],
        "conversions": report.conversions,
        "unavailable": report.failures,
    }


@router.get("/price/{symbol}", summary="Consensus price with confidence band and sources")
async def price(
    container: ContainerDep,
    symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN)],
) -> Response:
    served = await container.prices.price(symbol)
    return render(_price_body(served.value, served.stale, container.prices.ctx))


@router.get("/prices", summary="Consensus prices of several assets in one batch")
async def prices(
    container: ContainerDep,
    symbols: Annotated[str, Query(min_length=1, max_length=2000)],
) -> Response:
    wanted = parse_symbols(symbols)
    if not wanted:
        raise InvalidInput("symbols: give at least one ticker or asset id")
    served = await container.prices.prices(wanted)
    batch = served.value
    ctx = container.prices.ctx
    return render(
        {
            "prices": [_price_body(r, served.stale, ctx) for r in batch.reports],
            "missing": batch.missing,
            "unavailable": batch.failures,
        }
    )
