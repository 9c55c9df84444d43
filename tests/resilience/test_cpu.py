"""The CPU limiter (slots, bounded queue, cancellation) and the per-client cost budget, with a
fake clock; the limiter's jobs are gated by events, so nothing here sleeps on time."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator, Callable

import pytest

from cryptoagg.core.errors import CostExceeded, CpuBusy
from cryptoagg.resilience.cpu import FIRST_JOB_S, ClientCostBudget, CpuLimiter
from tests.support import FakeClock


class Gate:
    """Work that runs until the test opens its gate; records what started, in order."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self._gates: dict[str, threading.Event] = {}

    def work(self, name: str) -> Callable[[], str]:
        gate = self._gates.setdefault(name, threading.Event())

        def run() -> str:
            self.started.append(name)
            if not gate.wait(timeout=10):
                raise TimeoutError(name)
            return name

        return run

    def open(self, name: str) -> None:
        self._gates.setdefault(name, threading.Event()).set()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


@pytest.fixture
async def limiter(clock: FakeClock) -> AsyncIterator[CpuLimiter]:
    cpu = CpuLimiter(1, queue=1, clock=clock)
    yield cpu
    await cpu.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_one_runs_one_waits_the_next_is_refused(limiter: CpuLimiter) -> None:
    gate = Gate()
    first = asyncio.create_task(limiter.run(gate.work("a")))
    await until(lambda: gate.started == ["a"])
    second = asyncio.create_task(limiter.run(gate.work("b")))
    await until(lambda: limiter.waiting == 1)
    with pytest.raises(CpuBusy) as refused:
        await limiter.run(gate.work("c"))
    # one running and one waiting ahead, at the assumed job duration, on one worker
    assert refused.value.retry_after_s == pytest.approx(2 * FIRST_JOB_S)
    assert refused.value.code == "busy"
    assert limiter.refused == 1
    gate.open("a")
    assert await first == "a"
    await until(lambda: gate.started == ["a", "b"])  # the waiter got the slot, not "c"
    gate.open("b")
    assert await second == "b"
    assert (limiter.running, limiter.waiting, limiter.completed) == (0, 0, 2)


async def test_waiters_are_served_first_come_first_served(clock: FakeClock) -> None:
    limiter = CpuLimiter(1, queue=3, clock=clock)
    gate = Gate()
    tasks = [asyncio.create_task(limiter.run(gate.work("a")))]
    await until(lambda: gate.started == ["a"])
    for name in "bcd":
        tasks.append(asyncio.create_task(limiter.run(gate.work(name))))
        await until(lambda: limiter.waiting == len(tasks) - 1)
    for name in "abcd":
        gate.open(name)
    assert await asyncio.gather(*tasks) == list("abcd")
    assert gate.started == list("abcd")
    await limiter.aclose()


async def test_a_job_holds_its_slot_across_its_chunks(limiter: CpuLimiter) -> None:
    gate = Gate()

    async def job() -> list[str]:
        async with limiter.slot() as slot:
            return [await slot.run(gate.work("a1")), await slot.run(gate.work("a2"))]

    first = asyncio.create_task(job())
    await until(lambda: gate.started == ["a1"])
    other = asyncio.create_task(limiter.run(gate.work("b")))
    await until(lambda: limiter.waiting == 1)
    gate.open("a1")
    await until(lambda: gate.started == ["a1", "a2"])  # its next chunk, before the waiter
    gate.open("a2")
    gate.open("b")
    assert await first == ["a1", "a2"]
    assert await other == "b"


async def test_a_cancelled_caller_keeps_the_slot_until_its_thread_finishes(
    limiter: CpuLimiter,
) -> None:
    gate = Gate()
    running = asyncio.create_task(limiter.run(gate.work("a")))
    await until(lambda: gate.started == ["a"])
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    # the thread still runs "a": a new job waits instead of starting a second thread
    waiting = asyncio.create_task(limiter.run(gate.work("b")))
    await until(lambda: limiter.waiting == 1)
    assert limiter.running == 1 and gate.started == ["a"]
    gate.open("a")
    await until(lambda: gate.started == ["a", "b"])
    gate.open("b")
    assert await waiting == "b"
    assert limiter.running == 0


async def test_a_cancelled_waiter_leaves_the_queue(limiter: CpuLimiter) -> None:
    gate = Gate()
    running = asyncio.create_task(limiter.run(gate.work("a")))
    await until(lambda: gate.started == ["a"])
    waiter = asyncio.create_task(limiter.run(gate.work("never")))
    await until(lambda: limiter.waiting == 1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limiter.waiting == 0
    queued = asyncio.create_task(limiter.run(gate.work("b")))  # room again in the queue
    await until(lambda: limiter.waiting == 1)
    gate.open("a")
    gate.open("b")
    assert [await running, await queued] == ["a", "b"]
    assert "never" not in gate.started


async def test_an_error_releases_the_slot(limiter: CpuLimiter) -> None:
    def fail() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        await limiter.run(fail)
    assert limiter.running == 0
    assert await limiter.run(lambda: 42) == 42


async def test_callers_that_cannot_be_refused_wait_past_the_queue(limiter: CpuLimiter) -> None:
    gate = Gate()
    tasks = [asyncio.create_task(limiter.run(gate.work("a")))]
    await until(lambda: gate.started == ["a"])
    tasks.append(asyncio.create_task(limiter.run(gate.work("b"))))
    await until(lambda: limiter.waiting == 1)
    tasks.append(asyncio.create_task(limiter.run(gate.work("c"), refuse_when_full=False)))
    await until(lambda: limiter.waiting == 2)
    with pytest.raises(CpuBusy):  # the queue is still full for the others
        await limiter.run(gate.work("d"))
    for name in "abc":
        gate.open(name)
    assert await asyncio.gather(*tasks) == list("abc")


async def test_retry_after_follows_the_recent_job_durations(clock: FakeClock) -> None:
    limiter = CpuLimiter(2, queue=0, clock=clock)
    for _ in range(30):  # jobs of 4 s each (by the fake clock)
        async with limiter.slot():
            clock.advance(4.0)
    assert limiter.job_s == pytest.approx(4.0, rel=0.01)
    gate = Gate()
    tasks = [asyncio.create_task(limiter.run(gate.work(name))) for name in "ab"]
    await until(lambda: len(gate.started) == 2)
    with pytest.raises(CpuBusy) as refused:
        await limiter.run(gate.work("c"))
    # two jobs ahead, ~4 s each, two workers
    assert refused.value.retry_after_s == pytest.approx(4.0, rel=0.01)
    assert math.ceil(refused.value.retry_after_s) == 4  # Retry-After: whole seconds, up (3.996)
    for name in "ab":
        gate.open(name)
    await asyncio.gather(*tasks)
    await limiter.aclose()


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        CpuLimiter(0, queue=1)
    with pytest.raises(ValueError):
        ClientCostBudget(0, 10)


# --- the per-client cost budget --------------------------------------------------------------


def test_budget_allows_the_burst_then_the_rate(clock: FakeClock) -> None:
    budget = ClientCostBudget(600, 100, unit="characters", clock=clock)  # 10 per second
    budget.spend("a", 60)
    budget.spend("a", 40)
    with pytest.raises(CostExceeded) as refused:
        budget.spend("a", 20)
    assert refused.value.retry_after_s == pytest.approx(2.0)  # 20 characters at 10/s
    assert refused.value.code == "cost_budget_exceeded"
    assert "600 characters per minute" in refused.value.message
    assert budget.refused == 1
    clock.advance(1.9)
    with pytest.raises(CostExceeded):
        budget.spend("a", 20)
    clock.advance(0.1)
    budget.spend("a", 20)
    budget.spend("b", 100)  # every client has its own budget


def test_a_cost_above_the_burst_passes_once_nothing_is_owed(clock: FakeClock) -> None:
    budget = ClientCostBudget(60, 10, clock=clock)  # 1 per second, bursts of 10
    budget.spend("a", 50)  # nothing owed yet: allowed, and 50 s owed afterwards
    assert budget.wait_s("a", 50) == pytest.approx(50.0)
    assert budget.wait_s("a", 1) == pytest.approx(41.0)  # small costs fit in the burst sooner
    clock.advance(50.0)
    budget.spend("a", 50)


def test_refund_gives_back_what_was_not_used(clock: FakeClock) -> None:
    budget = ClientCostBudget(60, 10, clock=clock)
    budget.spend("a", 10)
    assert budget.wait_s("a", 10) > 0
    budget.refund("a", 10)
    assert budget.wait_s("a", 10) == 0
    budget.refund("unknown", 10)  # nothing to give back


def test_idle_clients_are_dropped_and_memory_is_bounded(clock: FakeClock) -> None:
    budget = ClientCostBudget(60, 10, clock=clock, max_clients=3)
    for client in "abc":
        budget.spend(client, 5)
    assert len(budget) == 3
    budget.spend("d", 5)  # full: the least recently seen goes
    assert len(budget) == 3 and budget.wait_s("a", 10) == 0
    clock.advance(60.0)  # everything refilled: idle entries go as the next client arrives
    budget.spend("e", 5)
    assert len(budget) == 1
