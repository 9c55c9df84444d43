"""`build(settings)`: every stateful object, built once in dependency order and closed in
reverse (an exit stack)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from cryptoagg.bootstrap.checks import check_settings
from cryptoagg.bootstrap.collectors import plan_jobs, start_collectors
from cryptoagg.bootstrap.container import Container
from cryptoagg.bootstrap.images import image_service
from cryptoagg.bootstrap.providers import build_guards, build_pools, build_providers
from cryptoagg.bootstrap.resources import http_client, open_engine, upstream_url
from cryptoagg.bootstrap.services import (
    asset_service,
    history_service,
    live_events,
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
from cryptoagg.resilience.cpu import ClientCostBudget, CpuLimiter
from cryptoagg.resilience.health import HealthBook
from cryptoagg.services.analysis import AnalysisService
from cryptoagg.services.market import MarketService
from cryptoagg.services.news_feed import NewsFeed
from cryptoagg.services.prices import PriceService
from cryptoagg.services.provider_feed import ProviderFeed
from cryptoagg.services.sentiment import SentimentService, make_backend
from cryptoagg.services.status import StatusService
from cryptoagg.storage.analysis import AnalysisRepository
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.news_feed import NewsFeedRepository
from cryptoagg.storage.repositories import PriceRepository


@contextlib.asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[Container]:
    """Build the application's objects; close everything on exit."""
    await asyncio.to_thread(check_settings, settings)  # resolves webhook hosts: off the loop
    async with contextlib.AsyncExitStack() as stack:
        upstream = await upstream_url(settings, stack)
        client = http_client(settings, stack)
        engine = await open_engine(settings, stack)
        registry = seeded_registry()
        guards = build_guards(settings)
        providers = build_providers(
            settings, client, registry, upstream, settings.use_mock_data, guards=guards
        )
        # every process plans the month (the leader runs the jobs, every replica shows it)
        plan_jobs(settings, providers, guards)
        health = HealthBook(clock=utcnow)
        pools = build_pools(settings, providers, health, guards)
        cache = TTLCache()
        stack.push_async_callback(cache.aclose)
        ctx = service_context(settings, registry, pools, cache)
        recorder = start_recorder(engine, stack)
        prices = PriceService(ctx)
        history = history_service(settings, ctx, engine)
        events = live_events(settings, stack)
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
                history=history,
                events=events,
            )
        assets = await asset_service(ctx, engine)
        status = StatusService(providers, health, guards, pools)
        images = await image_service(
            settings, providers, registry=registry, guards=guards, health=health, stack=stack
        )
        # CPU-heavy work (sentiment, analysis) on threads of its own, bounded: resilience/cpu.py
        cpu = CpuLimiter(settings.cpu_workers, settings.cpu_queue)
        stack.push_async_callback(cpu.aclose)
        per_min = settings.sentiment_client_chars_per_min
        burst = settings.sentiment_client_burst_chars
        budget = ClientCostBudget(per_min, burst, unit="characters") if per_min else None
        sentiment = SentimentService(
            make_backend(settings.sentiment_backend),
            settings.sentiment_max_texts,
            settings.sentiment_max_chars,
            limiter=cpu,
            budget=budget,
        )
        start_provider_feed(ProviderFeed(status, events), stack)
        start_asset_sync(assets, stack)
        start_discovery(settings, assets, stack)
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
            sentiment=sentiment,
            news=NewsFeed(NewsFeedRepository(engine), sentiment.backend, utcnow),
            recorder=recorder,
            collectors=collectors,
            cache=cache,
            prices=prices,
            market=MarketService(ctx, prices, images=images),
            images=images,
            status=status,
            assets=assets,
            analysis=AnalysisService(history, AnalysisRepository(engine), limiter=cpu),
            cpu=cpu,
            events=events,
            mock=settings.use_mock_data,
            upstream_base_url=upstream,
        )
