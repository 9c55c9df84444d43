"""`/api/market` (listings) and `/api/price/{symbol}` (consensus price)."""

from __future__ import annotations

import asyncio
import functools
import time
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.types import Scope

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.http.hot import ResponsesDep
from cryptoagg.api.render import iso, render
from cryptoagg.bootstrap import Container
from cryptoagg.core.consensus import ConsensusRules
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Quote
from cryptoagg.services.context import Served
from cryptoagg.services.market import MarketReport
from cryptoagg.services.prices import PriceReport, StableRate

router = APIRouter(prefix="/api", tags=["market"])

SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_SYMBOLS = 50
#: `symbols=`: 1 to MAX_SYMBOLS tickers or asset ids (each as SYMBOL_PATTERN) separated by
#: commas, with a space before or after a comma allowed (within what `parse_symbols` reads)
SYMBOLS_PATTERN = f"^{SYMBOL_PATTERN[1:-1]}(?: ?, ?{SYMBOL_PATTERN[1:-1]}){{0,{MAX_SYMBOLS - 1}}}$"
SYMBOLS_DOC = (
    f"comma-separated tickers or asset ids (at most {MAX_SYMBOLS}; letters, digits, "
    "'-', '_' and '.', starting with a letter or digit)"
)


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


class ReplacedOut(BaseModel):
    provider: str
    price: float = Field(description="the price it sent, left out of the row")
    reason: str


class MarketRowOut(BaseModel):
    rank: int | None
    name: str
    symbol: str
    asset_id: str
    price: float
    price_basis: Literal["consensus", "listing"]
    price_sources: list[str]
    change_24h: float | None = Field(description="percent")
    market_cap: float | None
    volume_24h: float | None
    circulating_supply: float | None
    as_of: datetime | None
    age_s: float
    sources: list[str] = Field(description="the listing providers whose figures the row uses")
    replaced: list[ReplacedOut]
    stale: bool


class MarketOut(BaseModel):
    cryptocurrencies: list[MarketRowOut]
    providers: list[str] = Field(description="the listing providers that answered")
    stale: bool
    unavailable: dict[str, str] = Field(description="failing providers and why")
    age_s: float
    timestamp: datetime = Field(description="when the listing was assembled")


MARKET_DOC = """Every listing provider's listing at once (CoinGecko, CoinPaprika, CoinCap), one row
per asset:

- `price` is the consensus price of `/api/price` when one is known for the asset
  (`price_basis: "consensus"`), else the consensus of the listings' own prices (`"listing"`);
  `price_sources` names where it came from.
- a listing whose price lies outside the consensus band (widened by 1%) is left out of the row
  and reported in `replaced` (provider and the price it sent), never served; a provider with at
  least 10% of its checked prices replaced is marked `outlier` in `/api/providers`.
- `market_cap`, `volume_24h`, `change_24h` and `circulating_supply` are the medians over the
  listings kept (`sources`), each as its provider sent it (`circulating_supply` is null when
  none sent it, never derived here); ranks follow the market caps.
- `stale` is true as soon as a refresh of the listing failed (`unavailable` names the failing
  providers) or a row's price is older than `QUOTE_MAX_AGE_S`.
"""


@router.get(
    "/market",
    summary="Top assets with price, 24h change, market cap and volume",
    description=MARKET_DOC,
    response_model=MarketOut,
    responses=error_responses(404, 409, 422, 503),
)
async def market(
    request: Request,
    container: ContainerDep,
    responses: ResponsesDep,
    symbols: Annotated[
        str | None,
        Query(
            pattern=f"^(?:{SYMBOLS_PATTERN[1:-1]})?$",
            description=f"only these: {SYMBOLS_DOC}; empty: the top `limit`",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=250)] = 100,
) -> Response:
    started = time.perf_counter()
    served = await container.market.market(parse_symbols(symbols), limit)
    container.recorder.market(served.value.entries, served.value.assembled_at)
    record_market_query(container, request.scope, (time.perf_counter() - started) * 1000)
    return responses.serve(request, served, lambda: market_body(served))


def market_body(served: Served[MarketReport]) -> dict[str, Any]:
    rows = [
        {
            "rank": r.row.rank,
            "name": r.row.name,
            "symbol": r.row.symbol,
            "asset_id": r.row.asset_id,
            "price": r.row.price,
            "price_basis": r.row.price_basis,
            "price_sources": list(r.row.price_sources),
            "change_24h": r.row.change_24h_pct,
            "market_cap": r.row.market_cap,
            "volume_24h": r.row.volume_24h,
            "circulating_supply": r.row.circulating_supply,
            "as_of": iso(r.row.as_of),
            "age_s": r.age_s,
            "sources": list(r.row.sources),
            "replaced": [
                {"provider": x.provider, "price": x.price, "reason": x.reason}
                for x in r.row.replaced
            ],
            "stale": r.stale,
        }
        for r in served.value.rows
    ]
    return {
        "cryptocurrencies": rows,
        "providers": list(served.value.providers),
        "stale": served.stale,
        "unavailable": served.unavailable,
        "age_s": served.age_s,
        "timestamp": iso(served.value.assembled_at),
    }


class PriceRecordOut(BaseModel):
    price: float
    as_of: datetime
    recorded_at: datetime
    sources: list[str]
    volume_24h: float | None
    change_24h: float | None
    market_cap: float | None


class MarketHistoryOut(BaseModel):
    symbol: str
    asset_id: str
    count: int
    history: list[PriceRecordOut]


@router.get(
    "/market/history",
    summary="Stored price records of an asset, newest first",
    response_model=MarketHistoryOut,
    responses=error_responses(404, 409, 422),
)
async def market_history(
    container: ContainerDep,
    symbol: Annotated[str, Query(pattern=SYMBOL_PATTERN, description="ticker or asset id")],
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


class ConfidenceOut(BaseModel):
    low: float
    high: float
    spread_bps: float
    mad: float
    method: str


class QuoteOut(BaseModel):
    provider: str
    price: float
    as_of: datetime
    time_source: Literal["provider", "received"]
    converted_from: str | None


class OutlierOut(QuoteOut):
    reason: str


class ConversionOut(BaseModel):
    rate: float
    assumed: bool
    sources: list[str]


class PriceOut(BaseModel):
    asset_id: str
    symbol: str
    name: str
    price: float
    confidence: ConfidenceOut
    as_of: datetime
    age_s: float
    stale: bool
    sources: list[str]
    quotes: list[QuoteOut]
    outliers: list[OutlierOut]
    conversions: dict[str, ConversionOut] = Field(description="by stablecoin")
    unavailable: dict[str, str] = Field(description="failing providers and why")


class PricesOut(BaseModel):
    prices: list[PriceOut]
    missing: list[str] = Field(description="asked for, but no price is known")
    unavailable: dict[str, str] = Field(description="failing providers and why")


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


def price_body(served: Served[PriceReport]) -> dict[str, Any]:
    report = served.value
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
        "age_s": served.age_s,
        "stale": served.stale,
        "sources": c.sources,
        "quotes": [_quote(q) for q in c.used],
        "outliers": [{**_quote(d.quote), "reason": d.reason} for d in c.dropped],
        "conversions": {code: _conversion(rate) for code, rate in report.conversions.items()},
        "unavailable": served.unavailable,
    }


@router.get(
    "/price/{symbol}",
    summary="Consensus price with confidence band and sources",
    description=LABELS,
    response_model=PriceOut,
    responses=error_responses(404, 409, 422, 503),
)
async def price(
    request: Request,
    container: ContainerDep,
    responses: ResponsesDep,
    symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN, description="ticker or asset id")],
) -> Response:
    served = await container.prices.price(symbol)
    return responses.serve(request, served, lambda: price_body(served))


@router.get(
    "/prices",
    summary="Consensus prices of several assets in one batch",
    description="Each entry of `prices` is shaped like `/api/price`'s answer. " + LABELS,
    response_model=PricesOut,
    responses=error_responses(404, 409, 422, 503),
)
async def prices(
    request: Request,
    container: ContainerDep,
    responses: ResponsesDep,
    symbols: Annotated[
        str,
        Query(pattern=SYMBOLS_PATTERN, description=SYMBOLS_DOC),
    ],
) -> Response:
    wanted = parse_symbols(symbols)
    if not wanted:
        raise InvalidInput("symbols: give at least one ticker or asset id")
    served = await container.prices.prices(wanted)
    return responses.serve(
        request,
        served,
        lambda: {
            "prices": [price_body(r) for r in served.value.reports],
            "missing": served.value.missing,
            "unavailable": served.unavailable,
        },
    )
