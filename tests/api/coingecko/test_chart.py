"""`coins/{id}/market_chart` without a server: granularity, points, volumes and what a
chart lacks (`chart.py`, `chart_series.py`, `chart_volumes.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cryptoagg.api.coingecko import chart
from cryptoagg.api.coingecko.chart_series import chart_body, chart_series, completeness_headers
from cryptoagg.api.coingecko.chart_volumes import hours_without_volume
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Candle, Interval

NOW = datetime(2026, 1, 10, 12, 34, 56, 789_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "interval", "tier", "step_s"),
    [
        (1.0, None, Interval.M1, 300),
        (0.5, "5m", Interval.M1, 300),
        (7.0, "5m", Interval.M1, 300),
        (1.0, "1m", Interval.M1, 60),
        (1.5, None, Interval.H1, 3600),
        (90.0, None, Interval.H1, 3600),
        (90.5, None, Interval.D1, 86400),
        (None, None, Interval.D1, 86400),
        (1.0, "daily", Interval.D1, 86400),
        (30.0, "hourly", Interval.H1, 3600),
        (100.0, "hourly", Interval.H1, 3600),
    ],
)
def test_chart_granularity_maps_coingecko_onto_our_tiers(
    days: float | None, interval: str | None, tier: Interval, step_s: int
) -> None:
    plan = chart.chart_plan(days, interval, NOW)
    assert (plan.interval, plan.step_s) == (tier, step_s)
    # the last point is the last closed candle; the first closes after `now - days`
    assert plan.end + tier.delta <= NOW < plan.end + 2 * tier.delta
    first_close = plan.start + tier.delta
    window_start = chart.MAX_START if days is None else NOW - timedelta(days=days)
    assert window_start < first_close <= window_start + tier.delta


@pytest.mark.parametrize(
    ("days", "interval", "most_days"),
    [
        (2.0, "1m", 1),
        (30.0, "5m", 10),
        (None, "5m", 10),
        (365.0, "hourly", 100),
        (None, "hourly", 100),
    ],
)
def test_a_forced_interval_covers_at_most_its_window_like_coingecko(
    days: float | None, interval: str, most_days: int
) -> None:
    plan = chart.chart_plan(days, interval, NOW)
    assert plan.start == chart.chart_plan(most_days, interval, NOW).start
    assert NOW - timedelta(days=most_days) < plan.start + plan.interval.delta


def test_chart_plan_refuses_an_interval_coingecko_does_not_offer() -> None:
    for interval in ("weekly", "1h", "HOURLY", "15m"):
        with pytest.raises(InvalidInput, match="1m, 5m, hourly or daily"):
            chart.chart_plan(1.0, interval, NOW)
    # far more days than there is history: everything since CoinGecko's first day, no overflow
    assert chart.chart_plan(1e12, None, NOW).start == chart.MAX_START


def test_days_is_a_positive_number_or_max() -> None:
    assert chart.parse_days("max") is None and chart.parse_days("MAX") is None
    assert chart.parse_days("0.5") == 0.5 and chart.parse_days("365") == 365
    for bad in ("0", "-1", "nan", "inf", "soon", ""):
        with pytest.raises(InvalidInput):
            chart.parse_days(bad)


def candle(
    open_time: datetime,
    close: str,
    interval: Interval = Interval.M1,
    volume: str | None = "1",
    *,
    partial: bool = False,
) -> Candle:
    price = Decimal(close)
    return Candle(
        asset_id="bitcoin",
        interval=interval,
        open_time=open_time,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=None if volume is None else Decimal(volume),
        provider="binance",
        partial=partial,
    )


def ms(at: datetime) -> int:
    return int(at.timestamp()) * 1000


def test_chart_reads_five_minute_points_off_minute_candles() -> None:
    start = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    candles = [candle(start + timedelta(minutes=m), str(100 + m)) for m in range(10)]
    plan = chart.ChartPlan(Interval.M1, start, start + timedelta(minutes=9), 300)
    series = chart_series(plan, candles, [], Decimal(2), None)
    body = chart_body(series)
    at = ms(start + timedelta(minutes=5))
    # the 12:04 candle closes at 12:05, the 12:09 one at 12:10
    assert body["prices"] == [[at, Decimal(104)], [at + 300_000, Decimal(109)]]
    assert body["market_caps"] == [[at, Decimal(208)], [at + 300_000, Decimal(218)]]
    # no hourly candles of the 24 hours before: no volume, left out rather than invented
    assert body["total_volumes"] == []
    assert series.lacking() == {"prices": 0, "market_caps": 0, "total_volumes": 2}
    unlisted = chart_series(plan, candles, [], None, None)
    assert chart_body(unlisted)["market_caps"] == []
    assert completeness_headers(unlisted) == {
        "X-Data-Partial": "true",
        "X-Data-Missing-Points": "prices=0, market_caps=2, total_volumes=2",
    }


def test_a_volume_is_the_usd_volume_of_the_24_hours_up_to_the_point() -> None:
    day = datetime(2026, 1, 9, tzinfo=UTC)
    # hourly candles from 2026-01-08 00:00 to 01-09 23:00: volume 2 (base) each, close = hour
    hours = [
        candle(day - timedelta(hours=24) + timedelta(hours=h), str(h), Interval.H1, "2")
        for h in range(48)
    ]
    plan = chart.ChartPlan(Interval.H1, day, day + timedelta(hours=23), 3600)
    assert plan.reads() == [(Interval.H1, day - timedelta(hours=23), plan.end)]
    series = chart_series(plan, hours, hours, None, None)
    volumes = dict(series.total_volumes)
    # the point at 01-09 01:00 (the 00:00 candle's close) covers the hours opened
    # 01-08 01:00 .. 01-09 00:00, closes 1..24: 2 x (1 + ... + 24)
    first = int((day + timedelta(hours=1)).timestamp())
    assert volumes[first] == 2 * sum(range(1, 25))
    assert volumes[first + 3600] == 2 * sum(range(2, 26))
    assert len(series.prices) == len(series.total_volumes) == 24
    # a window with a missing, partial or volume-less hour has no volume
    holed = [c for c in hours if c.open_time != day - timedelta(hours=5)]
    assert first not in dict(chart_series(plan, holed, holed, None, None).total_volumes)
    partial = [
        candle(c.open_time, str(c.close), Interval.H1, "2", partial=True)
        if c.open_time == day - timedelta(hours=5)
        else c
        for c in hours
    ]
    assert first not in dict(chart_series(plan, hours, partial, None, None).total_volumes)
    no_volume = [
        candle(c.open_time, str(c.close), Interval.H1, None)
        if c.open_time == day - timedelta(hours=5)
        else c
        for c in hours
    ]
    assert first not in dict(chart_series(plan, hours, no_volume, None, None).total_volumes)


def test_minute_points_take_the_volume_up_to_the_last_full_hour_and_daily_their_own() -> None:
    hour = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    minutes = [candle(hour + timedelta(minutes=m), "100") for m in range(15)]
    hours = [candle(hour - timedelta(hours=k), "10", Interval.H1, "3") for k in range(1, 25)]
    plan = chart.ChartPlan(Interval.M1, hour, hour + timedelta(minutes=14), 300)
    assert plan.reads() == [
        (Interval.M1, hour, plan.end),
        (Interval.H1, hour - timedelta(hours=24), hour - timedelta(hours=1)),
    ]
    series = chart_series(plan, minutes, hours, None, None)
    assert [v for _, v in series.total_volumes] == [Decimal(720)] * 3  # 24 x 3 x 10
    days = [candle(hour.replace(hour=0) - timedelta(days=d), "5", Interval.D1, "7") for d in (1, 2)]
    daily = chart.ChartPlan(Interval.D1, days[1].open_time, days[0].open_time, 86400)
    assert daily.reads() == [(Interval.D1, daily.start, daily.end)]
    by_day = chart_series(daily, days, days, None, None)
    assert [v for _, v in by_day.total_volumes] == [Decimal(35), Decimal(35)]


def test_missing_points_are_counted_and_listed_from_the_history_floor_on() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    plan = chart.ChartPlan(Interval.D1, start, start + timedelta(days=9), 86400)
    stored = [
        candle(start + timedelta(days=d), "1", Interval.D1, partial=d == 6)
        for d in (2, 3, 4, 6, 8, 9)
    ]
    series = chart_series(plan, stored, stored, Decimal(1), None)
    # a partial rollup is a missing point, not a value
    assert [t for t, _ in series.prices] == [
        int((start + timedelta(days=d + 1)).timestamp()) for d in (2, 3, 4, 8, 9)
    ]
    headers = completeness_headers(series)
    assert headers == {
        "X-Data-Partial": "true",
        "X-Data-Missing-Points": "prices=5, market_caps=5, total_volumes=5",
        "X-Data-Missing": "2026-01-02T00:00:00Z/2026-01-03T00:00:00Z, "
        "2026-01-07T00:00:00Z/2026-01-09T00:00:00Z",
    }
    # no provider has data before the floor: nothing there is missing
    floored = chart_series(plan, stored, stored, Decimal(1), start + timedelta(days=2))
    assert completeness_headers(floored)["X-Data-Missing"] == (
        "2026-01-07T00:00:00Z/2026-01-09T00:00:00Z"
    )
    whole = [candle(start + timedelta(days=d), "1", Interval.D1) for d in range(10)]
    complete = chart_series(plan, whole, whole, Decimal(1), None)
    assert completeness_headers(complete) == {"X-Data-Partial": "false"}
    # many runs: the first ten, then how many more
    sparse = [candle(start + timedelta(days=d), "1", Interval.D1) for d in range(0, 30, 2)]
    long_plan = chart.ChartPlan(Interval.D1, start, start + timedelta(days=29), 86400)
    runs = completeness_headers(chart_series(long_plan, sparse, [], None, None))
    assert runs["X-Data-Missing"].endswith(", +5 more") and runs["X-Data-Missing"].count("/") == 10


def test_chart_body_rounds_to_the_precision() -> None:
    start = datetime(2026, 1, 10, tzinfo=UTC)
    plan = chart.ChartPlan(Interval.D1, start, start, 86400)
    day = [candle(start, "1.23456", Interval.D1, "2")]
    series = chart_series(plan, day, day, Decimal(3), None)
    assert chart_body(series, 2) == {
        "prices": [[ms(start) + 86_400_000, Decimal("1.23")]],
        "market_caps": [[ms(start) + 86_400_000, Decimal("3.70")]],
        "total_volumes": [[ms(start) + 86_400_000, Decimal("2.47")]],
    }


def test_an_hour_without_a_volume_is_made_of_its_minutes_when_all_are_stored() -> None:
    point = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    plan = chart.ChartPlan(
        Interval.H1, point - timedelta(hours=1), point - timedelta(hours=1), 3600
    )
    # 24 hours up to the point: CoinGecko-like hourly candles (no volume) for the last one
    hours = [
        candle(point - timedelta(hours=k), "10", Interval.H1, None if k == 1 else "3")
        for k in range(1, 25)
    ]
    assert hours_without_volume(plan, hours) == [point - timedelta(hours=1)]
    bare = chart_series(plan, hours, hours, None, None)
    assert bare.total_volumes == []
    last_hour = point - timedelta(hours=1)
    minutes = [candle(last_hour + timedelta(minutes=m), "2", volume="5") for m in range(60)]
    made = chart_series(plan, hours, hours, None, None, minutes=minutes)
    assert made.total_volumes == [(int(point.timestamp()), Decimal(23 * 30 + 60 * 10))]
    # 59 of its minutes are not the hour's volume
    short = chart_series(plan, hours, hours, None, None, minutes=minutes[1:])
    assert short.total_volumes == []
    assert hours_without_volume(chart.ChartPlan(Interval.D1, point, point, 86400), []) == []
