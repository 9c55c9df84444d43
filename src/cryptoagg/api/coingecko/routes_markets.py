"""`GET /api/v3/coins/markets`: our markets listing in CoinGecko's row shape, filtered,
ordered and paged like CoinGecko's (`MARKETS_DOC`; the rows are `shapes_markets.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg.api.coingecko import shapes as cg
from cryptoagg.api.coingecko import shapes_markets as markets
from cryptoagg.api.coingecko.errors import compat_router, errors
from cryptoagg.api.coingecko.listing import stale_header
from cryptoagg.api.coingecko.params import Precision, UsdCurrency, usd_only
from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.http.hot import ResponsesDep
from cryptoagg.api.openapi import required_in_document
from cryptoagg.api.routes.images import image_url
from cryptoagg.core.errors import InvalidInput
from cryptoagg.services.market import MARKETS_PAGE

router = compat_router()


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


MARKETS_DOC = (
    "The top 250 assets of our listing (`/api/market`: assembled from every listing provider, "
    "`current_price` the consensus price), filtered (`ids`, else `names`, else `symbols`), "
    "ordered and paged like CoinGecko's; pages past them are empty. `category` cannot be "
    "served and is refused; `locale` and `include_rehypothecated` are ignored. `precision` "
    "rounds the amounts in USD. `X-Data-Stale: true` and `Age` say when the data is stale.\n\n"
    "Every other figure is the median of the listings that agree with the consensus, or null, "
    "except these derived ones:\n"
    + "".join(f"\n- `{name}`: {how}" for name, how in markets.DERIVED.items())
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
    services: ServicesDep,
    responses: ResponsesDep,
    *,
    vs_currency: UsdCurrency = None,
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
        str, Query(json_schema_extra={"enum": list(markets.MARKET_ORDERS)})
    ] = "market_cap_desc",
    per_page: Annotated[int, Query(ge=1, le=250)] = 100,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    sparkline: str | None = None,
    price_change_percentage: Annotated[str | None, Query(max_length=200)] = None,
    precision: Precision = None,
) -> Response:
    """CoinGecko's `coins/markets` from our listing (described in `MARKETS_DOC`)."""
    refused = usd_only(vs_currency)
    if refused is not None:
        return refused
    if category:
        raise InvalidInput("category is not supported")
    if order not in markets.MARKET_ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(markets.MARKET_ORDERS)}")
    places = cg.parse_precision(precision)
    served = await services.market.market((), MARKETS_PAGE)

    def build() -> list[dict[str, Any]]:
        wanted = cg.csv(price_change_percentage)
        changes = [t for t in markets.CHANGE_TIMEFRAMES if t in wanted]
        entries = markets.filter_markets(
            served.value.entries,
            cg.csv(ids),
            cg.csv(names),
            cg.csv(symbols),
            all_tokens=include_tokens == "all",
        )
        chosen = markets.order_markets(entries, order)[(page - 1) * per_page : page * per_page]
        base = services.settings.public_url or ""
        return [
            {
                **markets.market_row(e, changes, cg.flag(sparkline), places),
                "image": image_url(e.asset_id, base),
            }
            for e in chosen
        ]

    return responses.serve(request, served, build, stale_header(served.stale))
