"""The points of `coins/{id}/market_chart` and what they lack.

A point is a complete candle's close at its close time (a partial rollup is a missing point,
not a value); its market cap is the close x today's circulating supply, its volume is
`chart_volumes.py`'s. What the answer lacks against the points its plan holds after the
asset's history floor is told in headers (`completeness_headers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptoagg.api.coingecko.chart import ChartPlan
from cryptoagg.api.coingecko.chart_volumes import usd_volumes
from cryptoagg.api.coingecko.shapes import rounded
from cryptoagg.core.models import Candle

#: `X-Data-Missing` lists at most this many runs of missing points
MAX_RUNS_LISTED = 10


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
