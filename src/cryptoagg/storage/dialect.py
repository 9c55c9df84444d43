"""Statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(engine: Engine, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows the dialect's ON CONFLICT clauses."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring_duplicates(engine: Engine, table: Table) -> Insert:
    return dialect_insert(engine, table).on_conflict_do_nothing()
