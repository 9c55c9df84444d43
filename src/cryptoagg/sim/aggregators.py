"""Simulated aggregators: CoinPaprika, CoinCap v3, CryptoCompare, Messari v2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cryptoagg.sim.state import SimState, json

UNAUTHORIZED = {"error": "You did not provide a valid API key"}


def _iso(at: datetime) -> str:
    return at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def coinpaprika_routes(state: SimState) -> list[Route]:
    name = "coinpaprika"
    model = state.model
    listed = dict((nid, asset_id) for asset_id, nid in state.listed(name))

    def ticker(nid: str) -> dict[str, object]:
        asset = model.by_id[listed[nid]]
        now = state.now()
        return {
            "id": nid,
            "name": asset.name,
            "symbol": asset.symbol,
            "rank": asset.rank,
            "total_supply": model.supply(asset.id),
            "max_supply": 0,
            "beta_value": 1.0,
            "first_data_at": "2018-01-01T00:00:00Z",
            "last_updated": _iso(now),
            "quotes": {
                "USD": {
                    "price": state.price(name, asset.id),
                    "volume_24h": model.volume_24h(asset.id),
                    "volume_24h_change_24h": 0.0,
                    "market_cap": model.market_cap(asset.id, now),
                    "market_cap_change_24h": 0.0,
                    "percent_change_24h": round(model.change_24h_pct(asset.id, now), 2),
                }
            },
        }

    async def tickers(_request: Request) -> Response:
        return json([ticker(nid) for nid in listed])

    async def one_ticker(request: Request) -> Response:
        nid = request.path_params["id"]
        return json(ticker(nid)) if nid in listed else json({"error": "id not found"}, 404)

    async def coins(_request: Request) -> Response:
        return json(
            [
                {
                    "id": nid,
                    "name": model.by_id[asset_id].name,
                    "symbol": model.by_id[asset_id].symbol,
                    "rank": model.by_id[asset_id].rank,
                    "is_new": False,
                    "is_active": True,
                    "type": "coin",
                }
                for nid, asset_id in listed.items()
            ]
        )

    return [
        Route(f"/{name}/v1/tickers", tickers),
        Route(f"/{name}/v1/tickers/{{id}}", one_ticker),
        Route(f"/{name}/v1/coins", coins),
    ]


def _num(value: float) -> str:
    return f"{value:.18f}"


def coincap_routes(state: SimState) -> list[Route]:
    name = "coincap"
    model = state.model
    listed = dict((nid, asset_id) for asset_id, nid in state.listed(name))

    def row(nid: str) -> dict[str, object]:
        asset = model.by_id[listed[nid]]
        now = state.now()
        return {
            "id": nid,
            "rank": str(asset.rank),
            "symbol": asset.symbol,
            "name": asset.name,
            "supply": _num(model.supply(asset.id)),
            "maxSupply": None,
            "marketCapUsd": _num(model.market_cap(asset.id, now)),
            "volumeUsd24Hr": _num(model.volume_24h(asset.id)),
            "priceUsd": _num(state.price(name, asset.id)),
            "changePercent24Hr": str(model.change_24h_pct(asset.id, now)),
            "vwap24Hr": _num(model.usd(asset.id, now)),
            "explorer": None,
            "tokens": {},
        }

    async def assets(request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return json(UNAUTHORIZED, 401)
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        limit = min(int(request.query_params.get("limit", 100)), 2000)
        chosen = [i for i in ids if i in listed] if ids else list(listed)[:limit]
        stamp = int(state.now().timestamp() * 1000)
        return json({"data": [row(nid) for nid in chosen], "timestamp": stamp})

    return [Route(f"/{name}/v3/assets", assets)]


def cryptocompare_routes(state: SimState) -> list[Route]:
    name = "cryptocompare"
    model = state.model
    listed = dict((nid, asset_id) for asset_id, nid in state.listed(name))
    steps = {
        "histominute": timedelta(minutes=1),
        "histohour": timedelta(hours=1),
        "histoday": timedelta(days=1),
    }

    async def pricemultifull(request: Request) -> Response:
        fsyms = [s for s in request.query_params.get("fsyms", "").split(",") if s in listed]
        if not fsyms:
            return json(
                {
                    "Response": "Error",
                    "Message": "cccagg_or_exchange market does not exist for this coin pair",
                    "HasWarning": False,
                    "Type": 2,
                    "RateLimit": {},
                    "Data": {},
                }
            )
        now = state.now()
        raw = {}
        for symbol in fsyms:
            asset_id = listed[symbol]
            price = state.price(name, asset_id)
            raw[symbol] = {
                "USD": {
                    "TYPE": "5",
                    "MARKET": "CCCAGG",
                    "FROMSYMBOL": symbol,
                    "TOSYMBOL": "USD",
                    "FLAGS": "2050",
                    "PRICE": price,
                    "LASTUPDATE": int(now.timestamp()),
                    "VOLUME24HOUR": model.volume_24h(asset_id) / price,
                    "VOLUME24HOURTO": model.volume_24h(asset_id),
                    "CHANGEPCT24HOUR": model.change_24h_pct(asset_id, now),
                    "SUPPLY": model.supply(asset_id),
                    "MKTCAP": model.market_cap(asset_id, now),
                }
            }
        return json({"RAW": raw})

    async def histo(request: Request) -> Response:
        kind = request.path_params["kind"]
        q = request.query_params
        step = steps.get(kind)
        symbol = q.get("fsym", "")
        if step is None or symbol not in listed:
            return json(
                {
                    "Response": "Error",
                    "Message": "fsym param is invalid.",
                    "HasWarning": False,
                    "Type": 2,
                    "RateLimit": {},
                    "Data": {},
                }
            )
        now = state.now()
        limit = min(int(q.get("limit", 30)), 2000)
        to = datetime.fromtimestamp(int(q["toTs"]), tz=UTC) if "toTs" in q else now
        candles = model.candles(
            listed[symbol], step, to - step * limit, to, limit=limit + 1, now=now
        )
        data = [
            {
                "time": int(c.open_time.timestamp()),
                "high": c.high,
                "low": c.low,
                "open": c.open,
                "volumefrom": c.volume,
                "volumeto": c.volume * c.close,
                "close": c.close,
                "conversionType": "direct",
                "conversionSymbol": "",
            }
            for c in candles
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
        Route(f"/{name}/data/pricemultifull", pricemultifull),
        Route(f"/{name}/data/v2/{{kind}}", histo),
    ]


def messari_routes(state: SimState) -> list[Route]:
    name = "messari"
    model = state.model
    listed = dict((nid, asset_id) for asset_id, nid in state.listed(name))

    async def details(request: Request) -> Response:
        if not request.headers.get("x-messari-api-key"):
            return json({"error": "Unauthorized: API key required"}, 401)
        slugs = [s for s in request.query_params.get("slugs", "").split(",") if s in listed]
        now = state.now()
        data = []
        for slug in slugs:
            asset = model.by_id[listed[slug]]
            price = state.price(name, asset.id)
            data.append(
                {
                    "id": f"sim-{asset.rank:04d}",
                    "name": asset.name,
                    "slug": slug,
                    "symbol": asset.symbol,
                    "rank": asset.rank,
                    "marketData": {
                        "priceUsd": price,
                        "priceBtc": price / model.usd("bitcoin", now),
                        "volume24Hour": model.volume_24h(asset.id),
                        "marketcap": {
                            "circulatingUsd": model.market_cap(asset.id, now),
                            "dominance": None,
                        },
                    },
                }
            )
        return json({"data": data})

    return [Route(f"/{name}/metrics/v2/assets/details", details)]
