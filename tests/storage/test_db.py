from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, String, column, inspect, table, text

from cryptoagg.core.models import Interval
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.db import current_revision, make_engine, upgrade
from cryptoagg.storage.tables import metadata
from cryptoagg.storage.types import Money, UtcDateTime

#: the newest migration
HEAD = "0006"
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
    "news_assets",
    "news_sources",
}


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)  # a second start-up changes nothing
    assert current_revision(engine) == HEAD
    names = set(inspect(engine).get_table_names())
    assert names >= TABLES
    assert set(metadata.tables) == TABLES
    uniques = inspect(engine).get_unique_constraints("candles")
    assert [u["column_names"] for u in uniques] == [["asset_id", "interval", "open_time"]]
    # PostgreSQL's ingest finds the partial rollups it replaces through a partial index
    indexes = {i["name"] for i in inspect(engine).get_indexes("candles")}
    assert ("ix_candles_partial" in indexes) == (engine.dialect.name == "postgresql")


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
    assert current_revision(engine) == HEAD
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count FROM user_queries")).scalar_one() == 1


#: the candles table as revision 0002 has it
_CANDLES_0002 = table(
    "candles",
    column("asset_id", String()),
    column("interval", String()),
    column("open_time", UtcDateTime()),
    column("open", Money()),
    column("high", Money()),
    column("low", Money()),
    column("close", Money()),
    column("volume", Money()),
    column("source", String()),
)
DAY = datetime(2026, 1, 1, tzinfo=UTC)


def _row(interval: str, at: datetime, source: str, asset: str = "bitcoin") -> dict[str, Any]:
    one = Decimal(1)
    return {
        "asset_id": asset,
        "interval": interval,
        "open_time": at,
        **dict.fromkeys(("open", "high", "low", "close", "volume"), one),
        "source": source,
    }


def test_a_revision_0002_database_gets_its_rollups_counted(engine: Engine) -> None:
    """Rollups made before partial ones were marked: those whose finer candles are stored
    are counted (and marked partial when some are missing); the others stay complete."""
    hour, minute = timedelta(hours=1), timedelta(minutes=1)
    upgrade(engine, "0002")
    rows = [
        # 00:00 has its 60 minutes, 01:00 only 30, 02:00's were pruned by retention
        *(_row("1m", DAY + i * minute, "binance") for i in range(60)),
        *(_row("1m", DAY + hour + i * minute, "binance") for i in range(30)),
        *(_row("1h", DAY + i * hour, "rollup") for i in range(3)),
        _row("1h", DAY, "rollup", asset="ethereum"),  # another asset's minutes do not count
        # 03:00 to 15:00 from a provider: the day has 16 hours, 15 of them complete
        *(_row("1h", DAY + i * hour, "kraken") for i in range(3, 16)),
        _row("1d", DAY, "rollup"),
        # the day before has its 24 hours; the one before that none any more
        *(_row("1h", DAY - 24 * hour + i * hour, "kraken") for i in range(24)),
        _row("1d", DAY - timedelta(days=1), "rollup"),
        _row("1d", DAY - timedelta(days=2), "rollup"),
        _row("1d", DAY - timedelta(days=3), "binance"),
    ]
    with engine.begin() as connection:
        connection.execute(_CANDLES_0002.insert(), rows)

    upgrade(engine)

    assert current_revision(engine) == HEAD
    marks = CandleRepository(engine)

    def flags(asset: str, interval: Interval, start: datetime, n: int) -> list[tuple[Any, ...]]:
        got = marks.between(asset, interval, start, start + (n - 1) * interval.delta)
        return [(c.provider, c.partial, c.sub_candles) for c in got]

    assert flags("bitcoin", Interval.H1, DAY, 4) == [
        ("rollup", False, 60),
        ("rollup", True, 30),
        ("rollup", False, None),
        ("kraken", False, None),
    ]
    assert flags("ethereum", Interval.H1, DAY, 1) == [("rollup", False, None)]
    assert flags("bitcoin", Interval.D1, DAY - timedelta(days=3), 4) == [
        ("binance", False, None),
        ("rollup", False, None),
        ("rollup", False, 24),
        ("rollup", True, 15),
    ]
    # and the partial ones are what gap detection now asks a provider for
    stored = marks.open_times("bitcoin", Interval.D1, DAY - timedelta(days=3), DAY, complete=True)
    assert sorted(stored) == [DAY - timedelta(days=d) for d in (3, 2, 1)]


def test_a_revision_0003_database_keeps_its_news_as_first_sources(engine: Engine) -> None:
    upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO news (url, title, source, provider, published_at, currencies) "
                "VALUES ('https://example.com/a?utm_source=x', 'Bitcoin rises', 'CoinDesk', "
                "'coindesk', '2026-01-01 00:00:00', '[]')"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == HEAD
    with engine.connect() as connection:
        row = connection.execute(text("SELECT canonical_url, linked FROM news")).one()
        sources = connection.execute(
            text("SELECT url, source, provider, matched_by FROM news_sources")
        ).all()
    assert row[0] == "https://example.com/a?utm_source=x"
    assert not row[1]  # linked by the collector's next run
    assert [tuple(s) for s in sources] == [
        ("https://example.com/a?utm_source=x", "CoinDesk", "coindesk", "first")
    ]
