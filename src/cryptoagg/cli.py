"""The `cryptoagg` command line (typer + rich). Every command enters the same bootstrap."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from cryptoagg.api.app import create_app
from cryptoagg.api.headertimeout import header_timeout_protocol
from cryptoagg.bootstrap import Container, build, check_settings
from cryptoagg.config import Settings, load_settings, prepare_data_dir
from cryptoagg.core.analysis import MIN_CANDLES
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import (
    AmbiguousSymbol,
    ConfigError,
    CryptoAggError,
    InvalidInput,
    UnknownAsset,
)
from cryptoagg.core.models import Interval
from cryptoagg.logging import configure_logging
from cryptoagg.services.analysis import AnalysisReport
from cryptoagg.services.history import FillReport, Retention, plan_backfill
from cryptoagg.sim.server import serve_sim
from cryptoagg.storage.backup import backup as backup_database
from cryptoagg.storage.backup import restore as restore_database
from cryptoagg.storage.backup import sqlite_path, validate_backup
from cryptoagg.storage.db import current_revision, make_engine, upgrade
from cryptoagg.storage.export import (
    FORMATS,
    ExportFilter,
    Format,
    count_rows,
    default_path,
    export_table,
    get_table,
)

app = typer.Typer(
    help="cryptoagg: free public crypto data behind one reliable API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format, settings.secrets())
    return settings


def _money(value: Decimal) -> str:
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.6g}"


@app.command()
def serve(
    mock: Annotated[bool, typer.Option("--mock", help="Serve from the built-in simulator")] = False,
    host: Annotated[str | None, typer.Option(help="Listen address (HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (PORT)")] = None,
) -> None:
    """Start the API and dashboard server."""
    settings = _settings(use_mock_data=True if mock else None, host=host, port=port)
    check_settings(settings)
    console.print(f"cryptoagg listening on http://{settings.host}:{settings.port}")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        timeout_keep_alive=5,
        # slow clients: request line and headers within HEADER_TIMEOUT_S (uvicorn has no such
        # timeout of its own); proxy headers are read by the app, only with TRUST_PROXY_HEADERS
        http=header_timeout_protocol(settings.header_timeout_s),
        proxy_headers=False,
        # a WebSocket message over the limit closes the connection (1009) before it is read
        ws_max_size=settings.ws_max_message_bytes,
        # one deflate stream per connection would undo the fan-out's encode-once (1,000
        # clients: p99 124 ms with it, 80 ms without; price frames are ~300 bytes)
        ws_per_message_deflate=False,
    )


@app.command()
def simulate(
    port: Annotated[int, typer.Option(help="Listen port")] = 9000,
    host: Annotated[str, typer.Option(help="Listen address")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Random seed for the price walk")] = 1,
) -> None:
    """Run the provider simulator (point UPSTREAM_BASE_URL at it)."""
    configure_logging("WARNING")
    console.print(f"simulator on http://{host}:{port}  (UPSTREAM_BASE_URL=http://{host}:{port})")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_sim(host, port, seed))


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
            _money(c.price),
            f"{_money(c.low)} - {_money(c.high)}",
            f"{c.spread_bps} bps",
            ", ".join(c.sources),
            ", ".join(f"{d.quote.provider} ({d.reason})" for d in c.dropped) or "-",
        )
    return table


@app.command()
def price(
    symbols: Annotated[list[str], typer.Argument(help="Tickers or asset ids, e.g. BTC ethereum")],
    mock: Annotated[bool, typer.Option("--mock", help="Ask the built-in simulator")] = False,
) -> None:
    """Show consensus prices with their confidence band and sources."""
    settings = _settings(
        use_mock_data=True if mock else None, log_level="WARNING", collectors=False
    )

    async def run() -> Table:
        async with build(settings) as container:
            return await _prices(container, symbols)

    console.print(asyncio.run(run()))


@app.command()
def providers(
    mock: Annotated[bool, typer.Option("--mock", help="Use the built-in simulator")] = False,
) -> None:
    """List providers, their capabilities and whether they are enabled."""
    settings = _settings(
        use_mock_data=True if mock else None, log_level="WARNING", collectors=False
    )

    async def run() -> Table:
        async with build(settings) as container:
            table = Table(title="Providers")
            for column in ("provider", "state", "capabilities", "key"):
                table.add_column(column)
            for s in container.status.providers_status():
                state = s.state if s.enabled else f"[yellow]disabled: {s.disabled_reason}[/yellow]"
                key = "required" if s.requires_key else "-"
                table.add_row(s.name, state, ", ".join(s.capabilities), key)
            return table

    console.print(asyncio.run(run()))


async def _backfill(
    container: Container, symbol: str, plan: list[tuple[Interval, int]], progress: Progress
) -> list[FillReport]:
    history = container.history
    asset = container.assets.resolve(symbol).asset
    now = history.ctx.clock()
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


@app.command()
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
    settings = _settings(
        use_mock_data=True if mock else None, log_level="WARNING", collectors=False
    )
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


assets_app = typer.Typer(help="The asset registry.", no_args_is_help=True)
app.add_typer(assets_app, name="assets")


@assets_app.command("refresh")
def assets_refresh(
    mock: Annotated[bool, typer.Option("--mock", help="Ask the built-in simulator")] = False,
) -> None:
    """Merge every listing provider's assets into the registry and show what changed."""
    settings = _settings(
        use_mock_data=True if mock else None, log_level="WARNING", collectors=False
    )

    async def run() -> tuple[int, int, list[str], dict[str, str], int]:
        async with build(settings) as container:
            report = await container.assets.refresh()
            tracked = len(container.registry.tracked())
            return len(container.registry), tracked, report.providers, report.failures, report.added

    known, tracked, providers, failures, added = asyncio.run(run())
    console.print(f"{added} assets added from {', '.join(providers) or 'no provider'}")
    console.print(f"registry: {known} assets, {tracked} tracked")
    for name, reason in failures.items():
        errors.print(f"[yellow]{name}[/yellow]: {reason}")


db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision (also done at every start)."""
    settings = _settings(log_level="WARNING")
    prepare_data_dir(settings)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        console.print(f"database at revision {current_revision(engine)} ({engine.dialect.name})")
    except SQLAlchemyError as exc:
        errors.print(f"[red]error:[/red] cannot migrate the database ({type(exc).__name__})")
        raise SystemExit(1) from None
    finally:
        engine.dispose()


# --- export, backup and restore (storage) ----------------------------------------------------


def _fail_storage(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise SystemExit(code)


def _export_format(fmt: str | None, out: Path | None) -> Format:
    wanted = (fmt or (out.suffix.lstrip(".") if out is not None else "") or "csv").lower()
    for known in FORMATS:
        if wanted == known:
            return known
    if fmt is None:
        return "csv"
    raise InvalidInput(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")


def _since_arg(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        when = datetime.fromisoformat(since)
    except ValueError:
        raise InvalidInput(f"--since: not an ISO-8601 date or time: {since!r}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _asset_arg(asset: str | None) -> str | None:
    """A ticker or name becomes its canonical id; anything unknown is taken as an id."""
    if asset is None:
        return None
    try:
        return seeded_registry().resolve(asset).asset.id
    except UnknownAsset:
        return asset.strip()
    except AmbiguousSymbol as exc:
        raise InvalidInput(exc.message) from None


@app.command("export")
def export_command(
    *,
    table: Annotated[str, typer.Option(help="Table to export, e.g. candles or prices")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (default: from --out, or csv)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output file (default DATA_DIR/exports/<table>-<time>)")
    ] = None,
    asset: Annotated[str | None, typer.Option(help="Only this asset (id or ticker)")] = None,
    interval: Annotated[str | None, typer.Option(help="Only this interval: 1m, 1h, 1d")] = None,
    since: Annotated[str | None, typer.Option(help="Only rows at or after (ISO-8601, UTC)")] = None,
) -> None:
    """Export a table to CSV or Parquet, streamed (constant memory)."""
    settings = _settings(log_level="WARNING")
    prepare_data_dir(settings)
    try:
        get_table(table)
        kind = _export_format(fmt, out)
        filters = ExportFilter(
            asset_id=_asset_arg(asset), interval=interval, since=_since_arg(since)
        )
    except InvalidInput as exc:
        _fail_storage(exc.message, 2)
    target = out or default_path(settings.data_dir / "exports", table, kind)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        total = count_rows(engine, table, filters)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=errors, transient=True) as bar:
            task = bar.add_task(f"{table} -> {target.name}", total=total)
            rows = export_table(
                engine,
                table,
                kind,
                target,
                filters=filters,
                on_chunk=lambda n: bar.advance(task, n),
            )
    except InvalidInput as exc:
        _fail_storage(exc.message, 2)
    except CryptoAggError as exc:
        _fail_storage(exc.message)
    except SQLAlchemyError as exc:
        _fail_storage(f"export failed: database error ({type(exc).__name__})")
    finally:
        engine.dispose()
    console.print(f"exported {rows} rows from {table} to {target}", soft_wrap=True)


def _sqlite_file(settings: Settings, action: str) -> Path:
    try:
        path = sqlite_path(settings.db_url)
    except CryptoAggError as exc:
        _fail_storage(exc.message)
    if path is None:
        _fail_storage(
            f"{action}: DATABASE_URL is PostgreSQL; use its own tools: "
            'pg_dump -Fc -f cryptoagg.dump "$DATABASE_URL" to back up, '
            'pg_restore --clean --if-exists -d "$DATABASE_URL" cryptoagg.dump to restore'
        )
    return path


@app.command("backup")
def backup_command() -> None:
    """Back up the SQLite database online into DATA_DIR/backups (keeps the newest BACKUP_KEEP)."""
    settings = _settings(log_level="WARNING")
    prepare_data_dir(settings)
    db_path = _sqlite_file(settings, "backup")
    try:
        result = backup_database(db_path, settings.data_dir / "backups", settings.backup_keep)
    except CryptoAggError as exc:
        _fail_storage(exc.message)
    made = result.backup
    console.print(
        f"backed up {db_path} to {made.path} "
        f"(revision {made.revision}, {made.total_rows} rows, integrity ok)",
        soft_wrap=True,
    )
    for old in result.removed:
        console.print(f"removed old backup {old.name} (BACKUP_KEEP={settings.backup_keep})")


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A backup made by `cryptoagg backup`")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Replace the SQLite database with a validated backup (the current one is saved first)."""
    settings = _settings(log_level="WARNING")
    prepare_data_dir(settings)
    db_path = _sqlite_file(settings, "restore")
    try:
        offered = validate_backup(file, "restore refused")
    except CryptoAggError as exc:
        _fail_storage(exc.message)
    console.print(
        f"{file}: revision {offered.revision}, {offered.total_rows} rows, integrity ok",
        soft_wrap=True,
    )
    question = f"Replace the database at {db_path} with this backup?"
    try:
        confirmed = yes or typer.confirm(question, default=False)
    except typer.Abort:
        confirmed = False
    if not confirmed:
        _fail_storage("restore cancelled: not confirmed (pass --yes to skip the question)")
    try:
        result = restore_database(file, db_path, settings.data_dir / "backups")
    except CryptoAggError as exc:
        _fail_storage(exc.message)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        now_at = current_revision(engine)
    except SQLAlchemyError as exc:
        _fail_storage(f"restored, but cannot migrate the database ({type(exc).__name__})")
    finally:
        engine.dispose()
    done = result.restored
    tables = ", ".join(f"{name} {count}" for name, count in done.rows.items() if count)
    migrated = f", migrated to {now_at}" if now_at != done.revision else ""
    console.print(
        f"restored {file} into {db_path}: revision {done.revision}{migrated}, "
        f"{done.total_rows} rows ({tables or 'all tables empty'})",
        soft_wrap=True,
    )
    if result.safety_backup is not None:
        console.print(f"the previous database is saved as {result.safety_backup}", soft_wrap=True)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {exc.message}")
        raise SystemExit(2) from None


# --- analysis ---------------------------------------------------------------------------------


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


@app.command()
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
    settings = _settings(
        use_mock_data=True if mock else None, log_level="WARNING", collectors=False
    )

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
