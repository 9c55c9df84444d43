"""The simulator ranks like the market and its providers disagree like real ones: every
listing's ranks follow the market caps it reports (over the whole listing, also long after the
reference day, when the walk has reordered the seed's ranks), and providers' USD prices of an
asset differ by a few to a few tens of basis points, the same for the same seed."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from cryptoagg.core.asset_seed import seed_assets
from cryptoagg.core.models import Quote
from cryptoagg.providers import (
    binance,
    coinbase,
    coincap,
    coingecko,
    coinpaprika,
    cryptocompare,
    kraken,
    messari,
)
from cryptoagg.services.prices import stable_rates, to_usd
from cryptoagg.sim.app import create_sim_app

NOW = datetime(2026, 11, 20, 12, 34, 56, tzinfo=UTC)
#: far enough from the reference day that the walk has reordered market caps
LATER = NOW + timedelta(days=400)
KEYS = {"Authorization": "Bearer k", "x-messari-api-key": "k"}
ASSETS = seed_assets()
SEED_ORDER = [a.id for a in sorted(ASSETS, key=lambda a: a.rank or 0)]


def client_for(seed: int = 1, now: datetime = NOW) -> httpx.AsyncClient:
    app = create_sim_app(seed=seed, clock=lambda: now)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


@pytest.fixture(params=[NOW, LATER], ids=["reference", "400-days-later"])
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(now=request.param) as client:
        yield client


async def get(client: httpx.AsyncClient, url: str, **params: str) -> Any:
    response = await client.get(url, params=params, headers=KEYS)
    assert response.status_code == 200, response.text
    return response.json()


def assert_ranked_by_cap(rows: list[tuple[str, int, float]]) -> None:
    """(id, rank, market cap) in listing order: ranks 1..n, caps never rising."""
    assert [rank for _, rank, _ in rows] == list(range(1, len(rows) + 1))
    inversions = [(a, b) for a, b in itertools.pairwise(rows) if a[2] < b[2]]
    assert inversions == []


# -- ranks ----------------------------------------------------------------------------------


async def test_coingecko_ranks_follow_market_cap_over_the_whole_listing(
    sim: httpx.AsyncClient,
) -> None:
    rows = await get(sim, "/coingecko/api/v3/coins/markets", vs_currency="usd", per_page="250")
    listed = [(r["id"], r["market_cap_rank"], r["market_cap"]) for r in rows]
    assert len(listed) == len(ASSETS)
    assert_ranked_by_cap(listed)
    # pages continue the ranking
    page2 = await get(
        sim, "/coingecko/api/v3/coins/markets", vs_currency="usd", per_page="10", page="2"
    )
    assert [(r["id"], r["market_cap_rank"]) for r in page2] == [r[:2] for r in listed[10:20]]


async def test_coinpaprika_ranks_follow_market_cap(sim: httpx.AsyncClient) -> None:
    tickers = await get(sim, "/coinpaprika/v1/tickers")
    listed = [(t["id"], t["rank"], t["quotes"]["USD"]["market_cap"]) for t in tickers]
    assert_ranked_by_cap(listed)
    coins = await get(sim, "/coinpaprika/v1/coins")
    assert [(c["id"], c["rank"]) for c in coins] == [r[:2] for r in listed]
    one = await get(sim, f"/coinpaprika/v1/tickers/{listed[7][0]}")
    assert one["rank"] == 8


async def test_coincap_ranks_follow_market_cap(sim: httpx.AsyncClient) -> None:
    body = await get(sim, "/coincap/v3/assets", limit="2000")
    listed = [(d["id"], int(d["rank"]), float(d["marketCapUsd"])) for d in body["data"]]
    assert_ranked_by_cap(listed)
    page = await get(sim, "/coincap/v3/assets", limit="5", offset="5")
    assert [d["id"] for d in page["data"]] == [r[0] for r in listed[5:10]]


async def test_the_walk_reorders_the_seed_ranks_later_on() -> None:
    # the rank tests above would pass vacuously if listings kept the seed's order
    async with client_for(now=LATER) as client:
        rows = await get(client, "/coingecko/api/v3/coins/markets", vs_currency="usd")
    assert [r["id"] for r in rows] != SEED_ORDER
    assert rows[0]["id"] == "bitcoin"


# -- disagreement ---------------------------------------------------------------------------


async def usd_prices(client: httpx.AsyncClient) -> dict[str, dict[str, Decimal]]:
    """asset -> provider -> USD price, from every simulated spot provider through our
    parsers (Binance's USDT converted at the measured USDT rate, as the service does)."""
    quotes: list[Quote] = []
    gecko = coingecko.CoinGeckoProvider.native_ids(ASSETS)
    body = await get(
        client, "/coingecko/api/v3/simple/price", ids=",".join(gecko), vs_currencies="usd"
    )
    quotes += coingecko.parse_simple_price(body, gecko, NOW)
    pairs = {binance.pair(b): a for b, a in binance.BinanceProvider.native_ids(ASSETS).items()}
    body = await get(client, "/binance/api/v3/ticker/24hr", symbols=binance.symbols_param([*pairs]))
    quotes += binance.parse_tickers(body, pairs)
    codes = kraken.KrakenProvider.native_ids(ASSETS)
    body = await get(
        client, "/kraken/0/public/Ticker", pair=",".join(map(kraken.request_pair, codes))
    )
    quotes += kraken.parse_ticker(body, codes, NOW)
    for base, asset in coinbase.CoinbaseProvider.native_ids(ASSETS).items():
        url = f"/coinbase/exchange/products/{coinbase.product_id(base)}/ticker"
        quotes.append(coinbase.parse_product_ticker(await get(client, url), asset))
    paprika = coinpaprika.CoinPaprikaProvider.native_ids(ASSETS)
    quotes += coinpaprika.parse_tickers(await get(client, "/coinpaprika/v1/tickers"), paprika)
    cap = coincap.CoinCapProvider.native_ids(ASSETS)
    body = await get(client, "/coincap/v3/assets", ids=",".join(cap))
    quotes += coincap.parse_assets(body, cap)
    compare = cryptocompare.CryptoCompareProvider.native_ids(ASSETS)
    body = await get(
        client, "/cryptocompare/data/pricemultifull", fsyms=",".join(compare), tsyms="USD"
    )
    quotes += cryptocompare.parse_pricemultifull(body, compare)
    slugs = messari.MessariProvider.native_ids(ASSETS)
    body = await get(client, "/messari/metrics/v2/assets/details", slugs=",".join(slugs))
    quotes += messari.parse_asset_details(body, slugs, NOW)
    prices: dict[str, dict[str, Decimal]] = {}
    for q in to_usd(quotes, stable_rates(quotes)):
        assert q.provider not in prices.get(q.asset_id, {})
        prices.setdefault(q.asset_id, {})[q.provider] = q.price
    return prices


def spread_bps(prices: dict[str, Decimal]) -> float:
    return float((max(prices.values()) / min(prices.values()) - 1) * 10_000)


async def test_providers_disagree_by_a_few_to_a_few_tens_of_bps() -> None:
    async with client_for() as client:
        prices = await usd_prices(client)
    spreads = {asset: spread_bps(p) for asset, p in prices.items() if len(p) >= 2}
    assert len(spreads) == len(ASSETS)  # every asset has several sources
    assert {a: s for a, s in spreads.items() if not 0 < s < 50} == {}
    assert spreads["bitcoin"] < 10 and spreads["ethereum"] < 10  # majors: a few bps
    assert max(spreads.values()) > 15  # the long tail: tens of bps
    assert sorted(spreads.values())[len(spreads) // 2] > 2  # not all but identical
    # no two providers quote an asset exactly alike
    assert all(len(set(p.values())) == len(p) for p in prices.values())


async def test_same_seed_same_prices_other_seed_other_biases() -> None:
    async with client_for() as a, client_for() as b, client_for(seed=2) as c:
        first, again, other = await usd_prices(a), await usd_prices(b), await usd_prices(c)
    assert first == again

    def cheapest_first(prices: dict[str, dict[str, Decimal]]) -> dict[str, list[str]]:
        # the providers' order for each asset: their biases, whatever the seed's walk
        return {asset: sorted(p, key=p.__getitem__) for asset, p in prices.items()}

    assert cheapest_first(first) == cheapest_first(again)
    assert cheapest_first(first) != cheapest_first(other)
