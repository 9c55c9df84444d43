"""`/api/v3`: a CoinGecko-compatible subset, so CoinGecko clients work by changing the base URL.

`ping`, `simple/price`, `coins/markets`, `search/trending` and `coins/{id}/market_chart`,
served from our consensus prices, cached markets listing and stored candles, in the shapes
of `api/coingecko/shapes.py`; every answer conforms to the response schemas of CoinGecko's
official SDKs (kept in `tests/fixtures/coingecko_schemas/`). Errors keep the statuses of
`api/http/errors.py` (its table) but take CoinGecko's body, `{"error": "..."}`, which CoinGecko
clients read; an unsupported `vs_currency` is CoinGecko's own 400
`{"error": "invalid vs_currency"}`. The SDKs' key (`x-cg-demo-api-key`/`x-cg-pro-api-key`
header, `x_cg_demo_api_key`/`x_cg_pro_api_key` parameter) is accepted and ignored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from cryptoagg.api.coingecko import chart
from cryptoagg.api.coingecko import shapes as cg
from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.http.errors import STATUS_CODES
from cryptoagg.api.http.hot import ResponsesDep
from cryptoagg.api.openapi import WHITESPACE, required_in_document
from cryptoagg.api.render import render
from cryptoagg.api.routes.images import image_url, trending_images
from cryptoagg.bootstrap import Container
from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.errors import CryptoAggError, InvalidInput
from cryptoagg.core.models import Candle, Interval, MarketEntry
from cryptoagg.resilience.retry import Deadline
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
PRECISION_DOC = (
    "full, or 0 to 18 decimal places for the amounts in USD (prices, market caps, volumes, "
    "USD changes); per cent changes are not rounded"
)
Precision = Annotated[
    str | None, Query(description=PRECISION_DOC, json_schema_extra={"enum": list(cg.PRECISIONS)})
]


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


#: a chart point, `[ms, value]` (a list, not a tuple: schemathesis turns `prefixItems` into
#: the pre-2020 `items` array in response schemas, which its own check then refuses)
Point = Annotated[list[float], Field(min_length=2, max_length=2)]


class CgMarketChartOut(BaseModel):
    """Points are `[ms, value]`. `market_caps` and `total_volumes` have a point for each
    price point whose value is known (`X-Data-Missing-Points` counts the others)."""

    prices: list[Point]
    market_caps: list[Point]
    total_volumes: list[Point]


class CoinGeckoRoute(APIRoute):
    """Errors in CoinGecko's body shape, with our statuses (the table of `api/http/errors.py`)."""

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


def _by_name(registry: AssetRegistry, name: str) -> Asset | None:
    """A coin name's asset (any case; a tracked one before others), or None when unknown or
    shared by several (never guessed)."""
    named = registry.named(name)
    pool = [a for a in named if a.tracked] or named
    return pool[0] if len(pool) == 1 else None


def _simple_keys(
    registry: AssetRegistry, ids: list[str], names: list[str], symbols: list[str]
) -> dict[str, Asset]:
    """Answer keys to assets, CoinGecko's lookup priority: ids as given, else names as
    given, else tickers keyed lowercase."""
    if ids:
        return {i: registry.get(i) for i in ids if i in registry}
    if names:
        found = {name: _by_name(registry, name) for name in names}
        return {name: asset for name, asset in found.items() if asset is not None}
    keyed = {}
    for symbol in symbols:
        asset = _by_symbol(registry, symbol)
        if asset is not None:
            keyed[symbol.lower()] = asset
    return keyed


@router.get(
    "/simple/price",
    summary="Consensus prices keyed by CoinGecko id (or name, or symbol)",
    responses={
        200: {"content": {"application/json": {"schema": SIMPLE_PRICE_SCHEMA}}},
        **errors(
            422,
            503,
            s422="a parameter is missing or not valid (`ids`, `names` or `symbols` must name "
            f"at least one coin; at most {MAX_IDS})",
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
    names: Annotated[
        str | None,
        Query(
            max_length=10_000,
            description=f"comma-separated coin names, used without `ids` (at most {MAX_IDS})",
            json_schema_extra={"pattern": MAX_IDS_PATTERN},
        ),
    ] = None,
    symbols: Annotated[
        str | None,
        Query(
            max_length=5_000,
            description="comma-separated tickers, used without `ids` and `names` (at most "
            f"{MAX_IDS})",
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
    precision: Precision = None,
) -> Response:
    """`ids` (CoinGecko ids), else `names` (coin names, any case; the answer is keyed by
    the name as given), else `symbols` (tickers; keyed by the lowercase symbol, as CoinGecko
    does); unknown or ambiguous ones are left out, and so `include_tokens` changes nothing.
    Only `usd` is supported: other currencies are left out, so `vs_currencies=eur` gives
    `{"bitcoin": {}}`. `precision` rounds the price, market cap and volume."""
    by_id, by_name, by_symbol = cg.csv(ids), cg.csv(names), cg.csv(symbols)
    if not by_id and not by_name and not by_symbol:
        return cg_error(422, "Missing parameter ids")
    currencies = [c.lower() for c in cg.csv(vs_currencies)]
    if not currencies:
        return cg_error(422, "Missing parameter vs_currencies")
    if len(by_id or by_name or by_symbol) > MAX_IDS:
        raise InvalidInput(f"at most {MAX_IDS} ids, names or symbols per request")
    places = cg.parse_precision(precision)
    keyed = _simple_keys(container.registry, by_id, by_name, by_symbol)
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
            key: cg.simple_price_entry(
                consensus[a.id], listing.entries.get(a.id), usd, flags, places
            )
            for key, a in keyed.items()
            if a.id in consensus
        },
        stale_header(answer.stale),
    )


MARKETS_DOC = (
    "The top 250 assets of our listing (`/api/market`: assembled from every listing provider, "
    "`current_price` the consensus price), filtered (`ids`, else `names`, else `symbols`), "
    "ordered and paged like CoinGecko's; pages past them are empty. `category` cannot be "
    "served and is refused; `locale` and `include_rehypothecated` are ignored. `precision` "
    "rounds the amounts in USD. `X-Data-Stale: true` and `Age` say when the data is stale.\n\n"
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
    precision: Precision = None,
) -> Response:
    """CoinGecko's `coins/markets` from our listing (described in `MARKETS_DOC`)."""
    refused = _usd_only(vs_currency)
    if refused is not None:
        return refused
    if category:
        raise InvalidInput("category is not supported")
    if order not in cg.MARKET_ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(cg.MARKET_ORDERS)}")
    places = cg.parse_precision(precision)
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
        base = container.settings.public_url or ""
        return [
            {
                **cg.market_row(e, changes, cg.flag(sparkline), places),
                "image": image_url(e.asset_id, base),
            }
            for e in chosen
        ]

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
        base = container.settings.public_url or ""
        coins = [
            {
                "item": cg.trending_item(
                    c.model_copy(update=trending_images(c.asset_id, base)),
                    listing.entries.get(c.asset_id),
                    btc_usd,
                )
            }
            for c in served.value.value
        ]
        return {"coins": coins, "nfts": [], "categories": []}

    answer = _with(served, listing)
    return responses.serve(request, answer, build, stale_header(answer.stale))


#: the completeness headers of `market_chart` (`coingecko_chart.completeness_headers`)
COMPLETENESS_HEADERS = {
    "X-Data-Partial": {
        "description": "whether the answer lacks points its range holds",
        "required": True,
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
    "X-Data-Missing-Points": {
        "description": "when partial: expected points each array lacks, "
        "`prices=N, market_caps=N, total_volumes=N`",
        "schema": {"type": "string"},
    },
    "X-Data-Missing": {
        "description": "when prices lack points: their time ranges, ISO 8601 intervals "
        "(`start/end`) oldest first, comma-separated (at most 10, then `+N more`)",
        "schema": {"type": "string"},
    },
}
MARKET_CHART_DOC = (
    "`days` back from now (or `max`, from 2013-04-28), at CoinGecko's granularity on our "
    "candle tiers: up to 1 day 5-minutely (the 1m candles closing on a 5-minute mark), up to "
    "90 days hourly, beyond daily; `interval=1m|5m|hourly|daily` forces one, covering at most "
    "the last 1, 10 and 100 days for the first three (a longer `days` is cut to that, as "
    "CoinGecko does). A point is a complete candle's close at its close time, so the last "
    "point is the last closed candle.\n\n"
    "Missing candles are fetched first, at most HISTORY_BACKFILL_CALLS upstream calls and "
    "none started after the request deadline. `market_caps` is the close x today's "
    "circulating supply from the listing (derived as in `coins/markets` when the listing's "
    "provider sent none); `total_volumes` is a USD volume computed from the stored candles: "
    "base volume x close, summed over the 24 hours up to the point (for minute points, up to "
    "the last full hour) — the volume of the exchanges whose candles are stored, not "
    "CoinGecko's all-market aggregate. A value that is not known is left out of its array, "
    "never invented.\n\n"
    "`X-Data-Partial: true` says the answer lacks points the range holds after the coin's "
    "first data (not fetched yet, no longer kept, or no provider could give them): "
    "`X-Data-Missing-Points` counts them per array (`prices=N, market_caps=N, "
    "total_volumes=N`) and `X-Data-Missing` lists the missing price points' time ranges "
    "(ISO 8601 intervals, oldest first). `precision` rounds prices, market caps and volumes."
)


@router.get(
    "/coins/{id}/market_chart",
    summary="Price history from our stored candles",
    description=MARKET_CHART_DOC,
    response_model=CgMarketChartOut,
    responses={
        200: {"headers": COMPLETENESS_HEADERS},
        **errors(
            400,
            404,
            422,
            s422="a parameter is missing or not valid (`days`, `interval`, `precision`)",
        ),
    },
    openapi_extra=required_in_document("vs_currency", "days"),
)
async def market_chart(
    container: ContainerDep,
    id: str,
    *,
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
            description="1m, 5m, hourly or daily; empty: auto",
            json_schema_extra={"enum": list(chart.INTERVALS)},
        ),
    ] = None,
    precision: Precision = None,
) -> Response:
    """CoinGecko's `coins/{id}/market_chart` from stored candles (`MARKET_CHART_DOC`)."""
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
    places = cg.parse_precision(precision)
    if plan.start > plan.end:
        empty = chart.chart_series(plan, [], [], None, None)
        return render(chart.chart_body(empty), headers=chart.completeness_headers(empty))
    fill = _Fill(container, asset)
    reads = plan.reads()
    # the points' own candles; the hours of minute points' volumes are read as stored, and
    # one without a volume is made of its minutes below (fetching hourly candles for it
    # could bring CoinGecko's, which have no volume)
    await fill(*reads[0])
    stored, listing, floor = await asyncio.gather(
        asyncio.gather(*(history.stored(asset, *read) for read in reads)),
        _listing(container),
        history.floor(asset, plan.interval),
    )
    candles = stored[0]
    volume_candles = stored[1] if len(stored) > 1 else candles
    minutes = await _minutes_of_hours_without_volume(fill, plan, volume_candles)
    listed = listing.entries.get(asset.id)
    supply = cg.circulating_supply(listed) if listed else None
    series = chart.chart_series(plan, candles, volume_candles, supply, floor, minutes=minutes)
    return render(chart.chart_body(series, places), headers=chart.completeness_headers(series))


class _Fill:
    """A request's candle fills: HISTORY_BACKFILL_CALLS upstream calls in all, none
    started after the request deadline."""

    def __init__(self, container: Container, asset: Asset) -> None:
        self.history = container.history
        self.asset = asset
        self.calls = container.settings.history_backfill_calls
        self.deadline = Deadline.after(container.settings.request_deadline_s, time.monotonic)

    async def __call__(self, interval: Interval, start: datetime, end: datetime) -> None:
        if self.calls > 0 and not self.deadline.expired:
            report = await self.history.fill(
                self.asset, interval, start, end, max_calls=self.calls, deadline=self.deadline
            )
            self.calls -= report.calls


async def _minutes_of_hours_without_volume(
    fill: _Fill, plan: chart.ChartPlan, hours: list[Candle]
) -> list[Candle]:
    """The one-minute candles of the hours a volume needs whose hourly candle has none
    (CoinGecko's hourly candles carry no volume), within the minute tier's retention."""
    lacking = chart.hours_without_volume(plan, hours)
    kept = fill.history.now() - timedelta(days=fill.history.retention.minute_days)
    lacking = [hour for hour in lacking if hour >= kept]
    if not lacking:
        return []
    start, end = lacking[0], lacking[-1] + Interval.H1.delta - Interval.M1.delta
    await fill(Interval.M1, start, end)
    return await fill.history.stored(fill.asset, Interval.M1, start, end)
