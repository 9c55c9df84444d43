"""Date arithmetic on times a client gave: it stays inside what `datetime` can represent.

Python's `datetime` covers the years 1 to 9999; `end - 199 hours` at 0001-01-01, a
`+01:00` offset on 0001-01-01T00:00 or `+ 2 days` on 9999-12-31 raise `OverflowError`,
and `timestamp()` of a time in the last second of 9999 rounds up to the year 10000. Every
computation on a client's time goes through here instead: the plain helpers clamp to
`[EARLIEST, LATEST]`, and those that build a range a route serves refuse one that cannot be
represented with `InvalidRange` (422, code `invalid_range`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptoagg.core.errors import InvalidInput

#: the earliest time every helper returns (0001-01-01T00:00:00Z)
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
#: the latest: whole seconds, so that its Unix timestamp (a float) is exact
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_ZERO = timedelta(0)
_DAY = timedelta(days=1)


class InvalidRange(InvalidInput):
    """A range of times a route cannot serve: reversed, too long, or reaching outside
    `EARLIEST`..`LATEST`."""

    code = "invalid_range"


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def clamp(at: datetime) -> datetime:
    """An aware UTC time moved into `[EARLIEST, LATEST]`."""
    return min(max(at, EARLIEST), LATEST)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC time (naive is taken to be UTC), clamped: an instant outside
    the representable range (`0001-01-01T00:00:00+01:00`) becomes `EARLIEST` or `LATEST`."""
    offset = value.utcoffset()
    naive = value.replace(tzinfo=None)
    if offset is None:
        return clamp(naive.replace(tzinfo=UTC))
    try:
        return clamp((naive - offset).replace(tzinfo=UTC))
    except OverflowError:
        return EARLIEST if offset > _ZERO else LATEST


def shift(at: datetime, by: timedelta) -> datetime:
    """`at + by`, clamped to `[EARLIEST, LATEST]` (`at` aware UTC)."""
    try:
        return clamp(at + by)
    except OverflowError:
        return EARLIEST if by < _ZERO else LATEST


def days_before(at: datetime, days: float) -> datetime:
    """`days` (any non-negative number, however large) before `at`, clamped at `EARLIEST`."""
    if days >= (at - EARLIEST) / _DAY:
        return EARLIEST
    return shift(at, -timedelta(days=days))


def periods_before(end: datetime, step: timedelta, count: int) -> datetime:
    """The time `count` periods of `step` before `end`: the start of a default range.
    `InvalidRange` when it would fall before `EARLIEST` (no such range can be served)."""
    if (end - EARLIEST) // step < count:
        raise InvalidRange(
            f"the {count + 1} periods up to end ({_iso(end)}) would start before "
            f"{_iso(EARLIEST)}: give a later end, or a start"
        )
    return end - step * count
