"""The collectors' own parts: the supervisor, the leader locks and the price ticks (what
`build` starts, and with which jobs, is tested in tests/bootstrap)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cryptoagg.collectors.leader import AdvisoryLock, FileLock
from cryptoagg.collectors.prices import PriceTicks
from cryptoagg.collectors.supervisor import Supervisor
from cryptoagg.services.recorder import Recorder
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.repositories import PriceRepository, QueryRepository
from tests.storage.conftest import POSTGRES_URL, postgres_admin
from tests.support import FakeClock, FakeSpot, price_service

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_supervisor_restarts_a_failing_job_with_backoff() -> None:
    clock = FakeClock(NOW)
    outcomes = iter([RuntimeError("boom"), RuntimeError("boom"), None, None])
    calls = 0

    async def job() -> None:
        nonlocal calls
        calls += 1
        outcome = next(outcomes, None)
        if outcome is not None:
            raise outcome

    supervisor = Supervisor(clock=clock.wall, sleep=clock.sleep)
    supervisor.start("j", 60.0, job)
    for _ in range(20):
        await asyncio.sleep(0)
    await supervisor.stop()
    state = supervisor.jobs["j"]
    assert state.failures == 2 and state.runs >= 2
    assert clock.sleeps[:4] == [1.0, 2.0, 60.0, 60.0]
    assert state.last_error == "RuntimeError: boom"
    assert not supervisor.running


def test_file_lock_admits_one_leader(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "l"), FileLock(tmp_path / "l")
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_advisory_lock_admits_one_leader() -> None:
    one, two = postgres_admin(), postgres_admin()
    first, second = AdvisoryLock(one, key=4242), AdvisoryLock(two, key=4242)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()
        one.dispose()
        two.dispose()


def test_the_default_advisory_key_is_one_per_database_schema() -> None:
    """Replicas of one deployment (one schema) elect one leader; a second deployment in a
    schema of its own in the same database elects its own."""
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = postgres_admin()
    with admin.begin() as connection:
        for schema in schemas:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engines = [
        make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
        for schema in (schemas[0], schemas[0], schemas[1])
    ]
    a, b, other = (AdvisoryLock(engine) for engine in engines)
    try:
        assert a.try_acquire() and a.held()
        assert not b.try_acquire()  # the same deployment: one leader
        assert other.try_acquire() and other.held()  # another schema: its own leader
        assert a.key == b.key != other.key
        a.release()
        assert b.try_acquire()
    finally:
        for lock in (a, b, other):
            lock.release()
        for engine in engines:
            engine.dispose()
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Published(list[tuple[str, object]]):
    """A publisher that keeps what it was given."""

    def publish(self, topic: str, data: object) -> int:
        self.append((topic, data))
        return 1


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    engine = make_engine(f"sqlite:///{tmp_path / 'ticks.db'}")
    upgrade(engine)
    return Recorder(PriceRepository(engine), QueryRepository(engine))


async def test_price_ticks_record_and_publish_each_new_consensus_once(
    recorder: Recorder,
) -> None:
    clock = FakeClock(NOW)
    kraken = FakeSpot("kraken", {"bitcoin": "90020", "ethereum": "3001"}, as_of=NOW)
    binance = FakeSpot("binance", {"bitcoin": "90000", "ripple": "2"}, as_of=NOW)
    prices = price_service(kraken, binance, clock=clock)
    published = Published()
    # the two top-ranked assets: Bitcoin and Ether
    ticks = PriceTicks(prices, recorder, prices.ctx.registry, top=2, publisher=published)

    assert await ticks() == 2
    (btc,) = recorder.prices.latest("bitcoin", 10)
    assert (btc.price, sorted(btc.sources), btc.as_of, btc.recorded_at) == (
        Decimal(90010),
        ["binance", "kraken"],
        NOW,
        NOW,
    )
    assert [(t, d["price"]) for t, d in published] == [  # type: ignore[index]
        ("prices:bitcoin", Decimal(90010)),
        ("prices:ethereum", Decimal(3001)),
    ]
    assert recorder.prices.latest("ripple", 10) == []  # not among the tracked two

    clock.advance(30)  # the providers' quotes have not changed: nothing new to record
    assert await ticks() == 0
    assert len(published) == 2 and len(recorder.prices.latest("bitcoin", 10)) == 1

    kraken.prices["bitcoin"], kraken.as_of = "90040", NOW + timedelta(seconds=30)
    assert await ticks() == 2
    assert [r.price for r in recorder.prices.latest("bitcoin", 10)] == [
        Decimal(90020),
        Decimal(90010),
    ]
    assert [t for t, _ in published[2:]] == ["prices:bitcoin", "prices:ethereum"]
    assert recorder.written == 4


async def test_a_failed_write_fails_the_run_and_publishes_nothing(recorder: Recorder) -> None:
    clock = FakeClock(NOW)
    prices = price_service(FakeSpot("kraken", {"bitcoin": "90020"}, as_of=NOW), clock=clock)
    published = Published()
    ticks = PriceTicks(prices, recorder, prices.ctx.registry, top=1, publisher=published)
    with recorder.prices.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE prices")
    with pytest.raises(OperationalError, match="no such table: prices"):
        await ticks()
    assert published == []
