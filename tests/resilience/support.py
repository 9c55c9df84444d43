"""Fakes for resilience tests: a clock that only moves when told, and a scripted provider."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import ProviderError
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, Quote
from cryptoagg.core.ports import Outbound
from cryptoagg.resilience.budget import MemoryQuotaStore, QuotaLedger
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.retry import RetryPolicy

START = datetime(2026, 3, 1, tzinfo=UTC)


class FakeClock:
    """Monotonic seconds and a matching wall clock, advanced by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return START + timedelta(seconds=self.t - 1000.0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class Fake:
    """A provider that sends one request (through `outbound`, as an adapter's HTTP request
    does) per call, then answers or raises its next scripted error."""

    requires_key = False
    capabilities = frozenset({Capability.SPOT_PRICE})
    disabled_reason: str | None = None

    def __init__(self, name: str, price: str = "100", errors: Sequence[ProviderError] = ()):
        self.name = name
        self.price = price
        self.errors = list(errors)
        self.calls = 0
        self.outbound: Outbound | None = None

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        if self.outbound is not None:
            await self.outbound.before_send(self.name)
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return [
            Quote(asset_id="bitcoin", provider=self.name, price=Decimal(self.price), as_of=START)
        ]


def make_pool(
    *providers: Fake,
    clock: FakeClock | None = None,
    config: PoolConfig | None = None,
    limits: dict[str, Limits] | None = None,
) -> ProviderPool:
    clock = clock or FakeClock()
    guards = Guards(clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
    for p in providers:
        guards.add(p.name, (limits or {}).get(p.name, Limits()))
        p.outbound = guards
    return ProviderPool(
        Capability.SPOT_PRICE,
        providers,  # type: ignore[arg-type]
        health=HealthBook(clock=clock.wall),
        guards=guards,
        config=config or PoolConfig(retry=RetryPolicy(attempts=1)),
        clock=clock,
    )


async def spot(pool: ProviderPool) -> str:
    answer = await pool.first(lambda p: p.spot_prices([]))
    return answer.provider
