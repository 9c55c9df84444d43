from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cryptoagg.core.candles import floor_time
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Interval
from cryptoagg.core.timespan import (
    EARLIEST,
    LATEST,
    InvalidRange,
    as_utc,
    clamp,
    days_before,
    periods_before,
    shift,
)

HOUR = timedelta(hours=1)
PLUS_ONE = timezone(HOUR)
MINUS_FOURTEEN = timezone(-14 * HOUR)


def test_the_edges_are_what_datetime_and_unix_timestamps_can_hold() -> None:
    assert datetime.min.replace(tzinfo=UTC) == EARLIEST
    assert LATEST.microsecond == 0  # the float timestamp of a later time rounds to year 10000
    for interval in Interval:
        assert floor_time(LATEST, interval) <= LATEST
        assert floor_time(EARLIEST, interval) == EARLIEST


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 3, 1, 12, tzinfo=PLUS_ONE), datetime(2026, 3, 1, 11, tzinfo=UTC)),
        (datetime(2026, 3, 1, 12), datetime(2026, 3, 1, 12, tzinfo=UTC)),  # naive: UTC
        (datetime(1, 1, 1, tzinfo=PLUS_ONE), EARLIEST),  # would be 0000-12-31T23:00Z
        (datetime(9999, 12, 31, 23, tzinfo=MINUS_FOURTEEN), LATEST),
        (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), LATEST),
        (datetime.min, EARLIEST),
        (datetime.max, LATEST),
    ],
)
def test_as_utc_converts_and_clamps(value: datetime, expected: datetime) -> None:
    assert as_utc(value) == expected
    assert as_utc(value).tzinfo is UTC


def test_shift_clamps_where_plain_arithmetic_overflows() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    assert shift(start, HOUR) == start + HOUR
    with pytest.raises(OverflowError):
        _ = EARLIEST - HOUR
    assert shift(EARLIEST, -HOUR) == EARLIEST
    assert shift(LATEST, timedelta(days=2)) == LATEST
    assert shift(start, timedelta.max) == LATEST
    assert shift(start, timedelta.min) == EARLIEST
    assert clamp(datetime.max.replace(tzinfo=UTC)) == LATEST


def test_days_before_takes_any_number_of_days() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert days_before(now, 1.5) == now - timedelta(days=1.5)
    assert days_before(now, 0) == now
    assert days_before(now, 1e300) == EARLIEST  # timedelta(days=1e300) itself overflows
    assert days_before(now, float("inf")) == EARLIEST
    assert days_before(now, (now - EARLIEST).days) == EARLIEST


def test_periods_before_refuses_a_range_starting_before_year_one() -> None:
    end = datetime(2026, 3, 1, tzinfo=UTC)
    assert periods_before(end, HOUR, 199) == end - 199 * HOUR
    assert periods_before(EARLIEST + 199 * HOUR, HOUR, 199) == EARLIEST
    for end, step in [
        (EARLIEST, HOUR),
        (datetime(1, 3, 1, tzinfo=UTC), timedelta(days=1)),
        (datetime(1, 1, 1, 3, tzinfo=UTC), timedelta(minutes=1)),
        (EARLIEST + 198 * HOUR, HOUR),
    ]:
        with pytest.raises(InvalidRange) as refused:
            periods_before(end, step, 199)
        assert refused.value.code == "invalid_range"
        assert "give a later end, or a start" in refused.value.message
        assert isinstance(refused.value, InvalidInput)  # a 422 in api/http/errors.py's table
