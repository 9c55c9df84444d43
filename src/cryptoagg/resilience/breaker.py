"""A circuit breaker per provider: a small state machine with an injected clock.

closed → open after `consecutive_failures` failures in a row, or when the failure rate over
a sliding window exceeds `failure_rate` with at least `min_calls` calls; open for a cool-down
(exactly `Retry-After` after a 429) that grows with each re-trip; then half-open, which admits
one probe: success closes, failure re-opens. Caller errors (unknown asset, bad request) do not
count. Auth failures and geo-blocks disable the provider with that reason: retrying cannot
help until the configuration changes.

With several replicas the deadline of an open (or disabled) breaker is shared
(`resilience/shared_breaker.py`): another replica's trip reaches this breaker as `hold`,
which keeps it open until then without counting a trip of its own, so its back-off and its
half-open probe stay this replica's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import structlog

from cryptoagg.core.errors import AuthFailed, GeoBlocked, ProviderError, RateLimited

log = structlog.get_logger("cryptoagg.breaker")

Clock = Callable[[], float]
WallClock = Callable[[], datetime]


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    consecutive_failures: int = 5
    window_s: float = 60.0
    min_calls: int = 10
    failure_rate: float = 0.5
    cooldown_s: float = 30.0
    max_cooldown_s: float = 600.0
    backoff: float = 2.0


@dataclass(frozen=True, slots=True)
class Transition:
    at: datetime
    provider: str
    from_state: State
    to_state: State
    reason: str


@dataclass(slots=True)
class CircuitBreaker:
    provider: str
    policy: BreakerPolicy
    clock: Clock
    wall: WallClock
    on_transition: Callable[[Transition], None] | None = None
    state: State = State.CLOSED
    reason: str | None = None
    opened_until: float = 0.0
    consecutive: int = 0
    trips: int = 0
    probe_in_flight: bool = False
    #: why it last changed state ("rate limited, Retry-After 30s", …): shared with the replicas
    why: str = ""
    window: deque[tuple[float, bool]] = field(default_factory=deque)

    # -- admission ------------------------------------------------------------------------

    def allow(self) -> bool:
        """Whether a call may go out now (a half-open breaker admits exactly one probe)."""
        if self.state is State.CLOSED:
            return True
        if self.state is State.OPEN and self.clock() >= self.opened_until:
            self._move(State.HALF_OPEN, "cool-down over")
        if self.state is State.HALF_OPEN and not self.probe_in_flight:
            self.probe_in_flight = True
            return True
        return False

    def retry_in_s(self) -> float | None:
        """Seconds until the next probe may go out (None when closed or disabled)."""
        if self.state is State.OPEN:
            return max(0.0, self.opened_until - self.clock())
        return 0.0 if self.state is State.HALF_OPEN else None

    def refusal(self) -> str:
        wait = self.retry_in_s()
        if self.state is State.OPEN and wait is not None:
            return f"next probe in {wait:.0f}s"
        return "half-open, probe in flight"

    # -- outcomes -------------------------------------------------------------------------

    def record_success(self) -> None:
        self._observe(ok=True)
        self.consecutive = 0
        if self.state is State.HALF_OPEN:
            self.probe_in_flight = False
            self.trips = 0
            self._move(State.CLOSED, "probe succeeded")

    def record_cancelled(self) -> None:
        """A call that ended without an outcome (cancelled): free the probe slot."""
        self.probe_in_flight = False

    def record_failure(self, error: ProviderError) -> None:
        if not error.counts_as_failure:
            # the provider answered, only our question was wrong
            if self.state is State.HALF_OPEN:
                self.record_success()
            return
        if isinstance(error, AuthFailed | GeoBlocked):
            self.probe_in_flight = False
            self._move(State.DISABLED, error.reason, reason=f"{error.reason}: {error.detail}")
            return
        self._observe(ok=False)
        self.consecutive += 1
        if isinstance(error, RateLimited) and error.retry_after_s is not None:
            self._open(error.retry_after_s, f"rate limited, Retry-After {error.retry_after_s:.0f}s")
        elif self.state is State.HALF_OPEN:
            self._open(self._cooldown(), f"probe failed: {error.reason}")
        elif self.state is State.CLOSED and self._should_trip():
            self._open(self._cooldown(), f"{error.reason} (x{self.consecutive})")

    def hold(self, seconds: float, why: str) -> bool:
        """Another replica keeps away from the provider for `seconds`: stay open at least
        that long (a disabled breaker stays disabled). True when this changed the breaker."""
        if self.state is State.DISABLED or seconds <= 0:
            return False
        until = self.clock() + seconds
        if self.state is State.OPEN and self.opened_until >= until:
            return False
        self.probe_in_flight = False
        self.opened_until = until
        if self.state is not State.OPEN:
            self._move(State.OPEN, why)
        return True

    # -- internals ------------------------------------------------------------------------

    def _observe(self, ok: bool) -> None:
        now = self.clock()
        self.window.append((now, ok))
        while self.window and self.window[0][0] < now - self.policy.window_s:
            self.window.popleft()

    def _should_trip(self) -> bool:
        if self.consecutive >= self.policy.consecutive_failures:
            return True
        calls = len(self.window)
        failures = sum(1 for _, ok in self.window if not ok)
        return calls >= self.policy.min_calls and failures / calls > self.policy.failure_rate

    def _cooldown(self) -> float:
        growth = self.policy.backoff ** max(0, self.trips)
        return min(self.policy.cooldown_s * growth, self.policy.max_cooldown_s)

    def _open(self, seconds: float, why: str) -> None:
        self.probe_in_flight = False
        self.trips += 1
        self.opened_until = self.clock() + seconds
        self._move(State.OPEN, why)

    def _move(self, to: State, why: str, reason: str | None = None) -> None:
        before = self.state
        self.state = to
        self.reason = reason
        self.why = why
        if to is State.CLOSED:
            self.window.clear()
        transition = Transition(self.wall(), self.provider, before, to, why)
        log.info(
            "breaker_transition",
            provider=self.provider,
            from_state=before.value,
            to_state=to.value,
            reason=why,
        )
        if self.on_transition is not None:
            self.on_transition(transition)
