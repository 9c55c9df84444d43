"""Every simulated endpoint of the aggregators, the sentiment and DeFi sources and the news
feeds answers in the shape of the provider's recorded payload (CoinGecko and the exchanges:
test_shapes.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import feedparser
import httpx
import pytest

from cryptoagg.core.asset_seed import seed_assets
from tests.sim.support import fixture, get

#: the simulator's clock (tests/sim/conftest.py: the `sim` fixture)
NOW = datetime(2026, 11, 20, 12, 34, 56, tzinfo=UTC)
SEEDED = seed_assets()


# -- aggregators -----------------------------------------------------------------------------


async def test_coinpaprika(sim: httpx.AsyncClient) -> None:
    rows = await get(sim, "/coinpaprika/v1/tickers?quotes=USD")
    recorded = fixture("coinpaprika/tickers.json")[0]
    assert list(rows[0]) == list(recorded)
    assert list(rows[0]["quotes"]["USD"]) == list(recorded["quotes"]["USD"])
    assert len(rows) == len(SEEDED)
    one = await get(sim, "/coinpaprika/v1/tickers/btc-bitcoin")
    assert one["id"] == "btc-bitcoin" and one == rows[0]
    missing = await get(sim, "/coinpaprika/v1/tickers/nope-nope", 404)
    assert missing == fixture("coinpaprika/error_404_id_not_found.json")
    coins = await get(sim, "/coinpaprika/v1/coins")
    assert list(coins[0]) == list(fixture("coinpaprika/coins.json")[0])


async def test_coincap_needs_a_bearer_key(sim: httpx.AsyncClient) -> None:
    auth = {"Authorization": "Bearer anything"}
    body = await get(sim, "/coincap/v3/assets?ids=bitcoin,ethereum", headers=auth)
    recorded = fixture("coincap/v3_assets_bitcoin.json")
    assert set(body) == set(recorded)
    assert [d["id"] for d in body["data"]] == ["bitcoin", "ethereum"]
    assert list(body["data"][0]) == list(recorded["data"])
    assert body["data"][0]["priceUsd"].split(".")[1].__len__() == 18
    assert body["timestamp"] == int(NOW.timestamp() * 1000)
    top = await get(sim, "/coincap/v3/assets?limit=5", headers=auth)
    assert [d["rank"] for d in top["data"]] == ["1", "2", "3", "4", "5"]
    denied = await get(sim, "/coincap/v3/assets?ids=bitcoin", 401)
    assert "API key" in denied["error"]


async def test_cryptocompare(sim: httpx.AsyncClient) -> None:
    body = await get(sim, "/cryptocompare/data/pricemultifull?fsyms=BTC,ETH,NOPE&tsyms=USD")
    recorded = fixture("cryptocompare/pricemultifull.json")["RAW"]["BTC"]["USD"]
    assert list(body) == ["RAW"] and list(body["RAW"]) == ["BTC", "ETH"]
    assert list(body["RAW"]["BTC"]["USD"]) == list(recorded)
    history = await get(
        sim,
        "/cryptocompare/data/v2/histoday",
        params={"fsym": "BTC", "tsym": "USD", "limit": 30, "toTs": int(NOW.timestamp())},
    )
    recorded_h = fixture("cryptocompare/v2_histoday.json")
    assert list(history) == list(recorded_h)
    assert list(history["Data"]) == list(recorded_h["Data"])
    points = history["Data"]["Data"]
    assert len(points) == 31 and list(points[0]) == list(recorded_h["Data"]["Data"][0])
    assert points[-1]["time"] == int(NOW.timestamp()) // 86400 * 86400
    error = await get(sim, "/cryptocompare/data/v2/histohour?fsym=NOPE&tsym=USD")
    assert error["Response"] == "Error"  # HTTP 200, like CryptoCompare


async def test_messari_needs_its_key_header(sim: httpx.AsyncClient) -> None:
    headers = {"x-messari-api-key": "anything"}
    body = await get(
        sim, "/messari/metrics/v2/assets/details?slugs=bitcoin,ethereum", headers=headers
    )
    recorded = fixture("messari/v2_assets_details_FROM_SCHEMA.json")["data"][0]
    assert [d["slug"] for d in body["data"]] == ["bitcoin", "ethereum"]
    assert list(body["data"][0]) == list(recorded)
    assert list(body["data"][0]["marketData"]) == list(recorded["marketData"])
    assert set(body["data"][0]["marketData"]["marketcap"]) == set(
        recorded["marketData"]["marketcap"]
    )
    await get(sim, "/messari/metrics/v2/assets/details?slugs=bitcoin", 401)


# -- sentiment, DeFi, news -------------------------------------------------------------------


async def test_fear_and_greed(sim: httpx.AsyncClient) -> None:
    body = await get(sim, "/alternative_me/fng/?limit=2&format=json")
    recorded = fixture("alternative_me/fng_limit2.json")
    assert list(body) == list(recorded)
    assert [list(p) for p in body["data"]] == [list(p) for p in recorded["data"]]
    newest, older = body["data"]
    assert int(newest["timestamp"]) - int(older["timestamp"]) == 86400  # newest first
    assert 0 <= int(newest["value"]) <= 100


async def test_defillama(sim: httpx.AsyncClient) -> None:
    protocols = await get(sim, "/defillama/protocols")
    assert list(protocols[0]) == list(fixture("defillama/protocols.json")[0])
    assert len(protocols) == 20
    assert [p["tvl"] for p in protocols] == sorted((p["tvl"] for p in protocols), reverse=True)
    chains = await get(sim, "/defillama/v2/chains")
    assert list(chains[0]) == list(fixture("defillama/v2_chains.json")[0])
    assert len(chains) == 10 and isinstance(chains[0]["cmcId"], str)
    history = await get(sim, "/defillama/v2/historicalChainTvl")
    assert list(history[0]) == list(fixture("defillama/v2_historicalChainTvl.json")[0])
    assert history[-1]["date"] == int(NOW.timestamp()) // 86400 * 86400
    # the health probe's endpoint: a bare number, as recorded; a parent sums its versions
    tvl = {p["slug"]: p["tvl"] for p in protocols}
    assert isinstance(fixture("defillama/tvl_protocol.json"), float)
    assert await get(sim, "/defillama/tvl/uniswap") == tvl["uniswap-v3"]
    assert await get(sim, "/defillama/tvl/aave") == tvl["aave-v3"]
    assert await get(sim, "/defillama/tvl/lido") == tvl["lido"]
    await get(sim, "/defillama/tvl/no-such-protocol", 404)


@pytest.mark.parametrize(
    "path", ["/coindesk/arc/outboundfeeds/rss/", "/cointelegraph/rss", "/decrypt/feed"]
)
async def test_rss_feeds(sim: httpx.AsyncClient, path: str) -> None:
    response = await sim.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/rss+xml")
    root = ET.fromstring(response.text)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    assert len(items) == 10
    names = {a.name for a in SEEDED} | {a.symbol for a in SEEDED}
    for item in items:
        title = item.findtext("title") or ""
        assert any(n in title for n in names), title
        published = parsedate_to_datetime(item.findtext("pubDate") or "")
        assert NOW - timedelta(hours=6) <= published <= NOW
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo and len(parsed.entries) == 10


async def test_cryptopanic(sim: httpx.AsyncClient) -> None:
    body = await get(sim, "/cryptopanic/api/v1/posts/?auth_token=anything&public=true")
    recorded = fixture("news/cryptopanic_posts.json")
    assert list(body) == list(recorded)
    post, recorded_post = body["results"][0], recorded["results"][0]
    assert set(post) - set(recorded_post) == {"kind"} and set(recorded_post) <= set(post)
    assert list(post["currencies"][0]) == list(recorded_post["currencies"][0])
    await get(sim, "/cryptopanic/api/v1/posts/?public=true", 401)
