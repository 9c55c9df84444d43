from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select, text

from cryptoagg.core.models import Candle, Interval, NewsItem
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.configuration import ConfigurationRepository
from cryptoagg.storage.news import NewsRepository
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
    with migrated.connect() as connection:
        # an equality match through SQLAlchemy's own bind processing finds the row
        found = connection.execute(select(candles.c.id).where(candles.c.open_time == odd_time))
        assert len(found.all()) == 1
        if migrated.dialect.name == "sqlite":  # and the text is SQLAlchemy's DATETIME format
            raw = connection.execute(text("SELECT open_time, low FROM candles")).one()
            assert tuple(raw) == ("2026-01-01 00:05:00.000007", "0.000000012345678901")


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


def test_news_is_stored_once_per_url(migrated: Engine) -> None:
    repo = NewsRepository(migrated)

    def item(n: int, provider: str = "coindesk") -> NewsItem:
        return NewsItem(
            title=f"Story {n}",
            url=f"https://example.com/{n}",
            source="CoinDesk",
            published_at=T0 + timedelta(hours=n),
            provider=provider,
            currencies=("BTC",),
        )

    assert repo.add_many([item(1), item(2), item(2, "cryptopanic")]) == 2
    assert repo.add_many([item(2), item(3)]) == 1
    latest = repo.latest(limit=2)
    assert [i.title for i in latest] == ["Story 3", "Story 2"]
    assert latest[0].currencies == ("BTC",) and latest[0].published_at.tzinfo is UTC
    assert [i.title for i in repo.latest(10, since=T0 + timedelta(hours=2))] == [
        "Story 3",
        "Story 2",
    ]


def test_configuration_values_are_upserted(migrated: Engine) -> None:
    repo = ConfigurationRepository(migrated, clock=lambda: T0)
    assert repo.get("k") is None
    repo.set("k", {"a": 1})
    repo.set("k", "2026-01-01T00:00:00+00:00")
    assert repo.get("k") == "2026-01-01T00:00:00+00:00"
