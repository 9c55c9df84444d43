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

This module plans a chart (granularity, which candles to read); `chart_series.py` makes its
points and counts what they lack, `chart_volumes.py` computes the USD volumes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptoagg.core.candles import floor_time, last_closed
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Interval
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
