"""Simulated aggregators: CoinPaprika v1, CoinCap v3 and Messari v2 (shapes from their recorded
payloads; Messari v2 from `messari/v2_assets_details_FROM_SCHEMA.json`, built from its schema).

CoinCap answers 401 without `Authorization: Bearer ...`, Messari without `x-messari-api-key`.
Each reports market cap as circulating supply x its own price, lists by it and ranks by it
(1 = largest), like the real listings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.market import DAY_S, EPOCH, rng_for
from cryptoagg.sim.state import (
    Routes,
    SimProvider,
    SimState,
    csv_param,
    from_s,
    int_param,
    iso_z,
    json,
)

#: CoinPaprika's `percent_change_*` windows, in seconds
PAPRIKA_WINDOWS = {
    "15m": 900, "30m": 1800, "1h": 3600, "6h": 21600, "12h": 43200, "24h": DAY_S,
    "7d": 7 * DAY_S, "30d": 30 * DAY_S, "1y": 365 * DAY_S,
}  # fmt: skip
TOKENS = frozenset({"USDT", "USDC", "DAI", "STETH", "WBTC", "LINK", "SHIB", "UNI", "PEPE",
                    "LEO", "AAVE", "ONDO", "ARB", "OP", "GRT", "IMX", "MKR", "OKB", "FET",
                    "SAND", "MANA", "RENDER", "CRO", "MNT"})  # fmt: skip
COINCAP_UNAUTHORIZED = {"error": "You did not provide a valid API key"}


def coinpaprika_routes(state: SimState) -> Routes:
    name = "coinpaprika"
    model = state.model
    listed = {nid: asset for asset, nid in state.listed(name)}

    def ticker(nid: str, now: float, ranks: dict[str, int]) -> dict[str, object]:
        asset = listed[nid]
        price = state.price(name, asset.id, now)
        changes = {
            f"percent_change_{label}": round(
                (price / state.price(name, asset.id, now - seconds) - 1) * 100, 2
            )
            for label, seconds in PAPRIKA_WINDOWS.items()
        }
        rng = rng_for(state.seed, name, asset.id)
        ath = price * rng.uniform(1.05, 3.0)
        volume = model.volume_24h(asset.id, now)
        cap = state.market_cap(name, asset.id, now)
        cap_before = state.market_cap(name, asset.id, now - DAY_S)
        return {
            "id": nid,
            "name": asset.name,
            "symbol": asset.symbol,
            "rank": ranks[asset.id],
            "total_supply": model.supply(asset.id),
            "max_supply": 0,
            "beta_value": round(rng.uniform(0.6, 1.4), 5),
            "first_data_at": iso_z(EPOCH),
            "last_updated": iso_z(from_s(now)),
            "quotes": {
                "USD": {
                    "price": price,
                    "volume_24h": volume,
                    "volume_24h_change_24h": round(
                        (volume / model.volume_24h(asset.id, now - DAY_S) - 1) * 100, 2
                    ),
                    "market_cap": round(cap),
                    "market_cap_change_24h": round((cap / cap_before - 1) * 100, 2),
                    **changes,
                    "ath_price": ath,
                    "ath_date": iso_z(from_s(now - rng.uniform(30, 900) * DAY_S)),
                    "percent_from_price_ath": round((price / ath - 1) * 100, 2),
                }
            },
        }

    async def tickers(request: Request) -> Response:
        if request.query_params.get("quotes", "USD").upper() != "USD":
            return json({"error": "simulator only quotes USD"}, 400)
        now = state.now_s()
        ranks = state.ranks(name, now)
        return json([ticker(nid, now, ranks) for nid in sorted(listed, key=by_rank(ranks))])

    async def one_ticker(request: Request) -> Response:
        nid = request.path_params["id"]
        if nid not in listed:
            return json({"error": "id not found"}, 404)
        now = state.now_s()
        return json(ticker(nid, now, state.ranks(name, now)))

    async def coins(_request: Request) -> Response:
        ranks = state.ranks(name)
        return json(
            [
                {
                    "id": nid,
                    "name": listed[nid].name,
                    "symbol": listed[nid].symbol,
                    "rank": ranks[listed[nid].id],
                    "is_new": False,
                    "is_active": True,
                    "type": "token" if listed[nid].symbol in TOKENS else "coin",
                }
                for nid in sorted(listed, key=by_rank(ranks))
            ]
        )

    def by_rank(ranks: dict[str, int]) -> Callable[[str], int]:
        return lambda nid: ranks[listed[nid].id]

    return [
        (f"/{name}/v1/tickers", tickers),
        (f"/{name}/v1/tickers/{{id}}", one_ticker),
        (f"/{name}/v1/coins", coins),
    ]


def _num(value: float) -> str:
    """CoinCap prints numbers as strings with 18 decimals."""
    return f"{value:.18f}"


def coincap_routes(state: SimState) -> Routes:
    name = "coincap"
    model = state.model
    listed = {nid: asset for asset, nid in state.listed(name)}

    def row(nid: str, now: float, ranks: dict[str, int]) -> dict[str, object]:
        asset = listed[nid]
        price = state.price(name, asset.id, now)
        o, h, low, c = state.ohlc(name, asset.id, now - DAY_S, now)
        return {
            "id": nid,
            "rank": str(ranks[asset.id]),
            "symbol": asset.symbol,
            "name": asset.name,
            "supply": _num(model.supply(asset.id)),
            "maxSupply": None,
            "marketCapUsd": _num(model.supply(asset.id) * price),
            "volumeUsd24Hr": _num(model.volume_24h(asset.id, now)),
            "priceUsd": _num(price),
            "changePercent24Hr": str((price / state.price(name, asset.id, now - DAY_S) - 1) * 100),
            "vwap24Hr": str((o + h + low + c) / 4),
            "explorer": f"https://explorer.example/{nid}",
            "tokens": {},
        }

    async def assets(request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return json(COINCAP_UNAUTHORIZED, 401)
        ids = csv_param(request, "ids")
        limit, offset = int_param(request, "limit", 100), int_param(request, "offset", 0)
        if limit is None or offset is None:
            return json({"error": "limit and offset must be integers"}, 400)
        now = state.now_s()
        ranks = state.ranks(name, now)
        if ids:
            chosen = [i for i in dict.fromkeys(ids) if i in listed]
        else:
            ranked = sorted(listed, key=lambda nid: ranks[listed[nid].id])
            chosen = ranked[max(offset, 0) : max(offset, 0) + max(1, min(limit, 2000))]
        body = [row(nid, now, ranks) for nid in chosen]
        return json({"data": body, "timestamp": int(now * 1000)})

    return [(f"/{name}/v3/assets", assets)]


def messari_routes(state: SimState) -> Routes:
    name = "messari"
    model = state.model
    # Messari's slugs are CoinCap's ids (the adapter's `derived_id`)
    listed = {nid: asset for asset, nid in state.listed("coincap")}

    def details(slug: str, now: float, ranks: dict[str, int]) -> dict[str, object]:
        asset = listed[slug]
        price = state.price(name, asset.id, now)
        hour, day = (
            state.ohlc(name, asset.id, now - 3600, now),
            state.ohlc(name, asset.id, now - DAY_S, now),
        )
        volume = model.volume_24h(asset.id, now)
        supply = model.supply(asset.id)
        total_cap = sum(model.market_cap(a.id, now) for a in model.assets) * 1.15

        def candle(ohlc: tuple[float, float, float, float], vol: float) -> dict[str, float]:
            return dict(zip(("open", "high", "low", "close"), ohlc, strict=True)) | {"volume": vol}

        return {
            "id": str(uuid.UUID(int=rng_for(state.seed, slug).getrandbits(128))),
            "name": asset.name,
            "slug": slug,
            "symbol": asset.symbol,
            "rank": ranks[asset.id],
            "category": "Cryptocurrency",
            "sector": "Currency" if asset.symbol not in TOKENS else "Token",
            "tags": [],
            "description": f"{asset.name} ({asset.symbol}), simulated.",
            "links": [],
            "marketData": {
                "priceUsd": price,
                "priceBtc": price / state.price(name, "bitcoin", now),
                "priceEth": price / state.price(name, "ethereum", now),
                "volume24Hour": volume,
                "ohlcv1HourUsd": candle(hour, volume / 24),
                "ohlcv24HourUsd": candle(day, volume),
                "supply": {"circulating": supply, "total": supply, "max": None},
                "marketcap": {
                    "circulatingUsd": supply * price,
                    "fullyDilutedUsd": supply * price * 1.05,
                    "dominance": supply * price / total_cap * 100,
                },
                "price": price,
                "marketCap": supply * price,
                "volume24h": volume,
            },
            "networkSlugs": [],
            "protocolSlugs": [],
            "returnOnInvestment": {},
            "allTimeHigh": {},
        }

    async def assets_details(request: Request) -> Response:
        if not request.headers.get("x-messari-api-key"):
            return json({"error": "Unauthorized: missing x-messari-api-key header"}, 401)
        slugs = csv_param(request, "slugs")
        now = state.now_s()
        ranks = state.ranks(name, now)
        body = [details(s, now, ranks) for s in dict.fromkeys(slugs) if s in listed]
        return json({"data": body})

    return [(f"/{name}/metrics/v2/assets/details", assets_details)]


SIMULATED = (
    SimProvider("coinpaprika", coinpaprika_routes),
    SimProvider("coincap", coincap_routes),
    SimProvider("messari", messari_routes),
)
