"""Market analysis of one asset's closed candles: indicators, levels, trend, and the method.

`analyse` is pure: candles in, a JSON-ready dict out (floats, ISO-8601 UTC times). The dict
carries `method`, which states how every number was computed (periods, price field,
annualisation), so a stored analysis explains itself. Bump `METHOD_VERSION` whenever a
formula or parameter changes: stored analyses of another version are not reused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptoagg.core import indicators as ind
from cryptoagg.core.candles import complete
from cryptoagg.core.errors import InvalidInput, NotEnoughCandles
from cryptoagg.core.models import Candle, Interval

#: v2: partial rollups (periods with some finer candles missing) are left out
METHOD_VERSION = "indicators-v2"

SMA_PERIODS = (20, 50, 200)
EMA_PERIODS = (12, 26, 50)
RSI_PERIOD = 14
RSI_OVERBOUGHT, RSI_OVERSOLD = 70.0, 30.0
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BOLLINGER_PERIOD, BOLLINGER_K = 20, 2.0
SWING_SPAN = 2
LEVEL_TOLERANCE = 0.01
LEVELS_EACH_SIDE = 3
#: the trend compares the close with SMA(50) and needs it defined; MACD(12,26,9) needs 34
MIN_CANDLES = 50

#: crypto markets trade every day of the year, around the clock
PERIODS_PER_YEAR = {Interval.M1: 365 * 24 * 60, Interval.H1: 365 * 24, Interval.D1: 365}


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _last(series: ind.Series) -> float | None:
    return series[-1] if series else None


def _sign(value: float, scale: float) -> int:
    """-1, 0 or 1; differences within float noise of `scale` (the price) count as 0."""
    if abs(value) <= abs(scale) * 1e-9:
        return 0
    return 1 if value > 0 else -1


def method(interval: Interval) -> dict[str, str]:
    """How each figure is computed, in words, with its parameters."""
    per_year = PERIODS_PER_YEAR[interval]
    sma = ", ".join(map(str, SMA_PERIODS))
    ema = ", ".join(map(str, EMA_PERIODS))
    return {
        "version": METHOD_VERSION,
        "price": f"close of each closed {interval.value} candle (UTC), oldest first; the "
        "current, unfinished period is left out, and so is a partial rollup (a candle "
        "aggregated from finer candles some of which are missing)",
        "arithmetic": "IEEE-754 double precision; prices are converted once from their exact "
        "decimal values",
        "sma": f"SMA(N) = mean of the last N closes, N = {sma}; null when the window has "
        "fewer than N candles",
        "ema": f"EMA(N), N = {ema}: seeded with the SMA of the first N closes, then "
        "ema += (close - ema) * 2 / (N + 1); null when the window has fewer than N candles",
        "rsi": f"Wilder RSI({RSI_PERIOD}): first average gain and loss = means of the first "
        f"{RSI_PERIOD} close-to-close changes, then avg = (avg * {RSI_PERIOD - 1} + current) / "
        f"{RSI_PERIOD}; RSI = 100 - 100 / (1 + avg gain / avg loss); overbought at "
        f">= {RSI_OVERBOUGHT:g}, oversold at <= {RSI_OVERSOLD:g}",
        "macd": f"MACD({MACD_FAST},{MACD_SLOW},{MACD_SIGNAL}): line = EMA({MACD_FAST}) - "
        f"EMA({MACD_SLOW}) of closes; signal = EMA({MACD_SIGNAL}) of the line, seeded with "
        f"the SMA of its first {MACD_SIGNAL} values; histogram = line - signal",
        "bollinger": f"Bollinger({BOLLINGER_PERIOD},{BOLLINGER_K:g}): middle = SMA"
        f"({BOLLINGER_PERIOD}); upper/lower = middle +/- {BOLLINGER_K:g} population standard "
        f"deviations of the last {BOLLINGER_PERIOD} closes; bandwidth = (upper - lower) / "
        "middle; percent_b = (close - lower) / (upper - lower)",
        "volatility": "sample standard deviation (n - 1) of the log returns ln(close[i] / "
        f"close[i-1]) over the window; annualised = per_period * sqrt({per_year}) "
        f"({interval.value} periods in a 365-day year: crypto trades around the clock)",
        "levels": f"swing points: a high above the {SWING_SPAN} highs before it and not below "
        f"the {SWING_SPAN} after it (lows mirrored); swing prices within "
        f"{LEVEL_TOLERANCE:.0%} of each other form one level (mean price, touches = swing "
        f"count); resistance = levels above the last close, support = below, the "
        f"{LEVELS_EACH_SIDE} nearest each; range = highest high and lowest low of the window",
        "trend": "score = sign(close - SMA50) + sign(SMA20 - SMA50) + sign(MACD histogram); "
        "uptrend at >= 2, downtrend at <= -2, otherwise sideways",
    }


def _levels(candles: Sequence[Candle], close: float) -> dict[str, Any]:
    highs = [float(c.high) for c in candles]
    lows = [float(c.low) for c in candles]
    tops, bottoms = ind.swing_points(highs, lows, SWING_SPAN)
    points = [(i, highs[i]) for i in tops] + [(i, lows[i]) for i in bottoms]
    levels = ind.cluster_levels(points, LEVEL_TOLERANCE)

    def row(level: ind.Level) -> dict[str, Any]:
        seen = candles[level.last_index].open_time
        return {"price": level.price, "touches": level.touches, "last_seen": _iso(seen)}

    above = sorted((lv for lv in levels if lv.price > close), key=lambda lv: lv.price)
    below = sorted((lv for lv in levels if lv.price < close), key=lambda lv: -lv.price)
    return {
        "support": [row(lv) for lv in below[:LEVELS_EACH_SIDE]],
        "resistance": [row(lv) for lv in above[:LEVELS_EACH_SIDE]],
        "range_high": max(highs),
        "range_low": min(lows),
    }


def _trend(close: float, sma20: float, sma50: float, histogram: float) -> dict[str, Any]:
    signals = {
        "close_vs_sma50": _sign(close - sma50, close),
        "sma20_vs_sma50": _sign(sma20 - sma50, close),
        "macd_histogram": _sign(histogram, close),
    }
    score = sum(signals.values())
    label = "uptrend" if score >= 2 else "downtrend" if score <= -2 else "sideways"
    return {"label": label, "score": score, "signals": signals}


def _rsi_state(value: float) -> str:
    if value >= RSI_OVERBOUGHT:
        return "overbought"
    if value <= RSI_OVERSOLD:
        return "oversold"
    return "neutral"


def analyse(
    asset_id: str, interval: Interval, candles: Sequence[Candle], window: int
) -> dict[str, Any]:
    """Indicators, levels and trend of `candles` (closed, one asset, oldest first); partial
    rollups among them are left out."""
    candles = complete(candles)
    if len(candles) < MIN_CANDLES:
        raise NotEnoughCandles(asset_id, interval.value, MIN_CANDLES, len(candles))
    closes = [float(c.close) for c in candles]
    if any(not math.isfinite(c) or c <= 0 for c in closes):
        raise InvalidInput(f"{asset_id}: a stored close is not a positive price")
    close = closes[-1]
    sma = {p: _last(ind.sma(closes, p)) if len(closes) >= p else None for p in SMA_PERIODS}
    ema = {p: _last(ind.ema(closes, p)) if len(closes) >= p else None for p in EMA_PERIODS}
    rsi = _last(ind.rsi(closes, RSI_PERIOD))
    macd = ind.macd(closes, MACD_FAST, MACD_SLOW, MACD_SIGNAL)
    line, signal, histogram = _last(macd.line), _last(macd.signal), _last(macd.histogram)
    bands = ind.bollinger(closes, BOLLINGER_PERIOD, BOLLINGER_K)
    vol = ind.volatility(closes, PERIODS_PER_YEAR[interval])
    # MIN_CANDLES covers every warm-up, so these are defined
    assert rsi is not None and line is not None and signal is not None
    assert histogram is not None and bands is not None and vol is not None
    sma20, sma50 = sma[20], sma[50]
    assert sma20 is not None and sma50 is not None
    return {
        "asset_id": asset_id,
        "interval": interval.value,
        "window": window,
        "candles": len(candles),
        "first": _iso(candles[0].open_time),
        "last": _iso(candles[-1].open_time),
        "close": close,
        "indicators": {
            "sma": {str(p): v for p, v in sma.items()},
            "ema": {str(p): v for p, v in ema.items()},
            "rsi": {"period": RSI_PERIOD, "value": rsi, "state": _rsi_state(rsi)},
            "macd": {"line": line, "signal": signal, "histogram": histogram},
            "bollinger": {
                "middle": bands.middle,
                "upper": bands.upper,
                "lower": bands.lower,
                "bandwidth": bands.bandwidth,
                "percent_b": bands.percent_b(close),
            },
            "volatility": {
                "per_period": vol.per_period,
                "annualised": vol.annualised,
                "periods_per_year": PERIODS_PER_YEAR[interval],
                "returns": vol.returns,
            },
        },
        "levels": _levels(candles, close),
        "trend": _trend(close, sma20, sma50, histogram),
        "method": method(interval),
    }
