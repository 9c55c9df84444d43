"""Export one table of SPEC §6 to CSV or Parquet, streamed in constant memory.

Rows are fetched in chunks (`yield_per`, a server-side cursor on PostgreSQL; SQLite's cursor
steps lazily anyway) and each chunk is written before the next is read, so memory does not
grow with the table. The file is written under a temporary name next to the target and
renamed at the end: an interrupted export never leaves a half file under the final name.
Exports create no folders: a target whose folder does not exist is refused (`check_target`),
as are intervals that do not exist (`ExportFilter`), so a typo never ends as a silent empty
export or a stray directory tree. How values are written (CSV cells, the Parquet schema) is
`storage/export_formats.py`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, Select, Table, func, select

from cryptoagg.core.errors import InvalidInput, StorageError
from cryptoagg.core.models import Interval
from cryptoagg.storage.export_formats import Format, column_kind, open_writer
from cryptoagg.storage.tables import metadata

CHUNK_ROWS = 10_000
INTERVALS: tuple[str, ...] = tuple(i.value for i in Interval)


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Optional row filters; each applies only to tables that have the column."""

    asset_id: str | None = None  # `asset_id` column (prices, candles, market_analysis)
    interval: str | None = None  # `interval` column (candles, market_analysis)
    since: datetime | None = None  # the table's first timestamp column, inclusive

    def __post_init__(self) -> None:
        if self.interval is not None and self.interval not in INTERVALS:
            raise InvalidInput(
                f"unknown interval {self.interval!r}; valid intervals: {', '.join(INTERVALS)}"
            )


def table_names() -> list[str]:
    return sorted(metadata.tables)


def get_table(name: str) -> Table:
    """The table called `name`, or `InvalidInput` listing the valid names."""
    table = metadata.tables.get(name)
    if table is None:
        raise InvalidInput(f"unknown table {name!r}; valid tables: {', '.join(table_names())}")
    return table


def time_column(table: Table) -> Column[Any] | None:
    """The column `since` filters on: the table's first timestamp (e.g. candles.open_time)."""
    return next((c for c in table.columns if column_kind(c) == "time"), None)


def build_query(table: Table, filters: ExportFilter) -> Select[Any]:
    query = select(table)
    wanted = (
        ("asset_id", filters.asset_id, "--asset"),
        ("interval", filters.interval, "--interval"),
    )
    for column_name, value, option in wanted:
        if value is None:
            continue
        if column_name not in table.c:
            raise InvalidInput(f"{option} does not apply to table {table.name} (no {column_name})")
        query = query.where(table.c[column_name] == value)
    if filters.since is not None:
        column = time_column(table)
        if column is None:
            raise InvalidInput(f"--since does not apply to table {table.name} (no timestamp)")
        if filters.since.tzinfo is None:
            raise InvalidInput("--since must be a timezone-aware time")
        query = query.where(column >= filters.since)
    return query.order_by(*(table.primary_key.columns or table.columns))


def count_rows(engine: Engine, name: str, filters: ExportFilter = ExportFilter()) -> int:
    """How many rows an export with these filters writes (for the progress bar)."""
    query = build_query(get_table(name), filters).order_by(None)
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(query.subquery())).one()[0])


def stored_asset_id(engine: Engine, text: str) -> str | None:
    """The asset id `text` names in the database (as written, or lower-cased like the
    registry's ids) when any table with an `asset_id` column holds a row for it; else None.
    For assets a provider's listing added: the registry is rebuilt from the seed at start."""
    wanted = list(dict.fromkeys((text.strip(), text.strip().lower())))
    tables = [t for _, t in sorted(metadata.tables.items()) if "asset_id" in t.c]
    with engine.connect() as connection:
        for asset_id in wanted:
            for table in tables:
                query = select(table.c.asset_id).where(table.c.asset_id == asset_id).limit(1)
                if connection.execute(query).first() is not None:
                    return asset_id
    return None


def check_target(out: Path) -> None:
    """Refuse an export target whose folder does not exist (exports create no folders) or
    that is a folder itself, with `InvalidInput` naming `--out`."""
    if out.is_dir():
        raise InvalidInput(f"--out: {out} is a folder; give a file name")
    if not out.parent.is_dir():
        what = "is not a folder" if out.parent.exists() else "does not exist"
        raise InvalidInput(f"--out: {out.parent} {what} (export creates no folders)")


def default_path(exports_dir: Path, name: str, fmt: Format, now: datetime | None = None) -> Path:
    """DATA_DIR/exports/<table>-<UTC timestamp>.<ext>."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return exports_dir / f"{name}-{stamp}.{fmt}"


# --- the export ----------------------------------------------------------------------------


def export_table(
    engine: Engine,
    name: str,
    fmt: Format,
    out: Path,
    *,
    filters: ExportFilter = ExportFilter(),
    chunk_rows: int = CHUNK_ROWS,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Write table `name` to `out` chunk by chunk; return the number of rows written.
    `out`'s folder must exist (`check_target`).

    `on_chunk` is called with each chunk's row count (progress). On any failure the partial
    temporary file is removed and `out` is left as it was.
    """
    if chunk_rows < 1:
        raise InvalidInput("chunk_rows must be at least 1")
    table = get_table(name)
    query = build_query(table, filters)
    check_target(out)
    # a hidden, unique name in the same directory, so the final rename is atomic
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:12]}.part")
    written = 0
    try:
        writer = open_writer(fmt, tmp, table)
        try:
            with engine.connect() as connection:
                result = connection.execution_options(
                    stream_results=True, yield_per=chunk_rows
                ).execute(query)
                for rows in result.partitions():
                    writer.write(rows)
                    written += len(rows)
                    if on_chunk is not None:
                        on_chunk(len(rows))
        finally:
            writer.close()
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"export failed: cannot write {out} ({exc.strerror})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written
