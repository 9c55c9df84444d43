"""Statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

#: rows per driver `executemany`
BATCH = 20_000


def dialect_insert(engine: Engine, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows the dialect's ON CONFLICT clauses."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring_duplicates(engine: Engine, table: Table) -> Insert:
    return dialect_insert(engine, table).on_conflict_do_nothing()


def _identity(value: Any) -> Any:
    return value


class TupleInsert:
    """A bulk INSERT whose rows travel to the driver's `executemany` as plain tuples.

    Each value is converted once by its column's own bind processor (so it is stored exactly
    as SQLAlchemy would store it), skipping the per-row statement machinery of a Core
    `insert()`. `on_conflict` is appended verbatim (e.g. `ON CONFLICT (...) DO NOTHING`)."""

    def __init__(
        self, engine: Engine, table: Table, columns: Sequence[str], on_conflict: str = ""
    ) -> None:
        dialect = engine.dialect
        self.processors: list[Callable[[Any], Any]] = [
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect) or _identity
            for name in columns
        ]
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        # built from the table's own names; plain SQL so that rows travel as tuples
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join([marker] * len(columns))}) {on_conflict}"
        ).strip()

    def convert(self, values: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            None if v is None else process(v)
            for process, v in zip(self.processors, values, strict=True)
        )

    def run(self, connection: Connection, rows: Iterable[tuple[Any, ...]]) -> int:
        """Insert already-converted rows in batches; returns the rows the database took."""
        added = 0
        values = iter(rows)
        while batch := list(islice(values, BATCH)):
            added += connection.exec_driver_sql(self.sql, batch).rowcount
        return added
