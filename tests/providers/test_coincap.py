from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import AuthFailed, BadResponse, NotSupported, RateLimited
from cryptoagg.providers.coincap import CoinCapProvider, parse_assets, parse_markets
from tests.providers.support import Recorder, fixture_bytes, make, replay, respond

KEY = "coincap-secret-7a6b5c4d"
V2_AS_OF = datetime(2021, 10, 27, 0, 5, 52, 930000, tzinfo=UTC)


def load(name: str) -> Any:
    return orjson.loads(fixture_bytes(f"coincap/{name}"))


async def test_spot_prices_ask_for_ids_with_a_bearer_key() -> None:
    rec = Recorder(replay("coincap/v2_assets.json"))
    provider = make(CoinCapProvider, rec, api_key=KEY)
    registry = provider.ctx.registry
    quotes = await provider.spot_prices([registry.get("ethereum"), registry.get("bitcoin")])
    by_asset = {q.asset_id: q for q in quotes}
    assert sorted(by_asset) == ["bitcoin", "ethereum"]  # the other 8 rows were not asked for
    btc = by_asset["bitcoin"]
    assert btc.provider == "coincap"
    assert btc.price == Decimal("60310.6888208343493939")
    assert btc.market_cap == Decimal("1137176492787.6108331328990334")
    assert btc.volume_24h == Decimal("18687028375.6651281279008956")
    assert btc.change_24h_pct == Decimal("-4.3370911053518709")
    assert btc.as_of == V2_AS_OF
    assert by_asset["ethereum"].price == Decimal("4129.8665728728088499")
    [request] = rec.requests
    assert request.url.host == "rest.coincap.io"
    assert request.url.path == "/v3/assets"
    assert dict(request.url.params) == {"ids": "bitcoin,ethereum"}
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(request.url)


def test_parse_assets_accepts_a_single_object_with_18_decimals() -> None:
    by_id = {"bitcoin": seeded_registry().get("bitcoin")}
    [quote] = parse_assets(load("v3_assets_bitcoin.json"), by_id)
    assert quote.asset_id == "bitcoin"
    assert quote.price == Decimal("69704.779999999998835847")
    assert quote.market_cap == Decimal("1394938121675.859863281250000000")
    assert quote.volume_24h == Decimal("30717175906.604835510253906250")
    assert quote.change_24h_pct == Decimal("3.934756709445493")
    assert quote.as_of == datetime(2026, 4, 6, 11, 21, 29, 690000, tzinfo=UTC)


def test_null_numbers_are_kept_as_none_and_rows_without_price_skipped() -> None:
    body = load("v2_assets.json")
    btc, eth = body["data"][0], body["data"][1]
    body["data"] = [{**btc, "priceUsd": None}, {**eth, "marketCapUsd": None, "rank": None}]
    by_id = {a: seeded_registry().get(a) for a in ("bitcoin", "ethereum")}
    [quote] = parse_assets(body, by_id)
    assert quote.asset_id == "ethereum"
    assert quote.market_cap is None
    assert quote.price == Decimal("4129.8665728728088499")
    [entry] = parse_markets(body, seeded_registry())
    assert entry.rank is None and entry.market_cap is None
    body["data"] = [{**eth, "supply": None}]
    [entry] = parse_markets(body, seeded_registry())
    assert entry.circulating_supply is None


async def test_markets_map_coincap_ids_to_canonical_ids() -> None:
    rec = Recorder(replay("coincap/v2_assets.json"))
    entries = await make(CoinCapProvider, rec, api_key=KEY).markets(10)
    assert [(e.asset_id, e.rank) for e in entries] == [
        ("bitcoin", 1),
        ("ethereum", 2),
        ("binancecoin", 3),  # coincap "binance-coin"
        ("cardano", 4),
        ("tether", 5),
        ("solana", 6),
        ("ripple", 7),  # coincap "xrp"
        ("polkadot", 8),
        ("dogecoin", 9),
        ("usd-coin", 10),
    ]
    bnb = entries[2]
    assert (bnb.symbol, bnb.name) == ("BNB", "Binance Coin")
    assert bnb.price == Decimal("477.6148568179112637")
    assert bnb.change_24h_pct == Decimal("-1.4874930394008333")
    assert bnb.as_of == V2_AS_OF
    assert bnb.circulating_supply == Decimal("166801148.0000000000000000")  # `supply`
    [request] = rec.requests
    assert request.url.path == "/v3/assets"
    assert dict(request.url.params) == {"limit": "10"}
    assert request.headers["authorization"] == f"Bearer {KEY}"


async def test_markets_limit_is_capped_at_2000_and_trimmed() -> None:
    rec = Recorder(replay("coincap/v2_assets.json"))
    provider = make(CoinCapProvider, rec, api_key=KEY)
    assert len(await provider.markets(5000)) == 10
    assert len(await provider.markets(3)) == 3
    assert [r.url.params["limit"] for r in rec.requests] == ["2000", "3"]


def test_unknown_coincap_ids_keep_their_own_id() -> None:
    body = load("v3_assets_bitcoin.json")
    body["data"] = {**body["data"], "id": "some-new-coin"}
    [entry] = parse_markets(body, seeded_registry())
    assert entry.asset_id == "some-new-coin"


def test_without_a_key_the_provider_is_disabled() -> None:
    assert make(CoinCapProvider, respond(b"{}")).disabled_reason == "missing key"
    assert make(CoinCapProvider, respond(b"{}"), api_key=KEY).disabled_reason is None
    assert make(CoinCapProvider, respond(b"{}")).auth_headers() == {}


async def test_401_is_auth_failed_without_the_key() -> None:
    body = b'{"error":"You did not provide a valid API key"}'
    provider = make(CoinCapProvider, respond(body, 401), api_key=KEY)
    with pytest.raises(AuthFailed) as info:
        await provider.spot_prices([provider.ctx.registry.get("bitcoin")])
    assert KEY not in str(info.value) and KEY not in repr(info.value.args)


async def test_429_is_rate_limited() -> None:
    provider = make(CoinCapProvider, respond(b"{}", 429, {"retry-after": "30"}), api_key=KEY)
    with pytest.raises(RateLimited) as info:
        await provider.markets(10)
    assert info.value.retry_after_s == 30.0


async def test_a_body_without_data_is_a_bad_response() -> None:
    provider = make(CoinCapProvider, respond(b'{"synthetic": true}'), api_key=KEY)
    with pytest.raises(BadResponse):
        await provider.markets(10)


async def test_assets_without_a_coincap_id_are_not_supported() -> None:
    rec = Recorder(respond(b"{}"))
    with pytest.raises(NotSupported):
        await make(CoinCapProvider, rec, api_key=KEY).spot_prices([Asset("x", "X", "X")])
    assert rec.requests == []
