"""The analysis composed from the indicators: periods, warm-ups, levels, trend, method."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cryptoagg.core import indicators as ind
from cryptoagg.core.analysis import MIN_CANDLES, analyse, method
from cryptoagg.core.errors import InvalidInput, NotEnoughCandles
from cryptoagg.core.models import Candle, Interval

START = datetime(2025, 1, 1, tzinfo=UTC)


def candles(closes: Sequence[float], interval: Interval = Interval.D1) -> list[Candle]:
    return [
        Candle(
            asset_id="bitcoin",
            interval=interval,
            open_time=START + interval.delta * i,
            open=Decimal(str(c)),
            high=Decimal(str(c)) + 1,
            low=Decimal(str(c)) - 1,
            close=Decimal(str(c)),
            volume=None,
            provider="test",
        )
        for i, c in enumerate(closes)
    ]


def test_a_rising_market_is_an_uptrend_with_every_indicator_filled() -> None:
    closes = [100 + t + 3 * math.sin(t / 3) for t in range(120)]
    result = analyse("bitcoin", Interval.D1, candles(closes), 120)
    assert (result["candles"], result["window"], result["close"]) == (120, 120, closes[-1])
    assert result["first"] == "2025-01-01T00:00:00Z"
    assert result["last"] == (START + timedelta(days=119)).isoformat().replace("+00:00", "Z")
    got = result["indicators"]
    assert got["sma"]["20"] == pytest.approx(sum(closes[-20:]) / 20)
    assert got["sma"]["50"] == pytest.approx(sum(closes[-50:]) / 50)
    assert got["sma"]["200"] is None  # the window is shorter than the period
    assert got["ema"]["12"] == pytest.approx(ind.ema(closes, 12)[-1])
    assert got["rsi"]["value"] == pytest.approx(ind.rsi(closes, 14)[-1])
    assert got["macd"]["histogram"] == pytest.approx(got["macd"]["line"] - got["macd"]["signal"])
    assert got["volatility"]["periods_per_year"] == 365
    assert got["volatility"]["returns"] == 119
    assert got["bollinger"]["upper"] > got["bollinger"]["middle"] > got["bollinger"]["lower"]
    assert result["trend"]["label"] == "uptrend"
    assert result["trend"]["score"] >= 2


def test_a_falling_market_is_a_downtrend_and_oversold() -> None:
    closes = [500 - 2 * t for t in range(80)]
    result = analyse("bitcoin", Interval.H1, candles(closes, Interval.H1), 80)
    # a straight line: the MACD histogram is exactly 0 (both EMAs lag by constants)
    assert result["trend"] == {
        "label": "downtrend",
        "score": -2,
        "signals": {"close_vs_sma50": -1, "sma20_vs_sma50": -1, "macd_histogram": 0},
    }
    assert result["indicators"]["rsi"] == {"period": 14, "value": 0.0, "state": "oversold"}
    assert result["indicators"]["volatility"]["periods_per_year"] == 8760
    assert result["levels"]["support"] == []  # no swing low below a straight fall
    assert result["levels"]["range_low"] == closes[-1] - 1


def test_levels_are_the_nearest_swing_clusters_on_each_side() -> None:
    # a saw between 90 and 110 (swing lows at 90, highs at 110), ending at 100
    saw = [100, 105, 110, 105, 100, 95, 90, 95]
    closes = [*(saw * 8)[: MIN_CANDLES + 4], 100.0]
    result = analyse("bitcoin", Interval.D1, candles(closes), len(closes))
    levels = result["levels"]
    # the candles' highs and lows are close +/- 1
    assert [lv["price"] for lv in levels["resistance"]] == [111.0]
    assert [lv["price"] for lv in levels["support"]] == [89.0]
    assert levels["resistance"][0]["touches"] == len([c for c in closes[2:-2] if c == 110])
    assert levels["support"][0]["last_seen"] == "2025-02-16T00:00:00Z"  # index 46: the last 90
    assert result["trend"]["label"] == "sideways"


def test_too_few_candles_says_how_many() -> None:
    with pytest.raises(NotEnoughCandles) as info:
        analyse("bitcoin", Interval.D1, candles([1.0] * 49), 200)
    assert (info.value.needed, info.value.available) == (MIN_CANDLES, 49)
    assert "needs at least 50 closed candles; 49 are available" in info.value.message
    assert info.value.code == "not_enough_candles"


def test_a_non_positive_close_is_refused() -> None:
    closes = [10.0] * 60
    rows = candles(closes)
    rows[10] = rows[10].model_copy(update={"close": Decimal(0), "low": Decimal(0)})
    with pytest.raises(InvalidInput, match="positive"):
        analyse("bitcoin", Interval.D1, rows, 60)


def test_method_names_every_parameter() -> None:
    text = method(Interval.H1)
    assert set(text) >= {"sma", "ema", "rsi", "macd", "bollinger", "volatility", "levels"}
    assert "sqrt(8760)" in text["volatility"]
    assert "Wilder RSI(14)" in text["rsi"]
    assert "MACD(12,26,9)" in text["macd"]
    assert "Bollinger(20,2)" in text["bollinger"]
    assert "population" in text["bollinger"]
    assert "close of each closed 1h candle" in text["price"]
    assert "sqrt(365)" in method(Interval.D1)["volatility"]


def test_partial_rollups_are_left_out() -> None:
    """A day rolled up from 16 of its 24 hours says nothing reliable about that day: the
    analysis is that of the other candles, and counts only them."""
    closes = [100 + t + 3 * math.sin(t / 3) for t in range(80)]
    rows = candles(closes)
    # the first and a middle day: partial rollups with a wild close
    for i in (0, 40):
        rows[i] = rows[i].model_copy(
            update={"close": Decimal(1), "provider": "rollup", "partial": True, "sub_candles": 16}
        )
    result = analyse("bitcoin", Interval.D1, rows, 80)
    without = analyse(
        "bitcoin", Interval.D1, [r for i, r in enumerate(rows) if i not in (0, 40)], 80
    )
    assert result == without
    assert result["candles"] == 78 and result["first"] == "2025-01-02T00:00:00Z"
    assert result["indicators"]["volatility"]["returns"] == 77
    assert "partial rollup" in result["method"]["price"]
    # too few complete candles is too few, whatever else is stored
    plain = candles(closes[:50])
    partial = [r.model_copy(update={"partial": True}) for r in plain[:10]]
    with pytest.raises(NotEnoughCandles) as info:
        analyse("bitcoin", Interval.D1, partial + plain[10:], 50)
    assert info.value.available == 40
