"""Simulated CoinGecko v3 (shapes from the recorded `coingecko/*.json` payloads)."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cryptoagg.sim.market import PriceModel
from cryptoagg.sim.state import SimState, json

NAME = "coingecko"

#: extra listed (untracked) coins, recorded from CoinGecko's coin list: two share a ticker
EXTRA_LISTED = (
    {"id": "aave-usdc", "symbol": "ausdc", "name": "Aave v2 USDC"},
    {"id": "aave-usdc-v1", "symbol": "ausdc", "name": "Aave v1 USDC"},
)


def _ms(model: PriceModel, state: SimState) -> int:
    return int(state.now().timestamp() * 1000)


def routes(state: SimState) -> list[Route]:  # noqa: PLR0915 - one closure per endpoint
    model = state.model

    async def ping(_request: Request) -> Response:
        return json({"gecko_says": "(V3) To the Moon!"})

    async def simple_price(request: Request) -> Response:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        now = state.now()
        body = {}
        for asset_id in ids:
            if asset_id not in model.by_id:
                continue
            entry: dict[str, float | int] = {"usd": state.price(NAME, asset_id)}
            if request.query_params.get("include_market_cap") == "true":
                entry["usd_market_cap"] = model.market_cap(asset_id, now)
            if request.query_params.get("include_24hr_vol") == "true":
                entry["usd_24h_vol"] = model.volume_24h(asset_id)
            if request.query_params.get("include_24hr_change") == "true":
                entry["usd_24h_change"] = model.change_24h_pct(asset_id, now)
            if request.query_params.get("include_last_updated_at") == "true":
                entry["last_updated_at"] = int(now.timestamp())
            body[asset_id] = entry
        return json(body)

    async def markets(request: Request) -> Response:
        per_page = min(int(request.query_params.get("per_page", 100)), 250)
        page = max(int(request.query_params.get("page", 1)), 1)
        now = state.now()
        stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        rows = []
        for asset in model.assets[(page - 1) * per_page : page * per_page]:
            price = state.price(NAME, asset.id)
            day = model.candles(
                asset.id, timedelta(days=1), now - timedelta(days=1), now, limit=2, now=now
            )
            rows.append(
                {
                    "id": asset.id,
                    "symbol": asset.symbol.lower(),
                    "name": asset.name,
                    "image": f"https://assets.coingecko.com/coins/images/{asset.rank}/large/{asset.id}.png",
                    "current_price": price,
                    "market_cap": model.market_cap(asset.id, now),
                    "market_cap_rank": asset.rank,
                    "fully_diluted_valuation": None,
                    "total_volume": model.volume_24h(asset.id),
                    "high_24h": max(c.high for c in day),
                    "low_24h": min(c.low for c in day),
                    "price_change_24h": price * model.change_24h_pct(asset.id, now) / 100,
                    "price_change_percentage_24h": model.change_24h_pct(asset.id, now),
                    "market_cap_change_24h": None,
                    "market_cap_change_percentage_24h": None,
                    "circulating_supply": model.supply(asset.id),
                    "total_supply": model.supply(asset.id),
                    "max_supply": None,
                    "ath": None,
                    "ath_change_percentage": None,
                    "ath_date": None,
                    "atl": None,
                    "atl_change_percentage": None,
                    "atl_date": None,
                    "roi": None,
                    "last_updated": stamp,
                }
            )
        return json(rows)

    def _days(request: Request) -> int:
        raw = request.query_params.get("days", "1")
        return 365 if raw == "max" else max(1, min(int(float(raw)), 365))

    async def ohlc(request: Request) -> Response:
        asset_id = request.path_params["id"]
        if asset_id not in model.by_id:
            return json({"error": "coin not found"}, 404)
        days = _days(request)
        # CoinGecko: 1-2 days -> 30 min, 3-30 days -> 4 h, above -> 4 days (stamped at close)
        step = (
            timedelta(minutes=30)
            if days <= 2
            else timedelta(hours=4)
            if days <= 30
            else timedelta(days=4)
        )
        now = state.now()
        candles = model.candles(
            asset_id, step, now - timedelta(days=days), now, limit=10_000, now=now
        )
        return json(
            [
                [int((c.open_time + step).timestamp() * 1000), c.open, c.high, c.low, c.close]
                for c in candles
            ]
        )

    async def market_chart(request: Request) -> Response:
        asset_id = request.path_params["id"]
        if asset_id not in model.by_id:
            return json({"error": "coin not found"}, 404)
        days = _days(request)
        step = (
            timedelta(minutes=5)
            if days <= 1
            else timedelta(hours=1)
            if days <= 90
            else timedelta(days=1)
        )
        now = state.now()
        candles = model.candles(
            asset_id, step, now - timedelta(days=days), now, limit=10_000, now=now
        )
        supply = model.supply(asset_id)
        points = [(int(c.open_time.timestamp() * 1000), c.open) for c in candles]
        return json(
            {
                "prices": [[t, p] for t, p in points],
                "market_caps": [[t, p * supply] for t, p in points],
                "total_volumes": [[t, model.volume_24h(asset_id)] for t, _ in points],
            }
        )

    async def trending(_request: Request) -> Response:
        now = state.now()
        btc = model.usd("bitcoin", now)
        start = now.hour % 20
        coins = []
        for score, asset in enumerate(model.assets[start + 5 : start + 12]):
            price = model.usd(asset.id, now)
            coins.append(
                {
                    "item": {
                        "id": asset.id,
                        "coin_id": asset.rank,
                        "name": asset.name,
                        "symbol": asset.symbol,
                        "market_cap_rank": asset.rank,
                        "thumb": f"https://coin-images.coingecko.com/coins/images/{asset.rank}/standard/{asset.id}.png",
                        "small": f"https://coin-images.coingecko.com/coins/images/{asset.rank}/small/{asset.id}.png",
                        "large": f"https://coin-images.coingecko.com/coins/images/{asset.rank}/large/{asset.id}.png",
                        "slug": asset.id,
                        "price_btc": price / btc,
                        "score": score,
                        "data": {
                            "price": price,
                            "price_btc": f"{price / btc:.20f}",
                            "price_change_percentage_24h": {
                                "usd": model.change_24h_pct(asset.id, now)
                            },
                            "market_cap": f"${model.market_cap(asset.id, now):,.0f}",
                            "total_volume": f"${model.volume_24h(asset.id):,.0f}",
                        },
                    }
                }
            )
        return json({"coins": coins, "nfts": [], "categories": []})

    async def global_(_request: Request) -> Response:
        now = state.now()
        caps = {a.id: model.market_cap(a.id, now) for a in model.assets}
        total = sum(caps.values()) * 1.15
        return json(
            {
                "data": {
                    "active_cryptocurrencies": 17111,
                    "upcoming_icos": 0,
                    "ongoing_icos": 49,
                    "ended_icos": 3376,
                    "markets": 1297,
                    "total_market_cap": {"usd": total, "btc": total / model.usd("bitcoin", now)},
                    "total_volume": {"usd": sum(model.volume_24h(a.id) for a in model.assets)},
                    "market_cap_percentage": {
                        "btc": caps["bitcoin"] / total * 100,
                        "eth": caps["ethereum"] / total * 100,
                    },
                    "market_cap_change_percentage_24h_usd": model.change_24h_pct("bitcoin", now),
                    "updated_at": int(now.timestamp()),
                }
            }
        )

    async def coins_list(_request: Request) -> Response:
        rows = [{"id": a.id, "symbol": a.symbol.lower(), "name": a.name} for a in model.assets]
        return json(sorted([*rows, *EXTRA_LISTED], key=lambda r: r["id"]))

    prefix = f"/{NAME}/api/v3"
    return [
        Route(f"{prefix}/ping", ping),
        Route(f"{prefix}/simple/price", simple_price),
        Route(f"{prefix}/coins/markets", markets),
        Route(f"{prefix}/coins/list", coins_list),
        Route(f"{prefix}/coins/{{id}}/ohlc", ohlc),
        Route(f"{prefix}/coins/{{id}}/market_chart", market_chart),
        Route(f"{prefix}/search/trending", trending),
        Route(f"{prefix}/global", global_),
    ]
