"""The health collector's test rig: a fake spot provider whose next outcome the test sets,
and guards, a health book and the collector on clocks the test moves (tests/collectors/
test_health.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cryptoagg.collectors.health import HealthChecks
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import ProviderError
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, Quote
from cryptoagg.core.ports import Outbound
from cryptoagg.resilience.breaker import BreakerPolicy
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.quota import MemoryQuotaStore, QuotaLedger
from cryptoagg.services.incidents import IncidentService
from cryptoagg.storage.monitoring import (
    AlertRepository,
    IncidentRepository,
    ResponseTimeRepository,
    StatusLogRepository,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clocks:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = T0

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


class FakeSpot:
    """A spot-price provider whose next outcome the test sets; each call sends one request
    through `outbound`, as an adapter does."""

    capabilities = frozenset({Capability.SPOT_PRICE})
    requires_key = False

    def __init__(self, name: str, disabled_reason: str | None = None) -> None:
        self.name = name
        self.disabled_reason = disabled_reason
        self.error: ProviderError | None = None
        self.hang = False
        self.calls: list[list[str]] = []
        self.outbound: Outbound | None = None

    def supports(self, asset: Asset) -> bool:
        return True

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        if self.outbound is not None:
            await self.outbound.before_send(self.name)
        self.calls.append([a.id for a in assets])
        if self.hang:
            await asyncio.sleep(3600)
        if self.error is not None:
            raise self.error
        return []


class Rig:
    def __init__(self, engine: Engine, providers: list[FakeSpot], **policy: int) -> None:
        self.clocks = Clocks()
        self.providers = {p.name: p for p in providers}
        self.guards = Guards(
            lambda: self.clocks.mono,
            lambda: self.clocks.wall,
            QuotaLedger(MemoryQuotaStore()),
            BreakerPolicy(cooldown_s=30.0, **policy),
        )
        for p in providers:
            limits = Limits(per_minute=1) if p.name == "throttled" else Limits()
            if p.name == "metered":
                limits = Limits(monthly=10_000)
            self.guards.add(p.name, limits)
            p.outbound = self.guards
        self.health = HealthBook(clock=lambda: self.clocks.wall)
        self.engine = engine
        self.job = HealthChecks(
            providers,  # type: ignore[arg-type]
            registry=seeded_registry(),
            guards=self.guards,
            health=self.health,
            status_log=StatusLogRepository(engine),
            response_times=ResponseTimeRepository(engine),
            incidents=IncidentService(IncidentRepository(engine), AlertRepository(engine)),
            clock=lambda: self.clocks.wall,
            timeout_s=0.2,
            interval_s=60.0,
        )

    async def run(self) -> int:
        checked = await self.job()
        self.clocks.advance(60)
        return checked
