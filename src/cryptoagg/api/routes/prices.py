"""`/api/price/{symbol}` (consensus price with its confidence band) and `/api/prices` (a
batch of them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.http.hot import ResponsesDep
from cryptoagg.api.render import iso
from cryptoagg.api.routes.symbols import SYMBOL_PATTERN, SYMBOLS_DOC, SYMBOLS_PATTERN, parse_symbols
from cryptoagg.core.consensus import ConsensusRules
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Quote
from cryptoagg.services.context import Served
from cryptoagg.services.prices import PriceReport

router = APIRouter(prefix="/api", tags=["market"])

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
        "conversions": {code: rate.as_data() for code, rate in report.conversions.items()},
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
    services: ServicesDep,
    responses: ResponsesDep,
    symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN, description="ticker or asset id")],
) -> Response:
    served = await services.prices.price(symbol)
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
    services: ServicesDep,
    responses: ResponsesDep,
    symbols: Annotated[
        str,
        Query(pattern=SYMBOLS_PATTERN, description=SYMBOLS_DOC),
    ],
) -> Response:
    wanted = parse_symbols(symbols)
    if not wanted:
        raise InvalidInput("symbols: give at least one ticker or asset id")
    served = await services.prices.prices(wanted)
    return responses.serve(
        request,
        served,
        lambda: {
            "prices": [price_body(r) for r in served.value.reports],
            "missing": served.value.missing,
            "unavailable": served.unavailable,
        },
    )
