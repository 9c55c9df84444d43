"""`/api/market` (every listing provider's listing, one checked row per asset) and
`/api/market/history` (an asset's stored price records).

`/api/price` and `/api/prices` are `api/routes/prices.py`; `price_body` is importable from here
too, for the CLI, which renders both answers as the API does."""

from __future__ import annotations

import functools
import time
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.types import Scope

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.http.hot import ResponsesDep
from cryptoagg.api.render import iso, render
from cryptoagg.api.routes.prices import price_body
from cryptoagg.api.routes.symbols import SYMBOL_PATTERN, SYMBOLS_DOC, SYMBOLS_PATTERN, parse_symbols
from cryptoagg.bootstrap.container import Services
from cryptoagg.services.context import Served
from cryptoagg.services.market import MarketReport

__all__ = ["market_body", "price_body", "record_market_query", "router"]

router = APIRouter(prefix="/api", tags=["market"])


@functools.lru_cache(maxsize=1024)
def _market_params(query_string: bytes) -> tuple[tuple[str, str], ...]:
    given = dict(parse_qsl(query_string.decode("latin-1")))
    params = [("limit", given.get("limit", "100"))]
    if given.get("symbols"):
        params.append(("symbols", given["symbols"]))
    return tuple(params)


def record_market_query(services: Services, scope: Scope, duration_ms: float) -> None:
    """Count the `/api/market` request in `user_queries` (aggregated per second, written
    behind), also for requests the hot path serves."""
    services.recorder.hit("/api/market", _market_params(scope["query_string"]), 200, duration_ms)


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
    services: ServicesDep,
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
    served = await services.market.market(parse_symbols(symbols), limit)
    services.recorder.market(served.value.entries, served.value.assembled_at)
    record_market_query(services, request.scope, (time.perf_counter() - started) * 1000)
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
    services: ServicesDep,
    symbol: Annotated[str, Query(pattern=SYMBOL_PATTERN, description="ticker or asset id")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> Response:
    recorded = await services.price_records.latest(symbol, limit)
    asset, records = recorded.asset, recorded.records
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
