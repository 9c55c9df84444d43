"""`coins/{id}/market_chart` from stored candles: CoinGecko's granularity on our tiers.

CoinGecko answers `days` up to 1 with 5-minute points, up to 90 with hourly points and
beyond with daily ones (`interval=5m|hourly|daily` forces one). We read them off our candle
tiers: 5-minute points are the 1m candles closing on a 5-minute mark, hourly and daily
points are 1h and 1d candles. Each point is a candle's close at its close time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptoagg.core.candles import floor_time, last_closed
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Candle, Interval
from cryptoagg.core.timespan import days_before

#: CoinGecko's oldest chart data (bitcoin, 2013-04-28): where `days=max` starts
MAX_START = datetime(2013, 4, 28, tzinfo=UTC)
FIVE_MINUTES_S = 300
FIVE_MINUTE_MAX_DAYS = 1
HOURLY_MAX_DAYS = 90


@dataclass(frozen=True, slots=True)
class ChartPlan:
    """Which stored candles answer a chart: open times `start`..`end` of `interval`, one
    point every `step_s` seconds (5-minute points are read off 1-minute candles)."""

    interval: Interval
    start: datetime
    end: datetime
    step_s: int


#: `days`: `max` (any case) or a positive decimal number (digits, at most one point)
DAYS_PATTERN = r"^(?:[Mm][Aa][Xx]|[0-9]*[1-9][0-9]*(?:\.[0-9]+)?|[0-9]*\.[0-9]*[1-9][0-9]*)$"
_DAYS = re.compile(DAYS_PATTERN)
#: `interval`: the granularities that can be forced (empty or absent: automatic)
INTERVALS = ("", "5m", "hourly", "daily")


def parse_days(raw: str) -> float | None:
    """`days` as `DAYS_PATTERN` declares it: a positive number, or `max` (None; so is a
    number too large for a float: all of it)."""
    if _DAYS.fullmatch(raw) is None:
        raise InvalidInput("days must be a positive number or max")
    if raw.lower() == "max":
        return None
    days = float(Decimal(raw))
    return days if math.isfinite(days) else None


def _tier(days: float | None, interval: str | None) -> tuple[Interval, int]:
    span = math.inf if days is None else days
    if interval in (None, ""):
        if span <= FIVE_MINUTE_MAX_DAYS:
            return Interval.M1, FIVE_MINUTES_S
        return (Interval.H1, 3600) if span <= HOURLY_MAX_DAYS else (Interval.D1, 86400)
    if interval == "5m":
        if span > FIVE_MINUTE_MAX_DAYS:
            raise InvalidInput(f"interval=5m covers at most {FIVE_MINUTE_MAX_DAYS} day")
        return Interval.M1, FIVE_MINUTES_S
    if interval == "hourly":
        if span > HOURLY_MAX_DAYS:
            raise InvalidInput(f"interval=hourly covers at most {HOURLY_MAX_DAYS} days")
        return Interval.H1, 3600
    if interval == "daily":
        return Interval.D1, 86400
    raise InvalidInput("interval must be 5m, hourly or daily (or empty for auto)")


def chart_plan(days: float | None, interval: str | None, now: datetime) -> ChartPlan:
    """CoinGecko's granularity on our tiers: up to 1 day 5-minutely (from 1m candles),
    up to 90 days hourly, above that (or `interval=daily`, or `days=max`) daily."""
    tier, step_s = _tier(days, interval)
    first = MAX_START if days is None else max(MAX_START, days_before(now, days))
    return ChartPlan(tier, floor_time(first, tier), last_closed(now, tier), step_s)


def chart_body(
    candles: Sequence[Candle], plan: ChartPlan, supply: Decimal | None
) -> dict[str, list[list[Any]]]:
    """`prices`, `market_caps`, `total_volumes` (recorded: coins_market_chart.json). A point
    is a candle's close at its close time, in ms. Market cap is close x circulating supply
    (today's supply, from the listing); null when the coin is not listed. Our candles carry
    one exchange's volume in the base asset, not CoinGecko's aggregate 24h USD volume, so
    volumes are null. The three arrays always have the same timestamps."""
    points: list[tuple[int, Decimal]] = []
    for candle in candles:
        closed = candle.open_time + plan.interval.delta
        seconds = int(closed.timestamp())
        if seconds % plan.step_s == 0:
            points.append((seconds * 1000, candle.close))
    return {
        "prices": [[ms, close] for ms, close in points],
        "market_caps": [[ms, close * supply if supply else None] for ms, close in points],
        "total_volumes": [[ms, None] for ms, _ in points],
    }
