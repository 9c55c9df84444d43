"""`/api/crypto/history/{symbol}`: stored candles, with gaps filled on demand within budget.

Every candle says whether it is `partial`: a rollup (`source: "rollup"`) built from fewer
finer candles than its period holds, as `sub_candles` of `sub_candles_expected` (e.g. 16 of
24 hours). A closed partial period is also listed under `missing` until a provider's candle
replaces it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.render import iso, render
from cryptoagg.api.routes.market import SYMBOL_PATTERN
from cryptoagg.core.candles import floor_time, sub_candles_per
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Candle, Interval, utc

router = APIRouter(prefix="/api", tags=["history"])

DEFAULT_CANDLES = 200
MAX_CANDLES = 5000


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
)
async def crypto_history(
    container: ContainerDep,
    symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN)],
    *,
    interval: Interval = Interval.H1,
    start: Annotated[
        datetime | None, Query(description="ISO-8601; default: 200 candles before end")
    ] = None,
    end: Annotated[datetime | None, Query(description="ISO-8601; default: now")] = None,
    backfill: Annotated[
        bool, Query(description="fetch missing candles from providers (within budget)")
    ] = True,
) -> Response:
    """Stored candles for `[start, end]`. Missing candles are fetched first, at most
    HISTORY_BACKFILL_CALLS upstream calls per request; what is still missing is listed.
    A candle with `partial: true` is a rollup of only `sub_candles` of its
    `sub_candles_expected` finer candles (a closed one also counts as missing)."""
    asset = container.assets.resolve(symbol).asset
    history = container.history
    end_at = utc(end) if end else history.now()
    start_at = utc(start) if start else end_at - interval.delta * (DEFAULT_CANDLES - 1)
    if start_at > end_at:
        raise InvalidInput("start must not be after end")
    span = int((end_at - start_at).total_seconds()) // interval.seconds + 1
    if span > MAX_CANDLES:
        raise InvalidInput(
            f"at most {MAX_CANDLES} candles per request ({span} asked): narrow the range "
            "or use a coarser interval"
        )
    start_at, end_at = floor_time(start_at, interval), floor_time(end_at, interval)
    calls = container.settings.history_backfill_calls if backfill else 0
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
