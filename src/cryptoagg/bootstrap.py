"""The composition root: builds every stateful object once and closes them in reverse.

The API's lifespan, the CLI and the tests all enter `build(settings)`; nothing else creates
HTTP clients, pools, caches or background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from pydantic import SecretStr
from sqlalchemy import Engine

from cryptoagg import __version__
from cryptoagg.collectors.candles import CandleCollector
from cryptoagg.collectors.health import HealthChecks
from cryptoagg.collectors.leader import leader_lock
from cryptoagg.collectors.news import NewsCollector
from cryptoagg.collectors.prices import PriceTicks
from cryptoagg.collectors.runner import Collectors
from cryptoagg.collectors.supervisor import Supervisor
from cryptoagg.config import ProviderOverride, Settings, prepare_data_dir
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.errors import ConfigError, CryptoAggError
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.providers.base import HttpProvider, ProviderContext
from cryptoagg.providers.limits import DEFAULT_LIMITS
from cryptoagg.providers.registry import PROVIDERS
from cryptoagg.resilience.breaker import BreakerPolicy
from cryptoagg.resilience.budget import FileQuotaStore, QuotaLedger
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.retry import RetryPolicy
from cryptoagg.resilience.strategy import Strategy
from cryptoagg.services.analysis import AnalysisService
from cryptoagg.services.asset_changes import AssetChangeLog
from cryptoagg.services.assets import AssetService
from cryptoagg.services.context import ServiceContext, Ttls
from cryptoagg.services.events import EventHub
from cryptoagg.services.history import HistoryService, Retention
from cryptoagg.services.incidents import IncidentService
from cryptoagg.services.market import MarketService
from cryptoagg.services.news import NewsService
from cryptoagg.services.prices import PriceService
from cryptoagg.services.provider_feed import ProviderFeed
from cryptoagg.services.recorder import Recorder
from cryptoagg.services.sentiment import SentimentService, check_backend, make_backend
from cryptoagg.services.status import StatusService
from cryptoagg.services.webhooks import AlertRule, WebhookNotifier, check_rules
from cryptoagg.sim.server import BackgroundSim
from cryptoagg.storage.analysis import AnalysisRepository
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.configuration import ConfigurationRepository
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.monitoring import (
    AlertRepository,
    IncidentRepository,
    ResponseTimeRepository,
    StatusLogRepository,
)
from cryptoagg.storage.news import NewsRepository
from cryptoagg.storage.repositories import PriceRepository, QueryRepository

log = structlog.get_logger("cryptoagg.bootstrap")

MOCK_KEY = SecretStr("mock-key-for-the-simulator")
#: seconds between comparisons of the providers' states for the `providers` live topic
PROVIDER_FEED_S = 2.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Container:
    settings: Settings
    registry: AssetRegistry
    providers: list[Provider]
    pools: dict[Capability, ProviderPool]
    health: HealthBook
    guards: Guards
    engine: Engine
    prices_repo: PriceRepository
    candles_repo: CandleRepository
    history: HistoryService
    sentiment: SentimentService
    recorder: Recorder
    collectors: Collectors | None
    cache: TTLCache
    prices: PriceService
    market: MarketService
    status: StatusService
    assets: AssetService
    analysis: AnalysisService
    events: EventHub
    mock: bool
    upstream_base_url: str | None


async def _every(interval_s: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run `job` now and then every `interval_s`; a failure is logged, never fatal."""
    while True:
        try:
            await job()
        except CryptoAggError as exc:
            log.warning("background_job_failed", error=exc.message)
        await asyncio.sleep(interval_s)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def check_known_providers(settings: Settings) -> None:
    config = settings.providers_config()
    known = {cls.name for cls in PROVIDERS}
    named = set(config.providers) | {m for p in config.pools.values() for m in p.members or ()}
    unknown = sorted(named - known)
    if unknown:
        raise ConfigError(f"PROVIDERS_FILE: unknown provider(s) {', '.join(unknown)}")
    bad_pools = sorted(set(config.pools) - {c.value for c in Capability})
    if bad_pools:
        raise ConfigError(f"PROVIDERS_FILE: unknown pool(s) {', '.join(bad_pools)}")


def alert_rules(settings: Settings) -> list[AlertRule]:
    """ALERT_WEBHOOK_URL (every alert) and the `alerts:` of PROVIDERS_FILE."""
    rules = []
    if settings.alert_webhook_url is not None:
        url = settings.alert_webhook_url.get_secret_value()
        rules.append(AlertRule(url, "ALERT_WEBHOOK_URL"))
    known = {cls.name for cls in PROVIDERS}
    for i, rule in enumerate(settings.providers_config().alerts):
        source = f"PROVIDERS_FILE: alerts.{i}"
        unknown = sorted(set(rule.providers or ()) - known)
        if unknown:
            raise ConfigError(f"{source}.providers: unknown provider(s) {', '.join(unknown)}")
        rules.append(
            AlertRule(
                rule.webhook_url,
                source,
                frozenset(rule.providers) if rule.providers is not None else None,
                frozenset(rule.events) if rule.events is not None else None,
            )
        )
    return rules


def health_checks(
    settings: Settings,
    engine: Engine,
    providers: list[Provider],
    *,
    registry: AssetRegistry,
    guards: Guards,
    health: HealthBook,
    notifier: WebhookNotifier,
) -> HealthChecks:
    incidents = IncidentService(IncidentRepository(engine), AlertRepository(engine), notifier)
    return HealthChecks(
        providers,
        registry=registry,
        guards=guards,
        health=health,
        status_log=StatusLogRepository(engine),
        response_times=ResponseTimeRepository(engine),
        incidents=incidents,
        clock=utcnow,
        timeout_s=settings.request_deadline_s,
        interval_s=settings.collect_health_s,
    )


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


def live_events(settings: Settings, stack: contextlib.AsyncExitStack) -> EventHub:
    """The hub behind WS /ws, with its heartbeat task (stopped when `stack` closes)."""
    events = EventHub(queue_size=settings.ws_queue_size, clock=utcnow)
    events.start(settings.ws_heartbeat_s)
    stack.push_async_callback(events.aclose)
    return events


def start_provider_feed(feed: ProviderFeed, stack: contextlib.AsyncExitStack) -> None:
    """Every process, leader or not, publishes its own providers' state changes."""
    task = asyncio.create_task(_every(PROVIDER_FEED_S, feed), name="provider-feed")
    stack.push_async_callback(_cancel, task)


def check_settings(settings: Settings) -> None:
    """Everything start-up would refuse, checked before a server binds its port."""
    prepare_data_dir(settings)
    check_known_providers(settings)
    check_backend(settings.sentiment_backend)
    check_rules(alert_rules(settings), allow_private=settings.webhook_allow_private)


def build_providers(
    settings: Settings,
    client: httpx.AsyncClient,
    registry: AssetRegistry,
    upstream: str | None,
    mock: bool,
) -> list[Provider]:
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
        )
        priority = override.priority if override and override.priority is not None else index
        built.append((priority, cls(ctx)))
    return [provider for _, provider in sorted(built, key=lambda pair: pair[0])]


async def asset_service(ctx: ServiceContext, engine: Engine) -> AssetService:
    """The registry's use cases, with the log of listing changes read back from storage."""
    assets = AssetService(ctx, AssetChangeLog(ConfigurationRepository(engine, utcnow), utcnow))
    await asyncio.to_thread(assets.changes.load)
    return assets


@contextlib.asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Container]:
    """Build the application's objects; close everything on exit."""
    await asyncio.to_thread(check_settings, settings)  # resolves webhook hosts: off the loop
    async with contextlib.AsyncExitStack() as stack:
        upstream = settings.upstream_base_url
        if settings.use_mock_data:
            sim = BackgroundSim(seed=1)
            await sim.start()
            stack.push_async_callback(sim.stop)
            upstream = sim.url
            log.info("mock_mode", simulator=sim.url)
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.upstream_timeout_s),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"user-agent": f"cryptoagg/{__version__}"},
            follow_redirects=True,
        )
        stack.push_async_callback(client.aclose)
        engine = make_engine(settings.db_url)
        stack.callback(engine.dispose)
        await asyncio.to_thread(upgrade, engine)
        registry = seeded_registry()
        providers = build_providers(settings, client, registry, upstream, settings.use_mock_data)
        health = HealthBook(clock=utcnow)
        ledger = QuotaLedger(FileQuotaStore(settings.data_dir / "quota.json"))
        policy = BreakerPolicy(
            consecutive_failures=settings.breaker_failures,
            cooldown_s=settings.breaker_cooldown_s,
        )
        guards = Guards(time.monotonic, utcnow, ledger, policy)
        overrides = settings.provider_overrides()
        for provider in providers:
            guards.add(provider.name, limits_for(provider.name, overrides.get(provider.name)))
        pools = build_pools(settings, providers, health, guards)
        cache = TTLCache()
        stack.push_async_callback(cache.aclose)
        ctx = ServiceContext(
            registry=registry,
            pools=pools,
            cache=cache,
            ttls=Ttls(
                price_s=settings.price_ttl_s,
                markets_s=settings.markets_ttl_s,
                slow_s=settings.slow_ttl_s,
                quote_max_age_s=settings.quote_max_age_s,
                stale_if_error_s=settings.stale_if_error_s,
                refresh_grace_s=settings.request_deadline_s,
            ),
            clock=utcnow,
        )
        recorder = Recorder(PriceRepository(engine), QueryRepository(engine))
        recorder.start()
        stack.push_async_callback(recorder.aclose)
        prices = PriceService(ctx)
        history = HistoryService(
            ctx,
            CandleRepository(engine),
            ConfigurationRepository(engine, utcnow),
            Retention(
                minute_days=settings.retention_1m_days,
                hour_days=settings.retention_1h_days,
                day_days=settings.retention_1d_days,
            ),
        )
        events = live_events(settings, stack)
        collectors: Collectors | None = None
        if settings.collectors:
            notifier = WebhookNotifier(
                alert_rules(settings), AlertRepository(engine), settings.webhook_allow_private
            )
            notifier.start()
            stack.push_async_callback(notifier.aclose)
            collectors = Collectors(
                leader_lock(engine, settings.data_dir),
                Supervisor(clock=utcnow),
                [
                    (
                        "prices",
                        settings.collect_prices_s,
                        PriceTicks(
                            prices,
                            PriceRepository(engine),
                            registry,
                            settings.collect_assets,
                            events,
                        ),
                    ),
                    (
                        "health",
                        settings.collect_health_s,
                        health_checks(
                            settings,
                            engine,
                            providers,
                            registry=registry,
                            guards=guards,
                            health=health,
                            notifier=notifier,
                        ),
                    ),
                    (
                        "candles",
                        settings.collect_candles_s,
                        CandleCollector(
                            history,
                            registry,
                            settings.collect_assets,
                            lookback=timedelta(hours=settings.collect_candles_lookback_h),
                        ),
                    ),
                    (
                        "news",
                        settings.collect_news_s,
                        NewsCollector(NewsService(ctx), NewsRepository(engine), events),
                    ),
                ],
            )
            collectors.start()
            stack.push_async_callback(collectors.stop)
        assets = await asset_service(ctx, engine)
        status = StatusService(providers, health, guards, pools)
        start_provider_feed(ProviderFeed(status, events), stack)
        if settings.enable_auto_discovery:
            task = asyncio.create_task(
                _every(settings.discovery_interval_s, assets.refresh), name="asset-discovery"
            )
            stack.push_async_callback(_cancel, task)
        yield Container(
            settings=settings,
            registry=registry,
            providers=providers,
            pools=pools,
            health=health,
            guards=guards,
            engine=engine,
            prices_repo=PriceRepository(engine),
            candles_repo=CandleRepository(engine),
            history=history,
            sentiment=SentimentService(
                make_backend(settings.sentiment_backend),
                settings.sentiment_max_texts,
                settings.sentiment_max_chars,
            ),
            recorder=recorder,
            collectors=collectors,
            cache=cache,
            prices=prices,
            market=MarketService(ctx),
            status=status,
            assets=assets,
            analysis=AnalysisService(history, AnalysisRepository(engine)),
            events=events,
            mock=settings.use_mock_data,
            upstream_base_url=upstream,
        )
