"""Simulated exchanges: Binance, Kraken and Coinbase (shapes from their recorded payloads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cryptoagg.sim.market import decimal_str
from cryptoagg.sim.state import SimState, json

KRAKEN_LEGACY = frozenset({"XBT", "ETH", "LTC", "XRP", "XLM", "XMR", "ETC", "ZEC", "XDG"})
KRAKEN_MINUTES = {1: timedelta(minutes=1), 60: timedelta(hours=1), 1440: timedelta(days=1)}
BINANCE_INTERVALS = {"1m": timedelta(minutes=1), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
INVALID_SYMBOL = {"code": -1121, "msg": "Invalid symbol."}


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _from_ms(raw: str | None, default: datetime) -> datetime:
    return datetime.fromtimestamp(int(raw) / 1000, tz=UTC) if raw else default


def kraken_key(code: str) -> str:
    return f"X{code}ZUSD" if code in KRAKEN_LEGACY else f"{code}USD"


def binance_routes(state: SimState) -> list[Route]:
    name = "binance"
    model = state.model
    symbols = {f"{base}USDT": asset_id for asset_id, base in state.listed(name)}

    def usdt(asset_id: str) -> float:
        now = state.now()
        return state.price(name, asset_id) / model.usd("tether", now)

    def ticker(symbol: str) -> dict[str, object]:
        asset_id = symbols[symbol]
        now = state.now()
        last = usdt(asset_id)
        change = model.change_24h_pct(asset_id, now)
        open_ = last / (1 + change / 100)
        volume = model.volume_24h(asset_id) / last
        return {
            "symbol": symbol,
            "priceChange": decimal_str(last - open_),
            "priceChangePercent": f"{change:.3f}",
            "weightedAvgPrice": decimal_str((last + open_) / 2),
            "prevClosePrice": decimal_str(open_),
            "lastPrice": decimal_str(last),
            "lastQty": "0.01000000",
            "bidPrice": decimal_str(last * 0.9999),
            "bidQty": "1.00000000",
            "askPrice": decimal_str(last * 1.0001),
            "askQty": "1.00000000",
            "openPrice": decimal_str(open_),
            "highPrice": decimal_str(max(last, open_) * 1.01),
            "lowPrice": decimal_str(min(last, open_) * 0.99),
            "volume": decimal_str(volume),
            "quoteVolume": decimal_str(volume * last),
            "openTime": _ms(now - timedelta(days=1)),
            "closeTime": _ms(now),
            "firstId": 1,
            "lastId": 1000,
            "count": 1000,
        }

    async def ticker_24hr(request: Request) -> Response:
        if "symbol" in request.query_params:
            symbol = request.query_params["symbol"]
            return json(ticker(symbol)) if symbol in symbols else json(INVALID_SYMBOL, 400)
        try:
            wanted = orjson.loads(request.query_params.get("symbols", "[]"))
        except orjson.JSONDecodeError:
            return json(
                {"code": -1100, "msg": "Illegal characters found in parameter 'symbols'"}, 400
            )
        if not wanted:
            wanted = list(symbols)
        if any(s not in symbols for s in wanted):
            return json(INVALID_SYMBOL, 400)
        return json([ticker(s) for s in wanted])

    async def klines(request: Request) -> Response:
        q = request.query_params
        symbol, step = q.get("symbol", ""), BINANCE_INTERVALS.get(q.get("interval", ""))
        if symbol not in symbols:
            return json(INVALID_SYMBOL, 400)
        if step is None:
            return json({"code": -1120, "msg": "Invalid interval."}, 400)
        now = state.now()
        limit = min(int(q.get("limit", 500)), 1000)
        start = _from_ms(q.get("startTime"), now - step * limit)
        end = _from_ms(q.get("endTime"), now)
        tether = model.usd("tether", now)
        rows = []
        for c in model.candles(symbols[symbol], step, start, end, limit=limit, now=now):
            quote_volume = c.volume * c.close
            rows.append(
                [
                    _ms(c.open_time),
                    decimal_str(c.open / tether),
                    decimal_str(c.high / tether),
                    decimal_str(c.low / tether),
                    decimal_str(c.close / tether),
                    decimal_str(c.volume),
                    _ms(c.open_time + step) - 1,
                    decimal_str(quote_volume),
                    100,
                    decimal_str(c.volume / 2),
                    decimal_str(quote_volume / 2),
                    "0",
                ]
            )
        return json(rows)

    async def exchange_info(_request: Request) -> Response:
        info = [
            {
                "symbol": symbol,
                "status": "TRADING",
                "baseAsset": symbol.removesuffix("USDT"),
                "baseAssetPrecision": 8,
                "quoteAsset": "USDT",
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                "icebergAllowed": True,
                "isSpotTradingAllowed": True,
                "permissions": [],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "0.00000001",
                        "maxPrice": "1000000.00000000",
                        "tickSize": "0.00000001",
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": "0.00001000",
                        "maxQty": "9000.00000000",
                        "stepSize": "0.00001000",
                    },
                ],
            }
            for symbol in symbols
        ]
        return json(
            {
                "timezone": "UTC",
                "serverTime": _ms(state.now()),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    }
                ],
                "exchangeFilters": [],
                "symbols": info,
            }
        )

    return [
        Route(f"/{name}/api/v3/ticker/24hr", ticker_24hr),
        Route(f"/{name}/api/v3/klines", klines),
        Route(f"/{name}/api/v3/exchangeInfo", exchange_info),
    ]


def kraken_routes(state: SimState) -> list[Route]:
    name = "kraken"
    model = state.model
    pairs = {f"{code}USD": (asset_id, code) for asset_id, code in state.listed(name)}
    unknown = json({"error": ["EQuery:Unknown asset pair"]})

    async def ticker(request: Request) -> Response:
        wanted = [p for p in request.query_params.get("pair", "").split(",") if p]
        if not wanted or any(p not in pairs for p in wanted):
            return unknown
        now = state.now()
        result = {}
        for pair in wanted:
            asset_id, code = pairs[pair]
            last = state.price(name, asset_id)
            open_ = last / (1 + model.change_24h_pct(asset_id, now) / 100)
            volume = model.volume_24h(asset_id) / last / 10
            result[kraken_key(code)] = {
                "a": [f"{last * 1.0001:.5f}", "1", "1.000"],
                "b": [f"{last * 0.9999:.5f}", "1", "1.000"],
                "c": [f"{last:.5f}", "0.01000000"],
                "v": [f"{volume / 2:.8f}", f"{volume:.8f}"],
                "p": [f"{(last + open_) / 2:.5f}", f"{(last + open_) / 2:.5f}"],
                "t": [1000, 2000],
                "l": [f"{min(last, open_) * 0.99:.5f}", f"{min(last, open_) * 0.99:.5f}"],
                "h": [f"{max(last, open_) * 1.01:.5f}", f"{max(last, open_) * 1.01:.5f}"],
                "o": f"{open_:.5f}",
            }
        return json({"error": [], "result": result})

    async def ohlc(request: Request) -> Response:
        pair = request.query_params.get("pair", "")
        step = KRAKEN_MINUTES.get(int(request.query_params.get("interval", 1)))
        if pair not in pairs:
            return unknown
        if step is None:
            return json({"error": ["EGeneral:Invalid arguments"]})
        now = state.now()
        since = request.query_params.get("since")
        start = datetime.fromtimestamp(int(since), tz=UTC) if since else now - step * 720
        candles = model.candles(pairs[pair][0], step, start, now, limit=720, now=now)
        rows = [
            [
                int(c.open_time.timestamp()),
                f"{c.open:.5f}",
                f"{c.high:.5f}",
                f"{c.low:.5f}",
                f"{c.close:.5f}",
                f"{(c.open + c.close) / 2:.5f}",
                f"{c.volume:.8f}",
                50,
            ]
            for c in candles
        ]
        last = rows[-1][0] if rows else int(start.timestamp())
        return json({"error": [], "result": {kraken_key(pairs[pair][1]): rows, "last": last}})

    async def asset_pairs(_request: Request) -> Response:
        result = {
            kraken_key(code): {
                "altname": f"{code}USD",
                "wsname": f"{code}/USD",
                "aclass_base": "currency",
                "base": f"X{code}" if code in KRAKEN_LEGACY else code,
                "aclass_quote": "currency",
                "quote": "ZUSD",
                "lot": "unit",
                "cost_decimals": 5,
                "pair_decimals": 5,
                "lot_decimals": 8,
                "lot_multiplier": 1,
                "status": "online",
            }
            for _, code in pairs.values()
        }
        return json({"error": [], "result": result})

    return [
        Route(f"/{name}/0/public/Ticker", ticker),
        Route(f"/{name}/0/public/OHLC", ohlc),
        Route(f"/{name}/0/public/AssetPairs", asset_pairs),
    ]


def coinbase_routes(state: SimState) -> list[Route]:
    name = "coinbase"
    model = state.model
    products = {f"{base}-USD": asset_id for asset_id, base in state.listed(name)}
    not_found = json({"message": "NotFound"}, 404)

    async def product_ticker(request: Request) -> Response:
        product = request.path_params["product"]
        if product not in products:
            return not_found
        now = state.now()
        price = state.price(name, products[product])
        return json(
            {
                "ask": f"{price * 1.0001:.2f}",
                "bid": f"{price * 0.9999:.2f}",
                "volume": f"{model.volume_24h(products[product]) / price / 20:.8f}",
                "trade_id": int(now.timestamp()),
                "price": f"{price:.8f}",
                "size": "0.01000000",
                "time": now.isoformat().replace("+00:00", "Z"),
                "rfq_volume": "0.000000",
            }
        )

    async def product_list(_request: Request) -> Response:
        return json(
            [
                {
                    "id": product,
                    "base_currency": product.split("-")[0],
                    "quote_currency": "USD",
                    "quote_increment": "0.01",
                    "base_increment": "0.00000001",
                    "display_name": product,
                    "min_market_funds": "1",
                    "margin_enabled": False,
                    "post_only": False,
                    "limit_only": False,
                    "cancel_only": False,
                    "status": "online",
                    "status_message": "",
                    "trading_disabled": False,
                    "fx_stablecoin": False,
                    "max_slippage_percentage": "0.02000000",
                    "auction_mode": False,
                    "high_bid_limit_percentage": "",
                }
                for product in products
            ]
        )

    async def spot(request: Request) -> Response:
        pair = request.path_params["pair"]
        if pair not in products:
            return json({"errors": [{"id": "not_found", "message": "Invalid currency"}]}, 404)
        price = state.price(name, products[pair])
        return json(
            {"data": {"amount": f"{price:.8f}", "base": pair.split("-")[0], "currency": "USD"}}
        )

    return [
        Route(f"/{name}/exchange/products/{{product}}/ticker", product_ticker),
        Route(f"/{name}/exchange/products", product_list),
        Route(f"/{name}/v2/prices/{{pair}}/spot", spot),
    ]
