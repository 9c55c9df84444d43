"""The providers in priority order, one guard (breaker + budget) each, and a pool per capability.

Everything about a provider comes from its adapter class (`providers.registry.adapters()`):
its default priority (position by `order`), limits, key and derived asset ids.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import replace

import httpx
from pydantic import SecretStr

from cryptoagg.bootstrap.tasks import start_periodic, utcnow
from cryptoagg.config import Settings
from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.providers.base import HttpProvider, ProviderContext
from cryptoagg.providers.registry import adapters
from cryptoagg.providers_file import ProviderOverride
from cryptoagg.resilience.breaker import BreakerPolicy
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.plan import PlanPolicy
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.quota import FileQuotaStore, QuotaLedger
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.resilience.retry import RetryPolicy
from cryptoagg.resilience.shared_guards import SharedGuards
from cryptoagg.resilience.shared_ledger import SharedLedger
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
    """Every provider, in priority order; each request they send passes `guards`. Each key
    comes from its adapter's `<NAME>_API_KEY` (`Settings.api_key`). A provider's priority is
    its position, or the PROVIDERS_FILE's `priority`, which wins a tie with a position
    (`kraken: {priority: 0}` puts Kraken first)."""
    overrides = settings.provider_overrides()
    classes = adapters()
    record_derived_ids(registry, classes)
    built: list[tuple[tuple[int, bool, int], HttpProvider]] = []
    for index, cls in enumerate(classes):
        override = overrides.get(cls.name)
        key = settings.api_key(cls.name) if cls.uses_key else None
        ctx = ProviderContext(
            client=client,
            registry=registry,
            api_key=key or (MOCK_KEY if mock and cls.requires_key else None),
            upstream_base_url=upstream,
            base_url_overrides={"": override.base_url} if override and override.base_url else {},
            disabled_by_config=bool(override and not override.enabled),
            clock=utcnow,
            outbound=guards,
        )
        configured = override.priority if override else None
        priority = configured if configured is not None else index
        built.append(((priority, configured is None, index), cls(ctx)))
    return [provider for _, provider in sorted(built, key=lambda pair: pair[0])]


def record_derived_ids(registry: AssetRegistry, classes: Sequence[type[HttpProvider]]) -> None:
    """Write the ids adapters derive by rule (`HttpProvider.derived_id`) into the registry's
    tracked assets, so that `/api/assets` names every provider's id of a seeded asset."""
    for asset in registry.tracked():
        derived = {
            cls.name: native
            for cls in classes
            if cls.name not in asset.provider_ids and (native := cls.derived_id(asset))
        }
        if derived:
            registry.add(replace(asset, provider_ids={**asset.provider_ids, **derived}))


def limits_for(cls: type[HttpProvider], override: ProviderOverride | None) -> Limits:
    """The adapter's published limits, with PROVIDERS_FILE's `rate_per_s`, `rate_per_min` and
    `monthly_quota` over them."""
    base = cls.limits
    if override is None:
        return base
    return replace(
        base,
        per_second=override.rate_per_s or base.per_second,
        per_minute=override.rate_per_min or base.per_minute,
        monthly=override.monthly_quota if override.monthly_quota is not None else base.monthly,
    )


def build_guards(settings: Settings, link: RedisLink | None = None) -> Guards:
    """One breaker and budget per registered provider and the monthly plan; the ledger
    persists in quota.json of the mode's state directory (DATA_DIR, or DATA_DIR/mock).
    With `link` (REDIS_URL) budgets, ledger and breaker deadlines are shared with the other
    replicas under the mode's own keys; quota.json keeps this replica's last view."""
    store = FileQuotaStore(settings.state_dir / "quota.json")
    policy = BreakerPolicy(
        consecutive_failures=settings.breaker_failures,
        cooldown_s=settings.breaker_cooldown_s,
    )
    plan = PlanPolicy(
        target=settings.quota_target,
        client_reserve=settings.quota_client_reserve,
        rate_reserve=settings.rate_client_reserve,
    )
    ledger: QuotaLedger = QuotaLedger(store) if link is None else SharedLedger(store)
    shared = None
    if link is not None and isinstance(ledger, SharedLedger):
        shared = SharedGuards(
            link,
            ledger,
            mode="mock" if settings.use_mock_data else "live",
            clock=time.monotonic,
            wall=utcnow,
            ceiling_share=plan.target,
            disable_s=policy.max_cooldown_s,
        )
    guards = Guards(time.monotonic, utcnow, ledger, policy, plan, shared=shared)
    overrides = settings.provider_overrides()
    for cls in adapters():
        guards.add(cls.name, limits_for(cls, overrides.get(cls.name)))
    return guards


async def start_shared_guards(
    settings: Settings, guards: Guards, stack: contextlib.AsyncExitStack
) -> None:
    """With shared guards: offer this replica's month and read the others' (when Redis
    answers now), then exchange every REDIS_SYNC_S until `stack` closes."""
    shared = guards.shared
    if isinstance(shared, SharedGuards):
        await shared.start()
        start_periodic("shared-guards", settings.redis_sync_s, shared.sync, stack)


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
