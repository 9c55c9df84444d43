from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from cryptoagg.core.consensus import Consensus
from cryptoagg.core.listing import ListingRow
from cryptoagg.core.models import Quote
from cryptoagg.services.recorder import Recorder
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.repositories import PriceRepository, QueryRecord, QueryRepository
from cryptoagg.storage.tables import user_queries

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entry(asset: str, minute: int, price: str = "10") -> ListingRow:
    return ListingRow(
        asset_id=asset,
        symbol=asset[:3].upper(),
        name=asset,
        rank=1,
        price=Decimal(price),
        as_of=T0 + timedelta(minutes=minute),
        provider="coingecko",
        sources=("coingecko", "coincap"),
        price_sources=("coingecko", "coincap"),
        price_basis="listing",
    )


def consensus(asset: str, minute: int, price: str) -> Consensus:
    at = T0 + timedelta(minutes=minute)
    used = tuple(
        Quote(asset_id=asset, provider=p, price=Decimal(price), as_of=at)
        for p in ("kraken", "binance")
    )
    p = Decimal(price)
    return Consensus(asset, p, p, p, Decimal(0), Decimal(0), at, used, ())


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    return Recorder(PriceRepository(engine), QueryRepository(engine), flush_s=0.05)


async def test_market_is_recorded_once_per_refresh_and_flushed_on_close(
    recorder: Recorder,
) -> None:
    recorder.start()
    for _ in range(50):  # fifty requests served from one cached listing
        recorder.market([entry("bitcoin", 0), entry("ethereum", 0)], T0)
        recorder.query(QueryRecord(T0, "/api/market", {"limit": "2"}, 200, 1.5))
    recorder.market([entry("bitcoin", 1, "11"), entry("ethereum", 0)], T0)  # a refresh
    await recorder.aclose()
    history = recorder.prices.latest("bitcoin", 10)
    assert [r.price for r in history] == [Decimal(11), Decimal(10)]
    assert len(recorder.prices.latest("ethereum", 10)) == 1
    # fifty identical requests within one second: one row that counts them
    assert recorder.queries.count() == 50
    assert recorder.written == 4 and recorder.dropped == 0


async def test_writes_happen_in_the_background(recorder: Recorder) -> None:
    recorder.start()
    recorder.market([entry("bitcoin", 0)], T0)
    for _ in range(50):
        if recorder.prices.latest("bitcoin", 1):
            break
        await asyncio.sleep(0.02)
    assert len(recorder.prices.latest("bitcoin", 1)) == 1
    await recorder.aclose()


async def test_a_full_queue_drops_instead_of_blocking(recorder: Recorder) -> None:
    small = Recorder(recorder.prices, recorder.queries, max_queue=3)
    for i in range(5):
        small.query(QueryRecord(T0, "/api/market", {"i": str(i)}, 200, 1.0))
    assert small.dropped == 2
    small.start()
    await small.aclose()
    assert small.queries.count() == 3


async def test_queries_are_aggregated_per_second_and_flushed_without_more_traffic(
    recorder: Recorder,
) -> None:
    recorder.start()
    later = T0 + timedelta(seconds=1)
    for at, ms in ((T0, 1.0), (T0, 3.0), (later, 5.0)):
        recorder.query(QueryRecord(at, "/api/market", {"limit": "2"}, 200, ms))
    recorder.query(QueryRecord(later, "/api/market", {"limit": "3"}, 200, 7.0))
    for _ in range(100):  # the last second is written once it is over, with no new request
        if recorder.queries.count() == 4:
            break
        await asyncio.sleep(0.05)
    with recorder.queries.engine.connect() as connection:
        rows = connection.execute(
            select(
                user_queries.c.at,
                user_queries.c.params,
                user_queries.c.count,
                user_queries.c.duration_ms,
            ).order_by(user_queries.c.id)
        ).all()
    await recorder.aclose()
    assert [(r.at, r.params, r.count, r.duration_ms) for r in rows] == [
        (T0, {"limit": "2"}, 2, 2.0),
        (later, {"limit": "2"}, 1, 5.0),
        (later, {"limit": "3"}, 1, 7.0),
    ]


async def test_a_consensus_is_written_at_once_and_only_once(recorder: Recorder) -> None:
    at = T0 + timedelta(seconds=30)
    first = [consensus("bitcoin", 0, "90000"), consensus("ethereum", 0, "3000")]
    assert await recorder.consensus(first, at) == first  # no writer task needed
    (row,) = recorder.prices.latest("bitcoin", 10)
    assert (row.price, row.as_of, row.recorded_at, row.sources, row.volume_24h) == (
        Decimal(90000),
        T0,
        at,
        ["kraken", "binance"],
        None,
    )
    # the next run: Bitcoin's consensus is the one written (served from the cache), Ether's
    # is new
    later = [consensus("bitcoin", 0, "90000"), consensus("ethereum", 1, "3001")]
    assert await recorder.consensus(later, at + timedelta(minutes=1)) == later[1:]
    assert len(recorder.prices.latest("bitcoin", 10)) == 1
    assert [r.price for r in recorder.prices.latest("ethereum", 10)] == [
        Decimal(3001),
        Decimal(3000),
    ]
    assert recorder.written == 3


async def test_the_market_and_the_consensus_are_written_apart(recorder: Recorder) -> None:
    """A listing row priced by the collector's consensus has its `as_of`, and both rows
    are kept: the listing's carries volume and market cap."""
    recorder.start()
    await recorder.consensus([consensus("bitcoin", 0, "10")], T0)
    listed = entry("bitcoin", 0).model_copy(
        update={"volume_24h": Decimal(5), "market_cap": Decimal(7)}
    )
    recorder.market([listed], T0)
    recorder.market([listed], T0)
    await recorder.aclose()
    # newest first: the listing's row was written after the collector's
    rows = recorder.prices.latest("bitcoin", 10)
    assert [(r.as_of, r.volume_24h, r.market_cap) for r in rows] == [
        (T0, Decimal(5), Decimal(7)),
        (T0, None, None),
    ]
    assert recorder.written == 2
