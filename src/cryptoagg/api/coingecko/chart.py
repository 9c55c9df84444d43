"""`coins/{id}/market_chart` from stored candles: CoinGecko's granularity on our tiers.

CoinGecko answers `days` up to 1 with 5-minute points, up to 90 with hourly points and
beyond with daily ones; `interval=1m|5m|hourly|daily` forces one, covering at most the last
1, 10 and 100 days for the first three (a longer `days` is cut to that, as CoinGecko does).
We read them off our candle tiers: 1- and 5-minute points are the 1m candles closing on
their mark, hourly and daily points are 1h and 1d candles. Each point is a complete
candle's close at its close time (a partial rollup is a missing point, not a value).

`total_volumes` is a USD volume computed from the candles (base volume x close) over the
24 hours up to the point, and `market_caps` is close x today's circulating supply; a point
whose value is not known is left out of that array rather than invented. What the answer
lacks (points not stored, values left out) is counted in `ChartSeries`, which the route
reports in headers (`X-Data-Partial`, `X-Data-Missing`, `X-Data-Missing-Points`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptoagg.api.coingecko.shapes import rounded
from cryptoagg.core.candles import floor_time, last_closed
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Candle, Interval
from cryptoagg.core.timespan import days_before

#: CoinGecko's oldest chart data (bitcoin, 2013-04-28): where `days=max` starts
MAX_START = datetime(2013, 4, 28, tzinfo=UTC)
MINUTE_S = 60
FIVE_MINUTES_S = 300
HOUR_S = 3600
DAY_S = 86400
#: automatic granularity, CoinGecko's: 5-minutely up to 1 day, hourly up to 90, then daily
AUTO_FIVE_MINUTE_DAYS = 1
AUTO_HOURLY_DAYS = 90
#: `interval=`: the tier the points are read off, seconds between points, and the most
#: days served (CoinGecko's windows: 5m the past 10 days, hourly the past 100; 1m is ours)
FORCED: dict[str, tuple[Interval, int, float | None]] = {
    "1m": (Interval.M1, MINUTE_S, 1.0),
    "5m": (Interval.M1, FIVE_MINUTES_S, 10.0),
    "hourly": (Interval.H1, HOUR_S, 100.0),
    "daily": (Interval.D1, DAY_S, None),
}
#: `interval`: the granularities that can be forced (empty or absent: automatic)
INTERVALS = ("", *FORCED)
#: a point's volume is the trading volume of the 24 hours up to it
VOLUME_WINDOW = timedelta(hours=24)
#: `X-Data-Missing` lists at most this many runs of missing points
MAX_RUNS_LISTED = 10


@dataclass(frozen=True, slots=True)
class ChartPlan:
    """Which stored candles answer a chart: open times `start`..`end` of `interval`, one
    point every `step_s` seconds (1- and 5-minute points are read off 1-minute candles)."""

    interval: Interval
    start: datetime
    end: datetime
    step_s: int

    def reads(self) -> list[tuple[Interval, datetime, datetime]]:
        """The candle ranges the answer is built from: the points' own and, for the volumes
        of minute and hourly points, the hourly candles of the 24 hours before each point
        (a daily point's 24 hours are its own candle)."""
        if self.interval is Interval.D1:
            return [(Interval.D1, self.start, self.end)]
        hour = Interval.H1.delta
        first_hour = floor_time(self.start + self.interval.delta, Interval.H1) - VOLUME_WINDOW
        last_hour = floor_time(self.end + self.interval.delta, Interval.H1) - hour
        if self.interval is Interval.H1:
            return [(Interval.H1, min(first_hour, self.start), self.end)]
        return [(self.interval, self.start, self.end), (Interval.H1, first_hour, last_hour)]


#: `days`: `max` (any case) or a positive decimal number (digits, at most one point)
DAYS_PATTERN = r"^(?:[Mm][Aa][Xx]|[0-9]*[1-9][0-9]*(?:\.[0-9]+)?|[0-9]*\.[0-9]*[1-9][0-9]*)$"
_DAYS = re.compile(DAYS_PATTERN)


def parse_days(raw: str) -> float | None:
    """`days` as `DAYS_PATTERN` declares it: a positive number, or `max` (None; so is a
    number too large for a float: all of it)."""
    if _DAYS.fullmatch(raw) is None:
        raise InvalidInput("days must be a positive number or max")
    if raw.lower() == "max":
        return None
    days = float(Decimal(raw))
    return days if math.isfinite(days) else None


def _granularity(days: float | None, interval: str | None) -> tuple[Interval, int, float | None]:
    if interval in (None, ""):
        span = math.inf if days is None else days
        if span <= AUTO_FIVE_MINUTE_DAYS:
            return Interval.M1, FIVE_MINUTES_S, None
        if span <= AUTO_HOURLY_DAYS:
            return Interval.H1, HOUR_S, None
        return Interval.D1, DAY_S, None
    forced = FORCED.get(interval)
    if forced is None:
        raise InvalidInput("interval must be 1m, 5m, hourly or daily (or empty for auto)")
    return forced


def chart_plan(days: float | None, interval: str | None, now: datetime) -> ChartPlan:
    """CoinGecko's granularity on our tiers (see the module docstring); a forced interval
    covers at most its window (`FORCED`), like CoinGecko's."""
    tier, step_s, most_days = _granularity(days, interval)
    if most_days is not None and (days is None or days > most_days):
        days = most_days
    first = MAX_START if days is None else max(MAX_START, days_before(now, days))
    return ChartPlan(tier, floor_time(first, tier), last_closed(now, tier), step_s)


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """A chart's points (`(close time in s, value)`, oldest first) and the points its plan
    holds after the asset's history floor (`expected`), against which what is lacking is
    counted."""

    prices: list[tuple[int, Decimal]]
    market_caps: list[tuple[int, Decimal]]
    total_volumes: list[tuple[int, Decimal]]
    expected: range

    def lacking(self) -> dict[str, int]:
        """Expected points each array does not have."""
        arrays = {
            "prices": self.prices,
            "market_caps": self.market_caps,
            "total_volumes": self.total_volumes,
        }
        counts = {}
        for name, points in arrays.items():
            have = {t for t, _ in points}
            counts[name] = sum(1 for t in self.expected if t not in have)
        return counts

    def missing_runs(self) -> list[tuple[int, int]]:
        """Runs of consecutive expected price points that are missing: (first, last) s."""
        have = {t for t, _ in self.prices}
        runs: list[tuple[int, int]] = []
        for t in self.expected:
            if t in have:
                continue
            if runs and runs[-1][1] == t - self.expected.step:
                runs[-1] = (runs[-1][0], t)
            else:
                runs.append((t, t))
        return runs


def point_times(plan: ChartPlan, floor: datetime | None) -> range:
    """Close times (s) of the points the plan holds from the history floor on (no
    provider has candles before the floor, so none is missing there)."""
    first_open = plan.start if floor is None else max(plan.start, floor)
    seconds = plan.interval.seconds
    low = int(first_open.timestamp()) + seconds
    high = int(plan.end.timestamp()) + seconds
    first = -(-low // plan.step_s) * plan.step_s
    return range(first, high + 1, plan.step_s)


def _closes(candles: Iterable[Candle], plan: ChartPlan) -> dict[int, Decimal]:
    """Complete candles of the plan's range closing on a point mark: close time -> close."""
    closes = {}
    for candle in candles:
        if candle.partial or not plan.start <= candle.open_time <= plan.end:
            continue
        closed = int((candle.open_time + plan.interval.delta).timestamp())
        if closed % plan.step_s == 0:
            closes[closed] = candle.close
    return closes


def _usd(candle: Candle) -> Decimal | None:
    """A candle's volume in USD (base volume x close), if it is complete and has one."""
    if candle.partial or candle.volume is None:
        return None
    return candle.volume * candle.close


def hourly_usd(hours: Iterable[Candle], minutes: Iterable[Candle] = ()) -> dict[int, Decimal]:
    """USD volume by hour (open time, s): the hourly candle's, else the sum of the hour's 60
    one-minute candles when all of them are stored (an hourly candle may carry no volume:
    CoinGecko's are made from its OHLC, which has none)."""
    usd = {int(c.open_time.timestamp()): v for c in hours if (v := _usd(c)) is not None}
    by_hour: dict[int, list[Decimal]] = {}
    for candle in minutes:
        value = _usd(candle)
        if value is not None:
            opened = int(candle.open_time.timestamp())
            by_hour.setdefault(opened - opened % HOUR_S, []).append(value)
    for hour, values in by_hour.items():
        if hour not in usd and len(values) == HOUR_S // MINUTE_S:
            usd[hour] = sum(values, Decimal(0))
    return usd


def hours_without_volume(plan: ChartPlan, hours: Iterable[Candle]) -> list[datetime]:
    """The hours the points' volumes need (`ChartPlan.reads`) whose hourly candle is
    missing, partial or without a volume, oldest first (none for daily points)."""
    if plan.interval is Interval.D1:
        return []
    _, first, last = plan.reads()[-1]
    usable = {c.open_time for c in hours if _usd(c) is not None}
    count = int((last - first).total_seconds()) // HOUR_S + 1
    return [at for k in range(count) if (at := first + k * Interval.H1.delta) not in usable]


def usd_volumes(
    times: Iterable[int], plan: ChartPlan, candles: Iterable[Candle], minutes: Iterable[Candle] = ()
) -> dict[int, Decimal]:
    """Each point's USD volume over the 24 hours up to it: the candles' base volume x close,
    summed. Daily points: their own candle. Hourly points: the 24 hours up to the point;
    minute points: the 24 up to the last full hour (an hour's volume as in `hourly_usd`). A
    point any of whose hours has no volume gets none (never a sum of part of its window)."""
    if plan.interval is Interval.D1:
        usd = {int(c.open_time.timestamp()): v for c in candles if (v := _usd(c)) is not None}
        return {t: usd[t - DAY_S] for t in times if t - DAY_S in usd}
    usd = hourly_usd(candles, minutes)
    by_hour: dict[int, Decimal | None] = {}
    volumes = {}
    for t in times:
        hour = t - t % HOUR_S
        if hour not in by_hour:
            window = [usd[h] for k in range(1, 25) if (h := hour - k * HOUR_S) in usd]
            by_hour[hour] = sum(window, Decimal(0)) if len(window) == 24 else None
        volume = by_hour[hour]
        if volume is not None:
            volumes[t] = volume
    return volumes


def chart_series(
    plan: ChartPlan,
    candles: Sequence[Candle],
    volume_candles: Sequence[Candle],
    supply: Decimal | None,
    floor: datetime | None,
    *,
    minutes: Sequence[Candle] = (),
) -> ChartSeries:
    """The chart of `plan` (recorded: coins_market_chart.json). A point is a complete
    candle's close at its close time; its market cap is the close x today's circulating
    supply (from the listing: left out when the coin is not listed), its volume as in
    `usd_volumes` from the hourly `volume_candles` and the one-minute `minutes` of hours
    without one (the volume of the exchanges whose candles are stored, not CoinGecko's
    aggregate)."""
    closes = _closes(candles, plan)
    times = sorted(closes)
    volumes = usd_volumes(times, plan, volume_candles, minutes)
    return ChartSeries(
        prices=[(t, closes[t]) for t in times],
        market_caps=[(t, closes[t] * supply) for t in times] if supply else [],
        total_volumes=[(t, volumes[t]) for t in times if t in volumes],
        expected=point_times(plan, floor),
    )


def chart_body(series: ChartSeries, places: int | None = None) -> dict[str, list[list[Any]]]:
    """`prices`, `market_caps`, `total_volumes` as `[ms, value]`, values rounded to
    `places` decimal places (`precision`; None: as computed)."""

    def points(values: list[tuple[int, Decimal]]) -> list[list[Any]]:
        return [[t * 1000, rounded(v, places)] for t, v in values]

    return {
        "prices": points(series.prices),
        "market_caps": points(series.market_caps),
        "total_volumes": points(series.total_volumes),
    }


def _iso_s(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def completeness_headers(series: ChartSeries) -> dict[str, str]:
    """`X-Data-Partial: true|false`; when true, `X-Data-Missing-Points` counts the expected
    points each array lacks (`prices=…, market_caps=…, total_volumes=…`) and
    `X-Data-Missing` lists the runs of missing price points as ISO 8601 intervals of their
    timestamps, oldest first (at most MAX_RUNS_LISTED, then `+N more`)."""
    lacking = series.lacking()
    if not any(lacking.values()):
        return {"X-Data-Partial": "false"}
    headers = {
        "X-Data-Partial": "true",
        "X-Data-Missing-Points": ", ".join(f"{k}={v}" for k, v in lacking.items()),
    }
    runs = series.missing_runs()
    if runs:
        listed = [f"{_iso_s(a)}/{_iso_s(b)}" for a, b in runs[:MAX_RUNS_LISTED]]
        more = len(runs) - MAX_RUNS_LISTED
        headers["X-Data-Missing"] = ", ".join(listed + ([f"+{more} more"] if more > 0 else []))
    return headers
