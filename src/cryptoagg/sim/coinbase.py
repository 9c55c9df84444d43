"""Simulated Coinbase: the Exchange API (host `exchange`, mounted at `/coinbase/exchange`) and
the app's v2 prices (main host, `/coinbase/v2`). Shapes from the recorded `coinbase/*.json`.

Unknown Exchange products answer 404 `{"message":"NotFound"}`; unknown v2 currency pairs 404
with the v2 `errors` list.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.market import DAY_S
from cryptoagg.sim.state import (
    Routes,
    SimProvider,
    SimState,
    fixed,
    from_s,
    iso_z,
    json,
    places_for,
)

NAME = "coinbase"
NOT_FOUND = {"message": "NotFound"}


def routes(state: SimState) -> Routes:
    model = state.model
    products = {f"{base}-USD": asset.id for asset, base in state.listed(NAME)}

    def quote_places(asset_id: str) -> int:
        return places_for(model.usd(asset_id, state.now_s()), minimum=2, significant=5)

    async def product_ticker(request: Request) -> Response:
        product = request.path_params["product"]
        if product not in products:
            return json(NOT_FOUND, 404)
        asset_id = products[product]
        now = state.now_s()
        price = state.price(NAME, asset_id)
        places = quote_places(asset_id)
        tick = 10.0**-places
        return json(
            {
                "ask": fixed(price + tick, places),
                "bid": fixed(price, places),
                "volume": fixed(model.volume_24h(asset_id, now) / 20 / price),
                "trade_id": int(now * 10) % 2_000_000_000,
                "price": fixed(price, places),
                "size": fixed(300 / price),
                "time": iso_z(from_s(now), "microseconds"),
                "rfq_volume": fixed(model.volume_24h(asset_id, now) / 2000 / price, 6),
            }
        )

    def product(pid: str) -> dict[str, object]:
        base = pid.split("-", maxsplit=1)[0]
        places = quote_places(products[pid])
        return {
            "id": pid,
            "base_currency": base,
            "quote_currency": "USD",
            "base_min_size": fixed(1 / state.price(NAME, products[pid]), 8),
            "base_max_size": "1000000",
            "quote_increment": fixed(10.0**-places, places),
            "base_increment": "0.00000001",
            "display_name": pid,
            "min_market_funds": "1",
            "max_market_funds": "1000000",
            "margin_enabled": False,
            "fx_stablecoin": False,
            "max_slippage_percentage": "0.02000000",
            "post_only": False,
            "limit_only": False,
            "cancel_only": False,
            "trading_disabled": False,
            "status": "online",
            "status_message": "",
            "auction_mode": False,
        }

    async def product_list(_request: Request) -> Response:
        return json([product(pid) for pid in products])

    async def spot(request: Request) -> Response:
        pair = request.path_params["pair"]
        if pair not in products:
            error = {"id": "not_found", "message": "Invalid currency pair"}
            return json({"errors": [error]}, 404)
        price = state.price(NAME, products[pair])
        amount = fixed(price, quote_places(products[pair]) + 1)
        base = pair.split("-", maxsplit=1)[0]
        return json({"data": {"amount": amount, "base": base, "currency": "USD"}})

    async def stats(request: Request) -> Response:
        product_id = request.path_params["product"]
        if product_id not in products:
            return json(NOT_FOUND, 404)
        asset_id, now = products[product_id], state.now_s()
        o, h, low, _ = state.ohlc(NAME, asset_id, now - DAY_S, now)
        places = quote_places(asset_id)
        price = state.price(NAME, asset_id)
        return json(
            {
                "open": fixed(o, places),
                "high": fixed(h, places),
                "low": fixed(low, places),
                "last": fixed(price, places),
                "volume": fixed(model.volume_24h(asset_id, now) / 20 / price),
            }
        )

    return [
        (f"/{NAME}/exchange/products", product_list),
        (f"/{NAME}/exchange/products/{{product}}/ticker", product_ticker),
        (f"/{NAME}/exchange/products/{{product}}/stats", stats),
        (f"/{NAME}/v2/prices/{{pair}}/spot", spot),
    ]


#: coinbase/app_api_error_429.json
RATE_LIMIT_BODY = {"errors": [{"id": "rate_limit_exceeded", "message": "Too many requests"}]}
SIMULATED = (SimProvider(NAME, routes, rate_limit_body=RATE_LIMIT_BODY),)
