from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cryptoagg.core.models import Candle, Interval
from cryptoagg.storage.db import upgrade
from cryptoagg.storage.repositories import CandleRepository, PriceRecord, PriceRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    upgrade(engine)
    return engine


def candle(minute: int, close: str = "100.5", source: str = "kraken") -> Candle:
    return Candle(
        asset_id="bitcoin",
        interval=Interval.M1,
        open_time=T0 + timedelta(minutes=minute),
        open=Decimal("100.123456789012345678"),
        high=Decimal("101"),
        low=Decimal("99.5"),
        close=Decimal(close),
        volume=Decimal("12.5"),
        provider=source,
    )


def test_prices_round_trip_exact_decimals_and_utc(migrated: Engine) -> None:
    repo = PriceRepository(migrated)
    records = [
        PriceRecord(
            asset_id="bitcoin",
            price=Decimal("67187.335893656612345678"),
            as_of=T0 + timedelta(seconds=i),
            recorded_at=T0 + timedelta(seconds=i, milliseconds=5),
            sources=["coingecko", "kraken"],
            market_cap=Decimal("1317802988326.25"),
        )
        for i in range(3)
    ]
    assert repo.add_many(records) == 3
    latest = repo.latest("bitcoin", limit=2)
    assert [r.as_of for r in latest] == [T0 + timedelta(seconds=2), T0 + timedelta(seconds=1)]
    assert latest[0].price == Decimal("67187.335893656612345678")
    assert latest[0].as_of.tzinfo is UTC
    assert latest[0].sources == ["coingecko", "kraken"]
    assert latest[0].market_cap == Decimal("1317802988326.25")
    assert repo.latest("ethereum", limit=5) == []


def test_candles_are_unique_per_asset_interval_and_open_time(migrated: Engine) -> None:
    repo = CandleRepository(migrated)
    assert repo.upsert_many([candle(0), candle(1), candle(2)]) == 3
    # a backfill overlapping what is stored adds only the new ones
    assert repo.upsert_many([candle(2, close="999", source="binance"), candle(3)]) == 1
    stored = repo.between("bitcoin", Interval.M1, T0, T0 + timedelta(minutes=10))
    assert [c.open_time.minute for c in stored] == [0, 1, 2, 3]
    assert stored[2].close == Decimal("100.5") and stored[2].provider == "kraken"
    assert stored[0].open == Decimal("100.123456789012345678")
    assert repo.between("bitcoin", Interval.H1, T0, T0 + timedelta(hours=1)) == []


def test_naive_timestamps_are_refused(migrated: Engine) -> None:
    repo = PriceRepository(migrated)
    naive = PriceRecord("bitcoin", Decimal(1), datetime(2026, 1, 1), T0, ["x"])
    with pytest.raises(Exception, match="naive datetime"):
        repo.add_many([naive])
