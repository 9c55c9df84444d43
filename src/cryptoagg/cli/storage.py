"""Storage commands: `db upgrade`, `export`, `backup` and `restore`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cryptoagg.cli.common import USAGE, fail, out, progress, settings_for
from cryptoagg.cli.help import Command
from cryptoagg.config import Settings, prepare_data_dir
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import AmbiguousSymbol, CryptoAggError, InvalidInput, UnknownAsset
from cryptoagg.storage.backup import backup as backup_database
from cryptoagg.storage.backup import restore as restore_database
from cryptoagg.storage.backup import sqlite_path, validate_backup
from cryptoagg.storage.db import current_revision, make_engine, upgrade
from cryptoagg.storage.export import (
    INTERVALS,
    ExportFilter,
    build_query,
    check_target,
    count_rows,
    default_path,
    export_table,
    get_table,
    stored_asset_id,
)
from cryptoagg.storage.export_formats import FORMATS, Format

db_app = typer.Typer(
    help="Database maintenance.",
    short_help="Database maintenance: upgrade the schema.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@db_app.command("upgrade", cls=Command, short_help="Create or migrate the database schema.")
def db_upgrade() -> None:
    """Create the database schema or migrate it to the latest revision.

    Every command and the server do this at start too. Exit status: 0 on success; 1 when
    the database cannot be migrated.
    """
    settings = settings_for(log_level="WARNING")
    prepare_data_dir(settings)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        fail(f"cannot migrate the database ({type(exc).__name__})")
    finally:
        engine.dispose()
    out().print(f"database at revision {revision} ({engine.dialect.name})")


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


def _seeded_asset(asset: str | None) -> str | None:
    """The canonical id of a ticker, name or id the seed knows; None when it knows none."""
    if asset is None:
        return None
    try:
        return seeded_registry().resolve(asset).asset.id
    except UnknownAsset:
        return None
    except AmbiguousSymbol as exc:
        raise InvalidInput(exc.message) from None


def _stored_asset(engine: Engine, asset: str) -> str:
    """An asset the seed does not know may still be one a listing added: it counts when the
    database holds rows for it; anything else is refused, never exported as 0 rows."""
    found = stored_asset_id(engine, asset)
    if found is None:
        raise InvalidInput(
            f"unknown asset {asset!r}: not an id, ticker or name of a known asset, "
            "and no stored rows have it"
        )
    return found


def export_command(
    *,
    table: Annotated[
        str, typer.Option(metavar="TABLE", help="The table to export, e.g. candles or prices.")
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", metavar="csv|parquet", help="The file format (default: from --out, or csv)."
        ),
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="The file to write (default: a new file in DATA_DIR/exports).",
        ),
    ] = None,
    asset: Annotated[
        str | None, typer.Option(metavar="ASSET", help="Only this asset (id or ticker).")
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(metavar="INTERVAL", help=f"Only this interval: {', '.join(INTERVALS)}."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(metavar="TIME", help="Only rows at or after TIME (ISO-8601, UTC)."),
    ] = None,
) -> None:
    """Export a table to a CSV or Parquet file, streamed in constant memory.

    An unknown table, format, interval or asset and a missing --out folder are refused, so
    there are no empty exports and no new folders. A progress bar goes to stderr when it is
    a terminal; the file written is named on stdout.

    Exit status: 0 on success; 1 when the export failed; 2 for a refused option.
    """
    settings = settings_for(log_level="WARNING")
    prepare_data_dir(settings)
    try:
        chosen = get_table(table)
        kind = _export_format(fmt, out_path)
        seeded = _seeded_asset(asset)
        filters = ExportFilter(asset_id=seeded or asset, interval=interval, since=_since_arg(since))
        build_query(chosen, filters)  # refuses a filter the table has no column for
        if out_path is not None:
            check_target(out_path)
    except InvalidInput as exc:
        fail(exc.message, USAGE)
    target = out_path or default_path(settings.state_dir / "exports", table, kind)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        if asset is not None and seeded is None:
            filters = replace(filters, asset_id=_stored_asset(engine, asset))
        total = count_rows(engine, table, filters)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with progress(*columns, TimeElapsedColumn()) as bar:
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
        fail(exc.message, USAGE)
    except CryptoAggError as exc:
        fail(exc.message)
    except SQLAlchemyError as exc:
        fail(f"export failed: database error ({type(exc).__name__})")
    finally:
        engine.dispose()
    out().print(f"exported {rows:,} rows from {table} to {target}", soft_wrap=True)


def _sqlite_file(settings: Settings, action: str) -> Path:
    try:
        path = sqlite_path(settings.db_url)
    except CryptoAggError as exc:
        fail(exc.message)
    if path is None:
        fail(
            f"{action}: DATABASE_URL is PostgreSQL; use its own tools: "
            'pg_dump -Fc -f cryptoagg.dump "$DATABASE_URL" to back up, '
            'pg_restore --clean --if-exists -d "$DATABASE_URL" cryptoagg.dump to restore'
        )
    return path


def backup_command() -> None:
    """Back up the SQLite database online into DATA_DIR/backups.

    The backup is a consistent snapshot taken while the server may be writing, checked
    before it gets its final name; the newest BACKUP_KEEP backups are kept. PostgreSQL has
    its own tools (the error says which).

    Exit status: 0 on success; 1 when no backup could be made.
    """
    settings = settings_for(log_level="WARNING")
    prepare_data_dir(settings)
    db_path = _sqlite_file(settings, "backup")
    try:
        result = backup_database(db_path, settings.state_dir / "backups", settings.backup_keep)
    except CryptoAggError as exc:
        fail(exc.message)
    made = result.backup
    console = out()
    console.print(
        f"backed up {db_path} to {made.path} "
        f"(revision {made.revision}, {made.total_rows} rows, integrity ok)",
        soft_wrap=True,
    )
    for old in result.removed:
        console.print(f"removed old backup {old.name} (BACKUP_KEEP={settings.backup_keep})")


def restore_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A backup made by `cryptoagg backup`.")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the SQLite database with a backup, after checking it.

    The backup is validated first (integrity, schema) and the current database is saved
    before it is replaced; the question goes to stderr (--yes skips it).

    Exit status: 0 on success; 1 when the backup was refused or the restore not confirmed.
    """
    settings = settings_for(log_level="WARNING")
    prepare_data_dir(settings)
    db_path = _sqlite_file(settings, "restore")
    try:
        offered = validate_backup(file, "restore refused")
    except CryptoAggError as exc:
        fail(exc.message)
    console = out()
    console.print(
        f"{file}: revision {offered.revision}, {offered.total_rows} rows, integrity ok",
        soft_wrap=True,
    )
    question = f"Replace the database at {db_path} with this backup?"
    try:
        confirmed = yes or typer.confirm(question, default=False, err=True)
    except typer.Abort:
        confirmed = False
    if not confirmed:
        fail("restore cancelled: not confirmed (pass --yes to skip the question)")
    try:
        result = restore_database(file, db_path, settings.state_dir / "backups")
    except CryptoAggError as exc:
        fail(exc.message)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        now_at = current_revision(engine)
    except SQLAlchemyError as exc:
        fail(f"restored, but cannot migrate the database ({type(exc).__name__})")
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
