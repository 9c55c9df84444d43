"""Contract tests of `/api/v3`: every answer has the keys and JSON types of CoinGecko's
recorded payload, and its values are ours (consensus, cached listing, stored candles)."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoagg.api.app import create_app
from cryptoagg.config import load_settings
from tests.api.coingecko.cg_shape import recorded, shape_problems, unmock
from tests.api.conftest import AppClient

ALL_INCLUDES = {
    "include_market_cap": "true",
    "include_24hr_vol": "true",
    "include_24hr_change": "true",
    "include_last_updated_at": "true",
}
CG_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HOUR_MS = 3_600_000


def ts(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def gaps(times: list[int]) -> set[int]:
    return {b - a for a, b in pairwise(times)}


async def test_ping_answers_like_coingecko(app_client: AppClient) -> None:
    async with app_client() as client:
        response = await client.get("/api/v3/ping")
    assert response.status_code == 200
    assert unmock(response.json()) == recorded("ping.json")


async def test_simple_price_has_the_recorded_shape_and_our_consensus(
    app_client: AppClient,
) -> None:
    params = {"ids": "bitcoin,ethereum", "vs_currencies": "usd", **ALL_INCLUDES}
    async with app_client() as client:
        answer = await client.get("/api/v3/simple/price", params=params)
        # the same cached batch and the same cached listing, so the same moment
        batch = await client.get("/api/prices", params={"symbols": "ethereum,bitcoin"})
        market = await client.get("/api/market", params={"symbols": "bitcoin,ethereum"})
    assert answer.status_code == 200, answer.text
    body = unmock(answer.json())
    assert list(body) == ["bitcoin", "ethereum"]
    theirs = recorded("simple_price.json")["bitcoin"]
    for coin in body.values():
        assert shape_problems(coin, theirs) == []
        assert None not in coin.values()
    consensus = {p["asset_id"]: p for p in batch.json()["prices"]}
    listing = {r["asset_id"]: r for r in market.json()["cryptocurrencies"]}
    for coin_id, coin in body.items():
        assert coin["usd"] == consensus[coin_id]["price"]
        assert coin["last_updated_at"] == int(ts(consensus[coin_id]["as_of"]).timestamp())
        assert coin["usd_market_cap"] == listing[coin_id]["market_cap"]
        assert coin["usd_24h_vol"] == listing[coin_id]["volume_24h"]
        assert coin["usd_24h_change"] == listing[coin_id]["change_24h"]


async def test_simple_price_leaves_out_what_coingecko_leaves_out(app_client: AppClient) -> None:
    async with app_client() as client:
        get = client.get
        unknown_id = await get(
            "/api/v3/simple/price", params={"ids": "bitcoin,not-a-coin", "vs_currencies": "usd"}
        )
        only_eur = await get(
            "/api/v3/simple/price",
            params={"ids": "bitcoin", "vs_currencies": "eur", **ALL_INCLUDES},
        )
        usd_and_eur = await get(
            "/api/v3/simple/price", params={"ids": "bitcoin", "vs_currencies": "usd,eur"}
        )
        nothing_known = await get(
            "/api/v3/simple/price", params={"ids": "not-a-coin", "vs_currencies": "usd"}
        )
        by_symbol = await get(
            "/api/v3/simple/price", params={"symbols": "BTC,eth,nope", "vs_currencies": "usd"}
        )
        by_id = await get(
            "/api/v3/simple/price", params={"ids": "bitcoin,ethereum", "vs_currencies": "usd"}
        )
        no_currency = await get("/api/v3/simple/price", params={"ids": "bitcoin"})
        no_ids = await get("/api/v3/simple/price", params={"vs_currencies": "usd"})
        too_many = await get(
            "/api/v3/simple/price",
            params={"ids": ",".join(f"coin-{i}" for i in range(251)), "vs_currencies": "usd"},
        )
    assert unknown_id.status_code == 200
    body = unmock(unknown_id.json())
    assert list(body) == ["bitcoin"] and list(body["bitcoin"]) == ["usd"]
    assert unmock(only_eur.json()) == {"bitcoin": {}}
    assert list(unmock(usd_and_eur.json())["bitcoin"]) == ["usd"]
    assert unmock(nothing_known.json()) == {}
    symbols, ids = unmock(by_symbol.json()), unmock(by_id.json())
    # keyed by the symbol as asked, lowercased, like CoinGecko; same consensus as by id
    assert symbols == {"btc": ids["bitcoin"], "eth": ids["ethereum"]}
    assert no_currency.status_code == 422
    assert unmock(no_currency.json()) == {"error": "Missing parameter vs_currencies"}
    assert no_ids.status_code == 422
    assert unmock(no_ids.json()) == {"error": "Missing parameter ids"}
    assert too_many.status_code == 422
    assert unmock(too_many.json()) == {"error": "at most 250 ids, names or symbols per request"}


KNOWN_MARKET_FIELDS = (
    "id",
    "symbol",
    "name",
    "current_price",
    "market_cap",
    "market_cap_rank",
    "total_volume",
    "price_change_24h",
    "price_change_percentage_24h",
    "circulating_supply",
    "last_updated",
)


async def test_coins_markets_rows_have_the_recorded_keys_and_our_listing(
    app_client: AppClient,
) -> None:
    async with app_client() as client:
        answer = await client.get(
            "/api/v3/coins/markets", params={"vs_currency": "usd", "per_page": 5}
        )
        market = await client.get("/api/market", params={"limit": 5})
    assert answer.status_code == 200, answer.text
    rows = answer.json()  # a JSON array: mock mode marks only objects
    theirs = recorded("coins_markets.json")[0]
    listing = market.json()["cryptocurrencies"]
    assert len(rows) == 5
    assert [r["id"] for r in rows] == [e["asset_id"] for e in listing]
    for row, entry in zip(rows, listing, strict=True):
        assert shape_problems(row, theirs) == []
        assert [f for f in KNOWN_MARKET_FIELDS if row[f] is None] == []
        assert row["symbol"] == entry["symbol"].lower()
        assert row["current_price"] == entry["price"]
        assert row["market_cap"] == entry["market_cap"]
        assert row["market_cap_rank"] == entry["rank"]
        assert row["total_volume"] == entry["volume_24h"]
        assert row["price_change_percentage_24h"] == entry["change_24h"]
        price, pct = row["current_price"], row["price_change_percentage_24h"]
        assert math.isclose(price - row["price_change_24h"], price / (1 + pct / 100))
        assert math.isclose(row["circulating_supply"] * price, row["market_cap"])
        assert CG_TIME.match(row["last_updated"])
        assert ts(row["last_updated"]) - ts(entry["as_of"]) < timedelta(milliseconds=1)


async def test_coins_markets_filters_orders_and_pages_like_coingecko(
    app_client: AppClient,
) -> None:
    async with app_client() as client:

        async def markets(**params: Any) -> Any:
            response = await client.get(
                "/api/v3/coins/markets", params={"vs_currency": "usd", **params}
            )
            return response.status_code, unmock(response.json())

        _, first_six = await markets(per_page=6)
        _, second_page = await markets(per_page=3, page=2)
        _, by_ids = await markets(ids="ethereum,bitcoin")
        _, by_symbol = await markets(symbols="eth")
        _, by_name = await markets(names="Bitcoin")
        _, by_id_desc = await markets(order="id_desc", per_page=250)
        _, by_volume = await markets(order="volume_desc", per_page=20)
        _, past_the_end = await markets(page=50)
        _, changes = await markets(per_page=1, price_change_percentage="1h,24h,7d")
        _, with_sparkline = await markets(per_page=1, sparkline="true")
        eur = await markets(vs_currency="eur")
        too_big = await markets(per_page=251)
        bad_order = await markets(order="gecko_desc")
        category = await markets(category="layer-1")
    assert second_page == first_six[3:6]
    assert [r["id"] for r in by_ids] == ["bitcoin", "ethereum"]  # market cap order
    assert [r["id"] for r in by_symbol] == ["ethereum"]
    assert [r["id"] for r in by_name] == ["bitcoin"]
    ids = [r["id"] for r in by_id_desc]
    assert len(ids) > 50 and ids == sorted(ids, reverse=True)
    volumes = [r["total_volume"] for r in by_volume]
    assert volumes == sorted(volumes, reverse=True)
    assert past_the_end == []
    row = changes[0]
    assert list(row)[-3:] == [
        "price_change_percentage_1h_in_currency",
        "price_change_percentage_24h_in_currency",
        "price_change_percentage_7d_in_currency",
    ]
    assert row["price_change_percentage_24h_in_currency"] == row["price_change_percentage_24h"]
    assert row["price_change_percentage_1h_in_currency"] is None
    assert "sparkline_in_7d" in with_sparkline[0] and with_sparkline[0]["sparkline_in_7d"] is None
    assert eur == (400, {"error": "invalid vs_currency"})
    assert too_big[0] == 422 and too_big[1]["error"].startswith("per_page:")
    assert bad_order[0] == 422 and "order must be one of" in bad_order[1]["error"]
    assert category == (422, {"error": "category is not supported"})


async def test_search_trending_has_the_recorded_item_keys(app_client: AppClient) -> None:
    async with app_client() as client:
        answer = await client.get("/api/v3/search/trending")
        ours = await client.get("/api/trending")
        market = await client.get("/api/market", params={"limit": 250})
    assert answer.status_code == 200, answer.text
    body = unmock(answer.json())
    currencies = frozenset({"$.coins[].item.data.price_change_percentage_24h"})
    assert shape_problems(body, recorded("search_trending.json"), maps=currencies) == []
    assert body["nfts"] == [] and body["categories"] == []
    items = [c["item"] for c in body["coins"]]
    trending = ours.json()["trending"]
    assert [(i["id"], i["score"]) for i in items] == [(t["asset_id"], t["score"]) for t in trending]
    listing = {r["asset_id"]: r for r in market.json()["cryptocurrencies"]}
    for item in items:
        # every field the simulated CoinGecko sends is carried (ids, slug, sparkline, BTC
        # figures); the images are this server's copy of the coin's image
        assert [k for k, v in item.items() if v is None] == []
        assert [k for k, v in item["data"].items() if v is None] == ["content"]
        assert {item[k] for k in ("thumb", "small", "large")} == {f"/api/images/{item['id']}"}
        assert item["slug"] == item["id"] and item["coin_id"] > 0
        assert item["data"]["sparkline"].endswith(f"/coins/{item['coin_id']}/sparkline.svg")
        data = item["data"]
        assert math.isclose(float(data["price_btc"]), item["price_btc"])
        assert list(data["price_change_percentage_24h"]) == ["btc", "usd"]
        listed = listing.get(item["id"])
        if listed is not None:
            assert data["price"] == listed["price"]
            assert data["price_change_percentage_24h"]["usd"] == listed["change_24h"]
            assert data["market_cap"] == f"${round(listed['market_cap']):,}"
        else:
            btc = listing["bitcoin"]["price"]
            assert math.isclose(data["price"], item["price_btc"] * btc)


async def test_market_chart_serves_stored_candles_in_the_recorded_shape(
    app_client: AppClient,
) -> None:
    async with app_client() as client:
        answer = await client.get(
            "/api/v3/coins/bitcoin/market_chart", params={"vs_currency": "usd", "days": 7}
        )
        body = unmock(answer.json())
        first = datetime.fromtimestamp(body["prices"][0][0] / 1000, UTC) - timedelta(hours=1)
        last = datetime.fromtimestamp(body["prices"][-1][0] / 1000, UTC) - timedelta(hours=1)
        stored = await client.get(
            "/api/crypto/history/bitcoin",
            params={
                "interval": "1h",
                "start": first.isoformat(),
                "end": last.isoformat(),
                "backfill": "false",
            },
        )
        lookback = await client.get(
            "/api/crypto/history/bitcoin",
            params={
                "interval": "1h",
                "start": (first - timedelta(hours=23)).isoformat(),
                "end": last.isoformat(),
                "backfill": "false",
            },
        )
        market = await client.get("/api/v3/coins/markets", params={"vs_currency": "usd"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-data-partial"] == "false"
    assert shape_problems(body, recorded("coins_market_chart.json")) == []
    prices = body["prices"]
    assert len(prices) == 7 * 24
    times = [t for t, _ in prices]
    assert gaps(times) == {HOUR_MS}
    # each point is a stored candle's close, stamped with its close time
    candles = stored.json()["candles"]
    assert [[int(ts(c["time"]).timestamp() * 1000) + HOUR_MS, c["close"]] for c in candles] == (
        prices
    )
    assert [t for t, _ in body["market_caps"]] == times
    # a point's volume: base volume x close of the 24 hourly candles up to it, in USD
    hours = lookback.json()["candles"]
    assert len(hours) == 7 * 24 + 23 and all(h["volume"] > 0 for h in hours)
    assert [t for t, _ in body["total_volumes"]] == times
    for i, (_, volume) in enumerate(body["total_volumes"]):
        window = hours[i : i + 24]
        assert math.isclose(volume, sum(h["volume"] * h["close"] for h in window), rel_tol=1e-9)
    supply = {r["id"]: r for r in market.json()}["bitcoin"]["circulating_supply"]
    for (_, price), (_, cap) in zip(prices, body["market_caps"], strict=True):
        assert math.isclose(cap, price * supply)


async def test_market_chart_granularity_follows_coingecko(app_client: AppClient) -> None:
    async with app_client() as client:

        async def times(**params: Any) -> list[int]:
            response = await client.get(
                "/api/v3/coins/ethereum/market_chart", params={"vs_currency": "usd", **params}
            )
            assert response.status_code == 200, response.text
            return [t for t, _ in unmock(response.json())["prices"]]

        one_day = await times(days=1)
        forced_daily = await times(days=7, interval="daily")
        hundred_days = await times(days=100)
        everything = await times(days="max")
    assert len(one_day) == 288  # 5-minutely, read off 1m candles
    assert gaps(one_day) == {300_000}
    day_ms = 24 * HOUR_MS
    assert len(forced_daily) == 7 and all(t % day_ms == 0 for t in forced_daily)
    assert len(hundred_days) == 100
    assert gaps(hundred_days) == {day_ms}
    assert everything[-len(hundred_days) :] == hundred_days and len(everything) > 365


async def test_market_chart_errors_have_coingecko_bodies(app_client: AppClient) -> None:
    chart = "/api/v3/coins/{}/market_chart"
    async with app_client() as client:
        unknown = await client.get(
            chart.format("not-a-coin"), params={"vs_currency": "usd", "days": 1}
        )
        eur = await client.get(chart.format("bitcoin"), params={"vs_currency": "eur", "days": 1})
        bad_days = await client.get(
            chart.format("bitcoin"), params={"vs_currency": "usd", "days": "soon"}
        )
        no_days = await client.get(chart.format("bitcoin"), params={"vs_currency": "usd"})
        weekly = await client.get(
            chart.format("bitcoin"),
            params={"vs_currency": "usd", "days": 365, "interval": "weekly"},
        )
        bad_precision = await client.get(
            chart.format("bitcoin"), params={"vs_currency": "usd", "days": 1, "precision": "19"}
        )
    assert (unknown.status_code, unmock(unknown.json())) == (404, {"error": "coin not found"})
    assert (eur.status_code, unmock(eur.json())) == (400, {"error": "invalid vs_currency"})
    assert (bad_days.status_code, unmock(bad_days.json())) == (
        422,
        {"error": "days must be a positive number or max"},
    )
    assert (no_days.status_code, unmock(no_days.json())) == (
        422,
        {"error": "Missing parameter days"},
    )
    assert (weekly.status_code, unmock(weekly.json())) == (
        422,
        {"error": "interval must be 1m, 5m, hourly or daily (or empty for auto)"},
    )
    assert (bad_precision.status_code, unmock(bad_precision.json())) == (
        422,
        {"error": "precision must be full or 0 to 18"},
    )


async def test_mock_mode_marks_v3_with_a_header_not_a_key(app_client: AppClient) -> None:
    async with app_client() as client:
        response = await client.get(
            "/api/v3/simple/price", params={"ids": "bitcoin", "vs_currencies": "usd"}
        )
    assert response.headers["x-mock"] == "true"
    assert list(response.json()) == ["bitcoin"]


@asynccontextmanager
async def served(tmp_path: Path, **settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The app in mock mode, and the base URL of its simulator (for `/_sim/...`)."""
    options = {"collectors": False, **settings}
    app = create_app(load_settings(use_mock_data=True, data_dir=tmp_path, **options))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client, app.state.container.upstream_base_url


async def test_coins_markets_passes_on_the_sent_supply_and_derives_only_a_missing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE"):
        monkeypatch.delenv(key, raising=False)
    params = {"vs_currency": "usd", "ids": "bitcoin,ethereum"}
    async with served(tmp_path, markets_ttl_s=0) as (client, sim):  # each call asks again
        from_all = (await client.get("/api/v3/coins/markets", params=params)).json()
        listing = (await client.get("/api/market", params={"limit": 2})).json()
        async with httpx.AsyncClient(base_url=sim) as control:  # same event loop
            sent = (await control.get("/coingecko/api/v3/coins/markets?per_page=5")).json()
            keyed = {"authorization": "Bearer any"}
            capped = (await control.get("/coincap/v3/assets?limit=5", headers=keyed)).json()
            capped = capped["data"]
            tickers = (await control.get("/coinpaprika/v1/tickers")).json()
            for name in ("coingecko", "coincap"):  # the two listings that send a supply
                fault = {"provider": name, "kind": "error", "status": 503}
                assert (await control.post("/_sim/faults", json=fault)).status_code == 201
        from_paprika = (await client.get("/api/v3/coins/markets", params=params)).json()
        paprika_listing = (await client.get("/api/market", params={"limit": 2})).json()
    # CoinGecko and CoinCap send a supply: the row's is their median, passed on as sent
    gecko = {r["id"]: r["circulating_supply"] for r in sent}
    cap = {r["id"]: float(r["supply"]) for r in capped}
    expected = [(gecko[a] + cap[a]) / 2 for a in ("bitcoin", "ethereum")]
    for rows in (from_all, listing["cryptocurrencies"]):
        got = [r["circulating_supply"] for r in rows]
        assert all(map(math.isclose, got, expected)), (got, expected)
    # CoinPaprika's tickers do not: market cap / price, and /api/market leaves it null
    assert "circulating_supply" not in tickers[0]
    assert paprika_listing["providers"] == ["coinpaprika"]
    assert [e["circulating_supply"] for e in paprika_listing["cryptocurrencies"]] == [None, None]
    for row in from_paprika:
        derived = row["market_cap"] / row["current_price"]
        assert math.isclose(row["circulating_supply"], derived, rel_tol=1e-12)


async def test_a_503_says_when_the_rate_limited_provider_may_be_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trending has one provider: its 429 with Retry-After 60 makes the 503 say so, in
    CoinGecko's body on /api/v3 as on /api/trending, at the 429 and after it."""
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE"):
        monkeypatch.delenv(key, raising=False)
    async with served(tmp_path, slow_ttl_s=0) as (client, sim):
        async with httpx.AsyncClient(base_url=sim) as control:
            fault = {"provider": "coingecko", "kind": "ratelimit", "retry_after_s": 60}
            assert (await control.post("/_sim/faults", json=fault)).status_code == 201
        answers = [
            await client.get(path)
            for path in ("/api/v3/search/trending", "/api/v3/search/trending", "/api/trending")
        ]
    assert [a.status_code for a in answers] == [503, 503, 503]
    waits = [int(a.headers["retry-after"]) for a in answers]
    assert all(55 <= w <= 60 for w in waits), waits
    assert "coingecko: rate_limited: HTTP 429" in answers[0].json()["error"]
    assert "circuit_open" in answers[1].json()["error"]
