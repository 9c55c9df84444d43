"""The `configuration` table: JSON values by key (history floors, job watermarks, the asset
listings and their change log)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from cryptoagg.storage.dialect import dialect_insert
from cryptoagg.storage.tables import configuration


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ConfigurationRepository:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def get(self, key: str) -> Any:
        query = select(configuration.c.value).where(configuration.c.key == key)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()

    def updated_at(self, keys: Sequence[str]) -> dict[str, datetime]:
        """When each of `keys` that is stored was last written (without reading the values)."""
        query = select(configuration.c.key, configuration.c.updated_at).where(
            configuration.c.key.in_(keys)
        )
        with self.engine.connect() as connection:
            return {key: at for key, at in connection.execute(query).all()}

    def set(self, key: str, value: Any) -> None:
        statement = dialect_insert(self.engine, configuration)
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
        with self.engine.begin() as connection:
            connection.execute(statement, {"key": key, "value": value, "updated_at": self.clock()})
