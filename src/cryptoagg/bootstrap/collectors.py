"""The background collectors (prices, provider health, candles, news) and the webhook
notifier the health checks alert through; they run only in the process holding the
leader lock."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from sqlalchemy import Engine

from cryptoagg.bootstrap.checks import alert_rules
from cryptoagg.bootstrap.services import DISCOVERY_JOB
from cryptoagg.bootstrap.tasks import utcnow
from cryptoagg.collectors.candles import CandleCollector
from cryptoagg.collectors.health import HealthChecks
from cryptoagg.collectors.leader import LeaderLock, leader_lock
from cryptoagg.collectors.leader_redis import RedisLease
from cryptoagg.collectors.news import NewsCollector
from cryptoagg.collectors.prices import PriceTicks
from cryptoagg.collectors.runner import Collectors
from cryptoagg.collectors.supervisor import Supervisor
from cryptoagg.config import Settings
from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.limits import Priority
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.services.context import ServiceContext
from cryptoagg.services.events import EventHub
from cryptoagg.services.health import NO_COLLECTORS, CollectorsReport, JobReport
from cryptoagg.services.history import HistoryService
from cryptoagg.services.incidents import IncidentService
from cryptoagg.services.news import NewsService
from cryptoagg.services.news_feed import NewsFeed
from cryptoagg.services.prices import PriceService
from cryptoagg.services.probes import JOB as HEALTH_JOB
from cryptoagg.services.recorder import Recorder
from cryptoagg.services.webhooks import WebhookNotifier
from cryptoagg.storage.incidents import AlertRepository, IncidentRepository
from cryptoagg.storage.monitoring import ResponseTimeRepository, StatusLogRepository
from cryptoagg.storage.news import NewsRepository

COLLECT, PROBE = Priority.COLLECTOR, Priority.PROBE
#: the first health check waits for the collectors' first round (passive verdicts)
HEALTH_FIRST_DELAY_S = 5.0


def per_asset(providers: list[Provider]) -> set[str]:
    return {p.name for p in providers if getattr(p, "per_asset_quotes", False)}


def plan_jobs(settings: Settings, providers: list[Provider], guards: Guards) -> None:
    """Tell the monthly plan which background job calls which providers, how often at most."""

    def able(capability: Capability) -> list[str]:
        return [p.name for p in providers if capability in p.capabilities]

    plan = guards.plan
    # the price collector leaves per-asset providers (Coinbase) to client requests
    batch = [n for n in able(Capability.SPOT_PRICE) if n not in per_asset(providers)]
    plan.register("prices", settings.collect_prices_s, batch, COLLECT)
    plan.register("candles", settings.collect_candles_s, able(Capability.OHLCV), COLLECT)
    plan.register("news", settings.collect_news_s, able(Capability.NEWS), COLLECT)
    plan.register(HEALTH_JOB, settings.collect_health_s, [p.name for p in providers], PROBE)
    if settings.enable_auto_discovery:
        listing = able(Capability.LISTING)
        plan.register(DISCOVERY_JOB, settings.discovery_interval_s, listing, PROBE)


def collectors_report(collectors: Collectors | None) -> CollectorsReport:
    """The jobs' state as the services see it (`/health`, `/metrics`), read now with the
    clock their times were taken with."""
    if collectors is None:
        return NO_COLLECTORS
    supervisor = collectors.supervisor
    now = supervisor.clock()
    jobs = {
        name: JobReport(
            interval_s=job.interval_s,
            runs=job.runs,
            failures=job.failures,
            last_run=job.last_run,
            lag_s=job.lag_s(now),
            last_error=job.last_error,
            behind=job.behind(now),
        )
        for name, job in sorted(supervisor.jobs.items())
    }
    since = collectors.leader_since
    return CollectorsReport(
        enabled=True,
        leader=collectors.is_leader,
        jobs=jobs,
        lock=collectors.lock.kind,
        terms=collectors.terms,
        leader_for_s=None if since is None else max(0.0, collectors.clock() - since),
        fencing_token=collectors.lock.token if collectors.is_leader else None,
    )


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


def election_lock(settings: Settings, engine: Engine, link: RedisLink | None) -> LeaderLock:
    """LEADER_LOCK: `redis` takes a lease in Redis, `auto` the database's own lock
    (collectors/leader.py says which is used when)."""
    if settings.leader_lock == "redis" and link is not None:
        name = "mock:leader" if settings.use_mock_data else "leader"
        return RedisLease(link, settings.leader_lease_s, name=name)
    return leader_lock(engine, settings.state_dir, settings.leader_lease_s)


def start_collectors(
    settings: Settings,
    stack: contextlib.AsyncExitStack,
    *,
    engine: Engine,
    ctx: ServiceContext,
    providers: list[Provider],
    guards: Guards,
    health: HealthBook,
    prices: PriceService,
    recorder: Recorder,
    history: HistoryService,
    events: EventHub,
    news: NewsFeed | None = None,
    link: RedisLink | None = None,
) -> Collectors:
    """The notifier and the collectors, both stopped when `stack` closes."""
    notifier = WebhookNotifier(
        alert_rules(settings), AlertRepository(engine), settings.webhook_allow_private
    )
    notifier.start()
    stack.push_async_callback(notifier.aclose)
    registry = ctx.registry
    # the leader checks its lock three times a lease, and a check must answer within one
    check_s = settings.leader_lease_s / 3
    collectors = Collectors(
        election_lock(settings, engine, link),
        Supervisor(
            clock=utcnow,
            observe=guards.plan.observe,
            probes=frozenset({HEALTH_JOB}),
            first_delays={HEALTH_JOB: min(HEALTH_FIRST_DELAY_S, settings.collect_health_s)},
        ),
        [
            (
                "prices",
                settings.collect_prices_s,
                PriceTicks(prices, recorder, registry, settings.collect_assets, events),
            ),
            (
                HEALTH_JOB,
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
                NewsCollector(NewsService(ctx), NewsRepository(engine), events, registry, news),
            ),
        ],
        retry_s=settings.leader_retry_s,
        check_s=check_s,
        timeout_s=check_s,
    )
    collectors.start()
    stack.push_async_callback(collectors.stop)
    return collectors
