from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from cryptoagg.core.errors import BadRequest, GeoBlocked, NotSupported, RateLimited
from cryptoagg.core.models import Interval
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.binance import (
    BinanceProvider,
    parse_exchange_info,
    parse_klines,
    parse_tickers,
)
from tests.providers.support import Recorder, fixture_bytes, make, replay, respond


def load(name: str) -> object:
    return orjson.loads(fixture_bytes(f"binance/{name}"))


def provider_with(rec: Recorder) -> HttpProvider:
    return make(BinanceProvider, rec)


async def test_spot_prices_sends_compact_symbols_and_maps_the_ticker_back() -> None:
    # The documented example is the BNBBTC ticker; relabel it as the pair we ask for.
    body = fixture_bytes("binance/ticker_24hr_list.json").replace(b'"BNBBTC"', b'"BNBUSDT"')
    rec = Recorder(respond(body))
    provider = provider_with(rec)
    registry = provider.ctx.registry
    quotes = await provider.spot_prices([registry.get("binancecoin"), registry.get("bitcoin")])

    [request] = rec.requests
    assert request.url.host == "api.binance.com"
    assert request.url.path == "/api/v3/ticker/24hr"
    assert request.url.params["symbols"] == '["BNBUSDT","BTCUSDT"]'
    [q] = quotes
    assert q.asset_id == "binancecoin"
    assert q.provider == "binance"
    assert q.price == Decimal("4.00000200")
    assert q.quote_currency == "USDT"  # converted to USD by the price service, not here
    assert q.converted_from is None
    assert q.volume_24h == Decimal("15.30000000")
    assert q.change_24h_pct == Decimal("-95.960")
    assert q.as_of == datetime(2017, 7, 12, 14, 31, 39, 40000, tzinfo=UTC)


async def test_spot_prices_skips_unlisted_assets_and_unasked_symbols() -> None:
    rec = Recorder(replay("binance/ticker_24hr_list.json"))
    provider = provider_with(rec)
    registry = provider.ctx.registry
    # usd-coin has no Binance USDT pair; the recorded BNBBTC row was not asked for
    quotes = await provider.spot_prices(
        [registry.get("bitcoin"), registry.get("usd-coin"), registry.get("ethereum")]
    )
    assert quotes == []
    assert rec.requests[0].url.params["symbols"] == '["BTCUSDT","ETHUSDT"]'


async def test_spot_prices_without_binance_ids_is_not_supported() -> None:
    rec = Recorder(replay("binance/ticker_24hr_list.json"))
    provider = provider_with(rec)
    with pytest.raises(NotSupported):
        await provider.spot_prices([provider.ctx.registry.get("usd-coin")])
    assert rec.requests == []


def test_parse_tickers_accepts_the_single_object_shape() -> None:
    registry = make(BinanceProvider, replay("binance/ticker_24hr_single.json")).ctx.registry
    [q] = parse_tickers(load("ticker_24hr_single.json"), {"BNBBTC": registry.get("binancecoin")})
    assert q.price == Decimal("4.00000200")
    assert q.as_of == datetime(2017, 7, 12, 14, 31, 39, 40000, tzinfo=UTC)


async def test_ohlcv_sends_one_klines_call_and_parses_positional_rows() -> None:
    rec = Recorder(replay("binance/klines.json"))
    provider = provider_with(rec)
    btc = provider.ctx.registry.get("bitcoin")
    start = datetime(2017, 7, 3, tzinfo=UTC)
    end = datetime(2017, 7, 10, 0, 0, 0, 500000, tzinfo=UTC)
    [candle] = await provider.ohlcv(btc, Interval.H1, start, end)

    [request] = rec.requests
    assert request.url.path == "/api/v3/klines"
    assert dict(request.url.params) == {
        "symbol": "BTCUSDT",
        "interval": "1h",
        "startTime": "1499040000000",
        "endTime": "1499644800500",
        "limit": "1000",
    }
    assert candle.asset_id == "bitcoin"
    assert candle.interval is Interval.H1
    assert candle.open_time == datetime(2017, 7, 3, tzinfo=UTC)
    assert (candle.open, candle.high, candle.low, candle.close) == (
        Decimal("0.01634790"),
        Decimal("0.80000000"),
        Decimal("0.01575800"),
        Decimal("0.01577100"),
    )
    assert candle.volume == Decimal("148976.11427815")  # [5] base volume, not [7] quote


@pytest.mark.parametrize(("interval", "value"), [(Interval.M1, "1m"), (Interval.D1, "1d")])
async def test_ohlcv_interval_names(interval: Interval, value: str) -> None:
    rec = Recorder(replay("binance/klines.json"))
    provider = provider_with(rec)
    start = datetime(2017, 7, 3, tzinfo=UTC)
    await provider.ohlcv(provider.ctx.registry.get("ethereum"), interval, start, start)
    assert rec.requests[0].url.params["interval"] == value
    assert rec.requests[0].url.params["symbol"] == "ETHUSDT"


def test_parse_klines_rejects_an_object() -> None:
    registry = make(BinanceProvider, replay("binance/klines.json")).ctx.registry
    with pytest.raises(TypeError):
        parse_klines(load("error_invalid_symbol.json"), registry.get("bitcoin"), Interval.H1)


async def test_listing_keeps_usdt_pairs() -> None:
    rec = Recorder(replay("binance/exchange_info.json"))
    rows = await provider_with(rec).listing()
    assert rec.requests[0].url.path == "/api/v3/exchangeInfo"
    assert [(r.provider, r.native_id, r.symbol, r.active) for r in rows] == [
        ("binance", "BTC", "BTC", True),
        ("binance", "ETH", "ETH", True),
    ]


def test_listing_marks_non_trading_symbols_inactive() -> None:
    info = json.loads(fixture_bytes("binance/exchange_info.json"))
    # the recording's one BREAK symbol is BTC-quoted; relabel it to a USDT pair
    bcc = next(s for s in info["symbols"] if s["symbol"] == "BCCBTC")
    bcc["quoteAsset"] = "USDT"
    rows = {r.native_id: r.active for r in parse_exchange_info(info)}
    assert rows == {"BCC": False, "BTC": True, "ETH": True}


async def test_http_451_is_geo_blocked() -> None:
    provider = provider_with(Recorder(replay("binance/error_451.json", 451)))
    with pytest.raises(GeoBlocked) as info:
        await provider.spot_prices([provider.ctx.registry.get("bitcoin")])
    assert info.value.provider == "binance"
    assert info.value.reason == "geo_blocked"


async def test_invalid_symbol_400_is_bad_request() -> None:
    provider = provider_with(Recorder(replay("binance/error_invalid_symbol.json", 400)))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(BadRequest) as info:
        await provider.ohlcv(provider.ctx.registry.get("bitcoin"), Interval.H1, start, start)
    assert info.value.counts_as_failure is False


@pytest.mark.parametrize("status", [429, 418])
async def test_weight_limit_and_ip_ban_are_rate_limited(status: int) -> None:
    handler = respond(b"{}", status, {"Retry-After": "60"})
    provider = provider_with(Recorder(handler))
    with pytest.raises(RateLimited) as info:
        await provider.listing()
    assert info.value.retry_after_s == 60.0
