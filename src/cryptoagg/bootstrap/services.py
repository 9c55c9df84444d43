"""The use cases' shared context and the services that need more than a constructor call:
a writer thread, state read back from storage, the live-update hub and its feeds."""

from __future__ import annotations

import contextlib

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cryptoagg.bootstrap.tasks import start_periodic, utcnow
from cryptoagg.config import Settings
from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.limits import Priority
from cryptoagg.core.models import Capability
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.resilience.cpu import ClientCostBudget, CpuLimiter
from cryptoagg.resilience.pool import ProviderPool
from cryptoagg.resilience.scope import background
from cryptoagg.services.asset_changes import AssetChangeLog
from cryptoagg.services.assets import AssetService
from cryptoagg.services.context import ServiceContext, Ttls
from cryptoagg.services.events import EventHub
from cryptoagg.services.history import HistoryService, Retention
from cryptoagg.services.live import LiveTopics
from cryptoagg.services.monitoring import MonitoringService
from cryptoagg.services.prices import PriceService
from cryptoagg.services.provider_feed import ProviderFeed
from cryptoagg.services.recorder import Recorder
from cryptoagg.services.sentiment import SentimentService, make_backend
from cryptoagg.services.status import StatusService
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.configuration import ConfigurationRepository
from cryptoagg.storage.incidents import AlertRepository, IncidentRepository
from cryptoagg.storage.monitoring import StatusLogRepository
from cryptoagg.storage.news_feed import NewsFeedRepository
from cryptoagg.storage.repositories import PriceRepository, QueryRepository

#: the job name asset discovery is planned and charged under
DISCOVERY_JOB = "discovery"
#: seconds between comparisons of the providers' states for the `providers` live topic
PROVIDER_FEED_S = 2.0
#: seconds between looks at the stored asset listings another process may have written
ASSET_SYNC_S = 60.0

log = structlog.get_logger("cryptoagg.bootstrap")


def service_context(
    settings: Settings,
    registry: AssetRegistry,
    pools: dict[Capability, ProviderPool],
    cache: TTLCache,
) -> ServiceContext:
    return ServiceContext(
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
            revalidate_wait_s=settings.revalidate_wait_s,
        ),
        clock=utcnow,
    )


def start_recorder(engine: Engine, stack: contextlib.AsyncExitStack) -> Recorder:
    """The writer of served prices and user queries, flushed and stopped when `stack` closes."""
    recorder = Recorder(PriceRepository(engine), QueryRepository(engine))
    recorder.start()
    stack.push_async_callback(recorder.aclose)
    return recorder


def history_service(settings: Settings, ctx: ServiceContext, engine: Engine) -> HistoryService:
    return HistoryService(
        ctx,
        CandleRepository(engine),
        ConfigurationRepository(engine, utcnow),
        Retention(
            minute_days=settings.retention_1m_days,
            hour_days=settings.retention_1h_days,
            day_days=settings.retention_1d_days,
        ),
    )


async def asset_service(ctx: ServiceContext, engine: Engine) -> AssetService:
    """The registry's use cases, with the stored listings and change log read back."""
    store = ConfigurationRepository(engine, utcnow)
    assets = AssetService(ctx, AssetChangeLog(store, utcnow), store)
    await assets.sync()
    return assets


def start_asset_sync(assets: AssetService, stack: contextlib.AsyncExitStack) -> None:
    """Every process takes over, within ASSET_SYNC_S, the listings and changes another one
    stored (`cryptoagg assets refresh`, the discovery of the replica that ran it)."""

    async def sync() -> None:
        try:
            await assets.sync()
        except SQLAlchemyError as exc:  # the next round tries again
            log.warning("asset_sync_failed", error=type(exc).__name__)

    start_periodic("asset-sync", ASSET_SYNC_S, sync, stack)


def live_events(settings: Settings, stack: contextlib.AsyncExitStack) -> EventHub:
    """The hub behind WS /ws, with its heartbeat task (stopped when `stack` closes)."""
    events = EventHub(queue_size=settings.ws_queue_size, clock=utcnow)
    events.start(settings.ws_heartbeat_s)
    stack.push_async_callback(events.aclose)
    return events


def monitoring_service(engine: Engine, status: StatusService) -> MonitoringService:
    """The read side of what the health checks store: failed checks, incidents, alerts."""
    return MonitoringService(
        StatusLogRepository(engine), IncidentRepository(engine), AlertRepository(engine), status
    )


def live_topics(
    settings: Settings,
    engine: Engine,
    events: EventHub,
    *,
    assets: AssetService,
    status: StatusService,
    prices: PriceService,
) -> LiveTopics:
    """What a WS /ws subscription starts with; a price snapshot waits at most a request's
    deadline."""
    return LiveTopics(
        events,
        assets=assets,
        status=status,
        prices=prices,
        news=NewsFeedRepository(engine),
        deadline_s=settings.request_deadline_s,
    )


def start_provider_feed(feed: ProviderFeed, stack: contextlib.AsyncExitStack) -> None:
    """Every process, leader or not, publishes its own providers' state changes."""
    start_periodic("provider-feed", PROVIDER_FEED_S, feed, stack)


def start_discovery(
    settings: Settings, assets: AssetService, stack: contextlib.AsyncExitStack
) -> None:
    """ENABLE_AUTO_DISCOVERY: refresh the asset listings every DISCOVERY_INTERVAL_S."""
    if settings.enable_auto_discovery:

        async def refresh() -> object:
            with background(DISCOVERY_JOB, Priority.PROBE, utcnow()):
                return await assets.refresh()

        start_periodic("asset-discovery", settings.discovery_interval_s, refresh, stack)


def sentiment_service(settings: Settings, cpu: CpuLimiter) -> SentimentService:
    """The configured backend behind the request limits, on the CPU limiter, with each
    client's character budget when one is set."""
    per_min = settings.sentiment_client_chars_per_min
    burst = settings.sentiment_client_burst_chars
    budget = ClientCostBudget(per_min, burst, unit="characters") if per_min else None
    backend = make_backend(
        settings.sentiment_backend,
        settings.sentiment_model,
        max_tokens=settings.sentiment_max_tokens,
        batch=settings.sentiment_batch,
    )
    return SentimentService(
        backend,
        settings.sentiment_max_texts,
        settings.sentiment_max_chars,
        limiter=cpu,
        budget=budget,
    )
