"""What `/metrics` reports about the service's own state, read at scrape time from the objects
that keep it anyway: upstream calls by provider and outcome, breaker state, quota and monthly
plan per provider, the cache's counters, WebSocket clients and the background jobs.

The metrics endpoint (`api/http/metrics.py`) only turns these answers into metric families; it
sees neither the adapters nor the guards. Call counts come through `CountsCalls`, the port an
adapter that counts its upstream calls offers (`HttpProvider.outcomes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptoagg.core.ports import Provider
from cryptoagg.resilience.breaker import State
from cryptoagg.resilience.cache import SharedCounts, TTLCache
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.plan import ProviderPlan
from cryptoagg.services.events import EventHub
from cryptoagg.services.events_redis import RedisRelay, RelayCounts
from cryptoagg.services.health import CollectorsReport


@runtime_checkable
class CountsCalls(Protocol):
    """A provider that counts its upstream calls by outcome: `ok` or the error's reason."""

    @property
    def outcomes(self) -> Mapping[str, int]: ...


@dataclass(frozen=True, slots=True)
class GuardReading:
    """A guarded provider's breaker, quota and plan, as the `/api/providers` page shows them."""

    breaker: State
    used_this_month: int
    #: None: no monthly quota
    quota_left: int | None
    plan: ProviderPlan


@dataclass(frozen=True, slots=True)
class ProviderReading:
    name: str
    #: upstream calls by outcome, sorted; empty for a provider that does not count them
    calls: list[tuple[str, int]]
    #: None: the provider has no guard
    guard: GuardReading | None


@dataclass(frozen=True, slots=True)
class CacheReading:
    hits: int
    misses: int
    #: values served after a failed refresh
    stale: int
    entries: int
    #: the tier the replicas share (REDIS_URL; None: none)
    shared: SharedCounts | None = None


class Telemetry:
    def __init__(
        self,
        providers: Sequence[Provider],
        guards: Guards,
        cache: TTLCache,
        events: EventHub,
        collectors: Callable[[], CollectorsReport],
        *,
        relay: RedisRelay | None = None,
    ) -> None:
        self._providers = providers
        self._guards = guards
        self._cache = cache
        self._events = events
        self._collectors = collectors
        self._relay = relay

    def providers(self) -> list[ProviderReading]:
        """Every provider in priority order, with what its adapter and guard keep."""
        readings = []
        for provider in self._providers:
            calls = sorted(provider.outcomes.items()) if isinstance(provider, CountsCalls) else []
            guard = None
            if provider.name in self._guards:
                kept = self._guards[provider.name]
                guard = GuardReading(
                    breaker=kept.breaker.state,
                    used_this_month=kept.budget.used_this_month(),
                    quota_left=kept.budget.quota_left(),
                    plan=self._guards.plan.provider_plan(provider.name),
                )
            readings.append(ProviderReading(provider.name, calls, guard))
        return readings

    def cache(self) -> CacheReading:
        cache = self._cache
        shared = cache.shared.counts() if cache.shared is not None else None
        return CacheReading(cache.hits, cache.misses, cache.stale_served, len(cache), shared)

    def websocket_clients(self) -> int:
        return len(self._events)

    def relay(self) -> RelayCounts | None:
        """The WebSocket fan-out across replicas (REDIS_URL; None: none)."""
        return self._relay.counts() if self._relay is not None else None

    def collectors(self) -> CollectorsReport:
        return self._collectors()
