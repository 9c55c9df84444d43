from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import (
    BadResponse,
    NotSupported,
    ProviderError,
    RateLimited,
    Unavailable,
    UpstreamNotFound,
)
from cryptoagg.core.models import Interval
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.kraken import KrakenProvider, parse_ticker, result_of
from tests.providers.support import Recorder, fixture_bytes, make, replay, respond

CANDLE_0 = datetime(2023, 7, 6, 19, 20, tzinfo=UTC)  # first `time` of kraken/ohlc.json
#: the provider's clock: an hour after the recording's first candle, inside OHLC's window
CLOCK = CANDLE_0 + timedelta(hours=1)


def load(name: str) -> object:
    return orjson.loads(fixture_bytes(f"kraken/{name}"))


def provider_with(rec: Recorder) -> HttpProvider:
    return make(KrakenProvider, rec, clock=lambda: CLOCK)


async def test_spot_prices_requests_pairs_and_maps_prefixed_keys() -> None:
    rec = Recorder(replay("kraken/ticker.json"))
    provider = provider_with(rec)
    registry = provider.ctx.registry
    quotes = await provider.spot_prices([registry.get("bitcoin"), registry.get("ethereum")])

    [request] = rec.requests
    assert request.url.host == "api.kraken.com"
    assert request.url.path == "/0/public/Ticker"
    assert request.url.params["pair"] == "XBTUSD,ETHUSD"
    [q] = quotes  # the recording answers XXBTZUSD only
    assert q.asset_id == "bitcoin"
    assert q.provider == "kraken"
    assert q.quote_currency == "USD"
    assert q.price == Decimal("30303.20000")  # c[0], last trade
    assert q.volume_24h == Decimal("4412.73601799") * Decimal("30689.13205")  # v[1] * p[1]
    assert q.volume_24h == Decimal("135423038.3578862855795")
    assert q.change_24h_pct is not None
    assert round(q.change_24h_pct, 6) == Decimal("-0.654366")  # c[0] vs o 30502.80000
    assert q.as_of == CLOCK  # the payload has no time
    assert q.time_source == "received"  # and the quote says so


def test_parse_ticker_maps_unprefixed_keys_of_newer_assets() -> None:
    # Newer assets come back as e.g. SOLUSD; relabel the recorded tick to that key.
    body = orjson.loads(fixture_bytes("kraken/ticker.json").replace(b"XXBTZUSD", b"SOLUSD"))
    registry = make(KrakenProvider, replay("kraken/ticker.json")).ctx.registry
    by_code = {"SOL": registry.get("solana"), "XBT": registry.get("bitcoin")}
    [q] = parse_ticker(body, by_code, CLOCK)
    assert (q.asset_id, q.price) == ("solana", Decimal("30303.20000"))


async def test_spot_prices_without_kraken_ids_is_not_supported() -> None:
    rec = Recorder(replay("kraken/ticker.json"))
    provider = provider_with(rec)
    with pytest.raises(NotSupported):
        await provider.spot_prices([provider.ctx.registry.get("binancecoin")])
    assert rec.requests == []


async def test_ohlcv_sends_since_and_drops_candles_after_end() -> None:
    rec = Recorder(replay("kraken/ohlc.json"))
    provider = provider_with(rec)
    btc = provider.ctx.registry.get("bitcoin")
    end = CANDLE_0 + timedelta(minutes=2)
    candles = await provider.ohlcv(btc, Interval.M1, CANDLE_0, end)

    [request] = rec.requests
    assert request.url.path == "/0/public/OHLC"
    assert dict(request.url.params) == {"pair": "XBTUSD", "interval": "1", "since": "1688671200"}
    assert [c.open_time for c in candles] == [CANDLE_0 + timedelta(minutes=i) for i in range(3)]
    first = candles[0]
    assert (first.asset_id, first.interval, first.provider) == ("bitcoin", Interval.M1, "kraken")
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("30306.1"),
        Decimal("30306.2"),
        Decimal("30305.7"),
        Decimal("30305.7"),
    )
    assert first.volume == Decimal("3.39243896")  # [6] volume, not [5] vwap
    assert candles[2].close == Decimal("30291.4")


@pytest.mark.parametrize(("interval", "minutes"), [(Interval.H1, "60"), (Interval.D1, "1440")])
async def test_ohlcv_interval_minutes(interval: Interval, minutes: str) -> None:
    rec = Recorder(replay("kraken/ohlc.json"))
    provider = provider_with(rec)
    btc = provider.ctx.registry.get("bitcoin")
    await provider.ohlcv(btc, interval, CANDLE_0, CANDLE_0 + timedelta(days=1))
    assert rec.requests[0].url.params["interval"] == minutes


async def test_listing_keeps_usd_pairs_and_normalises_xbt() -> None:
    rec = Recorder(replay("kraken/asset_pairs.json"))
    rows = await provider_with(rec).listing()
    assert rec.requests[0].url.path == "/0/public/AssetPairs"
    assert [(r.provider, r.native_id, r.symbol, r.active) for r in rows] == [
        ("kraken", "ETH", "ETH", True),
        ("kraken", "XBT", "BTC", True),
    ]


# -- HTTP 200 error bodies -------------------------------------------------------------------


def call(method: str) -> Callable[[HttpProvider], Awaitable[object]]:
    async def run(provider: HttpProvider) -> object:
        btc = provider.ctx.registry.get("bitcoin")
        if method == "spot_prices":
            return await provider.spot_prices([btc])
        if method == "ohlcv":
            return await provider.ohlcv(btc, Interval.H1, CANDLE_0, CANDLE_0)
        return await provider.listing()

    return run


@pytest.mark.parametrize("method", ["spot_prices", "ohlcv", "listing"])
async def test_recorded_unknown_pair_body_is_not_found_in_every_method(method: str) -> None:
    provider = provider_with(Recorder(replay("kraken/error_unknown_pair.json")))
    with pytest.raises(UpstreamNotFound) as info:
        await call(method)(provider)
    assert info.value.detail == "EQuery:Unknown asset pair"
    assert info.value.counts_as_failure is False


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("EGeneral:Too many requests", RateLimited),
        ("EAPI:Rate limit exceeded", RateLimited),
        ("EService:Unavailable", Unavailable),
        ("EService:Busy", Unavailable),
        ("EGeneral:Invalid arguments", BadResponse),
        ("EService:Deadline elapsed", BadResponse),
    ],
)
@pytest.mark.parametrize("method", ["spot_prices", "ohlcv", "listing"])
async def test_error_list_is_mapped(method: str, message: str, error: type[ProviderError]) -> None:
    body = orjson.dumps({"error": [message]})
    provider = provider_with(Recorder(respond(body)))
    with pytest.raises(error) as info:
        await call(method)(provider)
    assert type(info.value) is error
    assert message in str(info.value)


@pytest.mark.parametrize("body", [b'{"error": []}', b"[]", b'{"error": [], "result": []}'])
def test_result_of_rejects_bodies_without_a_result(body: bytes) -> None:
    with pytest.raises((BadResponse, ValueError)):
        result_of(orjson.loads(body))


async def test_body_without_result_is_bad_response_through_the_provider() -> None:
    provider = provider_with(Recorder(respond(b'{"error": []}')))
    with pytest.raises(BadResponse):
        await provider.listing()


async def test_ohlcv_refuses_ranges_older_than_the_newest_720_candles() -> None:
    rec = Recorder(replay("kraken/ohlc.json"))
    provider = provider_with(rec)
    btc = seeded_registry().get("bitcoin")
    too_old = CLOCK - timedelta(minutes=721)
    with pytest.raises(NotSupported, match="720"):
        await provider.ohlcv(btc, Interval.M1, too_old, CLOCK)
    assert rec.requests == []  # no quota spent on an answer that cannot cover the range
