"""USD volumes of `coins/{id}/market_chart` points, computed from stored candles.

A point's volume is the trading volume of the 24 hours up to it in USD: each candle's base
volume x its close, summed. It is the volume of the exchanges whose candles are stored, not
CoinGecko's all-market aggregate, and a point any of whose hours has no volume gets none
(never a sum of part of its window).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from cryptoagg.api.coingecko.chart import DAY_S, HOUR_S, MINUTE_S, ChartPlan
from cryptoagg.core.models import Candle, Interval


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
