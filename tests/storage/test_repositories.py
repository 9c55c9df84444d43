from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cryptoagg.storage.repositories import PriceRecord, PriceRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)


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


def test_naive_timestamps_are_refused(migrated: Engine) -> None:
    repo = PriceRepository(migrated)
    naive = PriceRecord("bitcoin", Decimal(1), datetime(2026, 1, 1), T0, ["x"])
    with pytest.raises(Exception, match="naive datetime"):
        repo.add_many([naive])


def test_a_price_already_stored_for_its_as_of_is_not_stored_again(migrated: Engine) -> None:
    """Two replicas serve the same shared listing and each records it: one row per asset,
    `as_of` and stream, whoever writes first."""

    def record(asset_id: str, seconds: int, price: str, stream: str = "market") -> PriceRecord:
        at = T0 + timedelta(seconds=seconds)
        later = at + timedelta(seconds=1)
        return PriceRecord(asset_id, Decimal(price), at, later, ["x"], stream=stream)

    a, b = PriceRepository(migrated), PriceRepository(migrated)
    assert a.add_many([record("bitcoin", 0, "100"), record("ethereum", 0, "10")]) == 2
    # B's batch: the same two, a newer bitcoin price, and that one twice
    again = [record("bitcoin", 0, "100"), record("ethereum", 0, "10"), record("bitcoin", 5, "101")]
    assert b.add_many([*again, record("bitcoin", 5, "101")]) == 1
    assert [(r.as_of, r.price) for r in a.latest("bitcoin", 10)] == [
        (T0 + timedelta(seconds=5), Decimal("101")),
        (T0, Decimal("100")),
    ]
    assert len(a.latest("ethereum", 10)) == 1
    # the collector's consensus at the same time is the other stream's: kept beside it
    assert b.add_many([record("ethereum", 0, "10", "consensus")]) == 1
    assert [r.stream for r in a.latest("ethereum", 10)] == ["consensus", "market"]
