from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select, text

from cryptoagg.core.models import Candle, Interval
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.configuration import ConfigurationRepository
from cryptoagg.storage.tables import candles

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def candle(
    minute: int,
    close: str = "100.5",
    source: str = "kraken",
    interval: Interval = Interval.M1,
    volume: str | None = "12.5",
) -> Candle:
    return Candle(
        asset_id="bitcoin",
        interval=interval,
        open_time=T0 + timedelta(minutes=minute),
        open=Decimal("100.123456789012345678"),
        high=Decimal("101"),
        low=Decimal("0.000000012345678901"),
        close=Decimal(close),
        volume=None if volume is None else Decimal(volume),
        provider=source,
    )


def test_candles_are_unique_per_asset_interval_and_open_time(migrated: Engine) -> None:
    repo = CandleRepository(migrated)
    assert repo.add_many([candle(0), candle(1), candle(2, volume=None)]) == 3
    # a backfill overlapping what is stored adds only the new ones
    assert repo.add_many([candle(2, close="999", source="binance"), candle(3)]) == 1
    stored = repo.between("bitcoin", Interval.M1, T0, T0 + timedelta(minutes=10))
    assert [c.open_time for c in stored] == [T0 + timedelta(minutes=i) for i in range(4)]
    assert stored[2].close == Decimal("100.5") and stored[2].provider == "kraken"
    assert stored[2].volume is None and stored[3].volume == Decimal("12.5")
    assert stored[0].open == Decimal("100.123456789012345678")
    assert stored[0].low == Decimal("0.000000012345678901")
    assert stored[0].open_time.tzinfo is UTC
    assert repo.between("bitcoin", Interval.H1, T0, T0 + timedelta(hours=1)) == []
    assert repo.count() == 4 and repo.count("bitcoin", Interval.H1) == 0


def test_bulk_ingest_counts_new_rows_across_batches(migrated: Engine) -> None:
    repo = CandleRepository(migrated)
    rows = [candle(i) for i in range(25_000)]  # more than one driver batch
    assert repo.add_many(rows) == 25_000
    assert repo.add_many([*rows[24_000:], candle(25_000)]) == 1
    assert repo.count("bitcoin", Interval.M1) == 25_001


def test_bulk_ingest_stores_what_the_orm_path_reads(migrated: Engine) -> None:
    """The fast path converts values itself: they must read back like any other row."""
    repo = CandleRepository(migrated)
    odd_time = T0 + timedelta(minutes=5, microseconds=7)
    repo.add_many([candle(0).model_copy(update={"open_time": odd_time})])
    [stored] = repo.between("bitcoin", Interval.M1, odd_time, odd_time)
    assert stored.open_time == odd_time
    assert (stored.partial, stored.sub_candles) == (False, None)
    with migrated.connect() as connection:
        # an equality match through SQLAlchemy's own bind processing finds the row
        found = connection.execute(select(candles.c.id).where(candles.c.open_time == odd_time))
        assert len(found.all()) == 1
        if migrated.dialect.name == "sqlite":  # and the text is SQLAlchemy's DATETIME format
            raw = connection.execute(text("SELECT open_time, low FROM candles")).one()
            assert tuple(raw) == ("2026-01-01 00:05:00.000007", "0.000000012345678901")


def test_bulk_ingest_of_rollup_marks_matches_sqlalchemys_own_insert(migrated: Engine) -> None:
    """Candles carrying rollup marks take the fast path's full statement: their stored
    values are those a Core insert writes, and a plain candle's are the column defaults."""
    repo = CandleRepository(migrated)
    marked = candle(0, source="rollup", interval=Interval.H1)
    marked = marked.model_copy(update={"partial": True, "sub_candles": 42})
    repo.add_many([marked, candle(0, interval=Interval.D1)])
    with migrated.begin() as connection:
        connection.execute(
            candles.insert(),
            [
                {**_columns(marked), "asset_id": "core"},
                {**_columns(candle(0, interval=Interval.D1)), "asset_id": "core"},
            ],
        )
        raw = connection.execute(
            text(
                "SELECT asset_id, interval, partial, sub_candles, open_time, open, low "
                "FROM candles ORDER BY asset_id, interval"
            )
        ).all()
    fast, orm = (
        [tuple(r)[1:] for r in raw if r[0] == "bitcoin"],
        [tuple(r)[1:] for r in raw if r[0] == "core"],
    )
    assert fast == orm
    assert [r[:3] for r in fast] == [("1d", False, None), ("1h", True, 42)]
    [read] = repo.between("bitcoin", Interval.H1, T0, T0)
    assert read == marked


def _columns(c: Candle) -> dict[str, object]:
    return {
        "asset_id": c.asset_id,
        "interval": c.interval.value,
        "open_time": c.open_time,
        "open": c.open,
        "high": c.high,
        "low": c.low,
        "close": c.close,
        "volume": c.volume,
        "source": c.provider,
        "partial": c.partial,
        "sub_candles": c.sub_candles,
    }


def test_open_times_and_retention(migrated: Engine) -> None:
    repo = CandleRepository(migrated)
    repo.add_many([candle(i) for i in range(10)] + [candle(0, interval=Interval.H1)])
    times = repo.open_times(
        "bitcoin", Interval.M1, T0 + timedelta(minutes=3), T0 + timedelta(minutes=5)
    )
    assert sorted(times) == [T0 + timedelta(minutes=i) for i in (3, 4, 5)]
    assert repo.delete_before(Interval.M1, T0 + timedelta(minutes=4)) == 4
    assert repo.count("bitcoin", Interval.M1) == 6
    assert repo.count("bitcoin", Interval.H1) == 1


def test_rollups_replace_rollups_but_keep_provider_candles(migrated: Engine) -> None:
    repo = CandleRepository(migrated)
    repo.add_many([candle(0, close="1", source="binance", interval=Interval.H1)])
    rollups = [
        candle(0, close="2", source="rollup", interval=Interval.H1),
        candle(60, close="3", source="rollup", interval=Interval.H1),
    ]
    repo.put_rollups(rollups)
    repo.put_rollups([candle(60, close="4", source="rollup", interval=Interval.H1)])
    stored = repo.between("bitcoin", Interval.H1, T0, T0 + timedelta(hours=2))
    assert [(c.provider, c.close) for c in stored] == [
        ("binance", Decimal(1)),
        ("rollup", Decimal(4)),
    ]


DAY = timedelta(days=1)


def day(n: int, close: str, source: str = "binance", sub_candles: int | None = None) -> Candle:
    """A daily candle; with `sub_candles`, a rollup of that many of its 24 hours."""
    c = candle(0, close=close, source=source, interval=Interval.D1)
    marks = {} if sub_candles is None else {"partial": sub_candles < 24, "sub_candles": sub_candles}
    return c.model_copy(update={"open_time": T0 + n * DAY, **marks})


def days(repo: CandleRepository, n: int) -> list[tuple[str, Decimal, bool, int | None]]:
    stored = repo.between("bitcoin", Interval.D1, T0, T0 + (n - 1) * DAY)
    return [(c.provider, c.close, c.partial, c.sub_candles) for c in stored]


def test_a_provider_candle_replaces_a_partial_rollup_only(migrated: Engine) -> None:
    repo = CandleRepository(migrated)
    repo.put_rollups([day(0, "1", "rollup", 16), day(1, "2", "rollup", 24)])
    repo.add_many([day(2, "3", "kraken")])

    # the same day twice in one batch (COPY's staging table takes both)
    added = repo.add_many([day(0, "10"), day(0, "10"), day(1, "11"), day(2, "12"), day(3, "13")])

    # the partial day is replaced and the new one inserted; the complete rollup and the
    # other provider's candle stay
    assert added == 2
    assert days(repo, 4) == [
        ("binance", 10, False, None),
        ("rollup", 2, False, 24),
        ("kraken", 3, False, None),
        ("binance", 13, False, None),
    ]
    # and once replaced, the period keeps the provider's candle
    assert repo.add_many([day(0, "20", "coinbase")]) == 0
    assert days(repo, 1) == [("binance", 10, False, None)]


def test_a_partial_candle_never_replaces_anything(migrated: Engine) -> None:
    repo = CandleRepository(migrated)
    repo.put_rollups([day(0, "1", "rollup", 16)])
    repo.add_many([day(1, "2")])
    assert repo.add_many([day(0, "3", "rollup", 20), day(1, "4", "rollup", 20)]) == 0
    assert days(repo, 2) == [("rollup", 1, True, 16), ("binance", 2, False, None)]


def test_rollups_replace_rollups_but_a_complete_one_only_by_a_complete_one(
    migrated: Engine,
) -> None:
    repo = CandleRepository(migrated)
    repo.put_rollups([day(0, "1", "rollup", 16), day(1, "2", "rollup", 24)])
    repo.add_many([day(2, "3")])
    # day 0 got its missing hours; day 1 lost some (retention pruned its hours)
    repo.put_rollups(
        [day(0, "4", "rollup", 24), day(1, "5", "rollup", 7), day(2, "6", "rollup", 24)]
    )
    assert days(repo, 3) == [
        ("rollup", 4, False, 24),
        ("rollup", 2, False, 24),
        ("binance", 3, False, None),
    ]
    repo.put_rollups([day(1, "7", "rollup", 24)])  # a complete one still replaces it
    assert days(repo, 2)[1] == ("rollup", 7, False, 24)


def test_gap_inputs_can_leave_partial_rollups_out(migrated: Engine) -> None:
    repo = CandleRepository(migrated)
    repo.put_rollups([day(0, "1", "rollup", 16), day(1, "2", "rollup", 24)])
    repo.add_many([day(2, "3")])
    end = T0 + 2 * DAY
    assert sorted(repo.open_times("bitcoin", Interval.D1, T0, end)) == [T0, T0 + DAY, end]
    assert sorted(repo.open_times("bitcoin", Interval.D1, T0, end, complete=True)) == [
        T0 + DAY,
        end,
    ]


def test_configuration_values_are_upserted(migrated: Engine) -> None:
    repo = ConfigurationRepository(migrated, clock=lambda: T0)
    assert repo.get("k") is None
    repo.set("k", {"a": 1})
    repo.set("k", "2026-01-01T00:00:00+00:00")
    assert repo.get("k") == "2026-01-01T00:00:00+00:00"
