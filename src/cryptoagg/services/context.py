"""What every service shares: the registry, the pools, the cache and the clocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.errors import NoProviderAvailable
from cryptoagg.core.models import Capability
from cryptoagg.resilience.cache import Cached, TTLCache
from cryptoagg.resilience.pool import ProviderPool

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ttls:
    price_s: float = 30.0
    markets_s: float = 60.0
    slow_s: float = 300.0
    quote_max_age_s: float = 300.0
    #: serve the last good value, flagged stale, for this long after every provider failed
    stale_if_error_s: float = 3600.0
    #: after its TTL a value is refreshed in the background while it is still served, for
    #: one more TTL or the request deadline, whichever is longer; so one upstream call per
    #: TTL, and no client waits for a refresh, however slowly the providers answer
    refresh_grace_s: float = 10.0


@dataclass(frozen=True, slots=True)
class ServiceContext:
    registry: AssetRegistry
    pools: Mapping[Capability, ProviderPool]
    cache: TTLCache
    ttls: Ttls
    clock: Callable[[], datetime]

    def pool(self, capability: Capability) -> ProviderPool:
        pool = self.pools.get(capability)
        if pool is None:
            raise NoProviderAvailable(capability.value, {})
        return pool

    async def cached(self, key: str, ttl_s: float, loader: Callable[[], Awaitable[T]]) -> Cached[T]:
        return await self.cache.get_or_load(
            key,
            ttl_s + max(ttl_s, self.ttls.refresh_grace_s) if ttl_s > 0 else 0.0,
            loader,
            refresh_after_s=ttl_s,
            stale_if_error_s=self.ttls.stale_if_error_s,
        )

    def age_s(self, as_of: datetime) -> float:
        return round(max(0.0, (self.clock() - as_of).total_seconds()), 3)

    def is_stale(self, as_of: datetime, max_age_s: float | None = None) -> bool:
        limit = self.ttls.quote_max_age_s if max_age_s is None else max_age_s
        return (self.clock() - as_of).total_seconds() > limit
