"""The providers in priority order, one guard (breaker + budget) each, and a pool per capability."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
from pydantic import SecretStr

from cryptoagg.bootstrap.tasks import utcnow
from cryptoagg.config import ProviderOverride, Settings
from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.providers.base import HttpProvider, ProviderContext
from cryptoagg.providers.limits import DEFAULT_LIMITS
from cryptoagg.providers.registry import PROVIDERS
from cryptoagg.resilience.breaker import BreakerPolicy
from cryptoagg.resilience.budget import FileQuotaStore, QuotaLedger
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.plan import PlanPolicy
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.retry import RetryPolicy
from cryptoagg.resilience.strategy import Strategy

MOCK_KEY = SecretStr("mock-key-for-the-simulator")


def build_providers(
    settings: Settings,
    client: httpx.AsyncClient,
    registry: AssetRegistry,
    upstream: str | None,
    mock: bool,
    *,
    guards: Guards,
) -> list[Provider]:
    """Every provider, in priority order; each request they send passes `guards`."""
    overrides = settings.provider_overrides()
    built: list[tuple[int, HttpProvider]] = []
    for index, cls in enumerate(PROVIDERS):
        override = overrides.get(cls.name)
        key = settings.api_key(cls.name) or (MOCK_KEY if mock and cls.requires_key else None)
        ctx = ProviderContext(
            client=client,
            registry=registry,
            api_key=key,
            upstream_base_url=upstream,
            base_url_overrides={"": override.base_url} if override and override.base_url else {},
            disabled_by_config=bool(override and not override.enabled),
            clock=utcnow,
            outbound=guards,
        )
        priority = override.priority if override and override.priority is not None else index
        built.append((priority, cls(ctx)))
    return [provider for _, provider in sorted(built, key=lambda pair: pair[0])]


def limits_for(name: str, override: ProviderOverride | None) -> Limits:
    base = DEFAULT_LIMITS.get(name, Limits())
    if override is None:
        return base
    return replace(
        base,
        per_second=override.rate_per_s or base.per_second,
        per_minute=override.rate_per_min or base.per_minute,
        monthly=override.monthly_quota if override.monthly_quota is not None else base.monthly,
    )


def build_guards(settings: Settings) -> Guards:
    """One breaker and budget per registered provider and the monthly plan; the ledger
    persists in quota.json of the mode's state directory (DATA_DIR, or DATA_DIR/mock)."""
    ledger = QuotaLedger(FileQuotaStore(settings.state_dir / "quota.json"))
    policy = BreakerPolicy(
        consecutive_failures=settings.breaker_failures,
        cooldown_s=settings.breaker_cooldown_s,
    )
    plan = PlanPolicy(
        target=settings.quota_target,
        client_reserve=settings.quota_client_reserve,
        rate_reserve=settings.rate_client_reserve,
    )
    guards = Guards(time.monotonic, utcnow, ledger, policy, plan)
    overrides = settings.provider_overrides()
    for cls in PROVIDERS:
        guards.add(cls.name, limits_for(cls.name, overrides.get(cls.name)))
    return guards


def build_pools(
    settings: Settings, providers: list[Provider], health: HealthBook, guards: Guards
) -> dict[Capability, ProviderPool]:
    pools = {}
    configured = settings.providers_config().pools
    for capability in Capability:
        spec = configured.get(capability.value)
        members = providers
        retry = RetryPolicy(attempts=settings.retry_attempts)
        config = PoolConfig(deadline_s=settings.request_deadline_s, retry=retry)
        if spec is not None:
            if spec.members is not None:
                by_name = {p.name: p for p in providers}
                members = [by_name[m] for m in spec.members]
            config = PoolConfig(
                strategy=Strategy(spec.strategy),
                weights=spec.weights,
                deadline_s=settings.request_deadline_s,
                retry=retry,
            )
        pools[capability] = ProviderPool(
            capability, members, health=health, guards=guards, config=config
        )
    return pools
