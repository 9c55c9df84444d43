from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import (
    BadResponse,
    NotSupported,
    ProviderError,
    RateLimited,
    UpstreamNotFound,
)
from cryptoagg.core.models import Interval
from cryptoagg.providers.cryptocompare import (
    CryptoCompareProvider,
    histo_limit,
    parse_histo,
    parse_pricemultifull,
)
from tests.providers.support import Recorder, fixture_bytes, make, replay, respond

KEY = "cc-secret-1a2b3c4d"
BTC = seeded_registry().get("bitcoin")


def load(name: str) -> Any:
    return orjson.loads(fixture_bytes(f"cryptocompare/{name}"))


def error_body(message: str) -> bytes:
    """A synthetic body in CryptoCompare's HTTP-200 error envelope (not a recording)."""
    return orjson.dumps({"Response": "Error", "Message": message, "Type": 2, "Data": {}})


async def test_spot_prices_read_raw_usd_and_send_no_key_by_default() -> None:
    rec = Recorder(replay("cryptocompare/pricemultifull.json"))
    provider = make(CryptoCompareProvider, rec)
    registry = provider.ctx.registry
    [quote] = await provider.spot_prices([registry.get("ethereum"), registry.get("bitcoin")])
    assert quote.asset_id == "bitcoin"
    assert quote.provider == "cryptocompare"
    assert quote.price == Decimal("59692.06")
    assert quote.as_of == datetime(2021, 4, 10, 19, 23, 32, tzinfo=UTC)
    assert quote.volume_24h == Decimal("2097598475.2247777")
    assert quote.change_24h_pct == Decimal("2.272113589574189")
    assert quote.market_cap == Decimal("1114993181949.22")
    assert quote.quote_currency == "USD"
    [request] = rec.requests
    assert request.url.host == "min-api.cryptocompare.com"
    assert request.url.path == "/data/pricemultifull"
    assert dict(request.url.params) == {"fsyms": "BTC,ETH", "tsyms": "USD"}
    assert "authorization" not in request.headers


async def test_a_configured_key_goes_in_the_header_only() -> None:
    rec = Recorder(replay("cryptocompare/pricemultifull.json"))
    provider = make(CryptoCompareProvider, rec, api_key=KEY)
    assert provider.disabled_reason is None
    await provider.spot_prices([BTC])
    [request] = rec.requests
    assert request.headers["authorization"] == f"Apikey {KEY}"
    assert KEY not in str(request.url)


def test_without_a_key_the_provider_stays_enabled() -> None:
    assert make(CryptoCompareProvider, respond(b"{}")).disabled_reason is None


def test_parse_pricemultifull_ignores_other_currencies_and_symbols() -> None:
    body = load("pricemultifull.json")
    assert set(body["RAW"]["BTC"]) == {"USD", "EUR"}
    assert parse_pricemultifull(body, {"ETH": seeded_registry().get("ethereum")}) == []


async def test_ohlcv_asks_for_the_intervals_up_to_the_end_and_drops_earlier_candles() -> None:
    rec = Recorder(replay("cryptocompare/v2_histoday.json"))
    start = datetime(2022, 5, 11, tzinfo=UTC)
    end = datetime(2022, 5, 13, tzinfo=UTC)
    candles = await make(CryptoCompareProvider, rec).ohlcv(BTC, Interval.D1, start, end)
    # the recording starts on 2022-05-10; that candle is before `start`
    assert [c.open_time for c in candles] == [
        datetime(2022, 5, 11, tzinfo=UTC),
        datetime(2022, 5, 12, tzinfo=UTC),
        datetime(2022, 5, 13, tzinfo=UTC),
    ]
    first = candles[0]
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("31013.12"),
        Decimal("32136.04"),
        Decimal("28087.41"),
        Decimal("29017.21"),
    )
    assert first.volume == Decimal("131586.22")  # volumefrom, not volumeto
    assert first.interval is Interval.D1 and first.asset_id == "bitcoin"
    [request] = rec.requests
    assert request.url.path == "/data/v2/histoday"
    assert dict(request.url.params) == {
        "fsym": "BTC",
        "tsym": "USD",
        "limit": "2",
        "toTs": str(int(end.timestamp())),
    }


@pytest.mark.parametrize(
    ("interval", "path", "span", "limit"),
    [
        (Interval.M1, "/data/v2/histominute", timedelta(hours=1), "60"),
        (Interval.M1, "/data/v2/histominute", timedelta(days=3), "2000"),
        (Interval.H1, "/data/v2/histohour", timedelta(hours=12), "12"),
        (Interval.D1, "/data/v2/histoday", timedelta(hours=1), "1"),
    ],
)
async def test_ohlcv_endpoint_and_limit_by_interval(
    interval: Interval, path: str, span: timedelta, limit: str
) -> None:
    rec = Recorder(replay("cryptocompare/v2_histoday.json"))
    end = datetime(2022, 5, 13, tzinfo=UTC)
    await make(CryptoCompareProvider, rec).ohlcv(BTC, interval, end - span, end)
    [request] = rec.requests
    assert request.url.path == path
    assert request.url.params["limit"] == limit
    assert request.url.params["toTs"] == "1652400000"


def test_histo_limit_counts_whole_intervals() -> None:
    end = datetime(2022, 5, 13, tzinfo=UTC)
    assert histo_limit(Interval.D1, end - timedelta(days=30), end) == 30
    assert histo_limit(Interval.H1, end - timedelta(minutes=150), end) == 2
    assert histo_limit(Interval.M1, end - timedelta(days=2), end) == 2000


def test_parse_histo_reads_every_recorded_point() -> None:
    candles = parse_histo(load("v2_histoday.json"), BTC, Interval.D1)
    assert len(candles) == 4
    assert candles[0].open_time == datetime(2022, 5, 10, tzinfo=UTC)
    assert candles[0].open == Decimal("30076.9")
    assert candles[-1].close == Decimal("29244.83")
    assert candles[-1].volume == Decimal("64448.46")


def test_parse_histo_drops_all_zero_padding() -> None:
    body = load("v2_histoday.json")
    pad = {"time": 1652054400, "open": 0, "high": 0, "low": 0, "close": 0, "volumefrom": 0}
    body["Data"]["Data"].insert(0, pad)  # synthetic: the padding shown before a pair traded
    candles = parse_histo(body, BTC, Interval.D1)
    assert candles[0].open_time == datetime(2022, 5, 10, tzinfo=UTC)
    assert len(candles) == 4


# illustrative messages inside synthetic bodies (see `error_body`)
ERRORS = [
    ("You are over your rate limit please upgrade your account!", RateLimited),
    ("Rate limit excedeed!", RateLimited),
    ("cccagg_or_exchange market does not exist for this coin pair (BTC-XYZ)", UpstreamNotFound),
    ("There is no data for the symbol XYZ .", UpstreamNotFound),
    ("fsym param is invalid.", BadResponse),
    ("", BadResponse),
]


@pytest.mark.parametrize(("message", "error"), ERRORS)
async def test_http_200_error_bodies_on_spot_prices(
    message: str, error: type[ProviderError]
) -> None:
    provider = make(CryptoCompareProvider, respond(error_body(message)), api_key=KEY)
    with pytest.raises(error) as info:
        await provider.spot_prices([BTC])
    assert type(info.value) is error
    assert KEY not in str(info.value)


@pytest.mark.parametrize(("message", "error"), ERRORS)
async def test_http_200_error_bodies_on_ohlcv(message: str, error: type[ProviderError]) -> None:
    provider = make(CryptoCompareProvider, respond(error_body(message)))
    end = datetime(2022, 5, 13, tzinfo=UTC)
    with pytest.raises(error) as info:
        await provider.ohlcv(BTC, Interval.H1, end - timedelta(hours=3), end)
    assert type(info.value) is error


async def test_a_success_body_of_the_wrong_shape_is_a_bad_response() -> None:
    provider = make(CryptoCompareProvider, respond(b'{"Response": "Success", "Data": {}}'))
    with pytest.raises(BadResponse):
        await provider.spot_prices([BTC])


def test_ids_are_the_tickers_of_tracked_assets() -> None:
    assert "cryptocompare" not in BTC.provider_ids  # derived by the adapter, not seeded
    assert CryptoCompareProvider.native_id(BTC) == "BTC"
    listed_only = Asset("nowhere", "NOW", "Nowhere", tracked=False)
    assert CryptoCompareProvider.native_id(listed_only) is None
    named = Asset(
        "elsewhere", "ELS", "Elsewhere", tracked=False, provider_ids={"cryptocompare": "E"}
    )
    assert CryptoCompareProvider.native_id(named) == "E"


async def test_assets_without_a_symbol_are_not_supported() -> None:
    rec = Recorder(respond(b"{}"))
    provider = make(CryptoCompareProvider, rec)
    # an untracked asset (from a listing): its ticker may name another coin at CryptoCompare
    nowhere = Asset("nowhere", "NOW", "Nowhere", tracked=False)
    with pytest.raises(NotSupported):
        await provider.spot_prices([nowhere])
    with pytest.raises(NotSupported):
        await provider.ohlcv(
            nowhere, Interval.D1, datetime(2022, 5, 1, tzinfo=UTC), datetime.now(UTC)
        )
    assert rec.requests == []
