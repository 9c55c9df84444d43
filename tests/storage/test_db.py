from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from cryptoagg.storage.db import current_revision, make_engine, upgrade
from cryptoagg.storage.tables import metadata

TABLES = {
    "prices",
    "candles",
    "news",
    "market_analysis",
    "user_queries",
    "status_log",
    "response_times",
    "incidents",
    "alerts",
    "configuration",
    "pools",
    "pool_members",
    "pool_rotations",
}


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)  # a second start-up changes nothing
    assert current_revision(engine) == "0002"
    names = set(inspect(engine).get_table_names())
    assert names >= TABLES
    assert set(metadata.tables) == TABLES
    uniques = inspect(engine).get_unique_constraints("candles")
    assert [u["column_names"] for u in uniques] == [["asset_id", "interval", "open_time"]]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.db")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_a_revision_0001_database_is_migrated_with_its_rows(engine: Engine) -> None:
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO user_queries (at, endpoint, params, status, duration_ms) "
                "VALUES ('2026-01-01 00:00:00', '/api/market', '{}', 200, 1.5)"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == "0002"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count FROM user_queries")).scalar_one() == 1
