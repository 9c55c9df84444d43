"""`/api/market` (listings) and `/api/price/{symbol}` (consensus price)."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.types import Scope

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.hot import ResponsesDep, request_key
from cryptoagg.api.render import iso, render
from cryptoagg.bootstrap import Container
from cryptoagg.core.consensus import ConsensusRules
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Quote
from cryptoagg.services.context import ServiceContext
from cryptoagg.services.market import MarketReport
from cryptoagg.services.prices import PriceReport, StableRate

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


@functools.lru_cache(maxsize=1024)
def _market_params(query_string: bytes) -> tuple[tuple[str, str], ...]:
    given = dict(parse_qsl(query_string.decode("latin-1")))
    params = [("limit", given.get("limit", "100"))]
    if given.get("symbols"):
        params.append(("symbols", given["symbols"]))
    return tuple(params)


def record_market_query(container: Container, scope: Scope, duration_ms: float) -> None:
    """Count the `/api/market` request in `user_queries` (aggregated per second, written
    behind), also for requests the hot path serves."""
    container.recorder.hit("/api/market", _market_params(scope["query_string"]), 200, duration_ms)


@router.get(
    "/market",
    summary="Top assets with price, 24h change, market cap and volume",
    description="One provider's listing, its figures as sent: `circulating_supply` is null "
    "when that provider sent none (CoinPaprika's current tickers do not), never derived here.",
)
async def market(
    request: Request,
    container: ContainerDep,
    responses: ResponsesDep,
    symbols: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=250)] = 100,
) -> Response:
    started = time.perf_counter()
    report = await container.market.market(parse_symbols(symbols), limit)
    ctx = container.market.ctx
    container.recorder.market(report.entries, ctx.clock())
    record_market_query(container, request.scope, (time.perf_counter() - started) * 1000)
    version = (report.stored_at, report.stale)
    encoded = responses.get(request_key(request), version, lambda: _market_body(report, ctx))
    return responses.respond(request, encoded, ctx.ttls.markets_s - report.age_s)


def _market_body(report: MarketReport, ctx: ServiceContext) -> dict[str, Any]:
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
            "circulating_supply": e.circulating_supply,
            "as_of": iso(e.as_of),
            "age_s": ctx.age_s(e.as_of),
            "sources": [e.provider],
            "stale": report.stale or ctx.is_stale(e.as_of),
        }
        for e in report.entries
    ]
    return {
        "cryptocurrencies": rows,
        "provider": report.provider,
        "stale": report.stale,
        "timestamp": iso(ctx.clock()),
    }


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


_RULES = ConsensusRules()
METHOD = (
    f"median of fresh quotes; outliers beyond {_RULES.k} scaled MADs and "
    f"{_RULES.min_rel_dev:.0%} dropped; a quote converted at an assumed stablecoin rate spans "
    f"±{_RULES.assumed_rate_allowance:.1%} in the band"
)
LABELS = """Each quote's `time_source` is `provider` (the provider stamped it) or `received` (the
payload had no time: `as_of` is when we received it). `conversions` names each stablecoin rate
the quotes were converted at: `assumed: true` (rate 1, no `sources`) when no provider quoted the
stablecoin in USD; such quotes widen the confidence band (see `confidence.method`)."""


def _quote(q: Quote) -> dict[str, Any]:
    return {
        "provider": q.provider,
        "price": q.price,
        "as_of": iso(q.as_of),
        "time_source": q.time_source,
        "converted_from": q.converted_from,
    }


def _conversion(stable: StableRate) -> dict[str, Any]:
    return {"rate": stable.rate, "assumed": stable.assumed, "sources": list(stable.sources)}


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
            "method": METHOD,
        },
        "as_of": iso(c.as_of),
        "age_s": ctx.age_s(c.as_of),
        "stale": stale or ctx.is_stale(c.as_of),
        "sources": c.sources,
        "quotes": [_quote(q) for q in c.used],
        "outliers": [{**_quote(d.quote), "reason": d.reason} for d in c.dropped],
        "conversions": {code: _conversion(rate) for code, rate in report.conversions.items()},
        "unavailable": report.failures,
    }


@router.get(
    "/price/{symbol}",
    summary="Consensus price with confidence band and sources",
    description=LABELS,
)
async def price(
    request: Request,
    container: ContainerDep,
    responses: ResponsesDep,
    symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN)],
) -> Response:
    served = await container.prices.price(symbol)
    ctx = container.prices.ctx
    encoded = responses.get(
        request_key(request),
        (served.stored_at, served.stale),
        lambda: _price_body(served.value, served.stale, ctx),
    )
    return responses.respond(request, encoded, ctx.ttls.price_s - served.age_s)


@router.get(
    "/prices",
    summary="Consensus prices of several assets in one batch",
    description="Each entry of `prices` is shaped like `/api/price`'s answer. " + LABELS,
)
async def prices(
    request: Request,
    container: ContainerDep,
    responses: ResponsesDep,
    symbols: Annotated[str, Query(min_length=1, max_length=2000)],
) -> Response:
    wanted = parse_symbols(symbols)
    if not wanted:
        raise InvalidInput("symbols: give at least one ticker or asset id")
    served = await container.prices.prices(wanted)
    batch = served.value
    ctx = container.prices.ctx
    encoded = responses.get(
        request_key(request),
        (served.stored_at, served.stale),
        lambda: {
            "prices": [_price_body(r, served.stale, ctx) for r in batch.reports],
            "missing": batch.missing,
            "unavailable": batch.failures,
        },
    )
    return responses.respond(request, encoded, ctx.ttls.price_s - served.age_s)
