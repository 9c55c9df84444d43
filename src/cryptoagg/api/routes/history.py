"""`/api/crypto/history/{symbol}`: stored candles, with gaps filled on demand within budget.

Every candle says whether it is `partial`: a rollup (`source: "rollup"`) built from fewer
finer candles than its period holds, as `sub_candles` of `sub_candles_expected` (e.g. 16 of
24 hours). A closed partial period is also listed under `missing` until a provider's candle
replaces it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.openapi import RFC3339_HINT, UtcDateTime
from cryptoagg.api.render import iso, render
from cryptoagg.api.routes.symbols import SYMBOL_PATTERN
from cryptoagg.core.candles import floor_time, sub_candles_per
from cryptoagg.core.models import Candle, Interval
from cryptoagg.core.timespan import InvalidRange, periods_before

router = APIRouter(prefix="/api", tags=["history"])

DEFAULT_CANDLES = 200
MAX_CANDLES = 5000


class CandleOut(BaseModel):
    time: datetime = Field(description="open time")
    open: float
    high: float
    low: float
    close: float
    volume: float | None
    source: str = Field(description="the provider, or rollup")
    partial: bool
    sub_candles: int | None = Field(
        default=None, description="partial rollups only: finer candles it was built from"
    )
    sub_candles_expected: int | None = Field(
        default=None, description="partial rollups only: finer candles its period holds"
    )


class MissingOut(BaseModel):
    start: datetime
    end: datetime
    candles: int


class HistoryOut(BaseModel):
    symbol: str
    asset_id: str
    interval: Literal["1m", "1h", "1d"]
    start: datetime = Field(description="open time of the first period of the range")
    end: datetime = Field(description="open time of the last period of the range")
    count: int
    backfilled: int = Field(description="candles fetched from providers for this request")
    missing: list[MissingOut] = Field(description="closed periods still missing")
    candles: list[CandleOut]


RANGE_RULES = (
    f"`invalid_range`: `start` after `end`, more than {MAX_CANDLES} candles, or (without "
    f"`start`) the {DEFAULT_CANDLES} periods up to `end` reaching before 0001-01-01"
)


def _candle(c: Candle) -> dict[str, Any]:
    row: dict[str, Any] = {
        "time": iso(c.open_time),
        "open": c.open,
        "high": c.high,
        "low": c.low,
        "close": c.close,
        "volume": c.volume,
        "source": c.provider,
        "partial": c.partial,
    }
    if c.partial:
        row["sub_candles"] = c.sub_candles
        row["sub_candles_expected"] = sub_candles_per(c.interval)
    return row


@router.get(
    "/crypto/history/{symbol}",
    summary="OHLCV candles of an asset (1m, 1h or 1d), oldest first",
    response_model=HistoryOut,
    responses=error_responses(
        404,
        409,
        422,
        s422=f"invalid input, or a range that cannot be served ({RANGE_RULES})",
        examples={
            422: {
                "code": "invalid_range",
                "message": "at most 5000 candles per request (44641 asked): narrow the range "
                "or use a coarser interval",
                "details": None,
            }
        },
    ),
)
async def crypto_history(
    services: ServicesDep,
    symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN, description="ticker or asset id")],
    *,
    interval: Interval = Interval.H1,
    start: Annotated[
        UtcDateTime | None,
        Query(description=f"{RFC3339_HINT}; default: {DEFAULT_CANDLES - 1} periods before end"),
    ] = None,
    end: Annotated[UtcDateTime | None, Query(description=f"{RFC3339_HINT}; default: now")] = None,
    backfill: Annotated[
        bool, Query(description="fetch missing candles from providers (within budget)")
    ] = True,
) -> Response:
    """Stored candles for `[start, end]`. Missing candles are fetched first, at most
    HISTORY_BACKFILL_CALLS upstream calls per request; what is still missing is listed.
    A candle with `partial: true` is a rollup of only `sub_candles` of its
    `sub_candles_expected` finer candles (a closed one also counts as missing). Times outside
    0001-01-01T00:00:00Z..9999-12-31T23:59:59Z are clamped to them."""
    asset = services.assets.resolve(symbol).asset
    history = services.history
    end_at = history.now() if end is None else end
    if start is None:
        start_at = periods_before(end_at, interval.delta, DEFAULT_CANDLES - 1)
    else:
        start_at = start
    if start_at > end_at:
        raise InvalidRange("start must not be after end")
    span = int((end_at - start_at).total_seconds()) // interval.seconds + 1
    if span > MAX_CANDLES:
        raise InvalidRange(
            f"at most {MAX_CANDLES} candles per request ({span} asked): narrow the range "
            "or use a coarser interval"
        )
    start_at, end_at = floor_time(start_at, interval), floor_time(end_at, interval)
    calls = services.settings.history_backfill_calls if backfill else 0
    added = 0
    if calls:
        report = await history.fill(asset, interval, start_at, end_at, max_calls=calls)
        added = report.added
    candles = await history.stored(asset, interval, start_at, end_at)
    missing = await history.missing(asset, interval, start_at, end_at)
    return render(
        {
            "symbol": asset.symbol,
            "asset_id": asset.id,
            "interval": interval.value,
            "start": iso(start_at),
            "end": iso(end_at),
            "count": len(candles),
            "backfilled": added,
            "missing": [
                {"start": iso(s.start), "end": iso(s.end), "candles": s.count} for s in missing
            ],
            "candles": [_candle(c) for c in candles],
        }
    )
