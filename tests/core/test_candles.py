from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptoagg.core.candles import (
    Span,
    aggregate,
    chunks,
    floor_time,
    last_closed,
    missing_spans,
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
