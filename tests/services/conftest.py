"""Services that keep state in the database are tested on SQLite and PostgreSQL too."""

from tests.storage.conftest import engine, migrated

__all__ = ["engine", "migrated"]
