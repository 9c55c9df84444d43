"""Simulated Kraken public REST API (shapes from the recorded `kraken/*.json` payloads).

Result keys follow Kraken's naming: the legacy codes (XBT, ETH, LTC, XRP, XLM, XMR, ETC, ZEC,
XDG) are `X{code}ZUSD` (`XXBTZUSD`), newer ones `{code}USD` (`SOLUSD`). Requests may name a pair
either way. Errors come back as HTTP 200 with a non-empty `error` list, as Kraken does.
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.market import DAY_S
from cryptoagg.sim.state import (
    Routes,
    SimProvider,
    SimState,
    csv_param,
    fixed,
    int_param,
    json,
    places_for,
)

NAME = "kraken"
LEGACY = frozenset({"XBT", "ETH", "LTC", "XRP", "XLM", "XMR", "ETC", "ZEC", "XDG"})
INTERVALS = frozenset({1, 5, 15, 30, 60, 240, 1440, 10080, 21600})
MAX_CANDLES = 720
UNKNOWN_PAIR = {"error": ["EQuery:Unknown asset pair"]}
FEES = [[0, 0.4], [10000, 0.35], [50000, 0.24], [100000, 0.22], [250000, 0.2],
        [500000, 0.18], [1000000, 0.16], [2500000, 0.14], [5000000, 0.12],
        [10000000, 0.1]]  # fmt: skip
FEES_MAKER = [[0, 0.25], [10000, 0.2], [50000, 0.14], [100000, 0.12], [250000, 0.1],
              [500000, 0.08], [1000000, 0.06], [2500000, 0.04], [5000000, 0.02],
              [10000000, 0.0]]  # fmt: skip


def result_key(code: str) -> str:
    return f"X{code}ZUSD" if code in LEGACY else f"{code}USD"


def routes(state: SimState) -> Routes:
    model = state.model
    #: every spelling a client may use -> (asset id, Kraken code)
    pairs: dict[str, tuple[str, str]] = {}
    for asset, code in state.listed(NAME):
        pairs[f"{code}USD"] = pairs[result_key(code)] = (asset.id, code)

    def decimals(asset_id: str) -> int:
        return places_for(state.price(NAME, asset_id), minimum=1)

    async def ticker(request: Request) -> Response:
        wanted = csv_param(request, "pair")
        if not wanted or any(p not in pairs for p in wanted):
            return json(UNKNOWN_PAIR)
        now = state.now_s()
        midnight = now // DAY_S * DAY_S
        result = {}
        for pair in wanted:
            asset_id, code = pairs[pair]
            places = max(5, decimals(asset_id))
            last = state.price(NAME, asset_id)
            today = state.ohlc(NAME, asset_id, midnight, now)
            day = state.ohlc(NAME, asset_id, now - DAY_S, now)
            volume = model.volume_24h(asset_id, now) / 12 / last
            volume_today = volume * (now - midnight) / DAY_S
            trades = int(volume * last / 3000) + 50
            result[result_key(code)] = {
                "a": [fixed(last * 1.00003, places), "1", "1.000"],
                "b": [fixed(last * 0.99997, places), "1", "1.000"],
                "c": [fixed(last, places), fixed(250 / last, 8)],
                "v": [fixed(volume_today, 8), fixed(volume, 8)],
                "p": [fixed(sum(today) / 4, places), fixed(sum(day) / 4, places)],
                "t": [int(trades * (now - midnight) / DAY_S), trades],
                "l": [fixed(today[2], places), fixed(day[2], places)],
                "h": [fixed(today[1], places), fixed(day[1], places)],
                "o": fixed(today[0], places),
            }
        return json({"error": [], "result": result})

    async def ohlc(request: Request) -> Response:
        pair = request.query_params.get("pair", "")
        minutes, since = int_param(request, "interval", 1), int_param(request, "since", 0)
        if pair not in pairs:
            return json(UNKNOWN_PAIR)
        if minutes not in INTERVALS or since is None:
            return json({"error": ["EGeneral:Invalid arguments"]})
        asset_id, code = pairs[pair]
        width, now = minutes * 60, state.now_s()
        # Kraken keeps only the most recent 720 candles, whatever `since` asks for
        oldest = (math.floor(now / width) - MAX_CANDLES + 1) * width
        bars = state.bars(NAME, asset_id, width, max(since, oldest), now, limit=MAX_CANDLES)
        places = decimals(asset_id)
        rows = [
            [
                b.open_time,
                fixed(b.open, places),
                fixed(b.high, places),
                fixed(b.low, places),
                fixed(b.close, places),
                fixed((b.open + b.high + b.low + b.close) / 4, places),
                fixed(b.volume_usd / 12 / b.close, 8),
                int(b.volume_usd / 12 / 3000) + 1,
            ]
            for b in bars
        ]
        # `last`: the newest committed candle (the one in progress is always sent)
        last = rows[-2][0] if len(rows) > 1 else max(since, oldest)
        return json({"error": [], "result": {result_key(code): rows, "last": last}})

    def pair_info(asset_id: str, code: str) -> dict[str, object]:
        places = decimals(asset_id)
        legacy = code in LEGACY
        return {
            "altname": f"{code}USD",
            "wsname": f"{code}/USD",
            "aclass_base": "currency",
            "base": f"X{code}" if legacy else code,
            "aclass_quote": "currency",
            "quote": "ZUSD",
            "lot": "unit",
            "cost_decimals": 5,
            "pair_decimals": places,
            "lot_decimals": 8,
            "lot_multiplier": 1,
            "leverage_buy": [2, 3, 4, 5] if legacy else [],
            "leverage_sell": [2, 3, 4, 5] if legacy else [],
            "fees": FEES,
            "fees_maker": FEES_MAKER,
            "fee_volume_currency": "ZUSD",
            "margin_call": 80,
            "margin_stop": 40,
            "ordermin": fixed(5 / state.price(NAME, asset_id), 8).rstrip("0").rstrip("."),
            "costmin": "0.5",
            "tick_size": fixed(10.0**-places, places),
            "status": "online",
            "long_position_limit": 300,
            "short_position_limit": 240,
        }

    async def asset_pairs(request: Request) -> Response:
        wanted = csv_param(request, "pair")
        if any(p not in pairs for p in wanted):
            return json(UNKNOWN_PAIR)
        chosen = {pairs[p] for p in wanted} if wanted else set(pairs.values())
        ordered = sorted(chosen, key=lambda ac: result_key(ac[1]))
        return json({"error": [], "result": {result_key(c): pair_info(a, c) for a, c in ordered}})

    return [
        (f"/{NAME}/0/public/Ticker", ticker),
        (f"/{NAME}/0/public/OHLC", ohlc),
        (f"/{NAME}/0/public/AssetPairs", asset_pairs),
    ]


SIMULATED = (SimProvider(NAME, routes),)
