"""What every service shares: the registry, the pools, the cache and the clocks, and the
shape of an answer (`Served`): a value with how fresh it is, decided here once, so routes
and the WebSocket only render it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.errors import CryptoAggError, NoProviderAvailable
from cryptoagg.core.models import Capability
from cryptoagg.resilience.cache import Cached, TTLCache
from cryptoagg.resilience.pool import ProviderPool

T = TypeVar("T")
U = TypeVar("U")


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
    #: the first request after a TTL waits this long for the refresh it starts, so a quick
    #: refresh (or its failure) is what it serves
    revalidate_wait_s: float = 0.5


@dataclass(frozen=True, slots=True)
class Served(Generic[T]):
    """A service's answer and its freshness. `stale` is true as soon as a refresh that should
    have replaced the value failed (or overran its deadline), or when the value is older than
    its limit; `unavailable` names the providers that failed for it, with their reasons (for
    a stale value: the failed refresh's)."""

    value: T
    #: when the value was measured (the provider's time, else when it was received)
    as_of: datetime | None
    age_s: float
    stale: bool
    unavailable: dict[str, str]
    #: how long a client may keep the answer
    max_age_s: float
    #: changes whenever a rendering of the answer must change
    version: tuple[object, ...]

    def map(self, value: U) -> Served[U]:
        """The same freshness for a value derived from this one."""
        return Served(
            value,
            self.as_of,
            self.age_s,
            self.stale,
            self.unavailable,
            self.max_age_s,
            self.version,
        )


def failure_reasons(error: BaseException | None) -> dict[str, str]:
    """The providers a failed load names, with their reasons."""
    if isinstance(error, NoProviderAvailable):
        return dict(error.reasons)
    if isinstance(error, CryptoAggError):
        return {"error": error.message}
    if error is not None:
        return {"error": type(error).__name__}
    return {}


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
            revalidate_wait_s=self.ttls.revalidate_wait_s,
            overdue_s=self.ttls.refresh_grace_s,
        )

    def served(
        self,
        cached: Cached[T],
        ttl_s: float,
        as_of: datetime | None,
        failures: Mapping[str, str] | None = None,
        *,
        max_age_s: float | None = None,
    ) -> Served[T]:
        """`cached` as an answer: stale when the cache says so or when `as_of` is older than
        `max_age_s` (default: the quote age limit); `failures` are the providers that failed
        while the value was loaded."""
        too_old = as_of is not None and self.is_stale(as_of, max_age_s)
        stale = cached.stale or too_old
        unavailable = failure_reasons(cached.error) if cached.error else dict(failures or {})
        age = self.age_s(as_of) if as_of is not None else round(cached.age_s, 3)
        return Served(
            value=cached.value,
            as_of=as_of,
            age_s=age,
            stale=stale,
            unavailable=unavailable,
            max_age_s=0.0 if stale else max(0.0, ttl_s - cached.age_s),
            # past its TTL the answer's age_s is rebuilt every second (until then the `Age`
            # header counts on from the body's)
            version=(
                cached.stored_at,
                stale,
                tuple(sorted(unavailable.items())),
                int(cached.age_s) if cached.age_s >= ttl_s else None,
            ),
        )

    def age_s(self, as_of: datetime) -> float:
        return round(max(0.0, (self.clock() - as_of).total_seconds()), 3)

    def is_stale(self, as_of: datetime, max_age_s: float | None = None) -> bool:
        limit = self.ttls.quote_max_age_s if max_age_s is None else max_age_s
        return (self.clock() - as_of).total_seconds() > limit
