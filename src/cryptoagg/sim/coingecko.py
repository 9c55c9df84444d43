"""Simulated CoinGecko v3 (shapes from the recorded `coingecko/*.json` payloads).

Granularity follows CoinGecko's documentation for the free API:
- `/coins/{id}/ohlc?days=N`: 1-2 days -> 30-minute candles, 3-30 days -> 4-hour, 31+ -> 4-day;
  each candle is stamped with its close time (`interval=daily|hourly` forces 1d/1h candles,
  as the paid plans allow); the last candle is the one in progress, closing at the live price.
- `/coins/{id}/market_chart?days=N`: 1 day -> 5-minute points, 2-90 days -> hourly, 91+ ->
  daily at 00:00 UTC; the last point is "now".
Unknown coin ids answer 404 `{"error": "coin not found"}` like the real API. Market caps are
circulating supply x the price served, and `market_cap_rank` is that order (1 = largest).
The image CDN the answers link (`IMAGE`) is host `images`, mounted at `/coingecko/images`:
it serves a generated PNG logo per coin (`sim/images.py`).
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.images import SIZES, coin_png
from cryptoagg.sim.market import DAY_S, EPOCH_S, rng_for, uniform
from cryptoagg.sim.state import Routes, SimProvider, SimState, from_s, iso_z, json

NAME = "coingecko"
PREFIX = f"/{NAME}/api/v3"
NOT_FOUND = {"error": "coin not found"}
#: extra listed (untracked) coins from CoinGecko's coin list; two share one ticker
EXTRA_LISTED = (
    {"id": "aave-usdc", "symbol": "ausdc", "name": "Aave v2 USDC"},
    {"id": "aave-usdc-v1", "symbol": "ausdc", "name": "Aave v1 USDC"},
)
IMAGE = "https://coin-images.coingecko.com/coins/images/{rank}/{size}/{id}.png"


def _days(request: Request) -> float | None:
    raw = request.query_params.get("days", "1")
    if raw == "max":
        return math.inf
    try:
        days = float(raw)
    except ValueError:
        return None
    return days if days > 0 else None


def _ohlc_width(days: float, interval: str | None) -> int:
    if interval == "hourly":
        return 3600
    if interval == "daily":
        return DAY_S
    return 1800 if days <= 2 else 14_400 if days <= 30 else 4 * DAY_S


def routes(state: SimState) -> Routes:  # noqa: PLR0915 - one closure per endpoint
    model = state.model

    def change(asset_id: str, now: float) -> float:
        before = state.price(NAME, asset_id, now - DAY_S)
        return (state.price(NAME, asset_id, now) / before - 1) * 100

    async def ping(_request: Request) -> Response:
        return json({"gecko_says": "(V3) To the Moon!"})

    async def simple_price(request: Request) -> Response:
        q = request.query_params
        ids = [i.strip() for i in q.get("ids", "").split(",") if i.strip()]
        now = state.now_s()
        body: dict[str, dict[str, float | int]] = {}
        for asset_id in ids:
            if asset_id not in model.by_id or asset_id in body:
                continue  # unknown ids are simply absent
            entry: dict[str, float | int] = {"usd": state.price(NAME, asset_id)}
            if q.get("include_market_cap") == "true":
                entry["usd_market_cap"] = state.market_cap(NAME, asset_id, now)
            if q.get("include_24hr_vol") == "true":
                entry["usd_24h_vol"] = model.volume_24h(asset_id, now)
            if q.get("include_24hr_change") == "true":
                entry["usd_24h_change"] = change(asset_id, now)
            if q.get("include_last_updated_at") == "true":
                entry["last_updated_at"] = int(now) // 60 * 60
            body[asset_id] = entry
        return json(body)

    def market_row(asset_id: str, rank: int, now: float) -> dict[str, object]:
        asset = model.by_id[asset_id]
        price = state.price(NAME, asset_id, now)
        _, high, low, _ = state.ohlc(NAME, asset_id, now - DAY_S, now)
        cap = state.market_cap(NAME, asset_id, now)
        cap_before = state.market_cap(NAME, asset_id, now - DAY_S)
        supply = model.supply(asset_id)
        ath_date = from_s(now - uniform(30, 900, state.seed, asset_id, "ath") * DAY_S)
        ath = max(high, price * uniform(1.05, 3.0, state.seed, asset_id, "athx"))
        atl = price * uniform(0.001, 0.3, state.seed, asset_id, "atl")
        return {
            "id": asset_id,
            "symbol": asset.symbol.lower(),
            "name": asset.name,
            "image": IMAGE.format(rank=asset.rank, size="large", id=asset_id),
            "current_price": price,
            "market_cap": round(cap),
            "market_cap_rank": rank,
            "fully_diluted_valuation": round(cap * 1.05),
            "total_volume": round(model.volume_24h(asset_id, now)),
            "high_24h": high,
            "low_24h": low,
            "price_change_24h": price - state.price(NAME, asset_id, now - DAY_S),
            "price_change_percentage_24h": change(asset_id, now),
            "market_cap_change_24h": cap - cap_before,
            "market_cap_change_percentage_24h": (cap / cap_before - 1) * 100,
            "circulating_supply": supply,
            "total_supply": round(supply * 1.05),
            "max_supply": None,
            "ath": ath,
            "ath_change_percentage": (price / ath - 1) * 100,
            "ath_date": iso_z(ath_date, "milliseconds"),
            "atl": atl,
            "atl_change_percentage": (price / atl - 1) * 100,
            "atl_date": iso_z(from_s(EPOCH_S + 86_400 * 200), "milliseconds"),
            "roi": None,
            "last_updated": iso_z(from_s(now), "milliseconds"),
        }

    async def markets(request: Request) -> Response:
        try:
            per_page = max(1, min(int(request.query_params.get("per_page", 100)), 250))
            page = max(int(request.query_params.get("page", 1)), 1)
        except ValueError:
            return json({"error": "invalid per_page or page"}, 400)
        now = state.now_s()
        ranked = state.ranked(NAME, now)
        first = (page - 1) * per_page
        chosen = ranked[first : first + per_page]
        return json([market_row(a.id, rank, now) for rank, a in enumerate(chosen, first + 1)])

    async def ohlc(request: Request) -> Response:
        asset_id = request.path_params["id"]
        if asset_id not in model.by_id:
            return json(NOT_FOUND, 404)
        days = _days(request)
        if days is None:
            return json({"error": "invalid days"}, 400)
        width = _ohlc_width(days, request.query_params.get("interval"))
        now = state.now_s()
        start = max(now - days * DAY_S, EPOCH_S) - width  # the first candle closes after start
        bars = state.bars(NAME, asset_id, width, start, now, limit=100_000)
        return json([[(b.open_time + width) * 1000, b.open, b.high, b.low, b.close] for b in bars])

    async def market_chart(request: Request) -> Response:
        asset_id = request.path_params["id"]
        if asset_id not in model.by_id:
            return json(NOT_FOUND, 404)
        days = _days(request)
        if days is None:
            return json({"error": "invalid days"}, 400)
        daily = request.query_params.get("interval") == "daily" or days > 90
        step = DAY_S if daily else 300 if days <= 1 else 3600
        now = state.now_s()
        first = math.ceil(max(now - days * DAY_S, EPOCH_S) / step) * step
        times = [*range(int(first), int(now), step), now]
        supply = model.supply(asset_id)
        prices = [(int(t * 1000), state.price(NAME, asset_id, t)) for t in times]
        return json(
            {
                "prices": [[t, p] for t, p in prices],
                "market_caps": [[t, p * supply] for t, p in prices],
                "total_volumes": [[t, model.volume_24h(asset_id, t / 1000)] for t, _ in prices],
            }
        )

    async def trending(_request: Request) -> Response:
        now = state.now_s()
        btc = state.price(NAME, "bitcoin")
        rng = rng_for(state.seed, "trending", int(now // 3600))
        ranks = state.ranks(NAME, now)
        coins = []
        for score, asset in enumerate(rng.sample(model.assets[5:], 7)):
            price = state.price(NAME, asset.id)
            cap, volume = state.market_cap(NAME, asset.id, now), model.volume_24h(asset.id, now)
            item = {
                "id": asset.id,
                "coin_id": asset.rank,
                "name": asset.name,
                "symbol": asset.symbol,
                "market_cap_rank": ranks[asset.id],
                "thumb": IMAGE.format(rank=asset.rank, size="standard", id=asset.id),
                "small": IMAGE.format(rank=asset.rank, size="small", id=asset.id),
                "large": IMAGE.format(rank=asset.rank, size="large", id=asset.id),
                "slug": asset.id,
                "price_btc": price / btc,
                "score": score,
                "data": {
                    "price": price,
                    "price_btc": f"{price / btc:.20f}",
                    "price_change_percentage_24h": {
                        "usd": change(asset.id, now),
                        "btc": change(asset.id, now) - change("bitcoin", now),
                    },
                    "market_cap": f"${cap:,.0f}",
                    "market_cap_btc": str(cap / btc),
                    "total_volume": f"${volume:,.0f}",
                    "total_volume_btc": str(volume / btc),
                    "sparkline": f"https://www.coingecko.com/coins/{asset.rank}/sparkline.svg",
                    "content": None,
                },
            }
            coins.append({"item": item})
        return json({"coins": coins, "nfts": [], "categories": []})

    async def image(request: Request) -> Response:
        size = SIZES.get(request.path_params["size"])
        coin_id, _, extension = request.path_params["file"].rpartition(".")
        if size is None or extension != "png" or coin_id not in model.by_id:
            return Response(b"Not Found", 404, media_type="text/plain")
        png = coin_png(coin_id, size)
        return Response(png, media_type="image/png", headers={"cache-control": "max-age=31536000"})

    async def global_(_request: Request) -> Response:
        now = state.now_s()
        caps = {a.id: model.market_cap(a.id, now) for a in model.assets}
        # the seeded assets are most, not all, of the market
        total = sum(caps.values()) * 1.15
        before = sum(model.market_cap(a.id, now - DAY_S) for a in model.assets) * 1.15
        volume = sum(model.volume_24h(a.id, now) for a in model.assets) * 1.3
        btc, eth = state.price(NAME, "bitcoin"), state.price(NAME, "ethereum")
        top = sorted(model.assets, key=lambda a: -caps[a.id])[:10]
        return json(
            {
                "data": {
                    "active_cryptocurrencies": 17111,
                    "upcoming_icos": 0,
                    "ongoing_icos": 49,
                    "ended_icos": 3376,
                    "markets": 1297,
                    "total_market_cap": {"btc": total / btc, "eth": total / eth, "usd": total},
                    "total_volume": {"btc": volume / btc, "eth": volume / eth, "usd": volume},
                    "market_cap_percentage": {
                        a.symbol.lower(): caps[a.id] / total * 100 for a in top
                    },
                    "market_cap_change_percentage_24h_usd": (total / before - 1) * 100,
                    "updated_at": int(now),
                }
            }
        )

    async def coins_list(_request: Request) -> Response:
        rows = [{"id": a.id, "symbol": a.symbol.lower(), "name": a.name} for a in model.assets]
        return json(sorted([*rows, *EXTRA_LISTED], key=lambda r: r["id"]))

    return [
        (f"{PREFIX}/ping", ping),
        (f"{PREFIX}/simple/price", simple_price),
        (f"{PREFIX}/coins/markets", markets),
        (f"{PREFIX}/coins/list", coins_list),
        (f"{PREFIX}/coins/{{id}}/ohlc", ohlc),
        (f"{PREFIX}/coins/{{id}}/market_chart", market_chart),
        (f"{PREFIX}/search/trending", trending),
        (f"{PREFIX}/global", global_),
        (f"/{NAME}/images/coins/images/{{rank}}/{{size}}/{{file}}", image),
    ]


#: coingecko/error_429.json
RATE_LIMIT_BODY = {
    "status": {
        "error_code": 429,
        "error_message": "You've exceeded the Rate Limit. Please visit "
        "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for "
        "higher rate limits.",
    }
}
SIMULATED = (SimProvider(NAME, routes, rate_limit_body=RATE_LIMIT_BODY),)
