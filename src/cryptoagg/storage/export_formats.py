"""How an export writes values: one kind per column type, CSV cells and Parquet columns,
and one writer per file format (`storage/export.py` streams the rows through it).

CSV: decimals exact in plain notation (`0.000012`, never `1.2E-5`), times ISO-8601 UTC with
`Z`, JSON columns as compact JSON text, booleans `true`/`false`, NULL as an empty field.
Parquet: an explicit schema per table; `Money` columns are `decimal128(38, 18)`, the type
they have in the database (NUMERIC(38, 18)), so analysis tools get exact numbers rather than
text; times are `timestamp[us, tz=UTC]`; JSON columns are JSON text; one row group per chunk.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import JSON, Boolean, Column, Float, Integer, String, Table
from sqlalchemy.types import TypeEngine

from cryptoagg.core.errors import InvalidInput, StorageError
from cryptoagg.storage.types import Money, UtcDateTime

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
Kind = Literal["money", "time", "json", "bool", "int", "float", "text"]

_ARROW_TYPES: dict[Kind, Any] = {
    "money": pa.decimal128(38, 18),
    "time": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "float": pa.float64(),
    "text": pa.string(),
}


#: column types and the kind of their values (the first that matches wins)
_KINDS: tuple[tuple[type[TypeEngine[Any]], Kind], ...] = (
    (Money, "money"),
    (UtcDateTime, "time"),
    (JSON, "json"),
    (Boolean, "bool"),
    (Integer, "int"),
    (Float, "float"),
    (String, "text"),
)


def column_kind(column: Column[Any]) -> Kind:
    """How a column's values are written; a type with no kind is refused (`StorageError`)."""
    kind = next((k for t, k in _KINDS if isinstance(column.type, t)), None)
    if kind is None:
        raise StorageError(f"export: no format for column {column.name} ({column.type!r})")
    return kind


def arrow_schema(table: Table) -> Any:
    """The explicit Parquet schema of a table (nullability as in the database)."""
    return pa.schema(
        [
            pa.field(c.name, _ARROW_TYPES[column_kind(c)], nullable=bool(c.nullable))
            for c in table.columns
        ]
    )


# --- value conversion ----------------------------------------------------------------------


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _csv_money(value: Decimal) -> str:
    # plain notation (never 1.2E-5), without trailing zeros; pure text work, so nothing rounds
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _csv_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _csv_bool(value: bool) -> str:
    return "true" if value else "false"


def _csv_float(value: float) -> str:
    return repr(float(value))


_CSV_CELL: dict[Kind, Callable[[Any], str]] = {
    "money": _csv_money,
    "time": _csv_time,
    "json": _json_text,
    "bool": _csv_bool,
    "int": str,
    "float": _csv_float,
    "text": str,
}


def csv_cell(kind: Kind, value: Any) -> str:
    """How one value of a column of this kind is written to CSV (NULL is an empty field)."""
    return "" if value is None else _CSV_CELL[kind](value)


# --- writers -------------------------------------------------------------------------------


class Writer(Protocol):
    def write(self, rows: Sequence[Sequence[Any]]) -> None: ...

    def close(self) -> None: ...


class _CsvWriter:
    def __init__(self, path: Path, table: Table) -> None:
        self._cells = [_CSV_CELL[column_kind(c)] for c in table.columns]
        self._file: TextIO = path.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow([c.name for c in table.columns])

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        cells = self._cells
        self._csv.writerows(
            ["" if v is None else cell(v) for cell, v in zip(cells, row, strict=True)]
            for row in rows
        )

    def close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


class _ParquetWriter:
    def __init__(self, path: Path, table: Table) -> None:
        self._table = table
        self._kinds = [column_kind(c) for c in table.columns]
        self._schema = arrow_schema(table)
        self._writer = pq.ParquetWriter(str(path), self._schema)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        columns: dict[str, list[Any]] = {}
        for index, (column, kind) in enumerate(zip(self._table.columns, self._kinds, strict=True)):
            values = [row[index] for row in rows]
            if kind == "json":
                values = [None if v is None else _json_text(v) for v in values]
            columns[column.name] = values
        try:
            chunk = pa.Table.from_pydict(columns, schema=self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise StorageError(f"export: a value does not fit the Parquet schema ({exc})") from None
        self._writer.write_table(chunk, row_group_size=max(len(rows), 1))

    def close(self) -> None:
        self._writer.close()


def open_writer(fmt: Format, path: Path, table: Table) -> Writer:
    """The writer of `fmt` for `table`, writing `path`."""
    if fmt == "csv":
        return _CsvWriter(path, table)
    if fmt == "parquet":
        return _ParquetWriter(path, table)
    raise InvalidInput(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
