"""Pools: the providers of one capability, tried in the order of the pool's strategy.

`first` fails over from provider to provider until one answers; `gather` asks every
provider at once (for consensus). Each attempt is one guarded call (`GuardedCalls`: breaker,
budget spent per request that leaves, outcome to breaker and health book), retried within
the request deadline. A background job skips the providers its monthly plan says are not
due in this run. When
nothing could answer, every provider's reason is collected (503 with reasons). A change of
the answering provider is recorded as a rotation.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import structlog

from cryptoagg.core.errors import (
    BudgetExhausted,
    CircuitOpen,
    NoProviderAvailable,
    ProviderError,
    RateLimited,
)
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.guard import GuardedCalls, Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.retry import Deadline, RetryPolicy
from cryptoagg.resilience.strategy import Strategy, order

T = TypeVar("T")
log = structlog.get_logger("cryptoagg.pool")

Call = Callable[[Provider], Awaitable[T]]
Skip = Callable[[Provider], str | None]
ROTATIONS_KEPT = 500


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    provider: str
    value: T
    fetched_at: datetime


@dataclass(slots=True)
class Gathered(Generic[T]):
    answers: list[Answer[T]] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    errors: list[ProviderError] = field(default_factory=list)

    @property
    def retry_after_s(self) -> float | None:
        return retry_after(self.errors)


def retry_after(errors: Sequence[ProviderError]) -> float | None:
    """The earliest time one of these refusals says a call may go out again (None: none
    says): our own rate budgets, upstream 429s with Retry-After, and open breakers (their next
    probe, which a 429's Retry-After sets)."""
    waits = [
        e.retry_after_s
        for e in errors
        if isinstance(e, BudgetExhausted | RateLimited | CircuitOpen)
        and e.retry_after_s is not None
    ]
    return min(waits, default=None)


@dataclass(frozen=True, slots=True)
class Rotation:
    at: datetime
    pool: str
    from_provider: str | None
    to_provider: str
    reason: str


@dataclass(frozen=True, slots=True)
class PoolConfig:
    strategy: Strategy = Strategy.PRIORITY
    weights: Mapping[str, float] = field(default_factory=dict)
    deadline_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class ProviderPool:
    def __init__(
        self,
        capability: Capability,
        providers: Sequence[Provider],
        *,
        health: HealthBook,
        guards: Guards,
        config: PoolConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.capability = capability
        self.providers = [p for p in providers if capability in p.capabilities]
        self.health = health
        self.guards = guards
        self.config = config or PoolConfig()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - load spreading, not security
        self.calls = GuardedCalls(guards, health, self.rng)
        self.rotations: deque[Rotation] = deque(maxlen=ROTATIONS_KEPT)
        self.current: str | None = None
        self._turn = 0
        self._offset = 0

    @property
    def id(self) -> str:
        return self.capability.value

    # -- ordering -------------------------------------------------------------------------

    def ordered(self) -> list[Provider]:
        by_name = {p.name: p for p in self.providers}
        names = list(by_name)
        if self._offset and names:
            shift = self._offset % len(names)
            names = names[shift:] + names[:shift]
        self._turn += 1
        names = order(
            self.config.strategy,
            names,
            turn=self._turn - 1,
            weights=self.config.weights,
            rng=self.rng,
            calls_last_minute=lambda n: self.guards[n].budget.calls_this_minute(),
            p50_ms=lambda n: self.health.get(n).percentile_ms(0.5),
            near_limit=lambda n: self.guards[n].budget.near_limit,
        )
        return [by_name[n] for n in names]

    def rotate(self, reason: str = "manual") -> Rotation:
        """Move the preferred member to the back (an operator's or a test's nudge)."""
        self._offset += 1
        head = self.ordered()
        self._turn -= 1
        target = head[0].name if head else "none"
        return self._record(target, reason)

    def _record(self, to: str, reason: str) -> Rotation:
        rotation = Rotation(self.health.now(), self.id, self.current, to, reason)
        self.rotations.append(rotation)
        self.current = to
        log.info(
            "pool_rotation",
            pool=self.id,
            from_provider=rotation.from_provider,
            to_provider=to,
            reason=reason,
        )
        return rotation

    # -- calling --------------------------------------------------------------------------

    def _usable(self, reasons: dict[str, str], skip: Skip | None = None) -> list[Provider]:
        usable = []
        for provider in self.ordered():
            why = provider.disabled_reason
            if why:
                reasons[provider.name] = f"disabled: {why}"
            elif skip is not None and (skipped := skip(provider)) is not None:
                reasons[provider.name] = f"skipped: {skipped}"
            elif (planned := self.guards.admits(provider.name)) is not None:
                reasons[provider.name] = f"skipped: {planned}"
            else:
                usable.append(provider)
        return usable

    async def _attempt(self, provider: Provider, call: Call[T], deadline: Deadline) -> T:
        try:
            return await self.calls.call(
                provider.name, lambda: call(provider), deadline=deadline, retry=self.config.retry
            )
        except ProviderError as exc:
            log.info(
                "provider_failed",
                pool=self.id,
                provider=provider.name,
                reason=exc.reason,
                error=exc.detail,
            )
            raise

    def _deadline(self) -> Deadline:
        return Deadline.after(self.config.deadline_s, self.clock)

    async def first(self, call: Call[T]) -> Answer[T]:
        """The first provider, in strategy order, that answers."""
        deadline = self._deadline()
        reasons: dict[str, str] = {}
        errors: list[ProviderError] = []
        for provider in self._usable(reasons):
            if deadline.expired:
                reasons[provider.name] = "skipped: request deadline reached"
                continue
            try:
                value = await self._attempt(provider, call, deadline)
            except ProviderError as exc:
                reasons[provider.name] = f"{exc.reason}: {exc.detail}"
                errors.append(exc)
                continue
            if provider.name != self.current:
                why = "; ".join(f"{n} {r}" for n, r in reasons.items()) or "strategy"
                self._record(provider.name, why)
            return Answer(provider.name, value, self.health.now())
        raise NoProviderAvailable(self.id, reasons, retry_after(errors))

    async def gather(self, call: Call[T], skip: Skip | None = None) -> Gathered[T]:
        """Every usable provider at once; answers in strategy order plus failure reasons.
        `skip` says why a provider is left out of this gathering (None: it is asked)."""
        deadline = self._deadline()
        result: Gathered[T] = Gathered()
        usable = self._usable(result.reasons, skip)
        outcomes = await asyncio.gather(
            *(self._attempt(p, call, deadline) for p in usable), return_exceptions=True
        )
        for provider, outcome in zip(usable, outcomes, strict=True):
            if isinstance(outcome, ProviderError):
                result.reasons[provider.name] = f"{outcome.reason}: {outcome.detail}"
                result.errors.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                result.answers.append(Answer(provider.name, outcome, self.health.now()))
        return result
