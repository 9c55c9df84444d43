"""Simulated CryptoCompare min-api (shapes from `cryptocompare/pricemultifull.json` (RAW only;
DISPLAY is omitted) and `cryptocompare/v2_histoday.json`).

Errors come back as HTTP 200 with `"Response": "Error"`, as CryptoCompare does. `histo*` returns
`limit + 1` candles ending with the one that contains `toTs`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.market import DAY_S
from cryptoagg.sim.state import Routes, SimProvider, SimState, csv_param, int_param, json

NAME = "cryptocompare"
STEPS = {"histominute": 60, "histohour": 3600, "histoday": DAY_S}
MAX_LIMIT = 2000


def _error(message: str) -> Response:
    return json(
        {
            "Response": "Error",
            "Message": message,
            "HasWarning": False,
            "Type": 2,
            "RateLimit": {},
            "Data": {},
            "ParamWithError": "fsym",
        }
    )


def routes(state: SimState) -> Routes:
    model = state.model
    # CryptoCompare names a coin by its ticker (the adapter's `derived_id`)
    listed = {asset.symbol: asset.id for asset in model.assets}

    def raw(symbol: str) -> dict[str, object]:
        asset_id = listed[symbol]
        now = state.now_s()
        midnight, hour = now // DAY_S * DAY_S, now // 3600 * 3600
        price = state.price(NAME, asset_id)
        o24, h24, l24, _ = state.ohlc(NAME, asset_id, now - DAY_S, now)
        od, hd, ld, _ = state.ohlc(NAME, asset_id, midnight, now)
        oh, hh, lh, _ = state.ohlc(NAME, asset_id, hour, now)
        vol_to = model.volume_24h(asset_id, now) / 4
        vol = vol_to / price
        day_share, hour_share = (now - midnight) / DAY_S, (now - hour) / DAY_S
        supply = model.supply(asset_id)
        return {
            "TYPE": "5", "MARKET": "CCCAGG", "FROMSYMBOL": symbol, "TOSYMBOL": "USD",
            "FLAGS": "2050", "PRICE": price, "LASTUPDATE": int(now), "MEDIAN": price,
            "LASTVOLUME": 100 / price, "LASTVOLUMETO": 100.0, "LASTTRADEID": str(int(now * 3)),
            "VOLUMEDAY": vol * day_share, "VOLUMEDAYTO": vol_to * day_share,
            "VOLUME24HOUR": vol, "VOLUME24HOURTO": vol_to,
            "OPENDAY": od, "HIGHDAY": hd, "LOWDAY": ld,
            "OPEN24HOUR": o24, "HIGH24HOUR": h24, "LOW24HOUR": l24,
            "LASTMARKET": "Coinbase",
            "VOLUMEHOUR": vol * hour_share, "VOLUMEHOURTO": vol_to * hour_share,
            "OPENHOUR": oh, "HIGHHOUR": hh, "LOWHOUR": lh,
            "TOPTIERVOLUME24HOUR": vol * 0.9, "TOPTIERVOLUME24HOURTO": vol_to * 0.9,
            "CHANGE24HOUR": price - o24, "CHANGEPCT24HOUR": (price / o24 - 1) * 100,
            "CHANGEDAY": price - od, "CHANGEPCTDAY": (price / od - 1) * 100,
            "CHANGEHOUR": price - oh, "CHANGEPCTHOUR": (price / oh - 1) * 100,
            "CONVERSIONTYPE": "direct", "CONVERSIONSYMBOL": "",
            "SUPPLY": supply, "MKTCAP": supply * price, "MKTCAPPENALTY": 0,
            "TOTALVOLUME24H": vol * 4, "TOTALVOLUME24HTO": vol_to * 4,
            "TOTALTOPTIERVOLUME24H": vol * 3.6, "TOTALTOPTIERVOLUME24HTO": vol_to * 3.6,
            "IMAGEURL": f"/media/sim/{symbol.lower()}.png",
        }  # fmt: skip

    async def pricemultifull(request: Request) -> Response:
        fsyms = [s for s in csv_param(request, "fsyms") if s in listed]
        tsyms = csv_param(request, "tsyms")
        if not fsyms or "USD" not in tsyms:
            return _error("cccagg_or_exchange market does not exist for this coin pair")
        return json({"RAW": {s: {"USD": raw(s)} for s in dict.fromkeys(fsyms)}})

    async def histo(request: Request) -> Response:
        width = STEPS.get(request.path_params["kind"])
        q = request.query_params
        symbol = q.get("fsym", "")
        if width is None:
            return json({"Response": "Error", "Message": "Path does not exist"}, 404)
        if symbol not in listed or q.get("tsym", "USD") != "USD":
            return _error(f"There is no data for the symbol {symbol} .")
        limit, to_ts = int_param(request, "limit", 30), int_param(request, "toTs", -1)
        if limit is None or to_ts is None:
            return _error("limit and toTs must be integers")
        limit = max(1, min(limit, MAX_LIMIT))
        now = state.now_s()
        to = min(float(to_ts), now) if to_ts >= 0 else now
        last_open = to // width * width
        bars = state.bars(
            NAME, listed[symbol], width, last_open - width * limit, to, limit=limit + 1
        )
        data = [
            {
                "time": b.open_time,
                "high": b.high,
                "low": b.low,
                "open": b.open,
                "volumefrom": b.volume_usd / 4 / b.close,
                "volumeto": b.volume_usd / 4,
                "close": b.close,
                "conversionType": "direct",
                "conversionSymbol": "",
            }
            for b in bars
        ]
        return json(
            {
                "Response": "Success",
                "Message": "",
                "HasWarning": False,
                "Type": 100,
                "RateLimit": {},
                "Data": {
                    "Aggregated": False,
                    "TimeFrom": data[0]["time"] if data else 0,
                    "TimeTo": data[-1]["time"] if data else 0,
                    "Data": data,
                },
            }
        )

    return [
        (f"/{NAME}/data/pricemultifull", pricemultifull),
        (f"/{NAME}/data/v2/{{kind}}", histo),
    ]


SIMULATED = (SimProvider(NAME, routes),)
