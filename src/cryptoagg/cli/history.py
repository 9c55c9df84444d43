"""`cryptoagg backfill`: fill missing candles, with a progress bar per tier."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from rich.progress import MofNCompleteColumn, Progress, TaskID
from rich.table import Table

from cryptoagg.bootstrap import Container, build
from cryptoagg.cli import format as fmt
from cryptoagg.cli.common import MockOption, fail, out, progress, quiet_settings
from cryptoagg.core.errors import CryptoAggError
from cryptoagg.core.models import Interval
from cryptoagg.services.history import FillReport, Retention, plan_backfill


async def _backfill(
    container: Container, symbol: str, plan: list[tuple[Interval, int]], progress: Progress
) -> list[FillReport]:
    history = container.history
    asset = container.assets.resolve(symbol).asset
    now = history.now()
    tiers = []
    for interval, days in plan:
        spans = await history.missing(asset, interval, now - timedelta(days=days), now)
        total = sum(s.count for s in spans)
        label = f"{asset.symbol} {interval.value} ({days} d)"
        tiers.append((interval, days, progress.add_task(label, total=total or 1)))
    reports = []
    for interval, days, task in tiers:

        def advance(covered: int, added: int, task: TaskID = task) -> None:
            progress.advance(task, covered)

        report = await history.fill(
            asset, interval, now - timedelta(days=days), now, progress=advance, paced=True
        )
        progress.update(task, completed=progress.tasks[task].total)
        reports.append(report)
    return reports


def backfill(
    symbol: Annotated[
        str, typer.Option("--symbol", metavar="SYMBOL", help="Ticker or asset id, e.g. BTC.")
    ],
    days: Annotated[
        int, typer.Option(min=1, max=3650, metavar="DAYS", help="How many days back to fill.")
    ] = 365,
    interval: Annotated[
        Interval | None,
        typer.Option(metavar="1m|1h|1d", help="Fill only this tier (default: all three)."),
    ] = None,
    mock: MockOption = False,
) -> None:
    """Fill the missing candles of an asset from the providers.

    Each tier (1d, 1h, 1m) is filled within its retention, in chunks every provider
    accepts. Only what is still missing is fetched, so an interrupted run simply resumes. A
    progress bar per tier goes to stderr when it is a terminal.

    Exit status: 0 on success; 1 when the asset is unknown or the fill failed.
    """
    settings = quiet_settings(mock)
    retention = Retention(
        settings.retention_1m_days, settings.retention_1h_days, settings.retention_1d_days
    )
    plan = [
        (tier, tier_days)
        for tier, tier_days in plan_backfill(days, retention)
        if interval is None or tier is interval
    ]

    async def run() -> list[FillReport]:
        async with build(settings) as container:
            columns = (*Progress.get_default_columns(), MofNCompleteColumn())
            with progress(*columns) as bar:
                return await _backfill(container, symbol, plan, bar)

    try:
        reports = asyncio.run(run())
    except CryptoAggError as exc:
        fail(exc.message)
    table = Table(title=f"Backfill {symbol}")
    for column in ("interval", "days", "missing", "added", "calls", "still missing"):
        table.add_column(column, justify="left" if column == "interval" else "right")
    tier_days = dict(plan)
    for r in reports:
        left = sum(s.count for s in r.unfilled)
        table.add_row(
            r.interval.value,
            fmt.count(tier_days[r.interval]),
            fmt.count(r.missing),
            fmt.count(r.added),
            fmt.count(r.calls),
            fmt.count(left),
        )
    out().print(table)
