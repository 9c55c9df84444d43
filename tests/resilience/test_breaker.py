from __future__ import annotations

from cryptoagg.core.errors import (
    BadRequest,
    GeoBlocked,
    RateLimited,
    Unavailable,
    UpstreamNotFound,
    UpstreamTimeout,
)
from cryptoagg.resilience.breaker import BreakerPolicy, CircuitBreaker, State, Transition
from tests.support import FakeClock


def breaker(clock: FakeClock, **policy: float) -> tuple[CircuitBreaker, list[Transition]]:
    seen: list[Transition] = []
    b = CircuitBreaker("p", BreakerPolicy(**policy), clock, clock.wall, seen.append)  # type: ignore[arg-type]
    return b, seen


def fail(b: CircuitBreaker, n: int = 1) -> None:
    for _ in range(n):
        assert b.allow()
        b.record_failure(Unavailable("p", "HTTP 500"))


def test_opens_after_five_consecutive_failures() -> None:
    clock = FakeClock()
    b, seen = breaker(clock)
    fail(b, 4)
    assert b.state is State.CLOSED
    fail(b)
    assert b.state is State.OPEN
    assert not b.allow()
    assert b.retry_in_s() == 30.0
    assert [(t.from_state, t.to_state) for t in seen] == [(State.CLOSED, State.OPEN)]


def test_success_resets_the_consecutive_count() -> None:
    b, _ = breaker(FakeClock(), min_calls=100)
    fail(b, 4)
    assert b.allow()
    b.record_success()
    fail(b, 4)
    assert b.state is State.CLOSED


def test_failure_rate_over_window_with_minimum_traffic() -> None:
    clock = FakeClock()
    b, _ = breaker(clock, min_calls=10, failure_rate=0.5, window_s=60)
    for i in range(9):  # 9 calls, alternating: below the minimum traffic
        assert b.allow()
        b.record_success() if i % 2 else b.record_failure(UpstreamTimeout("p", "t"))
    assert b.state is State.CLOSED
    fail(b)  # 10th call: 6 failures of 10 = 60 % > 50 %
    assert b.state is State.OPEN


def test_old_calls_leave_the_window() -> None:
    clock = FakeClock()
    b, _ = breaker(clock, min_calls=4, failure_rate=0.5, window_s=60)
    fail(b, 2)
    b.record_success()
    clock.advance(61)
    b.record_success()
    b.record_success()
    fail(b)  # window: success, success, failure -> 3 calls < 4
    assert b.state is State.CLOSED


def test_half_open_admits_one_probe_and_closes_on_success() -> None:
    clock = FakeClock()
    b, seen = breaker(clock)
    fail(b, 5)
    clock.advance(29.9)
    assert not b.allow()
    clock.advance(0.1)
    assert b.allow()
    assert b.state is State.HALF_OPEN
    assert not b.allow()  # one probe only
    b.record_success()
    assert b.state is State.CLOSED
    assert [t.to_state for t in seen] == [State.OPEN, State.HALF_OPEN, State.CLOSED]


def test_failed_probe_reopens_with_a_growing_cooldown() -> None:
    clock = FakeClock()
    b, _ = breaker(clock, cooldown_s=30, backoff=2, max_cooldown_s=100)
    fail(b, 5)
    for expected in (60.0, 100.0, 100.0):
        clock.advance(b.retry_in_s() or 0)
        fail(b)  # the probe fails
        assert b.state is State.OPEN
        assert b.retry_in_s() == expected


def test_retry_after_opens_for_exactly_that_long() -> None:
    clock = FakeClock()
    b, _ = breaker(clock)
    assert b.allow()
    b.record_failure(RateLimited("p", "HTTP 429", retry_after_s=119))
    assert b.state is State.OPEN
    clock.advance(118.999)
    assert not b.allow()
    clock.advance(0.001)
    assert b.allow()


def test_caller_errors_do_not_count() -> None:
    b, _ = breaker(FakeClock())
    for _ in range(20):
        assert b.allow()
        b.record_failure(UpstreamNotFound("p", "HTTP 404"))
        b.record_failure(BadRequest("p", "HTTP 400"))
    assert b.state is State.CLOSED


def test_caller_error_on_a_probe_closes_the_breaker() -> None:
    clock = FakeClock()
    b, _ = breaker(clock)
    fail(b, 5)
    clock.advance(30)
    assert b.allow()
    b.record_failure(UpstreamNotFound("p", "HTTP 404"))
    assert b.state is State.CLOSED


def test_geoblock_disables_with_the_reason() -> None:
    clock = FakeClock()
    b, _ = breaker(clock)
    assert b.allow()
    b.record_failure(GeoBlocked("p", "HTTP 451"))
    assert b.state is State.DISABLED
    assert b.reason == "geo_blocked: HTTP 451"
    clock.advance(10**6)
    assert not b.allow()


def test_cancelled_probe_frees_the_slot() -> None:
    clock = FakeClock()
    b, _ = breaker(clock)
    fail(b, 5)
    clock.advance(30)
    assert b.allow()
    b.record_cancelled()
    assert b.allow()
