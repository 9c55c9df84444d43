"""`/api/v3`: a CoinGecko-compatible subset, so CoinGecko clients work by changing the base URL.

`ping`, `simple/price`, `coins/markets`, `search/trending` and `coins/{id}/market_chart`,
served from our consensus prices, cached markets listing and stored candles, in the shapes
of `api/coingecko/shapes*.py`; every answer conforms to the response schemas of CoinGecko's
official SDKs (kept in `tests/fixtures/coingecko_schemas/`). Errors keep the statuses of
`api/http/errors.py` (its table) but take CoinGecko's body, `{"error": "..."}`, which CoinGecko
clients read (`api/coingecko/errors.py`); an unsupported `vs_currency` is CoinGecko's own 400
`{"error": "invalid vs_currency"}`. The SDKs' key (`x-cg-demo-api-key`/`x-cg-pro-api-key`
header, `x_cg_demo_api_key`/`x_cg_pro_api_key` parameter) is accepted and ignored.

This module assembles `router` from one module per endpoint (`routes_*.py`), in the order
the OpenAPI document lists them.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from cryptoagg.api.coingecko import routes_chart, routes_markets, routes_simple, routes_trending
from cryptoagg.api.coingecko.errors import compat_router
from cryptoagg.api.render import render

PING = {"gecko_says": "(V3) To the Moon!"}


class PingOut(BaseModel):
    gecko_says: str


_status = compat_router()


@_status.get("/ping", summary="Server status, CoinGecko's shape", response_model=PingOut)
async def ping() -> Response:
    return render(PING)


router = APIRouter()
for _endpoints in (
    _status,
    routes_simple.router,
    routes_markets.router,
    routes_trending.router,
    routes_chart.router,
):
    router.include_router(_endpoints)
