"""`/api/v3`: a CoinGecko-compatible subset, so CoinGecko clients work by changing the base URL.

`ping`, `simple/price`, `coins/markets`, `search/trending` and `coins/{id}/market_chart`,
served from our consensus prices, cached markets listing and stored candles, in the shapes
of `api/coingecko_shapes.py`. Errors keep the statuses of `api/errors.py` (its table) but
take CoinGecko's body, `{"error": "..."}`, which CoinGecko clients read; an unsupported
`vs_currency` is CoinGecko's own 400 `{"error": "invalid vs_currency"}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from cryptoagg.api import coingecko_chart as chart
from cryptoagg.api import coingecko_shapes as cg
from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.errors import STATUS_CODES
from cryptoagg.api.hot import ResponsesDep
from cryptoagg.api.openapi import WHITESPACE, required_in_document
from cryptoagg.api.render import render
from cryptoagg.bootstrap import Container
from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.errors import CryptoAggError, InvalidInput
from cryptoagg.core.models import MarketEntry
from cryptoagg.services.context import Served
from cryptoagg.services.market import MARKETS_PAGE

log = structlog.get_logger("cryptoagg.api.coingecko")
T = TypeVar("T")

#: ids (or symbols) per `simple/price` request
MAX_IDS = 250
PING = {"gecko_says": "(V3) To the Moon!"}


def cg_error(status: int, message: str) -> Response:
    return render({"error": message}, status)


class CoinGeckoErrorBody(BaseModel):
    error: str


_ERRORS = {
    400: "vs_currency other than usd: CoinGecko's `invalid vs_currency`",
    404: "unknown coin id: CoinGecko's `coin not found`",
    422: "a parameter is missing or not valid",
    503: "no provider could answer",
}


def errors(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the OpenAPI docs: CoinGecko's error body; `described` overrides a
    description (`s422="..."`)."""
    return {
        s: {"model": CoinGeckoErrorBody, "description": described.get(f"s{s}", _ERRORS[s])}
        for s in statuses
    }


#: `vs_currency`: only usd is served (any case, blanks around ignored); others get CoinGecko's
#: 400 `invalid vs_currency`
USD_PATTERN = f"^[{WHITESPACE}]*[Uu][Ss][Dd][{WHITESPACE}]*$"
USD_ONLY = {"pattern": USD_PATTERN}
#: at most MAX_IDS items in a comma list
MAX_IDS_PATTERN = f"^[^,]*(?:,[^,]*){{0,{MAX_IDS - 1}}}$"


class PingOut(BaseModel):
    gecko_says: str


#: `simple/price`: `{id: {usd, usd_market_cap, ...}}` (plus `_mock` in mock mode)
SIMPLE_PRICE_SCHEMA = {
    "type": "object",
    "properties": {"_mock": {"type": "boolean", "description": "mock mode only"}},
    "additionalProperties": {
        "type": "object",
        "additionalProperties": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
}


class CgMarketOut(BaseModel):
    """A `coins/markets` row; `price_change_percentage_<timeframe>_in_currency` are added for
    the timeframes asked."""

    id: str
    symbol: str
    name: str
    image: str | None
    current_price: float
    market_cap: float | None
    market_cap_rank: int | None
    fully_diluted_valuation: float | None
    total_volume: float | None
    high_24h: float | None
    low_24h: float | None
    price_change_24h: float | None
    price_change_percentage_24h: float | None
    market_cap_change_24h: float | None
    market_cap_change_percentage_24h: float | None
    circulating_supply: float | None
    total_supply: float | None
    max_supply: float | None
    ath: float | None
    ath_change_percentage: float | None
    ath_date: datetime | None
    atl: float | None
    atl_change_percentage: float | None
    atl_date: datetime | None
    roi: dict[str, Any] | None
    last_updated: datetime
    sparkline_in_7d: dict[str, Any] | None = Field(default=None, description="sparkline=true")


class CgTrendingDataOut(BaseModel):
    price: float | None
    price_btc: str | None
    price_change_percentage_24h: dict[str, float]
    market_cap: str | None
    market_cap_btc: str | None
    total_volume: str | None
    total_volume_btc: str | None
    sparkline: str | None
    content: dict[str, Any] | None


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


#: a chart point, `[ms, value]` (a list, not a tuple: schemathesis turns `prefixItems` into
#: the pre-2020 `items` array in response schemas, which its own check then refuses)
Point = Annotated[list[float], Field(min_length=2, max_length=2)]
NullablePoint = Annotated[list[float | None], Field(min_length=2, max_length=2)]


class CgMarketChartOut(BaseModel):
    """Points are `[ms, value]`, the same timestamps in the three arrays; volumes are null."""

    prices: list[Point]
    market_caps: list[NullablePoint]
    total_volumes: list[NullablePoint]


class CoinGeckoRoute(APIRoute):
    """Errors in CoinGecko's body shape, with our statuses (the table of `api/errors.py`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except CryptoAggError as exc:
                status = next((code for cls, code in STATUS_CODES if isinstance(exc, cls)), 500)
                if status == 500:
                    log.error("internal_error", error=exc.message)
                    return cg_error(500, "internal error")
                return cg_error(status, exc.message)
            except RequestValidationError as exc:
                # name the parameter and the problem, never echo the value
                problems = [f"{err.get('loc', ('', ''))[-1]}: {err['msg']}" for err in exc.errors()]
                return cg_error(422, "; ".join(problems))

        return handle


router = APIRouter(prefix="/api/v3", tags=["coingecko-compatible"], route_class=CoinGeckoRoute)


def _usd_only(vs_currency: str | None) -> Response | None:
    if not vs_currency:
        return cg_error(422, "Missing parameter vs_currency")
    if vs_currency.strip().lower() != cg.CURRENCY:
        return cg_error(400, "invalid vs_currency")
    return None


@dataclass(frozen=True, slots=True)
class Listing:
    """The listing by asset id, its version and whether it is stale (None: unavailable)."""

    entries: dict[str, MarketEntry]
    version: object = None
    stale: bool = False


async def _listing(container: Container) -> Listing:
    """The listing; empty when no provider can give it (the figures it adds are then null
    or taken from elsewhere, never an error)."""
    try:
        served = await container.market.market((), MARKETS_PAGE)
    except CryptoAggError as exc:
        log.info("coingecko_compat_without_listing", error=exc.message)
        return Listing({})
    return Listing({e.asset_id: e for e in served.value.entries}, served.version, served.stale)


def stale_header(stale: bool) -> dict[str, str]:
    """CoinGecko's bodies have no room for it: whether the data is stale is a header (with
    `Age`, the data's age in seconds)."""
    return {"X-Data-Stale": "true" if stale else "false"}


def _with(served: Served[T], listing: Listing) -> Served[T]:
    """`served`, whose rendering also depends on `listing`."""
    stale = served.stale or listing.stale
    return replace(served, stale=stale, version=(served.version, listing.version))


def _by_symbol(registry: AssetRegistry, symbol: str) -> Asset | None:
    """A ticker's asset, or None when unknown or ambiguous (never guessed)."""
    try:
        found = registry.resolve(symbol)
    except CryptoAggError:
        return None
    if found.asset.symbol.lower() != symbol.lower() and found.matched_by != "alias":
        return None  # matched an id or a name, not the ticker
    return found.asset


@router.get("/ping", summary="Server status, CoinGecko's shape", response_model=PingOut)
async def ping() -> Response:
    return render(PING)


def _simple_keys(registry: AssetRegistry, ids: list[str], symbols: list[str]) -> dict[str, Asset]:
    """Answer keys to assets: CoinGecko ids as given, else tickers keyed lowercase."""
    if ids:
        return {i: registry.get(i) for i in ids if i in registry}
    keyed = {}
    for symbol in symbols:
        asset = _by_symbol(registry, symbol)
        if asset is not None:
            keyed[symbol.lower()] = asset
    return keyed


@router.get(
    "/simple/price",
    summary="Consensus prices keyed by CoinGecko id (or symbol)",
    responses={
        200: {"content": {"application/json": {"schema": SIMPLE_PRICE_SCHEMA}}},
        **errors(
            422,
            503,
            s422=f"a parameter is missing or not valid (`ids` or `symbols` must name at least "
            f"one coin; at most {MAX_IDS})",
        ),
    },
    openapi_extra=required_in_document("vs_currencies"),
)
async def simple_price(
    request: Request,
    container: ContainerDep,
    responses: ResponsesDep,
    *,
    ids: Annotated[
        str | None,
        Query(
            max_length=10_000,
            description=f"comma-separated CoinGecko ids (at most {MAX_IDS})",
            json_schema_extra={"pattern": MAX_IDS_PATTERN},
        ),
    ] = None,
    symbols: Annotated[
        str | None,
        Query(
            max_length=5_000,
            description=f"comma-separated tickers, used without `ids` (at most {MAX_IDS})",
            json_schema_extra={"pattern": MAX_IDS_PATTERN},
        ),
    ] = None,
    vs_currencies: Annotated[
        str | None,
        Query(
            max_length=1_000,
            description="comma-separated; only usd is served, others are left out",
            json_schema_extra={"pattern": f"[^,{WHITESPACE}]"},
        ),
    ] = None,
    include_market_cap: str | None = None,
    include_24hr_vol: str | None = None,
    include_24hr_change: str | None = None,
    include_last_updated_at: str | None = None,
) -> Response:
    """`ids` (CoinGecko ids) or `symbols` (tickers; the answer is keyed by the lowercase
    symbol, as CoinGecko does); unknown or ambiguous ones are left out. Only `usd` is
    supported: other currencies are left out, so `vs_currencies=eur` gives `{"bitcoin": {}}`."""
    by_id, by_symbol = cg.csv(ids), cg.csv(symbols)
    if not by_id and not by_symbol:
        return cg_error(422, "Missing parameter ids")
    currencies = [c.lower() for c in cg.csv(vs_currencies)]
    if not currencies:
        return cg_error(422, "Missing parameter vs_currencies")
    if len(by_id or by_symbol) > MAX_IDS:
        raise InvalidInput(f"at most {MAX_IDS} ids or symbols per request")
    keyed = _simple_keys(container.registry, by_id, by_symbol)
    if not keyed:
        return render({})
    flags = cg.SimpleFlags(
        market_cap=cg.flag(include_market_cap),
        volume=cg.flag(include_24hr_vol),
        change=cg.flag(include_24hr_change),
        last_updated=cg.flag(include_last_updated_at),
    )
    usd = cg.CURRENCY in currencies
    wanted = list(dict.fromkeys(a.id for a in keyed.values()))
    if flags.needs_listing and usd:
        served, listing = await asyncio.gather(container.prices.prices(wanted), _listing(container))
    else:
        served, listing = await container.prices.prices(wanted), Listing({})
    consensus = {r.value.asset.id: r.value.consensus for r in served.value.reports}
    answer = _with(served, listing)
    return responses.serve(
        request,
        answer,
        lambda: {
            key: cg.simple_price_entry(consensus[a.id], listing.entries.get(a.id), usd, flags)
            for key, a in keyed.items()
            if a.id in consensus
        },
        stale_header(answer.stale),
    )


MARKETS_DOC = (
    "The top 250 assets of our listing (`/api/market`: assembled from every listing provider, "
    "`current_price` the consensus price), filtered (`ids`, else `names`, else `symbols`), "
    "ordered and paged like CoinGecko's; pages past them are empty. `category` cannot be "
    "served and is refused. `X-Data-Stale: true` and `Age` say when the data is stale.\n\n"
    "Every other figure is the median of the listings that agree with the consensus, or null, "
    "except these derived ones:\n"
    + "".join(f"\n- `{name}`: {how}" for name, how in cg.DERIVED.items())
)


@router.get(
    "/coins/markets",
    summary="The markets listing in CoinGecko's row shape",
    description=MARKETS_DOC,
    response_model=list[CgMarketOut],
    responses=errors(400, 422, 503),
    openapi_extra=required_in_document("vs_currency"),
)
async def coins_markets(
    request: Request,
    container: ContainerDep,
    responses: ResponsesDep,
    *,
    vs_currency: Annotated[
        str | None, Query(description="usd (the only one served)", json_schema_extra=USD_ONLY)
    ] = None,
    ids: Annotated[str | None, Query(max_length=10_000)] = None,
    names: Annotated[str | None, Query(max_length=10_000)] = None,
    symbols: Annotated[str | None, Query(max_length=5_000)] = None,
    include_tokens: str | None = None,
    category: Annotated[
        str | None,
        Query(
            description="not supported: any value is refused",
            json_schema_extra={"maxLength": 0},
        ),
    ] = None,
    order: Annotated[
        str, Query(json_schema_extra={"enum": list(cg.MARKET_ORDERS)})
    ] = "market_cap_desc",
    per_page: Annotated[int, Query(ge=1, le=250)] = 100,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    sparkline: str | None = None,
    price_change_percentage: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """CoinGecko's `coins/markets` from our listing (described in `MARKETS_DOC`)."""
    refused = _usd_only(vs_currency)
    if refused is not None:
        return refused
    if category:
        raise InvalidInput("category is not supported")
    if order not in cg.MARKET_ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(cg.MARKET_ORDERS)}")
    served = await container.market.market((), MARKETS_PAGE)

    def build() -> list[dict[str, Any]]:
        wanted = cg.csv(price_change_percentage)
        changes = [t for t in cg.CHANGE_TIMEFRAMES if t in wanted]
        entries = cg.filter_markets(
            served.value.entries,
            cg.csv(ids),
            cg.csv(names),
            cg.csv(symbols),
            all_tokens=include_tokens == "all",
        )
        chosen = cg.order_markets(entries, order)[(page - 1) * per_page : page * per_page]
        return [cg.market_row(e, changes, cg.flag(sparkline)) for e in chosen]

    return responses.serve(request, served, build, stale_header(served.stale))


@router.get(
    "/search/trending",
    summary="Trending coins in CoinGecko's shape",
    response_model=CgTrendingOut,
    responses=errors(503),
)
async def search_trending(
    request: Request, container: ContainerDep, responses: ResponsesDep
) -> Response:
    """Trending coins from the trending pool; `nfts` and `categories` are always empty."""
    served, listing = await asyncio.gather(container.market.trending(), _listing(container))
    btc = listing.entries.get("bitcoin")
    btc_usd = btc.price if btc else None

    def build() -> dict[str, Any]:
        coins = [
            {"item": cg.trending_item(c, listing.entries.get(c.asset_id), btc_usd)}
            for c in served.value.value
        ]
        return {"coins": coins, "nfts": [], "categories": []}

    answer = _with(served, listing)
    return responses.serve(request, answer, build, stale_header(answer.stale))


@router.get(
    "/coins/{id}/market_chart",
    summary="Price history from our stored candles",
    response_model=CgMarketChartOut,
    responses=errors(
        400,
        404,
        422,
        s422="a parameter is missing or not valid, or `interval` cannot cover `days` "
        f"(5m: at most {chart.FIVE_MINUTE_MAX_DAYS} day, hourly: at most "
        f"{chart.HOURLY_MAX_DAYS} days)",
    ),
    openapi_extra=required_in_document("vs_currency", "days"),
)
async def market_chart(
    container: ContainerDep,
    id: str,
    vs_currency: Annotated[
        str | None, Query(description="usd (the only one served)", json_schema_extra=USD_ONLY)
    ] = None,
    days: Annotated[
        str | None,
        Query(
            description="a positive number of days, or max",
            json_schema_extra={"pattern": chart.DAYS_PATTERN},
        ),
    ] = None,
    interval: Annotated[
        str | None,
        Query(
            description="5m, hourly or daily; empty: auto",
            json_schema_extra={"enum": list(chart.INTERVALS)},
        ),
    ] = None,
) -> Response:
    """`days` back from now (or `max`), at CoinGecko's granularity on our tiers: up to 1 day
    5-minutely (from 1m candles), up to 90 days hourly, beyond daily; `interval=5m|hourly|
    daily` forces one. Missing candles are fetched first (at most HISTORY_BACKFILL_CALLS
    upstream calls); the last point is the last closed candle. `market_caps` are closes x
    today's circulating supply from the listing (derived as in `coins/markets` when the
    listing's provider did not send it)."""
    if id not in container.registry:
        return cg_error(404, "coin not found")
    refused = _usd_only(vs_currency)
    if refused is not None:
        return refused
    if not days:
        return cg_error(422, "Missing parameter days")
    asset = container.registry.get(id)
    history = container.history
    plan = chart.chart_plan(chart.parse_days(days), interval, history.now())
    if plan.start > plan.end:
        return render(chart.chart_body([], plan, None))
    calls = container.settings.history_backfill_calls
    if calls:
        await history.fill(asset, plan.interval, plan.start, plan.end, max_calls=calls)
    candles, listing = await asyncio.gather(
        history.stored(asset, plan.interval, plan.start, plan.end), _listing(container)
    )
    listed = listing.entries.get(asset.id)
    supply = cg.circulating_supply(listed) if listed else None
    return render(chart.chart_body(candles, plan, supply))
