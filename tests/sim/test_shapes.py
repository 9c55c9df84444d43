"""Every simulated endpoint of CoinGecko and the exchanges answers in the shape of the
provider's recorded payload (the others: test_shapes_data.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import httpx
import pytest

from cryptoagg.core.asset_seed import seed_assets
from tests.sim.support import fixture, get

#: the simulator's clock (tests/sim/conftest.py: the `sim` fixture)
NOW = datetime(2026, 11, 20, 12, 34, 56, tzinfo=UTC)
SEEDED = seed_assets()


# -- CoinGecko -------------------------------------------------------------------------------


async def test_coingecko_ping_and_simple_price(sim: httpx.AsyncClient) -> None:
    assert await get(sim, "/coingecko/api/v3/ping") == fixture("coingecko/ping.json")
    flags = "&".join(
        f"include_{f}=true" for f in ("market_cap", "24hr_vol", "24hr_change", "last_updated_at")
    )
    url = f"/coingecko/api/v3/simple/price?ids=bitcoin,no-such-coin&vs_currencies=usd&{flags}"
    body = await get(sim, url)
    recorded = fixture("coingecko/simple_price.json")
    assert set(body) == {"bitcoin"}  # unknown ids are simply absent
    assert list(body["bitcoin"]) == list(recorded["bitcoin"])
    assert isinstance(body["bitcoin"]["usd"], float)
    assert body["bitcoin"]["last_updated_at"] == int(NOW.timestamp()) // 60 * 60
    bare = await get(sim, "/coingecko/api/v3/simple/price?ids=ethereum&vs_currencies=usd")
    assert list(bare["ethereum"]) == ["usd"]


async def test_coingecko_markets_are_one_row_per_seeded_asset_by_rank(
    sim: httpx.AsyncClient,
) -> None:
    rows = await get(sim, "/coingecko/api/v3/coins/markets?vs_currency=usd&per_page=250&page=1")
    assert list(rows[0]) == list(fixture("coingecko/coins_markets.json")[0])
    assert sorted(r["id"] for r in rows) == sorted(a.id for a in SEEDED)
    assert [r["market_cap_rank"] for r in rows] == list(range(1, len(SEEDED) + 1))
    assert [r["id"] for r in rows[:2]] == ["bitcoin", "ethereum"]
    assert all(r["low_24h"] <= r["current_price"] <= r["high_24h"] for r in rows)
    page2 = await get(sim, "/coingecko/api/v3/coins/markets?vs_currency=usd&per_page=10&page=2")
    assert [r["market_cap_rank"] for r in page2] == list(range(11, 21))


@pytest.mark.parametrize(("days", "width_s"), [(1, 1800), (14, 4 * 3600), (90, 4 * 86400)])
async def test_coingecko_ohlc_granularity(sim: httpx.AsyncClient, days: int, width_s: int) -> None:
    rows = await get(sim, f"/coingecko/api/v3/coins/bitcoin/ohlc?vs_currency=usd&days={days}")
    assert all(len(r) == len(fixture("coingecko/coins_ohlc.json")[0]) for r in rows)
    stamps = [r[0] for r in rows]
    assert {b - a for a, b in itertools.pairwise(stamps)} == {width_s * 1000}
    assert stamps[0] / 1000 >= NOW.timestamp() - days * 86400  # stamped at close
    assert all(r[3] <= min(r[1], r[4]) <= max(r[1], r[4]) <= r[2] for r in rows)
    assert await get(sim, "/coingecko/api/v3/coins/nope/ohlc?days=1", 404) == {
        "error": "coin not found"
    }


async def test_coingecko_market_chart(sim: httpx.AsyncClient) -> None:
    body = await get(sim, "/coingecko/api/v3/coins/ethereum/market_chart?vs_currency=usd&days=1")
    assert list(body) == list(fixture("coingecko/coins_market_chart.json"))
    prices = body["prices"]
    assert len(prices) == 24 * 12 + 1  # 5-minute points and "now"
    assert prices[-1][0] == int(NOW.timestamp() * 1000)
    daily = await get(sim, "/coingecko/api/v3/coins/ethereum/market_chart?days=365")
    assert daily["prices"][-2][0] % 86_400_000 == 0 and len(daily["prices"]) == 366


async def test_coingecko_trending_global_and_list(sim: httpx.AsyncClient) -> None:
    trending = await get(sim, "/coingecko/api/v3/search/trending")
    recorded = fixture("coingecko/search_trending.json")
    assert list(trending) == list(recorded)
    assert len(trending["coins"]) == 7
    item, recorded_item = trending["coins"][0]["item"], recorded["coins"][0]["item"]
    assert list(item) == list(recorded_item)
    assert list(item["data"]) == list(recorded_item["data"])
    assert {c["item"]["id"] for c in trending["coins"]} <= {a.id for a in SEEDED}

    data = (await get(sim, "/coingecko/api/v3/global"))["data"]
    assert list(data) == list(fixture("coingecko/global.json")["data"])
    assert set(data["total_market_cap"]) >= {"usd", "btc"}
    assert 40 < data["market_cap_percentage"]["btc"] < 80

    listed = await get(sim, "/coingecko/api/v3/coins/list")
    assert list(listed[0]) == list(fixture("coingecko/coins_list.json")[0])
    assert {a.id for a in SEEDED} <= {c["id"] for c in listed}


# -- exchanges -------------------------------------------------------------------------------


async def test_binance_tickers(sim: httpx.AsyncClient) -> None:
    body = await get(sim, '/binance/api/v3/ticker/24hr?symbols=["BTCUSDT","ETHUSDT"]')
    recorded = fixture("binance/ticker_24hr_list.json")[0]
    assert [t["symbol"] for t in body] == ["BTCUSDT", "ETHUSDT"]
    for ticker in body:
        assert list(ticker) == list(recorded)
        assert all(type(ticker[k]) is type(v) for k, v in recorded.items()), ticker
        assert float(ticker["lowPrice"]) <= float(ticker["lastPrice"]) <= float(ticker["highPrice"])
    single = await get(sim, "/binance/api/v3/ticker/24hr?symbol=SOLUSDT")
    assert list(single) == list(fixture("binance/ticker_24hr_single.json"))
    invalid = fixture("binance/error_invalid_symbol.json")
    assert await get(sim, '/binance/api/v3/ticker/24hr?symbols=["BTCUSDT","NOPEUSDT"]', 400) == (
        invalid
    )
    assert await get(sim, "/binance/api/v3/ticker/24hr?symbol=USDTUSDT", 400) == invalid


async def test_binance_klines_and_exchange_info(sim: httpx.AsyncClient) -> None:
    end = int(NOW.timestamp() * 1000)
    start = end - 5 * 3_600_000
    rows = await get(
        sim,
        "/binance/api/v3/klines",
        params={"symbol": "BTCUSDT", "interval": "1h", "startTime": start, "endTime": end},
    )
    recorded = fixture("binance/klines.json")[0]
    assert len(rows) == 5
    assert all([type(v) for v in r] == [type(v) for v in recorded] for r in rows)
    assert all(r[6] == r[0] + 3_599_999 for r in rows)
    limited = await get(sim, "/binance/api/v3/klines?symbol=ETHUSDT&interval=1m&limit=5000")
    assert len(limited) == 1000 and limited[-1][0] == end // 60_000 * 60_000
    assert (await get(sim, "/binance/api/v3/klines?symbol=ETHUSDT&interval=7m", 400))[
        "code"
    ] == -1120

    info = await get(sim, "/binance/api/v3/exchangeInfo")
    recorded_info = fixture("binance/exchange_info.json")
    assert list(info) == list(recorded_info)
    assert list(info["symbols"][0]) == list(recorded_info["symbols"][0])
    wanted = {f"{a.native_id('binance')}USDT" for a in SEEDED if a.native_id("binance")}
    assert {s["symbol"] for s in info["symbols"]} == wanted
    assert [f["filterType"] for f in info["symbols"][0]["filters"]] == ["PRICE_FILTER", "LOT_SIZE"]


async def test_kraken_ticker_keys_and_errors(sim: httpx.AsyncClient) -> None:
    body = await get(sim, "/kraken/0/public/Ticker?pair=XBTUSD,ETHUSD,XDGUSD,SOLUSD")
    recorded = fixture("kraken/ticker.json")
    assert body["error"] == []
    assert list(body["result"]) == ["XXBTZUSD", "XETHZUSD", "XXDGZUSD", "SOLUSD"]
    for entry in body["result"].values():
        assert list(entry) == list(recorded["result"]["XXBTZUSD"])
        assert isinstance(entry["c"][0], str) and isinstance(entry["t"][0], int)
    shib = await get(sim, "/kraken/0/public/Ticker?pair=SHIBUSD")
    assert float(shib["result"]["SHIBUSD"]["c"][0]) > 0  # enough decimals for tiny prices
    unknown = await get(sim, "/kraken/0/public/Ticker?pair=XBTUSD,NOPEUSD")
    assert unknown == fixture("kraken/error_unknown_pair.json")  # HTTP 200, like Kraken


async def test_kraken_ohlc_and_asset_pairs(sim: httpx.AsyncClient) -> None:
    body = await get(sim, "/kraken/0/public/OHLC?pair=XBTUSD&interval=60&since=0")
    rows = body["result"]["XXBTZUSD"]
    recorded = fixture("kraken/ohlc.json")["result"]["XXBTZUSD"][0]
    assert len(rows) == 720  # Kraken keeps the newest 720 whatever `since` says
    assert [type(v) for v in rows[0]] == [type(v) for v in recorded]
    assert body["result"]["last"] == rows[-2][0]
    since = int(NOW.timestamp()) - 3 * 3600
    recent = await get(sim, f"/kraken/0/public/OHLC?pair=XXBTZUSD&interval=60&since={since}")
    assert [r[0] >= since for r in recent["result"]["XXBTZUSD"]] == [True] * 3

    pairs = (await get(sim, "/kraken/0/public/AssetPairs"))["result"]
    recorded_pair = fixture("kraken/asset_pairs.json")["result"]["XXBTZUSD"]
    assert list(pairs["XXBTZUSD"]) == list(recorded_pair)
    assert pairs["XXBTZUSD"]["wsname"] == "XBT/USD" and pairs["XXBTZUSD"]["base"] == "XXBT"
    assert pairs["SOLUSD"]["wsname"] == "SOL/USD" and pairs["SOLUSD"]["base"] == "SOL"
    assert len(pairs) == sum(1 for a in SEEDED if a.native_id("kraken"))


async def test_coinbase(sim: httpx.AsyncClient) -> None:
    ticker = await get(sim, "/coinbase/exchange/products/BTC-USD/ticker")
    recorded = fixture("coinbase/exchange_product_ticker_live_capture.json")
    assert list(ticker) == list(recorded)
    assert all(type(ticker[k]) is type(v) for k, v in recorded.items())
    assert float(ticker["bid"]) < float(ticker["ask"])
    assert await get(sim, "/coinbase/exchange/products/NOPE-USD/ticker", 404) == {
        "message": "NotFound"
    }
    products = await get(sim, "/coinbase/exchange/products")
    assert list(products[0]) == list(fixture("coinbase/exchange_products_sandbox.json")[0])
    assert {p["id"] for p in products} == {
        f"{a.native_id('coinbase')}-USD" for a in SEEDED if a.native_id("coinbase")
    }
    spot = await get(sim, "/coinbase/v2/prices/ETH-USD/spot")
    assert list(spot["data"]) == list(fixture("coinbase/v2_prices_spot_eth_recent.json")["data"])
    assert spot["data"]["base"] == "ETH" and isinstance(spot["data"]["amount"], str)
