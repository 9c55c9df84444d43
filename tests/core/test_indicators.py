"""Indicators against published reference values and hand-computed ones."""

from __future__ import annotations

import math

import pytest

from cryptoagg.core import indicators as ind

# StockCharts ChartSchool, "Moving Averages": 10-day EMA of these closes (two decimals)
EMA_CLOSES = [
    22.27, 22.19, 22.08, 22.17, 22.18, 22.13, 22.23, 22.43, 22.24, 22.29,
    22.15, 22.39, 22.38, 22.61, 23.36, 24.05, 23.75, 23.83, 23.95, 23.63,
    23.82, 23.87, 23.65, 23.19, 23.10, 23.33, 22.68, 23.10, 22.40, 22.17,
]  # fmt: skip
EMA_10 = [
    22.22, 22.21, 22.24, 22.27, 22.33, 22.52, 22.80, 22.97, 23.13, 23.28, 23.34,
    23.43, 23.51, 23.53, 23.47, 23.40, 23.39, 23.26, 23.23, 23.08, 22.92,
]  # fmt: skip

# StockCharts ChartSchool, "Relative Strength Index": Wilder's RSI(14). StockCharts' table
# rounds its running averages to two decimals (first RSI 70.53); these are the unrounded
# values TA-Lib and the other references compute from the same closes.
RSI_CLOSES = [
    44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89,
    46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25,
    45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13,
]  # fmt: skip
RSI_14 = [
    70.46, 66.25, 66.48, 69.35, 66.29, 57.92, 62.88, 63.21, 56.01, 62.34,
    54.67, 50.39, 40.02, 41.49, 41.90, 45.50, 37.32, 33.09, 37.79,
]  # fmt: skip


def test_sma_is_the_mean_of_the_last_n_values() -> None:
    assert ind.sma([11, 12, 13, 14, 15, 16, 17], 5) == [None, None, None, None, 13, 14, 15]
    assert ind.sma(EMA_CLOSES[:10], 10)[-1] == pytest.approx(22.221, abs=1e-12)
    assert ind.sma([1.0, 2.0], 3) == [None, None]


def test_ema_matches_the_stockcharts_reference() -> None:
    series = ind.ema(EMA_CLOSES, 10)
    assert series[:9] == [None] * 9
    assert [round(v, 2) for v in series[9:] if v is not None] == EMA_10
    # the seed is the SMA; the first step is exact arithmetic
    assert series[9] == pytest.approx(22.221)
    assert series[10] == pytest.approx(22.221 + (22.15 - 22.221) * 2 / 11)


def test_rsi_matches_wilders_worked_example() -> None:
    series = ind.rsi(RSI_CLOSES, 14)
    assert series[:14] == [None] * 14
    assert [round(v, 2) for v in series[14:] if v is not None] == RSI_14
    # first averages: gains 3.34 / 14 and losses 1.40 / 14 (summed by hand)
    assert series[14] == pytest.approx(100 - 100 / (1 + 3.34 / 1.40), abs=1e-9)


def test_rsi_edges() -> None:
    assert ind.rsi(list(range(1, 20)), 14)[-1] == 100.0  # gains only
    assert ind.rsi(list(range(20, 1, -1)), 14)[-1] == 0.0  # losses only
    assert ind.rsi([5.0] * 20, 14)[-1] == 50.0  # no change at all
    assert ind.rsi([1.0] * 14, 14) == [None] * 14  # 13 changes: not enough


def test_macd_of_a_straight_line_is_the_lag_difference() -> None:
    # an SMA-seeded EMA(n) of x_t = a + b*t lags exactly (n - 1) / 2 periods at every
    # point, so MACD(12, 26) = b * (26 - 12) / 2 = 7b, its signal 7b, histogram 0
    closes = [100 + 2.5 * t for t in range(60)]
    result = ind.macd(closes, 12, 26, 9)
    assert result.line[24] is None and result.line[25] == pytest.approx(17.5)
    assert result.signal[32] is None and result.signal[33] == pytest.approx(17.5)
    assert result.line[-1] == pytest.approx(17.5)
    assert result.histogram[-1] == pytest.approx(0.0, abs=1e-9)


def test_macd_small_periods_by_hand() -> None:
    # MACD(2, 3, 2) of 1, 2, 4, 8, 16:
    #   EMA2 (alpha 2/3): -, 1.5, 3.1667, 6.3889, 12.7963
    #   EMA3 (alpha 1/2): -, -, 2.3333, 5.1667, 10.5833
    #   line: 0.8333, 1.2222, 2.2130; signal (EMA2 seeded with the SMA of 2): 1.02778, 1.81790
    result = ind.macd([1, 2, 4, 8, 16], 2, 3, 2)
    assert result.line[:2] == [None, None]
    line = [v for v in result.line if v is not None]
    assert line == pytest.approx([5 / 6, 11 / 9, 239 / 108])
    first_signal = (5 / 6 + 11 / 9) / 2
    assert result.signal[3] == pytest.approx(first_signal)
    assert result.signal[4] == pytest.approx(first_signal + (239 / 108 - first_signal) * 2 / 3)
    assert result.histogram[4] == pytest.approx(239 / 108 - result.signal[4])  # type: ignore[operator]
    with pytest.raises(ValueError, match="shorter"):
        ind.macd([1.0] * 40, 26, 12)


def test_bollinger_uses_the_population_deviation() -> None:
    bands = ind.bollinger([float(v) for v in range(1, 21)], 20, 2.0)
    assert bands is not None
    sigma = math.sqrt((20**2 - 1) / 12)  # population variance of 1..n is (n^2 - 1) / 12
    assert bands.middle == 10.5
    assert bands.stdev == pytest.approx(sigma)
    assert (bands.upper, bands.lower) == pytest.approx((10.5 + 2 * sigma, 10.5 - 2 * sigma))
    assert bands.percent_b(10.5) == pytest.approx(0.5)
    assert bands.percent_b(bands.upper) == pytest.approx(1.0)
    assert bands.bandwidth == pytest.approx(4 * sigma / 10.5)
    assert ind.bollinger([1.0] * 19, 20) is None
    flat = ind.bollinger([3.0] * 20, 20)
    assert flat is not None and flat.percent_b(3.0) is None


def test_volatility_of_alternating_returns() -> None:
    # log returns +r, -r, +r, -r: mean 0, sample variance 4r^2 / 3
    r = 0.02
    up = math.exp(r)
    closes = [100.0, 100.0 * up, 100.0, 100.0 * up, 100.0]
    vol = ind.volatility(closes, 365)
    assert vol is not None and vol.returns == 4
    assert vol.per_period == pytest.approx(r * math.sqrt(4 / 3))
    assert vol.annualised == pytest.approx(r * math.sqrt(4 / 3) * math.sqrt(365))
    assert ind.volatility([100.0, 101.0], 365) is None  # one return has no deviation


def test_swing_points_and_levels() -> None:
    highs = [10, 11, 15, 12, 11, 12, 13, 15.1, 13, 12, 11]
    lows = [9, 8, 10, 7, 8, 9, 6.95, 9, 8, 7, 10]
    tops, bottoms = ind.swing_points(highs, lows, span=2)
    assert tops == [2, 7]
    assert bottoms == [3, 6]
    # 15 and 15.1 are within 1% of each other: one level with two touches; 7 and 6.95 too
    levels = ind.cluster_levels(
        [(i, highs[i]) for i in tops] + [(i, lows[i]) for i in bottoms], 0.01
    )
    assert [(lv.price, lv.touches, lv.last_index) for lv in levels] == [
        pytest.approx((6.975, 2, 6)),
        pytest.approx((15.05, 2, 7)),
    ]
    assert ind.cluster_levels([(0, 100.0), (1, 102.0)], 0.01) == [
        ind.Level(100.0, 1, 0),
        ind.Level(102.0, 1, 1),
    ]


def test_equal_highs_count_once() -> None:
    tops, _ = ind.swing_points([1, 2, 5, 5, 2, 1, 0], [0] * 7, span=2)
    assert tops == [2]


def test_periods_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ind.sma([1.0], 0)
