"""Everything that stands between a pool and one provider: its breaker and its budget.

Guards are per provider, shared by every pool, so a provider that fails for one capability
is held back for all of them, and every call spends the same budget.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptoagg.core.errors import BudgetExhausted, CircuitOpen, ProviderDisabled, ProviderError
from cryptoagg.core.limits import Limits
from cryptoagg.resilience.breaker import BreakerPolicy, CircuitBreaker, State, Transition
from cryptoagg.resilience.budget import Budget, QuotaLedger

TRANSITIONS_KEPT = 1000


@dataclass(slots=True)
class Guard:
    name: str
    breaker: CircuitBreaker
    budget: Budget

    def admit(self) -> ProviderError | None:
        """None when a call may go out now (taking the half-open probe slot), else why not."""
        if self.breaker.state is State.DISABLED:
            return ProviderDisabled(self.name, self.breaker.reason or "after a failure")
        refusal = self.budget.refusal()
        if refusal is not None:
            return BudgetExhausted(self.name, refusal)
        if not self.breaker.allow():
            return CircuitOpen(self.name, self.breaker.refusal())
        return None


class Guards:
    def __init__(
        self,
        clock: Callable[[], float],
        wall: Callable[[], datetime],
        ledger: QuotaLedger,
        policy: BreakerPolicy | None = None,
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.ledger = ledger
        self.policy = policy or BreakerPolicy()
        self.transitions: deque[Transition] = deque(maxlen=TRANSITIONS_KEPT)
        self._guards: dict[str, Guard] = {}

    def add(self, provider: str, limits: Limits) -> Guard:
        guard = Guard(
            provider,
            CircuitBreaker(provider, self.policy, self.clock, self.wall, self.transitions.append),
            Budget(provider, limits, self.clock, self.wall, self.ledger),
        )
        self._guards[provider] = guard
        return guard

    def __getitem__(self, provider: str) -> Guard:
        return self._guards[provider]

    def __contains__(self, provider: object) -> bool:
        return provider in self._guards
