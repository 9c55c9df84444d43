from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import AuthFailed, BadResponse, NotSupported
from cryptoagg.providers.messari import MessariProvider, parse_asset_details, parse_v1_metrics
from tests.providers.support import NOW, Recorder, fixture_bytes, make, replay, respond

KEY = "messari-secret-0f1e2d3c"
# constructed from the MessariKit OpenAPI schema, NOT a recording (see SOURCES.md)
V2 = "messari/v2_assets_details_FROM_SCHEMA.json"


def load(name: str) -> Any:
    return orjson.loads(fixture_bytes(name))


async def test_spot_prices_use_v2_details_with_the_key_in_a_header() -> None:
    rec = Recorder(replay(V2))
    provider = make(MessariProvider, rec, api_key=KEY)
    registry = provider.ctx.registry
    quotes = await provider.spot_prices([registry.get("ethereum"), registry.get("bitcoin")])
    by_asset = {q.asset_id: q for q in quotes}
    assert sorted(by_asset) == ["bitcoin", "ethereum"]
    btc = by_asset["bitcoin"]
    assert btc.provider == "messari"
    assert btc.price == Decimal("50000.25")
    assert btc.volume_24h == Decimal("25000000000.5")
    assert btc.market_cap == Decimal(1000005000000)
    assert btc.change_24h_pct is None
    assert btc.as_of == NOW  # the v2 schema carries no observation time
    assert btc.time_source == "received"  # and the quote says so
    assert by_asset["ethereum"].price == Decimal("2500.75")
    [request] = rec.requests
    assert request.url.host == "api.messari.io"
    assert request.url.path == "/metrics/v2/assets/details"
    assert dict(request.url.params) == {"slugs": "bitcoin,ethereum"}
    assert request.headers["x-messari-api-key"] == KEY
    assert KEY not in str(request.url)


def test_slugs_are_coincaps_ids() -> None:
    bnb = seeded_registry().get("binancecoin")
    assert "messari" not in bnb.provider_ids  # derived by the adapter, not seeded
    assert MessariProvider.native_id(bnb) == bnb.provider_ids["coincap"] == "binance-coin"
    assert MessariProvider.native_id(Asset("x", "X", "X")) is None


def test_parse_asset_details_keeps_asked_slugs_with_a_price() -> None:
    body = load(V2)
    eth = seeded_registry().get("ethereum")
    [quote] = parse_asset_details(body, {"ethereum": eth}, NOW)
    assert quote.asset_id == "ethereum"
    assert quote.market_cap == Decimal(300090000000)
    body["data"][1]["marketData"] = {"priceBtc": 0.05}
    assert parse_asset_details(body, {"ethereum": eth}, NOW) == []


def test_parse_v1_metrics_reads_the_legacy_recording() -> None:
    quote = parse_v1_metrics(load("messari/asset_metrics.json"), seeded_registry().get("bitcoin"))
    assert quote.asset_id == "bitcoin"
    assert quote.provider == "messari"
    assert quote.price == Decimal("11339.844688158693")
    assert quote.volume_24h == Decimal("25584148590.883194")
    assert quote.change_24h_pct == Decimal("-1.306850196556349")
    assert quote.market_cap == Decimal("209990589618.87787")
    # "2020-10-16T21:56:41.34652374Z": nanoseconds cut to microseconds
    assert quote.as_of == datetime(2020, 10, 16, 21, 56, 41, 346523, tzinfo=UTC)


def test_the_v1_body_is_not_a_v2_body() -> None:
    with pytest.raises(ValueError):
        parse_asset_details(load("messari/asset_metrics.json"), {}, NOW)


def test_without_a_key_the_provider_is_disabled() -> None:
    assert make(MessariProvider, respond(b"{}")).disabled_reason == "missing key"
    assert make(MessariProvider, respond(b"{}"), api_key=KEY).disabled_reason is None


async def test_401_is_auth_failed_without_the_key() -> None:
    body = b'{"error": "synthetic: unauthorized"}'
    provider = make(MessariProvider, respond(body, 401), api_key=KEY)
    with pytest.raises(AuthFailed) as info:
        await provider.spot_prices([provider.ctx.registry.get("bitcoin")])
    assert KEY not in str(info.value) and KEY not in repr(info.value.args)


async def test_an_error_body_without_data_is_a_bad_response() -> None:
    provider = make(MessariProvider, respond(b'{"error": "synthetic failure"}'), api_key=KEY)
    with pytest.raises(BadResponse) as info:
        await provider.spot_prices([provider.ctx.registry.get("bitcoin")])
    assert "synthetic failure" in str(info.value)


async def test_assets_without_a_slug_are_not_supported() -> None:
    rec = Recorder(respond(b"{}"))
    with pytest.raises(NotSupported):
        await make(MessariProvider, rec, api_key=KEY).spot_prices([Asset("x", "X", "X")])
    assert rec.requests == []
