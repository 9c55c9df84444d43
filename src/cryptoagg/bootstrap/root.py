"""`build(settings)`: every stateful object, built once in dependency order and closed in
reverse (an exit stack)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

from cryptoagg.bootstrap.checks import check_settings
from cryptoagg.bootstrap.collectors import collectors_report, plan_jobs, start_collectors
from cryptoagg.bootstrap.container import Container, Services
from cryptoagg.bootstrap.images import image_service
from cryptoagg.bootstrap.providers import (
    build_guards,
    build_pools,
    build_providers,
    start_shared_guards,
)
from cryptoagg.bootstrap.redis_state import event_relay, redis_link, shared_tier
from cryptoagg.bootstrap.resources import EventHooks, http_client, open_engine, upstream_url
from cryptoagg.bootstrap.services import (
    asset_service,
    history_service,
    live_events,
    live_topics,
    monitoring_service,
    sentiment_service,
    service_context,
    start_asset_sync,
    start_discovery,
    start_provider_feed,
    start_recorder,
)
from cryptoagg.bootstrap.tasks import utcnow
from cryptoagg.collectors.runner import Collectors
from cryptoagg.config import Settings
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.resilience.cpu import CpuLimiter
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.shared_window import SharedWindows
from cryptoagg.services.analysis import AnalysisService
from cryptoagg.services.health import ServiceHealth
from cryptoagg.services.market import MarketService
from cryptoagg.services.news_feed import NewsFeed
from cryptoagg.services.price_records import PriceRecords
from cryptoagg.services.prices import PriceService
from cryptoagg.services.provider_feed import ProviderFeed
from cryptoagg.services.status import StatusService
from cryptoagg.services.telemetry import Telemetry
from cryptoagg.storage.analysis import AnalysisRepository
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.news_feed import NewsFeedRepository
from cryptoagg.storage.repositories import PriceRepository


@contextlib.asynccontextmanager
async def build(
    settings: Settings, *, event_hooks: EventHooks | None = None
) -> AsyncIterator[Container]:
    """Build the application's objects; close everything on exit. `event_hooks` go to the
    outbound HTTP client (`providers schema` keeps the bodies its probes receive)."""
    await asyncio.to_thread(check_settings, settings)  # resolves webhook hosts: off the loop
    async with contextlib.AsyncExitStack() as stack:
        upstream = await upstream_url(settings, stack)
        client = http_client(settings, stack, event_hooks)
        engine = await open_engine(settings, stack)
        # REDIS_URL: state shared with the other replicas (None: all in this process)
        link = await redis_link(settings, stack)
        registry = seeded_registry()
        guards = build_guards(settings, link)
        await start_shared_guards(settings, guards, stack)
        providers = build_providers(
            settings, client, registry, upstream, settings.use_mock_data, guards=guards
        )
        # every process plans the month (the leader runs the jobs, every replica shows it)
        plan_jobs(settings, providers, guards)
        health = HealthBook(clock=utcnow)
        pools = build_pools(settings, providers, health, guards)
        cache = TTLCache(shared=shared_tier(settings, link))
        stack.push_async_callback(cache.aclose)
        ctx = service_context(settings, registry, pools, cache)
        recorder = start_recorder(engine, stack)
        prices = PriceService(ctx)
        history = history_service(settings, ctx, engine)
        events = live_events(settings, stack)
        relay = await event_relay(events, link, stack)
        # CPU-heavy work (sentiment, analysis) on threads of its own, bounded: resilience/cpu.py
        cpu = CpuLimiter(settings.cpu_workers, settings.cpu_queue)
        stack.push_async_callback(cpu.aclose)
        sentiment = sentiment_service(settings, cpu)
        news = NewsFeed(NewsFeedRepository(engine), sentiment.backend, utcnow, limiter=cpu)
        collectors: Collectors | None = None
        if settings.collectors:
            collectors = start_collectors(
                settings,
                stack,
                engine=engine,
                ctx=ctx,
                providers=providers,
                guards=guards,
                health=health,
                prices=prices,
                recorder=recorder,
                history=history,
                events=events,
                news=news,
                link=link,
            )
        assets = await asset_service(ctx, engine)
        status = StatusService(providers, health, guards, pools)
        images = await image_service(
            settings, providers, registry=registry, guards=guards, health=health, stack=stack
        )
        start_provider_feed(ProviderFeed(status, events), stack)
        start_asset_sync(assets, stack)
        start_discovery(settings, assets, stack)
        jobs = functools.partial(collectors_report, collectors)
        prices_repo = PriceRepository(engine)
        services = Services(
            settings=settings,
            prices=prices,
            market=MarketService(ctx, prices, images=images),
            price_records=PriceRecords(assets, prices_repo),
            history=history,
            assets=assets,
            analysis=AnalysisService(history, AnalysisRepository(engine), limiter=cpu),
            images=images,
            news=news,
            sentiment=sentiment,
            status=status,
            monitoring=monitoring_service(engine, status),
            health=ServiceHealth(
                status,
                engine,
                jobs,
                mock=settings.use_mock_data,
                redis=link.reading if link is not None else None,
            ),
            telemetry=Telemetry(providers, guards, cache, events, jobs, relay=relay),
            live=live_topics(settings, engine, events, assets=assets, status=status, prices=prices),
            events=events,
            recorder=recorder,
        )
        yield Container(
            services=services,
            registry=registry,
            providers=providers,
            pools=pools,
            health=health,
            guards=guards,
            engine=engine,
            prices_repo=prices_repo,
            candles_repo=CandleRepository(engine),
            collectors=collectors,
            cache=cache,
            cpu=cpu,
            mock=settings.use_mock_data,
            upstream_base_url=upstream,
            redis=link,
            inbound=SharedWindows(link, "inbound") if link is not None else None,
        )
