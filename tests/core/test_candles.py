from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptoagg.core.candles import (
    Span,
    aggregate,
    chunks,
    complete,
    floor_time,
    last_closed,
    missing_spans,
    sub_candles_per,
)
from cryptoagg.core.models import Candle, Interval

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def minute(i: int, o: str, h: str, lo: str, c: str, v: str | None = "1") -> Candle:
    return Candle(
        asset_id="bitcoin",
        interval=Interval.M1,
        open_time=T0 + i * MINUTE,
        open=Decimal(o),
        high=Decimal(h),
        low=Decimal(lo),
        close=Decimal(c),
        volume=None if v is None else Decimal(v),
        provider="binance",
    )


def test_floor_and_last_closed() -> None:
    at = datetime(2026, 1, 2, 13, 47, 31, tzinfo=UTC)
    assert floor_time(at, Interval.M1) == datetime(2026, 1, 2, 13, 47, tzinfo=UTC)
    assert floor_time(at, Interval.H1) == datetime(2026, 1, 2, 13, tzinfo=UTC)
    assert floor_time(at, Interval.D1) == datetime(2026, 1, 2, tzinfo=UTC)
    assert last_closed(at, Interval.H1) == datetime(2026, 1, 2, 12, tzinfo=UTC)


def test_missing_spans_finds_every_gap_including_the_edges() -> None:
    stored = [T0 + i * MINUTE for i in (2, 3, 4, 7, 9)]
    spans = missing_spans(stored, Interval.M1, T0, T0 + 10 * MINUTE)
    assert [(s.start, s.end, s.count) for s in spans] == [
        (T0, T0 + MINUTE, 2),
        (T0 + 5 * MINUTE, T0 + 6 * MINUTE, 2),
        (T0 + 8 * MINUTE, T0 + 8 * MINUTE, 1),
        (T0 + 10 * MINUTE, T0 + 10 * MINUTE, 1),
    ]
    assert (
        missing_spans([T0 + i * MINUTE for i in range(11)], Interval.M1, T0, T0 + 10 * MINUTE) == []
    )


def test_missing_spans_aligns_the_range_outward() -> None:
    spans = missing_spans(
        [], Interval.H1, T0 + timedelta(minutes=30), T0 + timedelta(hours=2, minutes=5)
    )
    assert spans == [Span(Interval.H1, T0, T0 + timedelta(hours=2))]


def test_chunks_cover_the_span_without_overlap() -> None:
    span = Span(Interval.M1, T0, T0 + 1999 * MINUTE)
    parts = list(chunks(span, 720))
    assert [p.count for p in parts] == [720, 720, 560]
    assert parts[0].start == T0 and parts[-1].end == span.end
    for a, b in itertools.pairwise(parts):
        assert b.start == a.end + MINUTE


def test_aggregate_takes_first_open_last_close_extremes_and_summed_volume() -> None:
    rows = [
        minute(0, "10", "12", "9", "11", "1.5"),
        minute(1, "11", "15", "10", "14", "2.25"),
        minute(2, "14", "14.5", "8.75", "9", None),
        # the next hour: a partial period of one candle
        minute(60, "20", "21", "19", "20.5", "3"),
    ]
    hours = aggregate(rows, Interval.H1)
    assert [(h.open_time, h.open, h.high, h.low, h.close, h.volume) for h in hours] == [
        (T0, Decimal(10), Decimal(15), Decimal("8.75"), Decimal(9), Decimal("3.75")),
        (
            T0 + timedelta(hours=1),
            Decimal(20),
            Decimal(21),
            Decimal(19),
            Decimal("20.5"),
            Decimal(3),
        ),
    ]
    assert {h.provider for h in hours} == {"rollup"} and {h.interval for h in hours} == {
        Interval.H1
    }


def test_aggregate_without_any_volume_has_no_volume() -> None:
    [hour] = aggregate([minute(0, "1", "1", "1", "1", None)], Interval.H1)
    assert hour.volume is None


def hours(*indexes: int, day: int = 0, partial: tuple[int, ...] = ()) -> list[Candle]:
    """Hourly candles of day `day` at the given hours; those in `partial` are partial
    rollups (as a rollup of an hour with missing minutes is)."""
    start = T0 + timedelta(days=day)
    return [
        Candle(
            asset_id="bitcoin",
            interval=Interval.H1,
            open_time=start + timedelta(hours=h),
            open=Decimal(100 + h),
            high=Decimal(200 + h),
            low=Decimal(50 + h),
            close=Decimal(101 + h),
            volume=Decimal(1),
            provider="rollup" if h in partial else "kraken",
            partial=h in partial,
            sub_candles=59 if h in partial else None,
        )
        for h in indexes
    ]


def test_sub_candles_per_period() -> None:
    assert sub_candles_per(Interval.H1) == 60
    assert sub_candles_per(Interval.D1) == 24
    assert sub_candles_per(Interval.D1, Interval.M1) == 1440


def test_a_rollup_with_every_sub_candle_is_complete() -> None:
    [day] = aggregate(hours(*range(24)), Interval.D1)
    assert (day.partial, day.sub_candles) == (False, 24)
    minutes = [minute(i, "1", "2", "0.5", "1.5") for i in range(60)]
    [hour] = aggregate(minutes, Interval.H1)
    assert (hour.partial, hour.sub_candles) == (False, 60)


def test_a_rollup_missing_sub_candles_is_partial_with_its_count() -> None:
    # a history that starts at 08:00: 16 hours of the first day, then a whole day
    first, second = aggregate(hours(*range(8, 24)) + hours(*range(24), day=1), Interval.D1)
    assert (first.open_time, first.partial, first.sub_candles) == (T0, True, 16)
    assert first.open == Decimal(108)  # what the 16 hours say: the 08:00 open
    assert first.volume == Decimal(16)
    assert (second.partial, second.sub_candles) == (False, 24)
    # a gap inside the period counts too: 59 of 60 minutes
    minutes = [minute(i, "1", "2", "0.5", "1.5") for i in range(60) if i != 30]
    [hour] = aggregate(minutes, Interval.H1)
    assert (hour.partial, hour.sub_candles) == (True, 59)


def test_a_partial_sub_candle_makes_its_period_partial() -> None:
    """24 hours are stored, but 05:00 was rolled up from 59 minutes: the day has 23
    complete hours, so it is partial too."""
    [day] = aggregate(hours(*range(24), partial=(5,)), Interval.D1)
    assert (day.partial, day.sub_candles) == (True, 23)
    assert day.high == Decimal(223)  # its values still come from all 24


def test_complete_leaves_partial_rollups_out() -> None:
    days = aggregate(hours(*range(8, 24)) + hours(*range(24), day=1), Interval.D1)
    assert complete(days) == days[1:]
    assert complete(hours(0, 1, 2, partial=(1,))) == hours(0, 2)
