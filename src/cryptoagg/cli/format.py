"""Numbers as the command line shows them to people; every table formats through here.

- prices (and figures in a price's unit: averages, bands, MACD) with at least `SIGNIFICANT`
  significant digits and never fewer than two decimals: `93,729.51`, `2.1234`, `0.99955`,
  `0.000012340`; never exponent notation. A table of one asset's figures shares the decimals
  of its reference price (`decimals_for`), so they line up;
- money amounts compact, with two decimals: `$7.50B`, `$312.40M`, `$950.00`;
- counts with thousands separators, percentages with two decimals, durations compact.

`--json` prints the numbers themselves, never these strings.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

#: significant digits a price shows at least
SIGNIFICANT = 5
#: decimals a price shows at least, and at most
MIN_DECIMALS, MAX_DECIMALS = 2, 18
#: shown for a value that is not known
NONE = "-"

Number = Decimal | float | int

_UNITS = ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"))
_CENT = Decimal("0.01")


def _decimal(value: Number) -> Decimal:
    # a float through its shortest repr, as upstream JSON numbers become Decimals
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def decimals_for(value: Number | None) -> int:
    """The decimals that show `value` with `SIGNIFICANT` significant digits (2 at least)."""
    if value is None or not math.isfinite(value) or value == 0:
        return MIN_DECIMALS
    exponent = _decimal(value).copy_abs().adjusted()  # 93,729.51 -> 4, 0.0123 -> -2
    return max(MIN_DECIMALS, min(MAX_DECIMALS, SIGNIFICANT - 1 - exponent))


def price(value: Number | None, decimals: int | None = None) -> str:
    """`93,729.51`; `decimals` to share one scale across figures (default: `value`'s own)."""
    if value is None:
        return NONE
    if isinstance(value, float) and not math.isfinite(value):
        return NONE
    places = decimals_for(value) if decimals is None else decimals
    text = f"{_decimal(value):,.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no "-0.00"


def money(value: Number | None) -> str:
    """Compact US dollars: `$7.50B`, `$312.40M`, `$12,345.00`; negative as `-$1.20M`."""
    if value is None:
        return NONE
    amount = _decimal(value)
    sign, amount = ("-" if amount < 0 else ""), amount.copy_abs()
    for unit, suffix in _UNITS:
        scaled = (amount / unit).quantize(_CENT)
        if scaled >= 1:
            return f"{sign}${scaled:,.2f}{suffix}"
    return f"{sign}${amount.quantize(_CENT):,.2f}"


def count(value: int | None) -> str:
    """`12,345`."""
    return NONE if value is None else f"{value:,}"


def percent(value: Number | None, *, signed: bool = False) -> str:
    """`1.81%`, or `+2.35%` / `-0.40%` with `signed` (a change)."""
    if value is None:
        return NONE
    amount = _decimal(value).quantize(_CENT)
    if amount == 0:
        amount = abs(amount)
    return f"{amount:+,.2f}%" if signed else f"{amount:,.2f}%"


def fraction(value: float | None) -> str:
    """A ratio as a percentage: 0.0181 -> `1.81%`."""
    return NONE if value is None else percent(value * 100)


def duration(seconds: float) -> str:
    """Compact: 45s, 9.5m, 11m, 2.7h, 3d (one decimal below 10 of the unit)."""

    def trim(value: float) -> str:
        return f"{value:.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")

    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{trim(seconds / 60)}m"
    if seconds < 2 * 86400:
        return f"{trim(seconds / 3600)}h"
    return f"{trim(seconds / 86400)}d"


def ago(when: datetime | None, now: datetime) -> str:
    """`3m ago`, `2.5h ago`; `-` when never."""
    if when is None:
        return NONE
    return f"{duration(max(0.0, (now - when).total_seconds()))} ago"
