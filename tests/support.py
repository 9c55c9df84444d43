"""Fakes shared by the test packages: one manual clock, one scripted spot-price provider, one
notifier that keeps what it was given, the pool those providers are tried through and the
price service on top of it.

They live here once so that a change to what the code under test asks of a clock or a
provider (a new method, an argument) is made in one place, not in every test module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import ProviderError
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, Quote
from cryptoagg.core.ports import Outbound
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.quota import MemoryQuotaStore, QuotaLedger
from cryptoagg.resilience.retry import RetryPolicy
from cryptoagg.services.context import ServiceContext, Ttls
from cryptoagg.services.prices import PriceService

if TYPE_CHECKING:
    from cryptoagg.storage.incidents import AlertRecord

#: the wall time a `FakeClock` starts at unless told otherwise
START = datetime(2026, 3, 1, tzinfo=UTC)


class FakeClock:
    """Monotonic seconds (call the clock, or `mono`) and the UTC wall clock that goes with
    them (`wall`, `now`), moved only by the test: `advance`, `sleep`, or setting `t` (the
    monotonic seconds) or `now` (the wall time). Code under test takes `clock` where it wants
    `time.monotonic` and `clock.wall` where it wants a UTC `datetime`.

    `t` starts at 1000 (nothing may assume a monotonic clock starts at zero) unless a test
    counts in seconds from the start (`FakeClock(start, t=0.0)`)."""

    def __init__(self, start: datetime = START, t: float = 1000.0) -> None:
        self.start = start
        self.t = t
        self._t0 = t
        #: every delay `sleep` was asked for, in order
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def mono(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return self.start + timedelta(seconds=self.t - self._t0)

    @property
    def now(self) -> datetime:
        return self.wall()

    @now.setter
    def now(self, value: datetime) -> None:
        self.t = self._t0 + (value - self.start).total_seconds()

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        """An `asyncio.sleep` for the code under test: records the delay, moves the clock by
        it and lets the other tasks run once, without waiting."""
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)


class FakeSpot:
    """A spot-price provider with scripted answers. Each call sends one request through
    `outbound` (as an adapter's HTTP request does, so budgets are spent), then raises the
    next of `errors`, else `error` when set, else quotes the assets asked for that it has a
    price for (`prices`: asset id -> price; a plain string prices bitcoin alone)."""

    requires_key = False
    capabilities = frozenset({Capability.SPOT_PRICE})

    def __init__(
        self,
        name: str,
        prices: Mapping[str, str] | str = "100",
        *,
        currency: str = "USD",
        as_of: datetime = START,
        errors: Sequence[ProviderError] = (),
        error: ProviderError | None = None,
    ) -> None:
        self.name = name
        self.prices = {"bitcoin": prices} if isinstance(prices, str) else dict(prices)
        self.currency = currency
        self.as_of = as_of
        self.errors = list(errors)
        self.error = error
        self.disabled_reason: str | None = None
        self.outbound: Outbound | None = None
        #: the asset ids of every call, in order
        self.asked: list[list[str]] = []

    @property
    def calls(self) -> int:
        return len(self.asked)

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        if self.outbound is not None:
            await self.outbound.before_send(self.name)
        self.asked.append([a.id for a in assets])
        if self.errors:
            raise self.errors.pop(0)
        if self.error is not None:
            raise self.error
        return [
            Quote(
                asset_id=a.id,
                provider=self.name,
                price=Decimal(self.prices[a.id]),
                as_of=self.as_of,
                quote_currency=self.currency,
            )
            for a in assets
            if a.id in self.prices
        ]


class FakeNotifier:
    """Keeps every alert it is asked to send, in order (the `Notifier` of the incidents)."""

    def __init__(self) -> None:
        self.alerts: list[AlertRecord] = []

    def notify(self, alert: AlertRecord) -> None:
        self.alerts.append(alert)


def fake_pool(
    *providers: Any,
    capability: Capability = Capability.SPOT_PRICE,
    clock: FakeClock | None = None,
    config: PoolConfig | None = None,
    limits: Mapping[str, Limits] | None = None,
) -> ProviderPool:
    """A pool over fake providers (duck-typed: a `name`, the capability's method) with real
    guards and health on `clock`: one attempt per provider unless `config` says otherwise, no
    limits unless `limits` names some. Each provider's `outbound` is pointed at the guards, so
    its requests spend its budget."""
    clock = clock or FakeClock()
    guards = Guards(clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
    for p in providers:
        guards.add(p.name, (limits or {}).get(p.name, Limits()))
        p.outbound = guards
    return ProviderPool(
        capability,
        providers,
        health=HealthBook(clock=clock.wall),
        guards=guards,
        config=config or PoolConfig(retry=RetryPolicy(attempts=1)),
        clock=clock,
    )


def price_service(*providers: FakeSpot, clock: FakeClock | None = None) -> PriceService:
    """The consensus use case over `providers` (tried through `fake_pool`), with the seeded
    asset registry and its cache and wall clock on `clock`."""
    clock = clock or FakeClock()
    ctx = ServiceContext(
        registry=seeded_registry(),
        pools={Capability.SPOT_PRICE: fake_pool(*providers, clock=clock)},
        cache=TTLCache(clock=clock),
        ttls=Ttls(),
        clock=clock.wall,
    )
    return PriceService(ctx)
