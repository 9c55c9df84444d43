"""Leader election among processes: failover within the retry interval, and fencing (a
leader that lost its lock, or cannot get an answer about it, stops running jobs before their
next run). The runner is driven with a lock server in memory; the file and PostgreSQL locks
are checked against the real thing (Redis: test_leader_redis.py)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from cryptoagg.collectors.leader import AdvisoryLock, FileLock, InThread
from cryptoagg.collectors.runner import Collectors
from cryptoagg.collectors.supervisor import Supervisor
from cryptoagg.config import load_settings
from cryptoagg.core.errors import ConfigError
from tests.storage.conftest import postgres_admin

RETRY_S = CHECK_S = 0.02


class LockServer:
    """Who holds the one lock; `owner` may be changed by a test (a lock taken away)."""

    def __init__(self) -> None:
        self.owner: str | None = None
        self.fail_acquire = 0
        self.hang = False


class Lock:
    kind = "test"
    token: int | None = None

    def __init__(self, server: LockServer, me: str) -> None:
        self.server, self.me = server, me
        self.released = 0

    async def try_acquire(self) -> bool:
        if self.server.hang:
            await asyncio.sleep(60)
        if self.server.fail_acquire:
            self.server.fail_acquire -= 1
            raise OSError("database unreachable")
        if self.server.owner in (None, self.me):
            self.server.owner = self.me
            return True
        return False

    async def held(self) -> bool:
        if self.server.hang:
            await asyncio.sleep(60)
        return self.server.owner == self.me

    async def release(self) -> None:
        self.released += 1
        if self.server.owner == self.me:
            self.server.owner = None


def runner(server: LockServer, me: str, runs: list[str]) -> Collectors:
    async def job() -> None:
        runs.append(me)

    supervisor = Supervisor(clock=lambda: datetime.now(UTC))
    return Collectors(
        Lock(server, me),
        supervisor,
        [("prices", 0.005, job)],
        retry_s=RETRY_S,
        check_s=CHECK_S,
        timeout_s=0.05,
    )


async def until(condition: object, timeout_s: float = 2.0) -> float:
    """Seconds until `condition()` held (fails the test beyond `timeout_s`)."""
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - start > timeout_s:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.002)
    return time.monotonic() - start


async def test_one_leader_and_the_follower_takes_over_within_the_retry_interval() -> None:
    server, runs = LockServer(), []
    a = runner(server, "a", runs)
    a.start()
    await until(lambda: a.is_leader)
    b = runner(server, "b", runs)
    b.start()
    await until(lambda: runs.count("a") >= 3)
    assert not b.is_leader and "b" not in runs
    assert b.supervisor.jobs == {}  # a follower reports no jobs

    # a dies: its tasks are gone and the server frees its lock (as PostgreSQL does)
    assert a._task is not None
    a._task.cancel()
    await a.supervisor.stop()
    server.owner = None
    took = await until(lambda: b.is_leader)
    assert took < RETRY_S + 0.5
    await until(lambda: "b" in runs)
    assert (b.terms, b.losses) == (1, 0)
    await b.stop()
    assert server.owner is None  # stopping releases the lock


async def test_a_leader_whose_lock_is_taken_stops_before_its_next_run() -> None:
    server, runs = LockServer(), []
    a = runner(server, "a", runs)
    a.start()
    await until(lambda: runs.count("a") >= 2)
    server.owner = "intruder"
    done = len(runs)
    await until(lambda: not a.is_leader)
    # the gate before each run saw the lock gone: at most a run already past it finished
    assert len(runs) <= done + 1
    await asyncio.sleep(5 * CHECK_S)
    assert len(runs) <= done + 1
    assert (a.terms, a.losses) == (1, 1)
    assert a.supervisor.jobs == {} and not a.supervisor.running
    assert a.leader_since is None

    server.owner = None  # free again: the old leader is a follower like any other
    await until(lambda: a.is_leader)
    assert a.terms == 2
    await a.stop()


async def test_a_lock_that_does_not_answer_counts_as_lost() -> None:
    server, runs = LockServer(), []
    a = runner(server, "a", runs)
    a.start()
    await until(lambda: a.is_leader)
    server.hang = True  # the database (or Redis) stops answering
    count = len(runs)
    took = await until(lambda: not a.is_leader, timeout_s=1.0)
    assert took < CHECK_S + 0.05 + 0.2  # one check interval, one answer timeout
    await asyncio.sleep(0.1)
    assert len(runs) <= count + 1 and not a.is_leader
    assert a.losses == 1
    server.hang = False
    await until(lambda: a.is_leader)
    await a.stop()


async def test_a_follower_keeps_trying_when_the_lock_errs() -> None:
    server, runs = LockServer(), []
    server.fail_acquire = 3
    a = runner(server, "a", runs)
    a.start()
    await until(lambda: a.is_leader)
    assert server.fail_acquire == 0
    await a.stop()
    assert not a.is_leader


def test_a_file_lock_replaced_behind_the_leader_is_no_longer_held(tmp_path: Path) -> None:
    path = tmp_path / "collector.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.try_acquire() and first.held()
    assert path.read_text() == str(os.getpid())
    path.unlink()
    assert second.try_acquire()  # a new file, free to lock
    assert not first.held()
    assert second.held()
    second.release()
    assert not second.held()


async def test_an_advisory_lock_is_released_with_its_session_and_the_leader_sees_it() -> None:
    admin = postgres_admin()
    one, two = postgres_admin(), postgres_admin()
    first = AdvisoryLock(one, key=4343, lease_s=8)
    second = InThread(AdvisoryLock(two, key=4343))
    try:
        assert await InThread(first).try_acquire()
        assert first.held()
        assert not await second.try_acquire()
        connection = first._connection
        assert connection is not None
        # the dead-host bound: the server probes the idle session every lease / 4 s
        idle = connection.execute(text("SHOW tcp_keepalives_idle")).scalar()
        count = connection.execute(text("SHOW tcp_keepalives_count")).scalar()
        assert (idle, count) == ("2s", "3") or (idle, count) == ("2", "3")
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.begin() as c:  # the session dies (a killed leader, an administrator)
            c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert not first.held()
        assert await second.try_acquire()
        assert await second.held()
        assert not await InThread(first).try_acquire()
    finally:
        first.release()
        await second.release()
        for engine in (admin, one, two):
            engine.dispose()


def test_a_redis_lease_needs_redis() -> None:
    with pytest.raises(ConfigError, match=r"LEADER_LOCK: .*REDIS_URL"):
        load_settings(leader_lock="redis")
    settings = load_settings(leader_lock="redis", redis_url="redis://127.0.0.1:6379/0")
    assert (settings.leader_lock, settings.leader_retry_s, settings.leader_lease_s) == (
        "redis",
        15.0,
        15.0,
    )
