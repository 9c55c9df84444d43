"""A real CoinGecko client library (pycoingecko, synchronous, over `requests`) pointed at our
server's `/api/v3`: the server and the simulator run as real processes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from pycoingecko import CoinGeckoAPI

from tests.api.coingecko.cg_shape import recorded, shape_problems
from tests.e2e.procs import server, simulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator(seed=3) as sim:
        data: Path = tmp_path_factory.mktemp("data")
        with server(data, {"UPSTREAM_BASE_URL": sim}) as url:
            yield url


@pytest.fixture
def gecko(api: str) -> CoinGeckoAPI:
    client = CoinGeckoAPI()
    # pycoingecko 3.2 takes no base URL argument: it joins `api_base_url + "ping"`, so the
    # attribute is set and must end with a slash
    client.api_base_url = f"{api}/api/v3/"
    return client


def test_ping(gecko: CoinGeckoAPI) -> None:
    assert gecko.ping() == {"gecko_says": "(V3) To the Moon!"}


def test_get_price_is_our_consensus(gecko: CoinGeckoAPI, api: str) -> None:
    answer = gecko.get_price(
        ids=["bitcoin", "ethereum"],  # the library joins lists and lowercases booleans
        vs_currencies="usd",
        include_market_cap=True,
        include_24hr_vol="true",
        include_24hr_change="true",
        include_last_updated_at="true",
    )
    ours = httpx.get(f"{api}/api/prices", params={"symbols": "bitcoin,ethereum"}).json()
    assert sorted(answer) == ["bitcoin", "ethereum"]
    theirs = recorded("simple_price.json")["bitcoin"]
    for report in ours["prices"]:
        coin = answer[report["asset_id"]]
        assert shape_problems(coin, theirs) == [] and None not in coin.values()
        assert coin["usd"] == report["price"]  # the same cached consensus
        assert coin["usd_market_cap"] > coin["usd"]


def test_get_coins_markets(gecko: CoinGeckoAPI, api: str) -> None:
    rows = gecko.get_coins_markets(vs_currency="usd")
    listing = httpx.get(f"{api}/api/market", params={"limit": 100}).json()["cryptocurrencies"]
    # the simulator lists 56 assets: all of them, in our listing's (rank) order
    assert len(rows) == len(listing) > 50
    assert [r["id"] for r in rows] == [e["asset_id"] for e in listing]
    assert [r["current_price"] for r in rows] == [e["price"] for e in listing]
    theirs = recorded("coins_markets.json")[0]
    assert all(shape_problems(row, theirs) == [] for row in rows)
    assert [r["market_cap_rank"] for r in rows[:3]] == [1, 2, 3]
    assert rows[0]["id"] == "bitcoin" and rows[0]["symbol"] == "btc"
    assert math.isclose(
        rows[0]["circulating_supply"] * rows[0]["current_price"], rows[0]["market_cap"]
    )
    page = gecko.get_coins_markets(vs_currency="usd", ids="ethereum,bitcoin", per_page=10)
    assert [r["id"] for r in page] == ["bitcoin", "ethereum"]


def test_get_search_trending(gecko: CoinGeckoAPI) -> None:
    answer = gecko.get_search_trending()
    maps = frozenset({"$.coins[].item.data.price_change_percentage_24h"})
    assert shape_problems(answer, recorded("search_trending.json"), maps=maps) == []
    items = [c["item"] for c in answer["coins"]]
    assert len(items) >= 5
    assert [i["score"] for i in items] == list(range(len(items)))
    assert all(i["data"]["price"] > 0 and i["price_btc"] > 0 for i in items)


def test_get_coin_market_chart_by_id(gecko: CoinGeckoAPI) -> None:
    chart = gecko.get_coin_market_chart_by_id(id="bitcoin", vs_currency="usd", days=7)
    assert shape_problems(chart, recorded("coins_market_chart.json")) == []
    times = [t for t, _ in chart["prices"]]
    assert len(times) == 7 * 24
    assert {b - a for a, b in pairwise(times)} == {3_600_000}
    assert all(p > 0 for _, p in chart["prices"])
    assert [t for t, _ in chart["market_caps"]] == times


def test_errors_reach_the_client_in_coingecko_shape(gecko: CoinGeckoAPI) -> None:
    # pycoingecko raises ValueError carrying the JSON error body on any non-2xx answer
    with pytest.raises(ValueError, match="coin not found") as unknown:
        gecko.get_coin_market_chart_by_id(id="not-a-coin", vs_currency="usd", days=1)
    assert unknown.value.args[0] == {"error": "coin not found"}
    with pytest.raises(ValueError, match="invalid vs_currency"):
        gecko.get_coins_markets(vs_currency="eur")
