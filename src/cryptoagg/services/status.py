"""Provider health as first-class data: `/api/providers`, `/api/pools`, `/health`, the CLI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptoagg.core.errors import CryptoAggError
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.breaker import State, Transition
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.plan import ProviderPlan
from cryptoagg.resilience.pool import ProviderPool, Rotation


class UnknownPool(CryptoAggError):
    code = "unknown_pool"


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    name: str
    enabled: bool
    disabled_reason: str | None
    capabilities: list[str]
    requires_key: bool
    #: "ok" | "failing" | "unknown" | "disabled" | "open" | "half_open" | "quota_exhausted"
    state: str
    breaker: str
    next_probe_at: datetime | None
    successes: int
    failures: int
    success_rate_1h: float | None
    success_rate_24h: float | None
    p50_ms: float | None
    p95_ms: float | None
    last_success: datetime | None
    last_error: str | None
    last_error_reason: str | None
    last_error_at: datetime | None
    calls_this_minute: int
    calls_this_month: int
    quota_monthly: int | None
    quota_left: int | None
    #: the monthly plan: use by clients, projection, client reserve, each job's interval
    plan: ProviderPlan
    #: how long the latest client calls waited for a rate budget slot
    client_calls_kept: int
    client_wait_p50_ms: float | None
    client_wait_p99_ms: float | None


@dataclass(frozen=True, slots=True)
class PoolStatus:
    id: str
    strategy: str
    members: list[str]
    current: str | None
    rotations: int


class StatusService:
    def __init__(
        self,
        providers: Sequence[Provider],
        health: HealthBook,
        guards: Guards,
        pools: Mapping[Capability, ProviderPool],
    ) -> None:
        self.providers = providers
        self.health = health
        self.guards = guards
        self.pools = pools

    def _state(self, provider: Provider) -> tuple[str, str | None]:
        reason = provider.disabled_reason
        breaker = self.guards[provider.name].breaker
        if reason is None and breaker.state is State.DISABLED:
            reason = breaker.reason
        if reason:
            return "disabled", reason
        if self.guards[provider.name].budget.quota_used_up():
            return "quota_exhausted", None  # until the month turns
        if breaker.state is not State.CLOSED:
            return breaker.state.value, None
        h = self.health.get(provider.name)
        if h.outliers:
            return "outlier", None  # answering, but its prices disagree with the consensus
        if h.last_error_at and (h.last_success is None or h.last_error_at > h.last_success):
            return "failing", None
        return ("ok" if h.last_success else "unknown"), None

    def providers_status(self) -> list[ProviderStatus]:
        rows = []
        minute = self.health.minute()
        for provider in self.providers:
            h = self.health.get(provider.name)
            guard = self.guards[provider.name]
            state, reason = self._state(provider)
            wait = guard.breaker.retry_in_s()
            next_probe = (
                self.health.now() + timedelta(seconds=wait)
                if guard.breaker.state is State.OPEN and wait is not None
                else None
            )
            rows.append(
                ProviderStatus(
                    name=provider.name,
                    enabled=reason is None,
                    disabled_reason=reason,
                    capabilities=sorted(c.value for c in provider.capabilities),
                    requires_key=provider.requires_key,
                    state=state,
                    breaker=guard.breaker.state.value,
                    next_probe_at=next_probe,
                    successes=h.successes,
                    failures=h.failures,
                    success_rate_1h=h.success_rate(minute, 60),
                    success_rate_24h=h.success_rate(minute, 1440),
                    p50_ms=h.percentile_ms(0.5),
                    p95_ms=h.percentile_ms(0.95),
                    last_success=h.last_success,
                    last_error=h.last_error,
                    last_error_reason=h.last_error_reason,
                    last_error_at=h.last_error_at,
                    calls_this_minute=guard.budget.calls_this_minute(),
                    calls_this_month=guard.budget.used_this_month(),
                    quota_monthly=guard.budget.limits.monthly,
                    quota_left=guard.budget.quota_left(),
                    plan=self.guards.plan.provider_plan(provider.name),
                    client_calls_kept=len(guard.budget.client_waits),
                    client_wait_p50_ms=guard.budget.client_wait_ms(0.5),
                    client_wait_p99_ms=guard.budget.client_wait_ms(0.99),
                )
            )
        return rows

    def pool(self, pool_id: str) -> ProviderPool:
        for pool in self.pools.values():
            if pool.id == pool_id:
                return pool
        raise UnknownPool(f"unknown pool {pool_id!r}; pools: {', '.join(self.pool_ids())}")

    def pool_ids(self) -> list[str]:
        return [p.id for p in self.pools.values() if p.providers]

    def pools_status(self) -> list[PoolStatus]:
        return [
            PoolStatus(
                id=p.id,
                strategy=p.config.strategy.value,
                members=[m.name for m in p.providers],
                current=p.current,
                rotations=len(p.rotations),
            )
            for p in self.pools.values()
            if p.providers
        ]

    def rotate(self, pool_id: str, reason: str) -> Rotation:
        """Prefer the pool's next member (an operator's nudge); `UnknownPool` if none."""
        return self.pool(pool_id).rotate(reason)

    def rotations(self, pool_id: str, limit: int) -> list[Rotation]:
        return list(self.pool(pool_id).rotations)[-limit:][::-1]

    def transitions(self, limit: int) -> list[Transition]:
        return list(self.guards.transitions)[-limit:][::-1]
