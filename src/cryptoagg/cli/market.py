"""`cryptoagg price` (consensus prices) and `cryptoagg analyze` (indicators from candles)."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cryptoagg.bootstrap import Container, build
from cryptoagg.cli.common import console, errors, money, quiet_settings
from cryptoagg.core.analysis import MIN_CANDLES
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import CryptoAggError
from cryptoagg.core.models import Interval
from cryptoagg.services.analysis import AnalysisReport


async def _prices(container: Container, symbols: list[str]) -> Table:
    table = Table(title="Consensus prices (USD)")
    for column in ("asset", "price", "band (low - high)", "spread", "sources", "dropped"):
        table.add_column(column)
    for symbol in symbols:
        try:
            report = (await container.prices.price(symbol)).value
        except CryptoAggError as exc:
            table.add_row(symbol, "[red]unavailable[/red]", exc.message, "", "", "")
            continue
        c = report.consensus
        table.add_row(
            f"{report.asset.symbol} ({report.asset.id})",
            money(c.price),
            f"{money(c.low)} - {money(c.high)}",
            f"{c.spread_bps} bps",
            ", ".join(c.sources),
            ", ".join(f"{d.quote.provider} ({d.reason})" for d in c.dropped) or "-",
        )
    return table


def price(
    symbols: Annotated[list[str], typer.Argument(help="Tickers or asset ids, e.g. BTC ethereum")],
    mock: Annotated[bool, typer.Option("--mock", help="Ask the built-in simulator")] = False,
) -> None:
    """Show consensus prices with their confidence band and sources."""
    settings = quiet_settings(mock)

    async def run() -> Table:
        async with build(settings) as container:
            return await _prices(container, symbols)

    console.print(asyncio.run(run()))


class AnalysisInterval(StrEnum):
    H1 = "1h"
    D1 = "1d"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.6g}"


def _levels(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{_num(lv['price'])} ({lv['touches']}x)" for lv in rows) or "-"


def _analysis_table(body: dict[str, Any], asset: Asset, reused: bool) -> Table:
    ind, levels, trend = body["indicators"], body["levels"], body["trend"]
    state = "stored analysis reused" if reused else "computed now"
    table = Table(
        title=f"Analysis of {asset.symbol} ({asset.id}), {body['candles']} x {body['interval']} "
        f"candles to {body['last']}",
        caption=f"{state}; `--method` shows how each figure is computed",
    )
    table.add_column("indicator")
    table.add_column("value", justify="right")
    bands, macd, rsi, vol = ind["bollinger"], ind["macd"], ind["rsi"], ind["volatility"]
    rows = [
        ("close", _num(body["close"])),
        *((f"SMA({p})", _num(v)) for p, v in ind["sma"].items()),
        *((f"EMA({p})", _num(v)) for p, v in ind["ema"].items()),
        (f"RSI({rsi['period']})", f"{rsi['value']:.2f} ({rsi['state']})"),
        ("MACD(12,26,9) line / signal / hist", " / ".join(_num(macd[k]) for k in macd)),
        (
            "Bollinger(20,2) lower / middle / upper",
            " / ".join(_num(bands[k]) for k in ("lower", "middle", "upper")),
        ),
        ("volatility (annualised)", f"{vol['annualised']:.2%}"),
        ("support", _levels(levels["support"])),
        ("resistance", _levels(levels["resistance"])),
        ("range (low - high)", f"{_num(levels['range_low'])} - {_num(levels['range_high'])}"),
        ("trend", f"{trend['label']} (score {trend['score']:+d})"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def analyze(
    symbol: Annotated[str, typer.Argument(help="Ticker or asset id, e.g. BTC")],
    interval: Annotated[AnalysisInterval, typer.Option(help="Candle interval")] = (
        AnalysisInterval.D1
    ),
    window: Annotated[
        int, typer.Option(min=MIN_CANDLES, max=1000, help="How many closed candles")
    ] = 200,
    method: Annotated[bool, typer.Option("--method", help="Also print the method")] = False,
    mock: Annotated[bool, typer.Option("--mock", help="Fetch from the built-in simulator")] = False,
) -> None:
    """Indicators, support/resistance levels and trend from stored candles (missing candles
    are fetched first, within HISTORY_BACKFILL_CALLS). The result is stored and reused until
    the next candle closes."""
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
        errors.print(f"[red]error:[/red] {escape(exc.message)}", soft_wrap=True)
        raise SystemExit(1) from None
    console.print(_analysis_table(report.result, asset, report.reused))
    if method:
        for name, text in report.result["method"].items():
            console.print(f"[bold]{name}[/bold]: {escape(text)}", soft_wrap=True)
