from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import NotSupported, RateLimited
from cryptoagg.core.models import Interval
from cryptoagg.providers.coingecko import CoinGeckoProvider
from cryptoagg.providers.coingecko_parse import (
    OhlcRow,
    hourly,
    parse_coins_list,
    parse_global,
    parse_markets,
    parse_ohlc,
    parse_simple_price,
    parse_trending,
)
from tests.providers.support import NOW, Recorder, fixture_bytes, make, replay


def load(name: str) -> object:
    return orjson.loads(fixture_bytes(f"coingecko/{name}"))


async def test_spot_prices_parses_simple_price_and_sends_demo_key() -> None:
    rec = Recorder(replay("coingecko/simple_price.json"))
    provider = make(CoinGeckoProvider, rec, api_key="cg-demo-123")
    registry = provider.ctx.registry
    quotes = await provider.spot_prices([registry.get("bitcoin"), registry.get("ethereum")])
    assert len(quotes) == 1
    q = quotes[0]
    assert q.asset_id == "bitcoin"
    assert q.price == Decimal("67187.3358936566")
    assert q.market_cap == Decimal("1317802988326.25")
    assert q.as_of == datetime(2024, 3, 25, 8, 45, tzinfo=UTC)
    assert q.time_source == "provider"
    request = rec.requests[0]
    assert request.url.path == "/api/v3/simple/price"
    assert request.url.params["ids"] == "bitcoin,ethereum"
    assert request.headers["x-cg-demo-api-key"] == "cg-demo-123"


def test_simple_price_without_last_updated_at_is_stamped_on_receipt() -> None:
    body = load("simple_price.json")
    assert isinstance(body, dict)
    del body["bitcoin"]["last_updated_at"]
    [q] = parse_simple_price(body, {"bitcoin": seeded_registry().get("bitcoin")}, NOW)
    assert (q.as_of, q.time_source) == (NOW, "received")


def test_parse_markets() -> None:
    [entry] = parse_markets(load("coins_markets.json"), NOW)
    assert (entry.asset_id, entry.symbol, entry.rank) == ("bitcoin", "BTC", 1)
    assert entry.price == Decimal(70187)
    assert entry.circulating_supply == Decimal(19675987)  # as sent, not cap / price
    assert entry.change_24h_pct == Decimal("3.12502")
    assert entry.as_of == datetime(2024, 4, 7, 16, 49, 31, 736000, tzinfo=UTC)


def test_parse_trending() -> None:
    coins = parse_trending(load("search_trending.json"))
    assert len(coins) == 5
    assert coins[0].asset_id == "qubic-network"
    assert coins[0].symbol == "QUBIC"
    assert coins[0].market_cap_rank == 368
    # every field of the item is carried, `data` included (amounts parsed from CoinGecko's
    # "$104,127,324" and decimal strings)
    first = coins[0]
    assert (first.coin_id, first.slug) == (32949, "qubic")
    images = "https://coin-images.coingecko.com/coins/images/32949/{}/QubicLogo-Token.png"
    assert first.thumb == images.format("standard") + "?1731185925"
    assert first.small == images.format("small") + "?1731185925"
    assert first.large == images.format("large") + "?1731185925"
    assert first.change_24h_pct == Decimal("-6.386464466210091")
    assert first.change_24h_btc_pct == Decimal("0.84830827187978")
    assert (first.market_cap, first.volume_24h) == (Decimal(104127324), Decimal(3463333))
    assert first.market_cap_btc == Decimal("1354.025469919968")
    assert first.volume_24h_btc == Decimal("45.13837130375957")
    assert first.sparkline == "https://www.coingecko.com/coins/32949/sparkline.svg"
    assert (first.content_title, first.content_description) == (None, None)
    assert [c.coin_id for c in coins] == [32949, 33453, 50891, 22114, 1]
    assert coins[4].content_title == "About Bitcoin (BTC)"
    assert (coins[4].content_description or "").startswith("Bitcoin (BTC) is the first")


def test_parse_ohlc_keeps_close_times() -> None:
    rows = parse_ohlc(load("coins_ohlc.json"))
    assert [r.close for r in rows] == [Decimal(61845), Decimal(62139), Decimal(62068)]
    assert rows[0].close_time == datetime(2024, 3, 2, 16, 0, tzinfo=UTC)
    assert rows[0].high == Decimal(62211)


def test_half_hours_join_into_hourly_candles() -> None:
    asset = seeded_registry().get("bitcoin")
    base = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    rows = [
        OhlcRow(base + timedelta(minutes=30), Decimal(1), Decimal(5), Decimal(1), Decimal(4)),
        OhlcRow(base + timedelta(minutes=60), Decimal(4), Decimal(6), Decimal(0), Decimal(2)),
        OhlcRow(base + timedelta(minutes=90), Decimal(2), Decimal(3), Decimal(2), Decimal(3)),
    ]
    first, second = hourly(rows, asset)
    assert (first.open_time, first.interval) == (base, Interval.H1)
    assert (first.open, first.high, first.low, first.close) == tuple(map(Decimal, (1, 6, 0, 2)))
    assert second.open_time == base + timedelta(hours=1)
    assert second.close == Decimal(3)


async def test_daily_candles_are_not_offered() -> None:
    provider = make(CoinGeckoProvider, replay("coingecko/coins_ohlc.json"))
    btc = provider.ctx.registry.get("bitcoin")
    with pytest.raises(NotSupported):
        await provider.ohlcv(btc, Interval.D1, NOW - timedelta(days=30), NOW)


async def test_hourly_candles_older_than_the_free_window_are_not_asked_for() -> None:
    rec = Recorder(replay("coingecko/coins_ohlc.json"))
    provider = make(CoinGeckoProvider, rec)
    btc = provider.ctx.registry.get("bitcoin")
    with pytest.raises(NotSupported, match="2 days"):
        await provider.ohlcv(btc, Interval.H1, NOW - timedelta(days=3), NOW)
    assert rec.requests == []


def test_parse_global() -> None:
    data = parse_global(load("global.json"))
    assert data.total_market_cap_usd == Decimal("2515268352188.766")
    assert data.active_cryptocurrencies == 17111
    assert data.as_of == datetime.fromtimestamp(1744025333, tz=UTC)


def test_parse_coins_list_keeps_odd_ids() -> None:
    rows = parse_coins_list(load("coins_list.json"))
    assert len(rows) == 200
    assert rows[0].native_id == "01coin" and rows[0].symbol == "ZOC"
    assert all(r.asset_id == r.native_id for r in rows)


async def test_rate_limit_carries_retry_after() -> None:
    provider = make(
        CoinGeckoProvider, replay("coingecko/error_429.json", 429, {"retry-after": "119"})
    )
    with pytest.raises(RateLimited) as info:
        await provider.trending()
    assert info.value.retry_after_s == 119.0


async def test_unlisted_assets_are_not_supported() -> None:
    provider = make(CoinGeckoProvider, replay("coingecko/ping.json"))
    with pytest.raises(NotSupported):
        await provider.spot_prices([Asset("nowhere", "NOW", "Nowhere", provider_ids={})])
