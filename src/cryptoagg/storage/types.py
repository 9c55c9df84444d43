"""Portable column types: exact decimals and timezone-aware UTC timestamps on SQLite too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as UTC (naive on SQLite, timestamptz on PostgreSQL); always read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_datetime


def _sqlite_datetime(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores ('2025-01-01 00:00:00.000000'), made
    in one step: candle ingest converts hundreds of thousands of these a second."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


class Money(TypeDecorator[Decimal]):
    """NUMERIC(38, 18) on PostgreSQL; text on SQLite, whose NUMERIC would round to a float."""

    impl = Numeric(38, 18)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(38, 18))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return format(value, "f") if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_decimal

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name != "sqlite":
            return Decimal(value)
        # normalize() in the default context would round to 28 digits; NUMERIC(38, 18) has 38
        return Decimal(value).normalize(Context(prec=max(len(str(value)), 28)))


def _sqlite_decimal(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
