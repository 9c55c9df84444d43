"""Pure candle arithmetic: period alignment, gap detection, chunking and rollups.

Times are aware UTC datetimes aligned to their interval (a 1h candle opens on the hour, a 1d
candle at 00:00 UTC). Ranges are closed: `[start, end]` holds every open time from `start` to
`end` inclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from cryptoagg.core.models import Candle, Interval, from_unix

ROLLUP_SOURCE = "rollup"

#: which finer tier each coarser tier is rolled up from
ROLLUP_FROM = {Interval.H1: Interval.M1, Interval.D1: Interval.H1}


def sub_candles_per(interval: Interval, finer: Interval | None = None) -> int:
    """How many `finer` candles (by default the tier it is rolled up from) one `interval`
    period holds: 60 minutes in an hour, 24 hours in a day (UTC days have no DST)."""
    return interval.seconds // (finer or ROLLUP_FROM[interval]).seconds


def complete(rows: Iterable[Candle]) -> list[Candle]:
    """`rows` without partial rollups: what an analysis may compute on."""
    return [c for c in rows if not c.partial]


def floor_time(at: datetime, interval: Interval) -> datetime:
    """The open time of the `interval` period containing `at`."""
    seconds = int(at.timestamp())
    return from_unix(seconds - seconds % interval.seconds)


def last_closed(now: datetime, interval: Interval) -> datetime:
    """The open time of the newest period that has ended by `now`."""
    return floor_time(now, interval) - interval.delta


@dataclass(frozen=True, slots=True)
class Span:
    """Open times `start` to `end` inclusive, every `interval`."""

    interval: Interval
    start: datetime
    end: datetime

    @property
    def count(self) -> int:
        return int((self.end - self.start).total_seconds()) // self.interval.seconds + 1


def missing_spans(
    stored: Iterable[datetime], interval: Interval, start: datetime, end: datetime
) -> list[Span]:
    """The runs of open times in `[start, end]` (aligned outward) that `stored` lacks."""
    step = interval.seconds
    first = int(floor_time(start, interval).timestamp())
    last = int(floor_time(end, interval).timestamp())
    have = {int(t.timestamp()) for t in stored}
    spans: list[Span] = []
    run_start: int | None = None
    for ts in range(first, last + step, step):
        if ts in have:
            if run_start is not None:
                spans.append(Span(interval, from_unix(run_start), from_unix(ts - step)))
                run_start = None
        elif run_start is None:
            run_start = ts
    if run_start is not None:
        spans.append(Span(interval, from_unix(run_start), from_unix(last)))
    return spans


def chunks(span: Span, size: int) -> Iterator[Span]:
    """`span` cut into consecutive spans of at most `size` candles, oldest first."""
    step = span.interval.delta * size
    start = span.start
    while start <= span.end:
        end = min(start + step - span.interval.delta, span.end)
        yield Span(span.interval, start, end)
        start = end + span.interval.delta


def aggregate(
    rows: Sequence[Candle], interval: Interval, source: str = ROLLUP_SOURCE
) -> list[Candle]:
    """Roll finer candles (sorted by open time, one asset) up into `interval` candles.

    open = first open, close = last close, high = max, low = min, volume = sum of the known
    volumes (None when none is known). A period with only some of its finer candles (the
    current hour, or a gap) still gets a candle from what is there, marked `partial`.
    `sub_candles` counts the complete finer candles (a partial finer rollup does not count),
    so a rollup is complete exactly when every finer candle of its period is stored and
    complete: 60 minutes for an hour, 24 complete hours for a day.
    """
    out: list[Candle] = []
    group: list[Candle] = []
    for candle in rows:
        if group and floor_time(candle.open_time, interval) != floor_time(
            group[0].open_time, interval
        ):
            out.append(_merge(group, interval, source))
            group = []
        group.append(candle)
    if group:
        out.append(_merge(group, interval, source))
    return out


def _merge(group: list[Candle], interval: Interval, source: str) -> Candle:
    opens = floor_time(group[0].open_time, interval)
    volumes = [c.volume for c in group if c.volume is not None]
    whole = len({c.open_time for c in group if not c.partial})
    return Candle(
        asset_id=group[0].asset_id,
        interval=interval,
        open_time=opens,
        open=group[0].open,
        high=max(c.high for c in group),
        low=min(c.low for c in group),
        close=group[-1].close,
        volume=sum(volumes, Decimal(0)) if volumes else None,
        provider=source,
        partial=whole < sub_candles_per(interval, group[0].interval),
        sub_candles=whole,
    )
