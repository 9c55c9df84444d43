"""Online backup, rotation and validated restore of the SQLite database."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cryptoagg.core.errors import BackupRefused, StorageError
from cryptoagg.storage.backup import (
    SPEC_TABLES,
    backup,
    head_revision,
    list_backups,
    restore,
    rotate,
    sqlite_path,
    validate_backup,
)
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.tables import (
    alerts,
    candles,
    configuration,
    incidents,
    metadata,
    pool_members,
    pools,
    prices,
)

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def clock(start: datetime = T0) -> Callable[[], datetime]:
    """A fake UTC clock: each call is one second later."""
    ticks = iter(range(10_000))
    return lambda: start + timedelta(seconds=next(ticks))


def dump(path: Path) -> tuple[dict[str, list[tuple[Any, ...]]], list[str]]:
    """Every table's raw rows (the stored bytes: text decimals, text times) and the SQL dump."""
    with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)) as connection:
        names = [
            str(r[0])
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
            )
        ]
        rows = {
            name: list(connection.execute(f'SELECT * FROM "{name}" ORDER BY rowid'))
            for name in names
        }
        return rows, list(connection.iterdump())


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    """A migrated WAL database with rows in several tables, and an engine that stays open."""
    path = tmp_path / "data" / "cryptoagg.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            candles.insert(),
            [
                {
                    "asset_id": "bitcoin",
                    "interval": "1h",
                    "open_time": T0 + timedelta(hours=i),
                    "open": Decimal("42000.123456789012345678") + i,
                    "high": Decimal("12345678901234567890.123456789012345678"),
                    "low": Decimal("0.000000000000000001"),
                    "close": Decimal(i),
                    "volume": None,
                    "source": "kraken",
                }
                for i in range(50)
            ],
        )
        connection.execute(
            prices.insert(),
            {
                "asset_id": "ethereum",
                "price": Decimal("3012.25"),
                "as_of": T0,
                "recorded_at": T0,
                "sources": ["kraken", "coinbase"],
            },
        )
        incident = connection.execute(
            incidents.insert().returning(incidents.c.id),
            {"provider": "kraken", "opened_at": T0, "reason": "timeout", "failed_checks": 3},
        ).scalar_one()
        connection.execute(
            alerts.insert(),
            {"incident_id": incident, "at": T0, "kind": "opened", "message": "kraken down"},
        )
        connection.execute(pools.insert(), {"id": "spot", "strategy": "priority", "updated_at": T0})
        connection.execute(
            pool_members.insert(), {"pool_id": "spot", "provider": "kraken", "priority": 0}
        )
        connection.execute(
            configuration.insert(), {"key": "k", "value": {"a": [1, 2]}, "updated_at": T0}
        )
    yield path, engine
    engine.dispose()


def _change(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(candles.delete().where(candles.c.id <= 10))
        connection.execute(prices.update().values(price=Decimal("1.5")))
        connection.execute(configuration.insert(), {"key": "new", "value": {}, "updated_at": T0})


def test_backup_then_restore_round_trips_byte_equal_data(
    live: tuple[Path, Engine], tmp_path: Path
) -> None:
    db, engine = live
    backups = tmp_path / "data" / "backups"
    # the recent commits are still in the WAL: a copy of the main file alone would miss them
    assert Path(f"{db}-wal").stat().st_size > 0
    before = dump(db)
    assert len(before[0]["candles"]) == 50

    made = backup(db, backups, keep=7, now=clock())

    assert made.backup.path == backups / "cryptoagg-20240301T120000.123456Z.db"
    assert made.backup.revision == head_revision()
    assert made.backup.rows["candles"] == 50 and made.backup.total_rows == 56
    assert dump(made.backup.path) == before
    with closing(sqlite3.connect(made.backup.path)) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # self-contained
    assert not Path(f"{made.backup.path}-wal").exists()

    _change(engine)
    changed = dump(db)
    assert changed != before

    result = restore(made.backup.path, db, backups, now=clock(T0 + timedelta(hours=1)))

    assert dump(db) == before  # every row of every table, and the SQL dump, byte for byte
    assert result.restored.rows == made.backup.rows
    assert result.safety_backup == backups / "cryptoagg-20240301T130000.123456Z-pre-restore.db"
    assert dump(result.safety_backup) == changed
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # the engine that stayed open through the restore sees the restored data
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(candles)).scalar_one() == 50
        assert connection.execute(select(prices.c.price)).scalar_one() == Decimal("3012.25")


def test_restore_into_an_empty_data_dir(live: tuple[Path, Engine], tmp_path: Path) -> None:
    db, _ = live
    made = backup(db, tmp_path / "backups", keep=7)
    fresh = tmp_path / "elsewhere" / "cryptoagg.db"

    result = restore(made.backup.path, fresh, tmp_path / "backups")

    assert result.safety_backup is None
    assert dump(fresh) == dump(db)


def test_backup_while_another_process_writes(live: tuple[Path, Engine], tmp_path: Path) -> None:
    db, _ = live
    stop = threading.Event()
    failures: list[BaseException] = []
    written = [0]

    def writer() -> None:
        try:
            with closing(sqlite3.connect(db, timeout=10)) as connection:
                connection.execute("PRAGMA busy_timeout=10000")
                i = 0
                while not stop.is_set():
                    with connection:
                        connection.execute(
                            "INSERT INTO status_log (at, provider, ok, state) "
                            "VALUES ('2024-01-01 00:00:00.000000', ?, 1, 'closed')",
                            (f"p{i}",),
                        )
                    i += 1
                    written[0] = i
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    counts = []
    try:
        while written[0] < 100 and thread.is_alive():  # the writer is well under way
            time.sleep(0.001)
        for _ in range(5):
            made = backup(db, tmp_path / "backups", keep=10)
            counts.append(made.backup.rows["status_log"])
    finally:
        stop.set()
        thread.join()

    assert failures == []
    assert counts == sorted(counts)
    assert counts[0] >= 100 and counts[-1] <= written[0]
    for path in list_backups(tmp_path / "backups"):
        assert validate_backup(path).rows["candles"] == 50  # each copy is whole and sound


def test_rotation_keeps_the_newest_n(live: tuple[Path, Engine], tmp_path: Path) -> None:
    db, _ = live
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "notes.txt").write_text("mine")
    (backups / "cryptoagg-manual.db").write_bytes(b"not ours to delete")
    now = clock()

    made = [backup(db, backups, keep=3, now=now) for _ in range(5)]

    kept = list_backups(backups)
    assert kept == [m.backup.path for m in made[2:]]
    assert made[3].removed == [made[0].backup.path]
    assert made[4].removed == [made[1].backup.path]
    assert sorted(p.name for p in backups.iterdir() if p not in kept) == [
        "cryptoagg-manual.db",
        "notes.txt",
    ]
    assert rotate(backups, 1) == kept[:2]
    assert list_backups(backups) == [made[4].backup.path]


def test_backup_of_a_missing_database_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"^backup failed: no database at .*nope\.db$"):
        backup(tmp_path / "nope.db", tmp_path / "backups", keep=3)
    assert not (tmp_path / "backups").exists()


# --- refused files -------------------------------------------------------------------------


def _random_bytes(good: Path, bad: Path) -> None:
    bad.write_bytes(os.urandom(64 * 1024))


def _text_file(good: Path, bad: Path) -> None:
    bad.write_text("id,asset_id\n1,bitcoin\n")


def _truncated(good: Path, bad: Path) -> None:
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) // 2])


def _damaged_pages(good: Path, bad: Path) -> None:
    data = bytearray(good.read_bytes())
    page = 4096
    for number in range(2, len(data) // page, 3):  # every third page after the schema
        data[number * page + 8 : number * page + 600] = os.urandom(592)
    bad.write_bytes(bytes(data))


def _foreign(good: Path, bad: Path) -> None:
    with closing(sqlite3.connect(bad)) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total TEXT)")
        connection.execute("INSERT INTO orders (total) VALUES ('9.99')")
        connection.commit()


def _missing_table(good: Path, bad: Path) -> None:
    bad.write_bytes(good.read_bytes())
    with closing(sqlite3.connect(bad)) as connection:
        connection.execute("DROP TABLE news")
        connection.commit()


def _newer_revision(good: Path, bad: Path) -> None:
    bad.write_bytes(good.read_bytes())
    with closing(sqlite3.connect(bad)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
        connection.commit()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_random_bytes, r"is not a SQLite database$"),
        (_text_file, r"is not a SQLite database$"),
        (_truncated, r"is corrupt \("),
        (_damaged_pages, r"is corrupt \("),
        (_foreign, r"is not a cryptoagg database \(no alembic_version table\)$"),
        (_missing_table, r"is not a cryptoagg database \(missing tables: news\)$"),
        (
            _newer_revision,
            r"has schema revision 9999_future, newer than this cryptoagg knows \(newest known: "
            r"\w+\); upgrade cryptoagg first$",
        ),
    ],
)
def test_a_bad_file_is_refused_and_the_live_database_untouched(
    live: tuple[Path, Engine],
    tmp_path: Path,
    make: Callable[[Path, Path], None],
    message: str,
) -> None:
    db, engine = live
    backups = tmp_path / "backups"
    good = backup(db, backups, keep=7).backup.path
    bad = tmp_path / "offered.db"
    make(good, bad)
    before = dump(db)

    with pytest.raises(BackupRefused) as caught:
        restore(bad, db, backups)

    assert caught.value.message.startswith(f"restore refused: {bad} ")
    assert "\n" not in caught.value.message
    assert re.search(message, caught.value.message), caught.value.message
    assert dump(db) == before
    assert list_backups(backups) == [good]  # no safety backup was taken
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(candles)).scalar_one() == 50


def test_a_missing_file_and_the_live_database_itself_are_refused(
    live: tuple[Path, Engine], tmp_path: Path
) -> None:
    db, _ = live
    with pytest.raises(BackupRefused, match=r"does not exist or is not a file$"):
        restore(tmp_path / "nope.db", db, tmp_path / "backups")
    with pytest.raises(BackupRefused, match=r"is the live database itself$"):
        restore(db, db, tmp_path / "backups")
    assert not (tmp_path / "backups").exists()


def test_the_known_tables_are_the_spec_tables() -> None:
    assert set(metadata.tables) >= SPEC_TABLES
    assert len(SPEC_TABLES) == 13


def test_sqlite_path_from_urls(tmp_path: Path) -> None:
    assert sqlite_path(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_path("sqlite:///./data/cryptoagg.db") == Path("data/cryptoagg.db")
    assert sqlite_path("postgresql://u:p@localhost/db") is None
    with pytest.raises(StorageError, match="in-memory"):
        sqlite_path("sqlite:///:memory:")
