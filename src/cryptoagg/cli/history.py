"""`cryptoagg backfill`: fill missing candles, with a progress bar per tier."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from rich.progress import MofNCompleteColumn, Progress, TaskID
from rich.table import Table

from cryptoagg.bootstrap import Container, build
from cryptoagg.cli.common import console, errors, quiet_settings
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
    symbol: Annotated[str, typer.Option("--symbol", help="Ticker or asset id, e.g. BTC")],
    days: Annotated[int, typer.Option(min=1, max=3650, help="How far back")] = 365,
    interval: Annotated[
        Interval | None, typer.Option(help="Only this tier (default: 1d, 1h and 1m)")
    ] = None,
    mock: Annotated[bool, typer.Option("--mock", help="Fetch from the built-in simulator")] = False,
) -> None:
    """Fill missing candles from the providers, in chunks each accepts (resumable: only what
    is still missing is fetched). Each tier is filled within its retention."""
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
            with Progress(*columns, console=console) as progress:
                return await _backfill(container, symbol, plan, progress)

    try:
        reports = asyncio.run(run())
    except CryptoAggError as exc:
        errors.print(f"[red]error:[/red] {exc.message}")
        raise SystemExit(1) from None
    table = Table(title=f"Backfill {symbol}")
    for column in ("interval", "missing", "added", "calls", "still missing"):
        table.add_column(column)
    for r in reports:
        left = sum(s.count for s in r.unfilled)
        table.add_row(r.interval.value, str(r.missing), str(r.added), str(r.calls), str(left))
    console.print(table)
