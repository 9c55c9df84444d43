"""Providers agree on prices (within a few basis points), candles agree with live prices, and
the same seed and clock give the same bodies."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cryptoagg.sim.app import create_sim_app

NOW = datetime(2026, 11, 20, 12, 34, 56, tzinfo=UTC)
KEYS = {"Authorization": "Bearer k", "x-messari-api-key": "k"}


def client_for(seed: int = 1, now: datetime = NOW) -> httpx.AsyncClient:
    app = create_sim_app(seed=seed, clock=lambda: now)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


@pytest.fixture
async def sim() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as client:
        yield client


async def get(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url, headers=KEYS)
    assert response.status_code == 200, response.text
    return response.json()


async def quotes(client: httpx.AsyncClient, asset: str, symbol: str, kraken: str) -> list[float]:
    """The asset's USD price from every spot provider (Binance converted from USDT)."""
    gecko = await get(
        client, f"/coingecko/api/v3/simple/price?ids={asset},tether&vs_currencies=usd"
    )
    binance = await get(client, f"/binance/api/v3/ticker/24hr?symbol={symbol}USDT")
    kraken_body = await get(client, f"/kraken/0/public/Ticker?pair={kraken}USD")
    coinbase = await get(client, f"/coinbase/exchange/products/{symbol}-USD/ticker")
    spot = await get(client, f"/coinbase/v2/prices/{symbol}-USD/spot")
    paprika = await get(client, "/coinpaprika/v1/tickers")
    coincap = await get(client, f"/coincap/v3/assets?ids={asset}")
    compare = await get(client, f"/cryptocompare/data/pricemultifull?fsyms={symbol}&tsyms=USD")
    messari = await get(client, f"/messari/metrics/v2/assets/details?slugs={asset}")
    return [
        gecko[asset]["usd"],
        float(binance["lastPrice"]) * gecko["tether"]["usd"],
        float(next(iter(kraken_body["result"].values()))["c"][0]),
        float(coinbase["price"]),
        float(spot["data"]["amount"]),
        next(t["quotes"]["USD"]["price"] for t in paprika if t["symbol"] == symbol),
        float(coincap["data"][0]["priceUsd"]),
        compare["RAW"][symbol]["USD"]["PRICE"],
        messari["data"][0]["marketData"]["priceUsd"],
    ]


@pytest.mark.parametrize(
    ("asset", "symbol", "kraken"),
    [("bitcoin", "BTC", "XBT"), ("ethereum", "ETH", "ETH"), ("solana", "SOL", "SOL")],
)
async def test_providers_agree_within_a_small_spread(
    sim: httpx.AsyncClient, asset: str, symbol: str, kraken: str
) -> None:
    prices = await quotes(sim, asset, symbol, kraken)
    spread = max(prices) / min(prices) - 1
    assert 0 < spread < 0.005  # close, but not identical
    assert len(set(prices)) > 3


async def test_binance_quotes_in_usdt(sim: httpx.AsyncClient) -> None:
    gecko = await get(sim, "/coingecko/api/v3/simple/price?ids=bitcoin,tether&vs_currencies=usd")
    binance = await get(sim, "/binance/api/v3/ticker/24hr?symbol=BTCUSDT")
    in_usdt = gecko["bitcoin"]["usd"] / gecko["tether"]["usd"]
    assert abs(float(binance["lastPrice"]) / in_usdt - 1) < 0.001


async def test_candles_close_at_the_live_price(sim: httpx.AsyncClient) -> None:
    to = int(NOW.timestamp())
    live = (await get(sim, "/cryptocompare/data/pricemultifull?fsyms=ETH&tsyms=USD"))["RAW"]
    minutes = await get(
        sim, f"/cryptocompare/data/v2/histominute?fsym=ETH&tsym=USD&limit=60&toTs={to}"
    )
    hours = await get(sim, f"/cryptocompare/data/v2/histohour?fsym=ETH&tsym=USD&limit=24&toTs={to}")
    days = await get(sim, f"/cryptocompare/data/v2/histoday?fsym=ETH&tsym=USD&limit=2&toTs={to}")
    price = live["ETH"]["USD"]["PRICE"]
    for series in (minutes, hours, days):
        bars = series["Data"]["Data"]
        assert bars[-1]["close"] == pytest.approx(price, rel=1e-12)
        for prev, bar in itertools.pairwise(bars):
            assert bar["open"] == pytest.approx(prev["close"], rel=1e-12)  # one path
            assert bar["low"] <= min(bar["open"], bar["close"])
            assert max(bar["open"], bar["close"]) <= bar["high"]
    today = days["Data"]["Data"][-1]
    hours_today = [h for h in hours["Data"]["Data"] if h["time"] >= today["time"]]
    assert today["high"] == pytest.approx(max(h["high"] for h in hours_today), rel=1e-12)
    assert today["low"] == pytest.approx(min(h["low"] for h in hours_today), rel=1e-12)
    klines = await get(sim, "/binance/api/v3/klines?symbol=ETHUSDT&interval=1m&limit=3")
    ticker = await get(sim, "/binance/api/v3/ticker/24hr?symbol=ETHUSDT")
    assert klines[-1][4] == ticker["lastPrice"]


ENDPOINTS = [
    "/coingecko/api/v3/coins/markets?vs_currency=usd&per_page=20",
    "/coingecko/api/v3/search/trending",
    "/binance/api/v3/ticker/24hr",
    "/kraken/0/public/OHLC?pair=XBTUSD&interval=60",
    "/coinpaprika/v1/tickers",
    "/alternative_me/fng/?limit=10",
    "/defillama/protocols",
    "/coindesk/arc/outboundfeeds/rss/",
    "/cryptopanic/api/v1/posts/?auth_token=k",
]


async def test_same_seed_and_clock_give_the_same_bodies() -> None:
    async with client_for() as a, client_for() as b, client_for(seed=2) as c:
        for url in ENDPOINTS:
            first, second = await a.get(url), await b.get(url)
            assert first.content == second.content, url
        btc = "/coingecko/api/v3/simple/price?ids=bitcoin&vs_currencies=usd"
        assert (await a.get(btc)).json() != (await c.get(btc)).json()


async def test_prices_move_with_the_clock() -> None:
    url = "/coingecko/api/v3/simple/price?ids=bitcoin,tether&vs_currencies=usd"
    seen = []
    for minute in range(0, 50, 10):
        async with client_for(now=NOW.replace(minute=minute)) as client:
            seen.append((await client.get(url)).json())
    btc = [s["bitcoin"]["usd"] for s in seen]
    assert len(set(btc)) == len(btc)
    assert statistics.pstdev(btc) / statistics.fmean(btc) < 0.02
    assert all(abs(s["tether"]["usd"] - 1) < 0.005 for s in seen)
