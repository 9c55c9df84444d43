"""Budgets and the monthly ledger shared by replicas through Redis: the limits hold over the
sum of the replicas, the ledger counts every replica's calls, and what a replica spent on
its own while Redis was down is added once when Redis is back.

Each replica here is a `Guards` with its own link, ledger and breakers (as a server process
would have) on one Redis under one fresh key prefix. The shared cells run on Redis's clock,
so these tests use real time, kept short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import pytest

from cryptoagg.core.errors import BudgetExhausted, QuotaExhausted
from cryptoagg.core.limits import Limits, Priority
from cryptoagg.resilience.breaker import BreakerPolicy
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.quota import MemoryQuotaStore
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.resilience.scope import background
from cryptoagg.resilience.shared_guards import SharedGuards
from cryptoagg.resilience.shared_ledger import SharedLedger
from tests.redis_support import (
    REDIS_URL,
    delete_prefix,
    fast_config,
    redis_server,
    require_redis,
    unique_prefix,
    wait_until,
)
from tests.support import FakeClock

#: the month of the replicas' wall clock (`FakeClock`'s start)
MONTH = "2026-03"


@dataclass
class Replica:
    link: RedisLink
    guards: Guards
    shared: SharedGuards
    ledger: SharedLedger

    def used(self, provider: str, purpose: str | None = None) -> int:
        return self.ledger.get(provider, MONTH, purpose)

    async def send(self, provider: str, times: int = 1) -> None:
        for _ in range(times):
            await self.guards.before_send(provider)

    async def shared_count(self, provider: str) -> dict[str, int]:
        """The month's counts of `provider` as Redis has them."""
        raw = await self.link.client.hgetall(self.shared.budgets.key(provider, "quota", MONTH))
        return {k.decode(): int(v) for k, v in raw.items()}


def replica(link: RedisLink, limits: dict[str, Limits], *, mode: str = "live") -> Replica:
    """One replica on `link`: real monotonic time, a wall clock fixed in March 2026."""
    wall = FakeClock().wall
    ledger = SharedLedger(MemoryQuotaStore())
    shared = SharedGuards(
        link, ledger, mode=mode, clock=time.monotonic, wall=wall, ceiling_share=0.8, disable_s=600
    )
    guards = Guards(time.monotonic, wall, ledger, BreakerPolicy(), shared=shared)
    for name, lim in limits.items():
        guards.add(name, lim)
    return Replica(link, guards, shared, ledger)


@asynccontextmanager
async def replicas(
    limits: dict[str, Limits], *, url: str | None = None, modes: tuple[str, ...] = ("live", "live")
) -> AsyncIterator[list[Replica]]:
    """One started replica per entry of `modes`, on the server at `url` (the machine's by
    default), sharing one fresh key prefix, which is deleted afterwards."""
    url = url or require_redis()
    prefix = unique_prefix()
    async with AsyncExitStack() as stack:
        if url == REDIS_URL:
            stack.push_async_callback(delete_prefix, url, prefix)
        out = []
        for mode in modes:
            link = RedisLink(fast_config(url, prefix))
            one = replica(link, limits, mode=mode)
            stack.push_async_callback(close, link)
            await link.start()
            out.append(one)
        yield out


async def close(link: RedisLink) -> None:
    """Close `link`, failing the test (rather than hanging it) when that takes long."""
    async with asyncio.timeout(5):
        await link.aclose()


# -- the limits hold over the sum of the replicas -----------------------------------------


async def test_two_replicas_never_exceed_the_rate_summed_over_both() -> None:
    async with replicas({"p": Limits(per_second=5)}) as (a, b):  # burst 5, then one per 0.2 s
        sent: list[float] = []
        refused = 0

        async def client(one: Replica) -> None:
            nonlocal refused
            try:
                await one.guards["p"].budget.acquire(Priority.CLIENT, "client", remaining_s=1.0)
            except BudgetExhausted:
                refused += 1
            else:
                sent.append(time.monotonic())

        await asyncio.gather(*(client(one) for one in (a, b) for _ in range(20)))
        # each replica alone would let ~10 through: together they let through what one would
        # (5 at once, then one every 0.2 s for the 0.9 s the deadline leaves)
        assert 6 <= len(sent) <= 11
        assert refused == 40 - len(sent)
        sent.sort()
        for i in range(len(sent)):
            for j in range(i, len(sent)):
                # GCRA: at most the burst plus the rate times the window (+1 for timing)
                assert j - i + 1 <= 5 + 5 * (sent[j] - sent[i]) + 1
        await a.shared.sync()
        await b.shared.sync()
        assert a.used("p") == b.used("p") == len(sent)
        assert await a.shared_count("p") == {"client": len(sent)}


async def test_the_shared_ledger_counts_both_and_the_monthly_quota_holds_over_both() -> None:
    async with replicas({"p": Limits(monthly=5)}) as (a, b):
        await a.send("p", 3)
        await b.send("p", 2)
        assert (a.used("p"), b.used("p")) == (3, 5)  # b's answers carry a's calls
        with pytest.raises(QuotaExhausted):
            await b.send("p")
        with pytest.raises(QuotaExhausted):
            await a.send("p")  # a's own view said 3: Redis refuses
        assert a.used("p") == 5
        await b.shared.sync()
        assert b.ledger.by_purpose("p", MONTH) == {"client": 5}
        assert await a.shared_count("p") == {"client": 5}


async def test_background_work_stops_at_the_plans_ceiling_over_both() -> None:
    async with replicas({"p": Limits(monthly=10)}) as (a, b):  # ceiling: 80 % = 8
        clock = FakeClock()
        with background("prices", Priority.COLLECTOR, clock.wall()):
            await a.send("p", 5)
            await b.send("p", 3)
            with pytest.raises(BudgetExhausted) as refused:
                await a.send("p")  # a's view says 5: Redis knows 8
        assert not isinstance(refused.value, QuotaExhausted)
        assert "kept for clients" in refused.value.detail
        await a.send("p", 2)  # clients take the rest
        with pytest.raises(QuotaExhausted):
            await b.send("p")
        assert await a.shared_count("p") == {"prices": 8, "client": 2}
        assert a.ledger.last_run("p", "prices") == clock.wall()  # known at once, for the plan
        await b.shared.sync()
        assert b.ledger.by_purpose("p", MONTH) == {"prices": 8, "client": 2}


async def test_a_jobs_last_run_reaches_the_other_replicas_plan() -> None:
    async with replicas({"p": Limits()}) as (leader, other):
        clock = FakeClock()
        with background("candles", Priority.COLLECTOR, clock.wall()):
            await leader.send("p")
        assert other.ledger.last_run("p", "candles") is None
        await other.shared.sync()
        assert other.ledger.last_run("p", "candles") == clock.wall()


async def test_live_and_mock_keep_their_own_ledgers() -> None:
    async with replicas({"p": Limits(monthly=1)}, modes=("live", "mock")) as (live, mock):
        await live.send("p")
        with pytest.raises(QuotaExhausted):
            await live.send("p")
        await mock.send("p")  # the mock ledger is another key
        assert await live.shared_count("p") == await mock.shared_count("p") == {"client": 1}
        assert ":live:" in live.shared.budgets.key("p", "quota", MONTH)
        assert ":mock:" in mock.shared.budgets.key("p", "quota", MONTH)


async def test_a_refund_reaches_the_shared_ledger() -> None:
    async with replicas({"p": Limits(monthly=10)}) as (a, b):
        await a.send("p", 2)
        a.guards.not_sent("p")  # no connection: the call never reached the provider
        assert a.used("p") == 1
        await a.shared.sync()
        await b.shared.sync()
        assert await a.shared_count("p") == {"client": 1}
        assert b.used("p") == 1


# -- Redis down: local budgets, then the local spend added once ---------------------------


async def test_redis_stopped_means_local_budgets_and_the_local_spend_is_added_once() -> None:
    with redis_server() as server:
        async with replicas({"p": Limits(monthly=100)}, url=server.url) as (a, b):
            await a.send("p", 2)
            await b.send("p", 1)
            await a.shared.sync()
            await b.shared.sync()
            assert a.used("p") == b.used("p") == 3
            await server.astop()
            await a.send("p", 2)  # served on local budgets: no error
            await b.send("p", 1)
            assert not a.link.up and a.link.degraded_reason
            assert (a.used("p"), b.used("p")) == (5, 4)
            await server.astart()  # a fresh server: Redis lost the counts
            await wait_until(lambda: _rejoined(a) and _rejoined(b))
            assert await a.shared_count("p") == {"client": 6}
            for one in (a, b, a, b):
                await one.shared.sync()
            assert a.used("p") == b.used("p") == 6
            await a.shared.rejoin()  # a second rejoin adds nothing
            assert await a.shared_count("p") == {"client": 6}


async def test_a_reconnect_adds_the_local_spend_to_the_kept_counts_exactly_once() -> None:
    async with replicas({"p": Limits(monthly=100)}) as (a, b):
        await b.send("p", 4)
        a.link.lost(ConnectionError("test: Redis went away"))
        await a.send("p", 3)  # no await reaches the loop: all three before the reconnect
        assert await b.shared_count("p") == {"client": 4}
        await wait_until(lambda: a.link.up)
        assert await b.shared_count("p") == {"client": 7}
        # a batch whose reply was lost is sent again as it was: Redis skips it
        a.ledger.add("p", MONTH, "client")
        batch = a.ledger.take_batch()
        assert batch is not None
        await a.shared.budgets.reconcile(a.link.client, seed=False)
        a.ledger.inflight = batch
        await a.shared.budgets.reconcile(a.link.client, seed=False)
        assert a.ledger.inflight is None
        assert await b.shared_count("p") == {"client": 8}


async def test_a_burst_spent_locally_holds_the_other_replica_back_after_the_rejoin() -> None:
    with redis_server() as server:
        async with replicas({"p": Limits(per_minute=6)}, url=server.url) as (a, b):
            await server.astop()
            await a.send("p")  # burst 1, one call every 10 s: spent while Redis was away
            await server.astart()
            await wait_until(lambda: _rejoined(a) and _rejoined(b))
            with pytest.raises(BudgetExhausted) as refused:
                await b.guards["p"].budget.acquire(Priority.CLIENT, "client", remaining_s=1.0)
            assert refused.value.retry_after_s is not None
            assert 5.0 < refused.value.retry_after_s <= 10.0


def _rejoined(one: Replica) -> bool:
    """Up again after the first outage (the start counts as the first joining)."""
    return one.link.up and one.link.rejoins >= 2
