from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from cryptoagg.core.errors import BudgetExhausted
from cryptoagg.core.limits import Limits, Priority
from cryptoagg.resilience.budget import Budget, Gcra
from cryptoagg.resilience.quota import FileQuotaStore, LedgerData, MemoryQuotaStore, QuotaLedger
from tests.support import FakeClock


def test_gcra_allows_burst_then_paces() -> None:
    rate = Gcra(rate=60, period_s=60, burst=3)
    now = 0.0
    for _ in range(3):
        assert rate.wait_s(now) == 0
        rate.spend(now)
    assert rate.wait_s(now) == 1.0
    assert rate.wait_s(now + 1.0) == 0


def test_rate_refusal_names_the_wait() -> None:
    clock = FakeClock()
    budget = Budget("p", Limits(per_second=2), clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
    budget.spend()
    budget.spend()
    refusal = budget.refusal()
    assert refusal is not None
    assert refusal.detail == "rate limit, next call in 0.5s"
    assert refusal.retry_after_s == 0.5
    clock.advance(0.5)
    assert budget.refusal() is None


def test_monthly_quota_is_refused_and_resets_next_month() -> None:
    clock = FakeClock()
    budget = Budget("p", Limits(monthly=3), clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
    for _ in range(3):
        assert budget.refusal() is None
        budget.spend()
    refusal = budget.refusal()
    assert refusal is not None
    assert (refusal.reason, refusal.detail) == ("quota_exhausted", "monthly quota used")
    assert budget.quota_left() == 0
    clock.advance(31 * 86400)  # March -> April
    assert budget.refusal() is None
    assert budget.quota_left() == 3


def test_monthly_counts_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "quota.json"
    first = Budget("cg", Limits(monthly=10), clock, clock.wall, QuotaLedger(FileQuotaStore(path)))
    for _ in range(4):
        first.spend()
    # a new process: fresh objects, same file
    again = Budget("cg", Limits(monthly=10), clock, clock.wall, QuotaLedger(FileQuotaStore(path)))
    assert again.used_this_month() == 4
    assert again.quota_left() == 6


def test_corrupt_quota_file_starts_from_zero(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    path.write_text("{not json")
    assert FileQuotaStore(path).load() == LedgerData()


def test_calls_this_minute() -> None:
    clock = FakeClock()
    budget = Budget("p", Limits(), clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
    budget.spend()
    clock.advance(30)
    budget.spend()
    assert budget.calls_this_minute() == 2
    clock.advance(31)
    assert budget.calls_this_minute() == 1


# -- spending when a request leaves: waiting in line, priorities, the clients' reserve -------


def real_budget(limits: Limits, reserve: float = 0.25) -> Budget:
    return Budget(
        "p",
        limits,
        time.monotonic,
        FakeClock().wall,
        QuotaLedger(MemoryQuotaStore()),
        reserve_share=reserve,
    )


async def test_a_client_waits_for_the_next_slot_within_its_deadline() -> None:
    budget = real_budget(Limits(per_second=5))  # burst 5, then one every 0.2 s
    for _ in range(5):
        await budget.acquire(Priority.CLIENT, "client", remaining_s=1.0)
    started = time.monotonic()
    await budget.acquire(Priority.CLIENT, "client", remaining_s=1.0)
    waited = time.monotonic() - started
    assert 0.15 <= waited < 0.6
    assert budget.used_this_month("client") == 6


async def test_a_wait_that_does_not_fit_the_deadline_is_refused_at_once() -> None:
    budget = real_budget(Limits(per_minute=6))  # burst 1, one every 10 s
    await budget.acquire(Priority.CLIENT, "client", remaining_s=5.0)
    started = time.monotonic()
    with pytest.raises(BudgetExhausted) as info:
        await budget.acquire(Priority.CLIENT, "client", remaining_s=5.0)
    assert time.monotonic() - started < 0.05
    assert info.value.retry_after_s == pytest.approx(10.0, abs=0.1)
    assert budget.used_this_month() == 1  # the refusal was not charged


async def test_clients_go_first_then_background_in_arrival_order() -> None:
    budget = real_budget(Limits(per_second=10), reserve=0.0)  # one slot every 0.1 s
    for _ in range(10):
        budget.spend()
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await budget.acquire(priority, name, remaining_s=5.0)
        order.append(name)

    tasks = [asyncio.create_task(take("collector-1", Priority.COLLECTOR))]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(take("probe", Priority.PROBE)))
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(take("collector-2", Priority.COLLECTOR)))
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(take(f"client-{i}", Priority.CLIENT)) for i in (1, 2)]
    await asyncio.gather(*tasks)
    assert order == ["client-1", "client-2", "collector-1", "collector-2", "probe"]


async def test_background_work_leaves_the_clients_reserve() -> None:
    # 60 a minute: a burst of 10, of which background work leaves 2 to clients
    budget = real_budget(Limits(per_minute=60), reserve=0.25)
    for _ in range(8):
        await budget.acquire(Priority.COLLECTOR, "prices", remaining_s=0.0)
    with pytest.raises(BudgetExhausted):
        await budget.acquire(Priority.COLLECTOR, "prices", remaining_s=0.0)
    for _ in range(2):
        await budget.acquire(Priority.CLIENT, "client", remaining_s=0.0)
    assert budget.ledger.by_purpose("p", "2026-03") == {"prices": 8, "client": 2}
    # and over time background work gets at most 75 % of the rate (its own cell)
    assert [r.rate for r in budget.background] == [45.0]


async def test_a_cancelled_waiter_leaves_the_line() -> None:
    budget = real_budget(Limits(per_minute=6), reserve=0.0)
    budget.spend()
    waiter = asyncio.create_task(budget.acquire(Priority.CLIENT, "client", remaining_s=60.0))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert budget.refusal() is not None and not budget._queue
    assert budget.used_this_month() == 1


def test_the_ledger_keeps_purposes_and_background_runs_across_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "quota.json"
    budget = Budget("cg", Limits(), clock, clock.wall, QuotaLedger(FileQuotaStore(path)))
    budget.spend(Priority.CLIENT, "client")
    budget.spend(Priority.COLLECTOR, "prices")
    budget.spend(Priority.PROBE, "health")
    again = QuotaLedger(FileQuotaStore(path))
    assert again.by_purpose("cg", "2026-03") == {"client": 1, "prices": 1, "health": 1}
    assert again.last_run("cg", "prices") == clock.wall()
    assert again.last_run("cg", "client") is None  # client calls are not scheduled work


def test_a_version_1_ledger_is_read(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    path.write_text('{"coingecko": {"2026-03": 34}}')
    ledger = QuotaLedger(FileQuotaStore(path))
    assert ledger.get("coingecko", "2026-03") == 34
