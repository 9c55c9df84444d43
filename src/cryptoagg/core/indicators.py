"""Technical indicators over a price series: pure functions on floats.

Prices arrive as `Decimal` and are converted once, by the caller, to `float`: indicators are
statistics of prices, not amounts of money. Binary floating point carries 15-16 significant
digits, far beyond what an RSI or a Bollinger band means, and the square roots and logarithms
of volatility are float operations anyway; nothing here is ever summed back into a balance.

Series functions return one value per input value, `None` until the indicator has enough
input (its warm-up), so index `i` of every series belongs to input `i`. The conventions are
the usual ones (Wilder, Appel, Bollinger; TA-Lib and StockCharts compute the same):

- SMA(n): the mean of the last n values.
- EMA(n): seeded with the SMA of the first n values, then `e += (x - e) * 2 / (n + 1)`.
- RSI(n): Wilder's: the first average gain and loss are plain means of the first n changes,
  then `avg = (avg * (n - 1) + current) / n`; RSI = 100 - 100 / (1 + gain / loss).
- MACD(f, s, g): EMA(f) - EMA(s); its signal is the EMA(g) of the MACD line (seeded with the
  SMA of the first g MACD values); histogram = MACD - signal.
- Bollinger(n, k): SMA(n) ± k population standard deviations of the same n values.
- Volatility: the sample standard deviation of log returns, times sqrt(periods per year).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Series = list[float | None]


def _check_period(period: int) -> None:
    if period < 1:
        raise ValueError(f"period must be at least 1, got {period}")


def sma(values: Sequence[float], period: int) -> Series:
    """Simple moving average; defined from index `period - 1`."""
    _check_period(period)
    out: Series = [None] * len(values)
    for i in range(period - 1, len(values)):
        # each window summed afresh (fsum: exactly rounded), not a running total that
        # accumulates rounding over a long series
        out[i] = math.fsum(values[i - period + 1 : i + 1]) / period
    return out


def ema(values: Sequence[float], period: int) -> Series:
    """Exponential moving average seeded with the SMA of the first `period` values."""
    _check_period(period)
    out: Series = [None] * len(values)
    if len(values) < period:
        return out
    alpha = 2.0 / (period + 1)
    current = math.fsum(values[:period]) / period
    out[period - 1] = current
    for i in range(period, len(values)):
        current += (values[i] - current) * alpha
        out[i] = current
    return out


def _defined(series: Series) -> tuple[int, list[float]]:
    """The index of the first defined value and the defined tail (warm-ups are leading)."""
    first = next((i for i, v in enumerate(series) if v is not None), len(series))
    return first, [v for v in series[first:] if v is not None]


def rsi(values: Sequence[float], period: int = 14) -> Series:
    """Wilder's relative strength index; defined from index `period`."""
    _check_period(period)
    out: Series = [None] * len(values)
    if len(values) <= period:
        return out
    changes = [values[i] - values[i - 1] for i in range(1, len(values))]
    gain = math.fsum(max(c, 0.0) for c in changes[:period]) / period
    loss = math.fsum(max(-c, 0.0) for c in changes[:period]) / period
    out[period] = _rsi_value(gain, loss)
    for i in range(period, len(changes)):
        change = changes[i]
        gain = (gain * (period - 1) + max(change, 0.0)) / period
        loss = (loss * (period - 1) + max(-change, 0.0)) / period
        out[i + 1] = _rsi_value(gain, loss)
    return out


def _rsi_value(gain: float, loss: float) -> float:
    if loss == 0.0:
        return 50.0 if gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


@dataclass(frozen=True, slots=True)
class Macd:
    line: Series
    signal: Series
    histogram: Series


def macd(values: Sequence[float], fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:
    """MACD line, signal line and histogram; the signal is defined from index
    `slow + signal - 2` (33 for 12/26/9)."""
    if not fast < slow:
        raise ValueError(f"the fast period ({fast}) must be shorter than the slow ({slow})")
    fast_ema, slow_ema = ema(values, fast), ema(values, slow)
    line: Series = [
        f - s if f is not None and s is not None else None
        for f, s in zip(fast_ema, slow_ema, strict=True)
    ]
    first, defined = _defined(line)
    signal_line: Series = [None] * first
    signal_line.extend(ema(defined, signal))
    histogram: Series = [
        m - s if m is not None and s is not None else None
        for m, s in zip(line, signal_line, strict=True)
    ]
    return Macd(line, signal_line, histogram)


@dataclass(frozen=True, slots=True)
class Bands:
    middle: float
    upper: float
    lower: float
    stdev: float

    @property
    def bandwidth(self) -> float | None:
        """(upper - lower) / middle: the band's width relative to the price."""
        return (self.upper - self.lower) / self.middle if self.middle else None

    def percent_b(self, price: float) -> float | None:
        """Where `price` sits in the band: 0 at the lower band, 1 at the upper."""
        width = self.upper - self.lower
        return (price - self.lower) / width if width else None


def bollinger(values: Sequence[float], period: int = 20, k: float = 2.0) -> Bands | None:
    """Bollinger bands of the last `period` values (population standard deviation, as
    Bollinger defined them); None with fewer values."""
    _check_period(period)
    if len(values) < period:
        return None
    window = values[-period:]
    middle = math.fsum(window) / period
    stdev = math.sqrt(math.fsum((v - middle) ** 2 for v in window) / period)
    return Bands(middle, middle + k * stdev, middle - k * stdev, stdev)


def log_returns(values: Sequence[float]) -> list[float]:
    """ln(p[i] / p[i-1]) for each consecutive pair (prices must be positive)."""
    return [math.log(values[i] / values[i - 1]) for i in range(1, len(values))]


def stdev(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n - 1); None with fewer than two values."""
    if len(values) < 2:
        return None
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


@dataclass(frozen=True, slots=True)
class Volatility:
    per_period: float
    annualised: float
    returns: int


def volatility(values: Sequence[float], periods_per_year: float) -> Volatility | None:
    """Standard deviation of the log returns of `values`, per period and annualised by
    sqrt(periods_per_year); None with fewer than three prices."""
    returns = log_returns(values)
    spread = stdev(returns)
    if spread is None:
        return None
    return Volatility(spread, spread * math.sqrt(periods_per_year), len(returns))


@dataclass(frozen=True, slots=True)
class Level:
    price: float
    touches: int
    #: index of the newest swing point in this level
    last_index: int


def swing_points(
    highs: Sequence[float], lows: Sequence[float], span: int = 2
) -> tuple[list[int], list[int]]:
    """Indexes of swing highs and swing lows: a high above the `span` highs before it and
    not below the `span` after it (the first of equal highs counts), lows mirrored."""
    tops, bottoms = [], []
    for i in range(span, len(highs) - span):
        before, after = range(i - span, i), range(i + 1, i + span + 1)
        if all(highs[i] > highs[j] for j in before) and all(highs[i] >= highs[j] for j in after):
            tops.append(i)
        if all(lows[i] < lows[j] for j in before) and all(lows[i] <= lows[j] for j in after):
            bottoms.append(i)
    return tops, bottoms


def cluster_levels(points: Sequence[tuple[int, float]], tolerance: float) -> list[Level]:
    """Group (index, price) points whose prices lie within `tolerance` (a fraction) of the
    group's first price; each group becomes one level at its mean price, sorted by price."""
    levels: list[Level] = []
    group: list[tuple[int, float]] = []
    for point in sorted(points, key=lambda p: p[1]):
        if group and point[1] > group[0][1] * (1 + tolerance):
            levels.append(_level(group))
            group = []
        group.append(point)
    if group:
        levels.append(_level(group))
    return levels


def _level(group: list[tuple[int, float]]) -> Level:
    price = math.fsum(p for _, p in group) / len(group)
    return Level(price, len(group), max(i for i, _ in group))
