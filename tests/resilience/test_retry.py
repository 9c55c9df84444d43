from __future__ import annotations

import asyncio
import random

import pytest

from cryptoagg.core.errors import BadResponse, ConnectionFailed, Unavailable, UpstreamTimeout
from cryptoagg.resilience.retry import Deadline, RetryPolicy, call_with_retry
from tests.support import FakeClock


class Script:
    def __init__(self, outcomes: list[Exception | str]) -> None:
        self.outcomes = outcomes
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_full_jitter_stays_within_the_cap() -> None:
    policy = RetryPolicy(attempts=5, base_s=0.5, cap_s=3.0)
    rng = random.Random(7)
    for attempt, cap in enumerate([0.5, 1.0, 2.0, 3.0, 3.0]):
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= cap
        assert max(delays) > cap * 0.8  # it does spread over the whole range


async def test_retries_transient_errors_until_success() -> None:
    clock = FakeClock()
    script = Script([Unavailable("p", "503"), ConnectionFailed("p", "reset"), "ok"])
    result = await call_with_retry(
        script,
        "p",
        policy=RetryPolicy(attempts=3),
        deadline=Deadline.after(10, clock),
        sleep=clock.sleep,
        rng=random.Random(1),
    )
    assert result == "ok"
    assert script.calls == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("error", [BadResponse("p", "garbled"), UpstreamTimeout("p", "slow")])
async def test_does_not_retry_non_transient_errors(error: Exception) -> None:
    clock = FakeClock()
    script = Script([error, "ok"])
    with pytest.raises(type(error)):
        await call_with_retry(
            script,
            "p",
            policy=RetryPolicy(attempts=3),
            deadline=Deadline.after(10, clock),
            sleep=clock.sleep,
        )
    assert script.calls == 1


async def test_never_sleeps_past_the_deadline() -> None:
    clock = FakeClock()
    script = Script([Unavailable("p", "503")] * 10)
    with pytest.raises(Unavailable):
        await call_with_retry(
            script,
            "p",
            policy=RetryPolicy(attempts=10, base_s=1.0, cap_s=1.0),
            deadline=Deadline.after(2.5, clock),
            sleep=clock.sleep,
            rng=random.Random(3),
        )
    assert sum(clock.sleeps) < 2.5
    assert clock() <= 1000 + 2.5


async def test_expired_deadline_is_a_timeout() -> None:
    clock = FakeClock()
    deadline = Deadline.after(1, clock)
    clock.advance(1)
    script = Script(["ok"])
    with pytest.raises(UpstreamTimeout):
        await call_with_retry(script, "p", policy=RetryPolicy(), deadline=deadline)
    assert script.calls == 0


async def test_cancelling_the_caller_is_never_swallowed() -> None:
    """The call finishing in the same loop turn as the caller's cancellation must not eat
    the cancellation (Python 3.11's `asyncio.wait_for` did: a collector job then ignored
    shutdown and slept out its interval)."""
    gate = asyncio.Event()

    async def call() -> str:
        await gate.wait()
        return "value"

    task = asyncio.create_task(
        call_with_retry(
            call, "p", policy=RetryPolicy(attempts=1), deadline=Deadline.after(10, FakeClock())
        )
    )
    await asyncio.sleep(0)  # the call now waits at the gate
    gate.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
