"""Simulated Binance spot API (shapes from the recorded `binance/*.json` payloads).

Every asset with a Binance id trades as `<SYM>USDT`; prices are the walk divided by the USDT
price, printed as 8-decimal strings. Unknown symbols answer HTTP 400 `{"code":-1121,...}`.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.market import DAY_S, rng_for
from cryptoagg.sim.state import Routes, SimProvider, SimState, fixed, int_param, json

NAME = "binance"
INVALID_SYMBOL = {"code": -1121, "msg": "Invalid symbol."}
INTERVALS = {"1m": 60, "1h": 3600, "1d": DAY_S}
MAX_KLINES = 1000


def _error(code: int, msg: str) -> Response:
    return json({"code": code, "msg": msg}, 400)


def routes(state: SimState) -> Routes:
    model = state.model
    symbols = {f"{base}USDT": asset.id for asset, base in state.listed(NAME)}

    def usdt(asset_id: str, at: float) -> float:
        return state.price(NAME, asset_id, at) / model.usd("tether", at)

    def ticker(symbol: str) -> dict[str, object]:
        asset_id = symbols[symbol]
        now = state.now_s()
        tether = model.usd("tether", now)
        last, open_ = usdt(asset_id, now), usdt(asset_id, now - DAY_S)
        _, high, low, _ = state.ohlc(NAME, asset_id, now - DAY_S, now)
        volume = model.volume_24h(asset_id, now) / 3 / last
        rng = rng_for(state.seed, symbol, int(now))
        trades = int(volume * last / 2000) + 100
        first_id = int(now) * 7 // 10
        return {
            "symbol": symbol,
            "priceChange": fixed(last - open_),
            "priceChangePercent": fixed((last / open_ - 1) * 100, 3),
            "weightedAvgPrice": fixed((last + open_ + high / tether + low / tether) / 4),
            "prevClosePrice": fixed(usdt(asset_id, now - DAY_S - 1)),
            "lastPrice": fixed(last),
            "lastQty": fixed(rng.uniform(0.001, 2) * 1000 / last),
            "bidPrice": fixed(last * 0.99995),
            "bidQty": fixed(rng.uniform(0.5, 20) * 1000 / last),
            "askPrice": fixed(last * 1.00005),
            "askQty": fixed(rng.uniform(0.5, 20) * 1000 / last),
            "openPrice": fixed(open_),
            "highPrice": fixed(high / tether),
            "lowPrice": fixed(low / tether),
            "volume": fixed(volume),
            "quoteVolume": fixed(volume * last),
            "openTime": int((now - DAY_S) * 1000),
            "closeTime": int(now * 1000),
            "firstId": first_id,
            "lastId": first_id + trades - 1,
            "count": trades,
        }

    async def ticker_24hr(request: Request) -> Response:
        q = request.query_params
        if "symbol" in q:
            symbol = q["symbol"]
            return json(ticker(symbol)) if symbol in symbols else json(INVALID_SYMBOL, 400)
        if "symbols" not in q:
            return json([ticker(s) for s in symbols])
        try:
            wanted = orjson.loads(q["symbols"])
        except orjson.JSONDecodeError:
            return _error(
                -1100,
                "Illegal characters found in parameter 'symbols'; legal range "
                'is \'^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$\'.',
            )
        if not isinstance(wanted, list) or not wanted:
            return _error(
                -1102, "Mandatory parameter 'symbols' was not sent, was empty/null, or malformed."
            )
        if any(s not in symbols for s in wanted):
            return json(INVALID_SYMBOL, 400)
        return json([ticker(s) for s in dict.fromkeys(wanted)])

    async def klines(request: Request) -> Response:
        q = request.query_params
        symbol, width = q.get("symbol", ""), INTERVALS.get(q.get("interval", ""))
        if symbol not in symbols:
            return json(INVALID_SYMBOL, 400)
        if width is None:
            return _error(-1120, "Invalid interval.")
        limit, start_ms, end_ms = (
            int_param(request, "limit", 500),
            int_param(request, "startTime", -1),
            int_param(request, "endTime", -1),
        )
        if limit is None or start_ms is None or end_ms is None:
            return _error(-1100, "Illegal characters found in a parameter.")
        limit = max(1, min(limit, MAX_KLINES))
        now = state.now_s()
        end = end_ms / 1000 if end_ms >= 0 else now
        # without startTime Binance answers the `limit` most recent candles up to endTime
        start = start_ms / 1000 if start_ms >= 0 else (end // width - limit + 1) * width
        asset_id = symbols[symbol]
        rows = []
        for b in state.bars(NAME, asset_id, width, start, end, limit=limit):
            tether = model.usd("tether", b.end)
            volume = b.volume_usd / 3 / b.close
            rows.append(
                [
                    b.open_time * 1000,
                    fixed(b.open / tether),
                    fixed(b.high / tether),
                    fixed(b.low / tether),
                    fixed(b.close / tether),
                    fixed(volume),
                    (b.open_time + width) * 1000 - 1,
                    fixed(volume * b.close / tether),
                    int(volume * b.close / 2000) + 1,
                    fixed(volume * 0.52),
                    fixed(volume * 0.52 * b.close / tether),
                    "0",
                ]
            )
        return json(rows)

    def symbol_info(symbol: str) -> dict[str, object]:
        price = usdt(symbols[symbol], state.now_s())
        tick = 10.0 ** -min(8, max(2, 6 - len(str(int(price)))))
        return {
            "symbol": symbol,
            "status": "TRADING",
            "baseAsset": symbol.removesuffix("USDT"),
            "baseAssetPrecision": 8,
            "quoteAsset": "USDT",
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fixed(tick),
                    "maxPrice": "1000000.00000000",
                    "tickSize": fixed(tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": "0.00001000",
                    "maxQty": "9000.00000000",
                    "stepSize": "0.00001000",
                },
            ],
            "permissions": [],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    async def exchange_info(_request: Request) -> Response:
        weight = {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                  "limit": 6000}  # fmt: skip
        return json(
            {
                "timezone": "UTC",
                "serverTime": int(state.now_s() * 1000),
                "rateLimits": [weight],
                "exchangeFilters": [],
                "symbols": [symbol_info(s) for s in symbols],
            }
        )

    return [
        (f"/{NAME}/api/v3/ticker/24hr", ticker_24hr),
        (f"/{NAME}/api/v3/klines", klines),
        (f"/{NAME}/api/v3/exchangeInfo", exchange_info),
    ]


#: the documented 429 body (binance docs)
RATE_LIMIT_BODY = {"code": -1003, "msg": "Too many requests; please use the websocket."}
SIMULATED = (SimProvider(NAME, routes, rate_limit_body=RATE_LIMIT_BODY),)
