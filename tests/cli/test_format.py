"""The one number formatter of the command line (`cli/format.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cryptoagg.cli import format as fmt


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("93729.514"), "93,729.51"),
        (Decimal("2874.3"), "2,874.30"),
        (Decimal("142.371"), "142.37"),
        (Decimal("45.12345"), "45.123"),
        (Decimal("2.123456"), "2.1235"),
        (Decimal("1.00031"), "1.0003"),
        (Decimal("0.999547"), "0.99955"),
        (Decimal("0.00001234"), "0.000012340"),
        (-2.23831e-05, "-0.000022383"),  # a MACD of a stablecoin, never 2.2e-05
        (1e-12, "0.0000000000010000"),
        (Decimal(0), "0.00"),
        (1390.8412, "1,390.84"),
        (None, "-"),
        (float("nan"), "-"),
    ],
)
def test_a_price_shows_five_significant_digits_and_no_exponent(
    value: Decimal | float | None, shown: str
) -> None:
    assert fmt.price(value) == shown


def test_figures_of_one_asset_share_the_decimals_of_its_price() -> None:
    places = fmt.decimals_for(Decimal("0.999547"))
    assert places == 5
    assert [fmt.price(v, places) for v in (1.0000231, 0.9987, 1)] == [
        "1.00002",
        "0.99870",
        "1.00000",
    ]
    # rounded to nothing, it has no sign
    assert fmt.price(-0.000001, 2) == "0.00"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("7500000000"), "$7.50B"),
        (Decimal("1870000000000"), "$1.87T"),
        (Decimal("312400000"), "$312.40M"),
        (Decimal("999995000"), "$1.00B"),  # not "$1,000.00M"
        (Decimal("12345.678"), "$12,345.68"),
        (Decimal("950"), "$950.00"),
        (-1_200_000.0, "-$1.20M"),
        (None, "-"),
    ],
)
def test_money_is_compact(value: Decimal | float | None, shown: str) -> None:
    assert fmt.money(value) == shown


def test_counts_percentages_and_durations() -> None:
    assert (fmt.count(1234567), fmt.count(0), fmt.count(None)) == ("1,234,567", "0", "-")
    assert fmt.percent(Decimal("2.345"), signed=True) == "+2.34%"  # half to even
    assert fmt.percent(-0.4, signed=True) == "-0.40%"
    assert fmt.percent(-0.001, signed=True) == "+0.00%"
    assert fmt.fraction(0.01812) == "1.81%"
    assert [fmt.duration(s) for s in (45, 570, 660, 9720, 3 * 86400)] == [
        "45s",
        "9.5m",
        "11m",
        "2.7h",
        "3d",
    ]
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert fmt.ago(now - timedelta(minutes=3), now) == "3m ago"
    assert fmt.ago(None, now) == "-"
