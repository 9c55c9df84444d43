from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptoagg.core.consensus import ConsensusRules, consensus
from cryptoagg.core.models import Quote

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def q(provider: str, price: str, age_s: int = 0, asset: str = "bitcoin") -> Quote:
    return Quote(
        asset_id=asset,
        provider=provider,
        price=Decimal(price),
        as_of=NOW - timedelta(seconds=age_s),
    )


def test_median_of_agreeing_quotes() -> None:
    result = consensus("bitcoin", [q("a", "100"), q("b", "101"), q("c", "102")], NOW)
    assert result is not None
    assert result.price == Decimal(101)
    assert (result.low, result.high) == (Decimal(100), Decimal(102))
    assert result.spread_bps == Decimal("198.02")
    assert result.sources == ["a", "b", "c"]
    assert result.dropped == ()


def test_outlier_is_dropped() -> None:
    quotes = [q("a", "100.0"), q("b", "100.2"), q("c", "99.9"), q("d", "125")]
    result = consensus("bitcoin", quotes, NOW)
    assert result is not None
    assert [d.quote.provider for d in result.dropped] == ["d"]
    assert result.dropped[0].reason == "outlier"
    assert result.price == Decimal("100.0")
    assert result.high == Decimal("100.2")


def test_identical_quotes_do_not_condemn_a_close_one() -> None:
    quotes = [q("a", "100"), q("b", "100"), q("c", "100"), q("d", "100.5")]
    result = consensus("bitcoin", quotes, NOW)
    assert result is not None
    assert result.dropped == ()
    assert result.high == Decimal("100.5")


def test_stale_quotes_are_excluded() -> None:
    quotes = [q("a", "100"), q("b", "90", age_s=3600)]
    result = consensus("bitcoin", quotes, NOW, ConsensusRules(max_age=timedelta(minutes=5)))
    assert result is not None
    assert result.price == Decimal(100)
    assert [(d.quote.provider, d.reason) for d in result.dropped] == [("b", "stale")]


def test_nothing_fresh_gives_none() -> None:
    assert consensus("bitcoin", [q("a", "100", age_s=3600)], NOW) is None
    assert consensus("bitcoin", [q("a", "100", asset="ethereum")], NOW) is None


def test_single_quote() -> None:
    result = consensus("bitcoin", [q("a", "100")], NOW)
    assert result is not None
    assert result.price == Decimal(100)
    assert result.spread_bps == Decimal(0)


def assumed(provider: str, price: str) -> Quote:
    """A USDT quote converted at an assumed rate of 1."""
    return q(provider, price).model_copy(update={"converted_from": "USDT", "rate_assumed": True})


def test_a_single_quote_at_an_assumed_rate_spans_the_allowance() -> None:
    result = consensus("bitcoin", [assumed("binance", "100")], NOW)
    assert result is not None
    assert result.price == Decimal(100)  # the price itself is not moved
    assert (result.low, result.high) == (Decimal("99.500"), Decimal("100.500"))
    assert result.spread_bps == Decimal("100.00")


def test_assumed_rate_widens_the_band_only_as_far_as_its_quote_reaches() -> None:
    quotes = [q("kraken", "100"), q("coinbase", "100.2"), assumed("binance", "100.1")]
    result = consensus(
        "bitcoin", quotes, NOW, ConsensusRules(assumed_rate_allowance=Decimal("0.001"))
    )
    assert result is not None
    assert result.price == Decimal("100.1")
    assert (result.low, result.high) == (Decimal("99.9999"), Decimal("100.2001"))
    # measured quotes alone keep their own range
    plain = consensus("bitcoin", quotes[:2], NOW)
    assert plain is not None and (plain.low, plain.high) == (Decimal(100), Decimal("100.2"))
