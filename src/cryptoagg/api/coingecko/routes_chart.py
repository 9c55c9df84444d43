"""`GET /api/v3/coins/{id}/market_chart`: price history from our stored candles, filled
first from the providers within the request's budget (`MARKET_CHART_DOC`).

The chart is planned in `chart.py`, made of the candles in `chart_series.py`; this module
reads and fills the candles and renders the answer with its completeness headers.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg.api.coingecko import chart
from cryptoagg.api.coingecko import shapes as cg
from cryptoagg.api.coingecko.chart_series import chart_body, chart_series, completeness_headers
from cryptoagg.api.coingecko.chart_volumes import hours_without_volume
from cryptoagg.api.coingecko.errors import cg_error, compat_router, errors
from cryptoagg.api.coingecko.listing import load_listing
from cryptoagg.api.coingecko.params import Precision, UsdCurrency, usd_only
from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.openapi import required_in_document
from cryptoagg.api.render import render
from cryptoagg.bootstrap.container import Services
from cryptoagg.core.assets import Asset
from cryptoagg.core.models import Candle, Interval
from cryptoagg.resilience.retry import Deadline

router = compat_router()


#: a chart point, `[ms, value]` (a list, not a tuple: schemathesis turns `prefixItems` into
#: the pre-2020 `items` array in response schemas, which its own check then refuses)
Point = Annotated[list[float], Field(min_length=2, max_length=2)]


class CgMarketChartOut(BaseModel):
    """Points are `[ms, value]`. `market_caps` and `total_volumes` have a point for each
    price point whose value is known (`X-Data-Missing-Points` counts the others)."""

    prices: list[Point]
    market_caps: list[Point]
    total_volumes: list[Point]


#: the completeness headers of `market_chart` (`chart_series.completeness_headers`)
COMPLETENESS_HEADERS = {
    "X-Data-Partial": {
        "description": "whether the answer lacks points its range holds",
        "required": True,
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
    "X-Data-Missing-Points": {
        "description": "when partial: expected points each array lacks, "
        "`prices=N, market_caps=N, total_volumes=N`",
        "schema": {"type": "string"},
    },
    "X-Data-Missing": {
        "description": "when prices lack points: their time ranges, ISO 8601 intervals "
        "(`start/end`) oldest first, comma-separated (at most 10, then `+N more`)",
        "schema": {"type": "string"},
    },
}
MARKET_CHART_DOC = (
    "`days` back from now (or `max`, from 2013-04-28), at CoinGecko's granularity on our "
    "candle tiers: up to 1 day 5-minutely (the 1m candles closing on a 5-minute mark), up to "
    "90 days hourly, beyond daily; `interval=1m|5m|hourly|daily` forces one, covering at most "
    "the last 1, 10 and 100 days for the first three (a longer `days` is cut to that, as "
    "CoinGecko does). A point is a complete candle's close at its close time, so the last "
    "point is the last closed candle.\n\n"
    "Missing candles are fetched first, at most HISTORY_BACKFILL_CALLS upstream calls and "
    "none started after the request deadline. `market_caps` is the close x today's "
    "circulating supply from the listing (derived as in `coins/markets` when the listing's "
    "provider sent none); `total_volumes` is a USD volume computed from the stored candles: "
    "base volume x close, summed over the 24 hours up to the point (for minute points, up to "
    "the last full hour) — the volume of the exchanges whose candles are stored, not "
    "CoinGecko's all-market aggregate. A value that is not known is left out of its array, "
    "never invented.\n\n"
    "`X-Data-Partial: true` says the answer lacks points the range holds after the coin's "
    "first data (not fetched yet, no longer kept, or no provider could give them): "
    "`X-Data-Missing-Points` counts them per array (`prices=N, market_caps=N, "
    "total_volumes=N`) and `X-Data-Missing` lists the missing price points' time ranges "
    "(ISO 8601 intervals, oldest first). `precision` rounds prices, market caps and volumes."
)


@router.get(
    "/coins/{id}/market_chart",
    summary="Price history from our stored candles",
    description=MARKET_CHART_DOC,
    response_model=CgMarketChartOut,
    responses={
        200: {"headers": COMPLETENESS_HEADERS},
        **errors(
            400,
            404,
            422,
            s422="a parameter is missing or not valid (`days`, `interval`, `precision`)",
        ),
    },
    openapi_extra=required_in_document("vs_currency", "days"),
)
async def market_chart(
    services: ServicesDep,
    id: str,
    *,
    vs_currency: UsdCurrency = None,
    days: Annotated[
        str | None,
        Query(
            description="a positive number of days, or max",
            json_schema_extra={"pattern": chart.DAYS_PATTERN},
        ),
    ] = None,
    interval: Annotated[
        str | None,
        Query(
            description="1m, 5m, hourly or daily; empty: auto",
            json_schema_extra={"enum": list(chart.INTERVALS)},
        ),
    ] = None,
    precision: Precision = None,
) -> Response:
    """CoinGecko's `coins/{id}/market_chart` from stored candles (`MARKET_CHART_DOC`)."""
    if id not in services.assets.registry:
        return cg_error(404, "coin not found")
    refused = usd_only(vs_currency)
    if refused is not None:
        return refused
    if not days:
        return cg_error(422, "Missing parameter days")
    asset = services.assets.registry.get(id)
    history = services.history
    plan = chart.chart_plan(chart.parse_days(days), interval, history.now())
    places = cg.parse_precision(precision)
    if plan.start > plan.end:
        empty = chart_series(plan, [], [], None, None)
        return render(chart_body(empty), headers=completeness_headers(empty))
    fill = _Fill(services, asset)
    reads = plan.reads()
    # the points' own candles; the hours of minute points' volumes are read as stored, and
    # one without a volume is made of its minutes below (fetching hourly candles for it
    # could bring CoinGecko's, which have no volume)
    await fill(*reads[0])
    stored, listing, floor = await asyncio.gather(
        asyncio.gather(*(history.stored(asset, *read) for read in reads)),
        load_listing(services),
        history.floor(asset, plan.interval),
    )
    candles = stored[0]
    volume_candles = stored[1] if len(stored) > 1 else candles
    minutes = await _minutes_of_hours_without_volume(fill, plan, volume_candles)
    listed = listing.entries.get(asset.id)
    supply = cg.circulating_supply(listed) if listed else None
    series = chart_series(plan, candles, volume_candles, supply, floor, minutes=minutes)
    return render(chart_body(series, places), headers=completeness_headers(series))


class _Fill:
    """A request's candle fills: HISTORY_BACKFILL_CALLS upstream calls in all, none
    started after the request deadline."""

    def __init__(self, services: Services, asset: Asset) -> None:
        self.history = services.history
        self.asset = asset
        self.calls = services.settings.history_backfill_calls
        self.deadline = Deadline.after(services.settings.request_deadline_s, time.monotonic)

    async def __call__(self, interval: Interval, start: datetime, end: datetime) -> None:
        if self.calls > 0 and not self.deadline.expired:
            report = await self.history.fill(
                self.asset, interval, start, end, max_calls=self.calls, deadline=self.deadline
            )
            self.calls -= report.calls


async def _minutes_of_hours_without_volume(
    fill: _Fill, plan: chart.ChartPlan, hours: list[Candle]
) -> list[Candle]:
    """The one-minute candles of the hours a volume needs whose hourly candle has none
    (CoinGecko's hourly candles carry no volume), within the minute tier's retention."""
    lacking = hours_without_volume(plan, hours)
    kept = fill.history.now() - timedelta(days=fill.history.retention.minute_days)
    lacking = [hour for hour in lacking if hour >= kept]
    if not lacking:
        return []
    start, end = lacking[0], lacking[-1] + Interval.H1.delta - Interval.M1.delta
    await fill(Interval.M1, start, end)
    return await fill.history.stored(fill.asset, Interval.M1, start, end)
