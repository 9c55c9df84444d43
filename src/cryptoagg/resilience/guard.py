"""Everything that stands between the service and one provider: its breaker, its budget, the
monthly plan, and the one guarded-call path every caller uses.

Guards are per provider, shared by every pool, so a provider that fails for one capability
is held back for all of them, and every request spends the same budget.

- `Guards.before_send` is the only place a budget is spent: every adapter's HTTP request
  passes it just before it leaves (`ProviderContext.outbound`). A client request waits
  there for a rate budget that frees within its deadline; background work waits behind
  clients, keeps off their reserve, and stops at the plan's monthly ceiling. Nothing that
  does not leave (a range an adapter declines, a cache hit, a refusal) is charged.
- `GuardedCalls.call` is the path of one call to one provider: admit (breaker) → run the
  adapter in a scope that counts what it sent → record the outcome to breaker and health
  book. The pools, the health checks and `cryptoagg providers check` all go through it.
- With several replicas (`shared`, resilience/shared_guards.py) every budget spends in the
  shared state too, and a breaker that opens here shares its deadline (`tripped`).
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from cryptoagg.core.errors import (
    BudgetExhausted,
    CircuitOpen,
    ProviderDisabled,
    ProviderError,
    QuotaExhausted,
    UpstreamTimeout,
)
from cryptoagg.core.limits import Limits, Priority
from cryptoagg.resilience.breaker import BreakerPolicy, CircuitBreaker, State, Transition
from cryptoagg.resilience.budget import Budget, SendGate
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.plan import PlanPolicy, QuotaPlan
from cryptoagg.resilience.quota import QuotaLedger
from cryptoagg.resilience.retry import Deadline, RetryPolicy, call_with_retry
from cryptoagg.resilience.scope import current, scope

T = TypeVar("T")
TRANSITIONS_KEPT = 1000


@dataclass(slots=True)
class Guard:
    name: str
    breaker: CircuitBreaker
    budget: Budget

    def admit(self) -> ProviderError | None:
        """None when a call may start now (taking the half-open probe slot), else why not.
        Rate budgets are not asked here: they are spent when a request leaves."""
        if self.breaker.state is State.DISABLED:
            return ProviderDisabled(self.name, self.breaker.reason or "after a failure")
        if self.budget.quota_used_up():
            return QuotaExhausted(self.name, "monthly quota used")
        if not self.breaker.allow():
            return CircuitOpen(self.name, self.breaker.refusal(), self.breaker.retry_in_s())
        return None


class SharedGuard(Protocol):
    """The state several replicas share (None: this process alone)."""

    def attach(self, guard: Guard) -> SendGate:
        """Take `guard` in; the gate its budget spends through."""

    async def tripped(self, guard: Guard) -> None:
        """`guard`'s breaker just opened or disabled the provider here."""


class Guards:
    def __init__(
        self,
        clock: Callable[[], float],
        wall: Callable[[], datetime],
        ledger: QuotaLedger,
        policy: BreakerPolicy | None = None,
        plan_policy: PlanPolicy | None = None,
        *,
        shared: SharedGuard | None = None,
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.ledger = ledger
        self.policy = policy or BreakerPolicy()
        self.shared = shared
        self.transitions: deque[Transition] = deque(maxlen=TRANSITIONS_KEPT)
        self._guards: dict[str, Guard] = {}
        self._budgets: dict[str, Budget] = {}
        self.plan = QuotaPlan(self._budgets, wall, plan_policy or PlanPolicy())

    def add(self, provider: str, limits: Limits) -> Guard:
        reserve = self.plan.policy.rate_reserve
        budget = Budget(provider, limits, self.clock, self.wall, self.ledger, reserve)
        guard = Guard(
            provider,
            CircuitBreaker(provider, self.policy, self.clock, self.wall, self.transitions.append),
            budget,
        )
        self._guards[provider] = guard
        self._budgets[provider] = budget
        if self.shared is not None:
            budget.gate = self.shared.attach(guard)
        return guard

    def __getitem__(self, provider: str) -> Guard:
        return self._guards[provider]

    def __contains__(self, provider: object) -> bool:
        return provider in self._guards

    async def before_send(self, provider: str) -> None:
        """A request to `provider` is about to leave: spend its budget or refuse."""
        if provider not in self._guards:
            return
        call = current()
        if call.priority is not Priority.CLIENT and not self.plan.background_allowed(provider):
            raise BudgetExhausted(provider, "the rest of this month's quota is kept for clients")
        await self._budgets[provider].acquire(call.priority, call.job, call.remaining_s())
        call.count(provider)

    async def tripped(self, guard: Guard) -> None:
        """`guard`'s breaker just opened or disabled its provider: tell the other replicas."""
        if self.shared is not None:
            await self.shared.tripped(guard)

    def not_sent(self, provider: str) -> None:
        """The request just admitted found no connection: take it off the monthly ledger
        (it still counted against the rate, and the attempt's outcome is a failure)."""
        if provider in self._budgets:
            self._budgets[provider].refund(current().job)

    def admits(self, provider: str) -> str | None:
        """Why the current background job may not call `provider` in this run, or None."""
        call = current()
        if call.priority is Priority.CLIENT or self.plan.due(call.job, provider, call.started_at):
            return None
        wait = self.plan.next_in_s(call.job, provider)
        if wait is None:
            return "plan: paused for the rest of the month"
        return f"plan: next call in {wait / 60:.0f} min"


@dataclass(slots=True)
class GuardedCalls:
    """The one path of a call to a provider, shared by pools, health checks and the CLI."""

    guards: Guards
    health: HealthBook
    rng: random.Random

    async def call(
        self,
        provider: str,
        fn: Callable[[], Awaitable[T]],
        *,
        deadline: Deadline,
        retry: RetryPolicy | None = None,
        timeout_counts: bool = False,
    ) -> T:
        """Run `fn` (one adapter call) against `provider` under its guard; raises the
        provider's error. `timeout_counts`: the deadline passing while a request was out
        counts as the provider's failure (health checks), not only as ours (pools)."""
        guard = self.guards[provider]
        refusal = guard.admit()
        if refusal is not None:
            raise refusal
        attempts = 0
        sent = 0
        recorded: ProviderError | None = None

        async def once() -> T:
            nonlocal attempts, sent, recorded
            attempts += 1
            if attempts > 1 and guard.breaker.state is not State.CLOSED:
                raise CircuitOpen(provider, guard.breaker.refusal(), guard.breaker.retry_in_s())
            with scope(deadline=deadline) as attempt:
                started = time.perf_counter()
                try:
                    value = await fn()
                except ProviderError as exc:
                    recorded = exc
                    if self._failed(guard, exc, sent=attempt.sent.get(provider, 0)):
                        await self.guards.tripped(guard)
                    raise
                except BaseException:
                    # cancelled (the deadline), or an adapter bug: no verdict here
                    sent += attempt.sent.get(provider, 0)
                    guard.breaker.record_cancelled()
                    raise
                if attempt.sent.get(provider, 0):
                    guard.breaker.record_success()
                    self.health.success(provider, (time.perf_counter() - started) * 1000)
                else:
                    guard.breaker.record_cancelled()  # answered without a request
                return value

        try:
            return await call_with_retry(
                once,
                provider,
                policy=retry or RetryPolicy(attempts=1),
                deadline=deadline,
                rng=self.rng,
            )
        except UpstreamTimeout as exc:
            if timeout_counts and exc is not recorded and sent and self._failure(guard, exc):
                await self.guards.tripped(guard)
            raise

    def _failed(self, guard: Guard, exc: ProviderError, *, sent: int) -> bool:
        """Record a failed attempt; True when it opened the breaker or disabled the provider."""
        if isinstance(exc, BudgetExhausted) or not sent:
            guard.breaker.record_cancelled()  # nothing left: no verdict
            return False
        return self._failure(guard, exc)

    def _failure(self, guard: Guard, exc: ProviderError) -> bool:
        breaker = guard.breaker
        trips, disabled = breaker.trips, breaker.state is State.DISABLED
        breaker.record_failure(exc)
        self.health.failure(guard.name, exc)
        return breaker.trips > trips or (breaker.state is State.DISABLED and not disabled)
