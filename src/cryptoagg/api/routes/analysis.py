"""`/api/analysis/{symbol}`: indicators, support/resistance levels and trend, with method."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.render import iso, render
from cryptoagg.api.routes.symbols import SYMBOL_PATTERN
from cryptoagg.core.analysis import MIN_CANDLES, method
from cryptoagg.core.assets import Asset
from cryptoagg.core.models import Interval
from cryptoagg.services.analysis import AnalysisReport

router = APIRouter(prefix="/api", tags=["analysis"])

MAX_WINDOW = 1000
DEFAULT_WINDOW = 200


class RsiOut(BaseModel):
    period: int
    value: float
    state: Literal["overbought", "oversold", "neutral"]


class MacdOut(BaseModel):
    line: float
    signal: float
    histogram: float


class BollingerOut(BaseModel):
    middle: float
    upper: float
    lower: float
    bandwidth: float | None
    percent_b: float | None


class VolatilityOut(BaseModel):
    per_period: float = Field(description="standard deviation of log returns per candle")
    annualised: float = Field(description="per_period * sqrt(periods_per_year)")
    periods_per_year: int
    returns: int = Field(description="how many log returns were used")


class IndicatorsOut(BaseModel):
    sma: dict[str, float | None] = Field(description="by period; null: window too short")
    ema: dict[str, float | None] = Field(description="by period; null: window too short")
    rsi: RsiOut
    macd: MacdOut
    bollinger: BollingerOut
    volatility: VolatilityOut


class LevelOut(BaseModel):
    price: float
    touches: int = Field(description="swing points merged into this level")
    last_seen: datetime = Field(description="open time of the newest of those swing points")


class LevelsOut(BaseModel):
    support: list[LevelOut] = Field(description="below the last close, nearest first")
    resistance: list[LevelOut] = Field(description="above the last close, nearest first")
    range_high: float
    range_low: float


class TrendOut(BaseModel):
    label: Literal["uptrend", "downtrend", "sideways"]
    score: int = Field(description="sum of the signals, -3 to 3")
    signals: dict[str, int] = Field(description="each vote: 1 up, -1 down, 0 flat")


_LEVEL = {"touches": 2, "last_seen": "2026-02-11T00:00:00Z"}
EXAMPLE: dict[str, Any] = {
    "asset_id": "bitcoin",
    "symbol": "BTC",
    "name": "Bitcoin",
    "interval": "1d",
    "window": 200,
    "candles": 200,
    "first": "2025-08-16T00:00:00Z",
    "last": "2026-03-03T00:00:00Z",
    "close": 67012.5,
    "indicators": {
        "sma": {"20": 66120.4, "50": 64210.9, "200": 61877.3},
        "ema": {"12": 66540.2, "26": 65731.8, "50": 64502.6},
        "rsi": {"period": 14, "value": 58.31, "state": "neutral"},
        "macd": {"line": 808.4, "signal": 655.2, "histogram": 153.2},
        "bollinger": {
            "middle": 66120.4,
            "upper": 68950.7,
            "lower": 63290.1,
            "bandwidth": 0.0856,
            "percent_b": 0.6575,
        },
        "volatility": {
            "per_period": 0.0241,
            "annualised": 0.4604,
            "periods_per_year": 365,
            "returns": 199,
        },
    },
    "levels": {
        "support": [{"price": 64980.0, **_LEVEL}, {"price": 62110.5, **_LEVEL}],
        "resistance": [{"price": 68420.0, **_LEVEL}],
        "range_high": 71200.0,
        "range_low": 55810.0,
    },
    "trend": {
        "label": "uptrend",
        "score": 3,
        "signals": {"close_vs_sma50": 1, "sma20_vs_sma50": 1, "macd_histogram": 1},
    },
    "method": method(Interval.D1),
    "computed_at": "2026-03-04T09:12:44Z",
    "reused": False,
    "backfilled": 0,
}


class AnalysisOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    asset_id: str
    symbol: str
    name: str
    interval: Literal["1h", "1d"]
    window: int = Field(description="candles asked for")
    candles: int = Field(
        description="closed candles used (fewer when some are missing; a partial rollup, "
        "built from only some of its finer candles, is never used)"
    )
    first: datetime = Field(description="open time of the oldest candle used")
    last: datetime = Field(description="open time of the newest candle used")
    close: float = Field(description="close of the newest candle")
    indicators: IndicatorsOut
    levels: LevelsOut
    trend: TrendOut
    method: dict[str, str] = Field(description="how each figure was computed")
    computed_at: datetime
    reused: bool = Field(description="a stored analysis, still current, was served")
    backfilled: int = Field(description="candles fetched from providers for this request")


@router.get(
    "/analysis/{symbol}",
    summary="Indicators, support/resistance levels and trend of an asset",
    response_model=AnalysisOut,
    responses=error_responses(
        404,
        409,
        422,
        503,
        s422=f"invalid input, or `not_enough_candles`: fewer than {MIN_CANDLES} closed candles "
        "of the window are stored or could be fetched",
    ),
)
async def analysis(
    services: ServicesDep,
    symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN, description="ticker or asset id")],
    interval: Annotated[Literal["1h", "1d"], Query(description="candle interval")] = "1d",
    window: Annotated[
        int,
        Query(ge=MIN_CANDLES, le=MAX_WINDOW, description="how many closed candles to analyse"),
    ] = DEFAULT_WINDOW,
) -> Response:
    """SMA, EMA, RSI(14), MACD(12,26,9), Bollinger(20,2), annualised volatility,
    support/resistance levels and a trend label over the `window` newest closed candles, with
    `method` saying how each was computed. Missing candles are fetched first (at most
    HISTORY_BACKFILL_CALLS upstream calls); an analysis is stored and reused until the next
    candle closes."""
    asset = services.assets.resolve(symbol).asset
    report = await services.analysis.analyse(
        asset,
        Interval(interval),
        window,
        max_calls=services.settings.history_backfill_calls,
    )
    return render(analysis_body(asset, report))


def analysis_body(asset: Asset, report: AnalysisReport) -> dict[str, Any]:
    """The body of `/api/analysis/{symbol}` (`cryptoagg analyze --json` prints it too)."""
    return {
        "asset_id": asset.id,
        "symbol": asset.symbol,
        "name": asset.name,
        **report.result,
        "computed_at": iso(report.analysis.computed_at),
        "reused": report.reused,
        "backfilled": report.backfilled,
    }
