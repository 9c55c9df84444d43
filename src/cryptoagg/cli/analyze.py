"""`cryptoagg analyze`: indicators, levels and trend from stored candles.

The table shows every figure in the asset's price unit with the decimals of its last close
(`format.decimals_for`), so a stablecoin's close and averages read alike; MACD, a difference
of averages, keeps its own significant digits.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cryptoagg.api.routes.analysis import analysis_body
from cryptoagg.bootstrap import build
from cryptoagg.cli import format as fmt
from cryptoagg.cli.common import JsonOption, MockOption, emit_json, fail, out, quiet_settings
from cryptoagg.core.analysis import MIN_CANDLES
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import CryptoAggError
from cryptoagg.core.models import Interval
from cryptoagg.services.analysis import AnalysisReport

#: the table's width at least, so its title and caption stay on one line each
TABLE_WIDTH = 66


class AnalysisInterval(StrEnum):
    H1 = "1h"
    D1 = "1d"


def _levels(rows: list[dict[str, Any]], places: int) -> str:
    return (
        "\n".join(f"{fmt.price(lv['price'], places)} ({lv['touches']}x)" for lv in rows) or fmt.NONE
    )


def _rows(body: dict[str, Any]) -> list[tuple[str, str]]:
    ind, levels, trend = body["indicators"], body["levels"], body["trend"]
    bands, macd, rsi, vol = ind["bollinger"], ind["macd"], ind["rsi"], ind["volatility"]
    places = fmt.decimals_for(body["close"])

    def price(value: float | None) -> str:
        return fmt.price(value, places)

    return [
        ("close", price(body["close"])),
        *((f"SMA({p})", price(v)) for p, v in ind["sma"].items()),
        *((f"EMA({p})", price(v)) for p, v in ind["ema"].items()),
        (f"RSI({rsi['period']})", f"{rsi['value']:.2f} ({rsi['state']})"),
        ("MACD(12,26,9) line", fmt.price(macd["line"])),
        ("MACD signal", fmt.price(macd["signal"])),
        ("MACD histogram", fmt.price(macd["histogram"])),
        ("Bollinger(20,2) upper", price(bands["upper"])),
        ("Bollinger middle", price(bands["middle"])),
        ("Bollinger lower", price(bands["lower"])),
        ("volatility (annualised)", fmt.fraction(vol["annualised"])),
        ("resistance", _levels(levels["resistance"], places)),
        ("support", _levels(levels["support"], places)),
        ("range high", price(levels["range_high"])),
        ("range low", price(levels["range_low"])),
        ("trend", f"{trend['label']} (score {trend['score']:+d})"),
    ]


def _analysis_table(body: dict[str, Any], asset: Asset, reused: bool) -> Table:
    state = "stored analysis reused" if reused else "computed now"
    last = datetime.fromisoformat(body["last"]).strftime("%Y-%m-%d %H:%MZ")
    table = Table(
        title=f"Analysis of {escape(asset.symbol)} ({escape(asset.id)}): {body['candles']} "
        f"{body['interval']} candles to {last}",
        caption=f"{state}; --method shows how each figure is computed",
        min_width=TABLE_WIDTH,
    )
    table.add_column("indicator")
    table.add_column("value", justify="right")
    for name, value in _rows(body):
        table.add_row(name, value)
    return table


def analyze(
    symbol: Annotated[str, typer.Argument(metavar="SYMBOL", help="Ticker or asset id, e.g. BTC.")],
    *,
    interval: Annotated[
        AnalysisInterval, typer.Option(metavar="1h|1d", help="Candle interval.")
    ] = AnalysisInterval.D1,
    window: Annotated[
        int,
        typer.Option(min=MIN_CANDLES, max=1000, metavar="N", help="Analyse the N newest candles."),
    ] = 200,
    method: Annotated[
        bool, typer.Option("--method", help="Also say how each figure is computed.")
    ] = False,
    mock: MockOption = False,
    as_json: JsonOption = False,
) -> None:
    """Show indicators, support and resistance levels and the trend of an asset.

    Computed from stored closed candles; missing candles are fetched first, within
    HISTORY_BACKFILL_CALLS upstream calls. The result is stored and reused until the next
    candle closes.

    Exit status: 0 on success; 1 when the asset is unknown or too few candles are available.
    """
    settings = quiet_settings(mock)

    async def run() -> tuple[Asset, AnalysisReport]:
        async with build(settings) as container:
            asset = container.assets.resolve(symbol).asset
            report = await container.analysis.analyse(
                asset,
                Interval(interval.value),
                window,
                max_calls=settings.history_backfill_calls,
            )
            return asset, report

    try:
        asset, report = asyncio.run(run())
    except CryptoAggError as exc:
        fail(exc.message)
    if as_json:
        emit_json(analysis_body(asset, report))
        return
    console = out()
    console.print(_analysis_table(report.result, asset, report.reused))
    if method:
        for name, text in report.result["method"].items():
            console.print(f"[bold]{name}[/bold]: {escape(text)}")
