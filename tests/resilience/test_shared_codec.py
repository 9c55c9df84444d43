"""The shared cache's codec: every value the services cache comes back equal and typed, and
nothing outside the named types is ever built from Redis bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from cryptoagg.bootstrap.redis_state import SHARED_TYPES
from cryptoagg.core.assets import Asset
from cryptoagg.core.consensus import Consensus, Dropped
from cryptoagg.core.listing import ListingRow, Replaced
from cryptoagg.core.models import (
    Capability,
    DefiChain,
    DefiOverview,
    DefiProtocol,
    FearGreed,
    Quote,
    TrendingCoin,
)
from cryptoagg.resilience.pool import Answer
from cryptoagg.resilience.shared_codec import Undecodable, Unshareable, ValueCodec
from cryptoagg.services.market import Listed
from cryptoagg.services.prices import PriceBatch, PriceReport, StableRate

AS_OF = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
CODEC = ValueCodec(SHARED_TYPES)


def _quote(provider: str, price: str) -> Quote:
    return Quote(
        asset_id="bitcoin",
        provider=provider,
        price=Decimal(price),
        as_of=AS_OF,
        volume_24h=Decimal("123.000000001"),
        converted_from="USDT",
        rate_assumed=True,
        time_source="received",
    )


def _report() -> PriceReport:
    consensus = Consensus(
        asset_id="bitcoin",
        price=Decimal("64000.12345678901234567890"),
        low=Decimal("63990"),
        high=Decimal("64010"),
        spread_bps=Decimal("3.1"),
        mad=Decimal("0.5"),
        as_of=AS_OF,
        used=(_quote("binance", "64000.1"), _quote("kraken", "64000.2")),
        dropped=(Dropped(_quote("coinbase", "70000"), "outlier"),),
    )
    asset = Asset("bitcoin", "BTC", "Bitcoin", 1, True, {"kraken": "XBT", "binance": "BTC"})
    return PriceReport(
        asset,
        consensus,
        {"coincap": "rate_limited"},
        {"USDT": StableRate(Decimal("0.9998"), ("kraken",)), "USDC": StableRate(Decimal(1))},
    )


def _listed() -> Listed:
    row = ListingRow(
        asset_id="bitcoin",
        symbol="BTC",
        name="Bitcoin",
        rank=1,
        price=Decimal("64000.5"),
        as_of=AS_OF,
        provider="coingecko",
        market_cap=Decimal("1.26e12"),
        sources=("coingecko", "coinpaprika"),
        price_sources=("binance", "kraken"),
        price_basis="consensus",
        replaced=(Replaced("coincap", Decimal("1")),),
    )
    return Listed([row], ("coingecko", "coinpaprika"), {"coincap": "timeout"}, AS_OF)


SERVICE_VALUES: list[Any] = [
    _listed(),
    _report(),
    PriceBatch([_report()], ["ethereum"], {"x": "geo_blocked"}),
    Answer(
        "coingecko",
        [
            TrendingCoin(
                asset_id="pepe",
                symbol="PEPE",
                name="Pepe",
                market_cap_rank=None,
                score=0,
                price_btc=Decimal("1E-10"),
            )
        ],
        AS_OF,
    ),
    Answer(
        "alternative_me",
        FearGreed(value=71, classification="Greed", as_of=AS_OF, provider="alternative_me"),
        AS_OF,
    ),
    Answer(
        "defillama",
        DefiOverview(
            total_tvl=Decimal("9.1e10"),
            protocols=(
                DefiProtocol(name="Lido", slug="lido", tvl=Decimal(3), chains=("Ethereum",)),
            ),
            chains=(DefiChain(name="Ethereum", tvl=Decimal(5)),),
            as_of=AS_OF,
            provider="defillama",
        ),
        AS_OF,
    ),
]


@pytest.mark.parametrize("value", SERVICE_VALUES, ids=lambda v: type(v).__name__)
def test_every_cached_service_value_round_trips_equal_and_typed(value: Any) -> None:
    back = CODEC.loads(CODEC.dumps(value))
    assert back == value
    assert type(back) is type(value)


def test_exact_types_survive() -> None:
    report = CODEC.loads(CODEC.dumps(_report()))
    assert report.consensus.price == Decimal("64000.12345678901234567890")
    assert str(report.consensus.price) == "64000.12345678901234567890"
    assert report.consensus.as_of == AS_OF and report.consensus.as_of.tzinfo is not None
    assert isinstance(report.consensus.used, tuple)
    assert isinstance(report.consensus.used[0], Quote)
    assert report.conversions["USDC"].assumed


def test_plain_values_keep_their_types() -> None:
    value = {
        1: (Decimal("0.1"), date(2024, 1, 2), timedelta(days=1, microseconds=5)),
        "s": frozenset({"a"}),
        "f": [float("inf"), 0.1],
        "e": Capability.SPOT_PRICE,
    }
    codec = ValueCodec([Capability])
    back = codec.loads(codec.dumps(value))
    assert back == value
    assert type(back["e"]) is Capability
    assert type(back[1]) is tuple and type(back[1][0]) is Decimal


def test_a_type_not_named_is_never_written() -> None:
    @dataclass
    class Secret:
        x: int

    with pytest.raises(Unshareable):
        CODEC.dumps([Secret(1)])


@pytest.mark.parametrize(
    "doc",
    [
        {"o": "os.system", "f": {}},
        {"o": "builtins.eval", "f": {}},
        {"e": "subprocess.Popen", "v": "x"},
        {"z": 1},
        {},
    ],
)
def test_bytes_naming_anything_else_are_refused(doc: Any) -> None:
    with pytest.raises(Undecodable):
        CODEC.loads(orjson.dumps(doc))


def test_garbage_is_refused() -> None:
    with pytest.raises(Undecodable):
        CODEC.loads(b"\x80\x04pickle")
    # a named type with fields it does not have
    with pytest.raises(Undecodable):
        CODEC.loads(orjson.dumps({"o": "cryptoagg.core.assets.Asset", "f": {"bogus": 1}}))


def test_the_codec_knows_the_types_the_fields_name() -> None:
    assert {Quote, Consensus, Dropped, Asset, ListingRow, Replaced, StableRate} <= CODEC.types
    with pytest.raises(TypeError):
        ValueCodec([int])
