"""`GET /metrics`: Prometheus text (or OpenMetrics when the scraper asks for it).

Each app has its own `CollectorRegistry`, so several apps in one process (tests) never clash.
Inbound requests are counted by the outermost middleware (`api/http/security.py::Edge`), labelled
by route template (never the raw path, so label values stay few whatever clients send),
method and status class.
Everything else is read at scrape time, through `services/telemetry.py`, from the state the
service already keeps: upstream calls by provider and outcome, the cache's counters, breaker
state and quota per provider, the monthly plan (projected month-end use, client reserve, each
job's interval per provider), WebSocket clients of the event hub, collector lag per job, the
Redis link (REDIS_URL: up, fallbacks, rejoins). The one exception is the garbage collector's
pauses (`api/http/gc_pauses.py`), which Python does not time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.routing import Match
from starlette.types import Scope

from cryptoagg import __version__
from cryptoagg.api.http.gc_pauses import GcPauses
from cryptoagg.bootstrap.container import Services
from cryptoagg.resilience.breaker import State
from cryptoagg.services.telemetry import ProviderReading, Telemetry

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
TEMPLATES_KEPT = 1024
BREAKER_STATES = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2, State.DISABLED: 3}
#: answers of the protective middlewares, counted apart from the status classes
REJECTIONS = {413: "payload_too_large", 429: "rate_limited", 504: "deadline_exceeded"}

router = APIRouter(tags=["monitoring"])


def match_template(scope: Scope) -> str:
    """For requests answered before routing (the hot path, a rate limit, a body limit)."""
    app = scope.get("app")
    if isinstance(app, FastAPI):
        for route in iter_route_contexts(app.routes):
            match, _ = route.matches(scope)
            if match is not Match.NONE and route.path is not None:
                return route.path
    return UNMATCHED


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "cryptoagg_http_requests",
            "HTTP requests answered, by route template, method and status class",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "cryptoagg_http_request_duration_seconds",
            "Time from receiving a request to the end of its response",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "cryptoagg_http_requests_in_flight", "Requests being handled", registry=registry
        )
        self.rejected = Counter(
            "cryptoagg_http_rejected",
            "Requests refused: payload_too_large (413), rate_limited (429), "
            "deadline_exceeded (504); WebSocket: websocket_rate_limited, websocket_per_client",
            ["reason"],
            registry=registry,
        )
        # labelled children by (route, method, status class): few, and `labels()` is slow
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        #: (method, raw path) -> template, for requests answered before routing
        self._templates: dict[tuple[str, str], str] = {}

    def record(self, scope: Scope, status: int, seconds: float) -> None:
        """One answered request (called by `Edge`, the outermost middleware)."""
        route = self.route_of(scope)
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        key = (route, method, status // 100)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, f"{status // 100}xx"),
                self.latency.labels(route, method),
            )
        children[0].inc()
        children[1].observe(seconds)
        reason = REJECTIONS.get(status)
        if reason is not None:
            self.rejected.labels(reason).inc()

    def route_of(self, scope: Scope) -> str:
        """The template of the route that served (or would have served) the request."""
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path
        key = (scope["method"], scope["path"])
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= TEMPLATES_KEPT:
                self._templates.clear()  # raw paths are unbounded: keep the memo small
            template = self._templates[key] = match_template(scope)
        return template


class ServiceCollector:
    """The service's own state, read when Prometheus scrapes."""

    def __init__(self, services: Callable[[], Services | None]) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("cryptoagg_build_info", "Version running", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        services = self.services()
        if services is None:
            return
        telemetry = services.telemetry
        providers = telemetry.providers()
        yield from self._providers(providers)
        yield from self._plan(providers)
        yield from self._cache(telemetry)
        yield self._websocket(telemetry)
        yield from self._collectors(telemetry)
        yield from self._redis(services)
        yield from self._relay(telemetry)

    def _providers(self, providers: list[ProviderReading]) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            "cryptoagg_upstream_calls",
            "Upstream HTTP calls by provider and outcome (ok, or the error's reason)",
            labels=["provider", "outcome"],
        )
        breaker = GaugeMetricFamily(
            "cryptoagg_breaker_state",
            "Circuit breaker per provider: 0 closed, 1 half-open, 2 open, 3 disabled",
            labels=["provider"],
        )
        used = GaugeMetricFamily(
            "cryptoagg_quota_used_this_month",
            "Upstream calls spent this calendar month (UTC), per provider",
            labels=["provider"],
        )
        left = GaugeMetricFamily(
            "cryptoagg_quota_left_this_month",
            "Calls left of the monthly quota (providers with a monthly quota)",
            labels=["provider"],
        )
        for provider in providers:
            for outcome, count in provider.calls:
                calls.add_metric([provider.name, outcome], count)
            guard = provider.guard
            if guard is None:
                continue
            breaker.add_metric([provider.name], BREAKER_STATES[guard.breaker])
            used.add_metric([provider.name], guard.used_this_month)
            if guard.quota_left is not None:
                left.add_metric([provider.name], guard.quota_left)
        yield from (calls, breaker, used, left)

    def _plan(self, providers: list[ProviderReading]) -> Iterator[Metric]:
        """The monthly plan as `/api/providers` shows it (`quota` and `schedule`)."""
        monthly = GaugeMetricFamily(
            "cryptoagg_quota_monthly",
            "Monthly quota of calls (providers with a monthly quota)",
            labels=["provider"],
        )
        projected = GaugeMetricFamily(
            "cryptoagg_quota_projected_month_end",
            "Calls the plan projects for this month: used, clients' projected use and the "
            "background schedule until month end",
            labels=["provider"],
        )
        reserve = GaugeMetricFamily(
            "cryptoagg_quota_client_reserve",
            "Calls the plan keeps for client requests for the rest of the month "
            "(providers with a monthly quota)",
            labels=["provider"],
        )
        interval = GaugeMetricFamily(
            "cryptoagg_collector_interval_seconds",
            "Seconds between two runs of a background job that call a provider, as the plan "
            "spaces them now (+Inf: paused for the rest of the month)",
            labels=["job", "provider"],
        )
        for provider in providers:
            if provider.guard is None:
                continue
            p = provider.guard.plan
            projected.add_metric([p.provider], p.projected_month_end)
            if p.monthly_quota is not None:
                monthly.add_metric([p.provider], p.monthly_quota)
            if p.client_reserve is not None:
                reserve.add_metric([p.provider], p.client_reserve)
            for job in p.jobs:
                seconds = math.inf if job.interval_s is None else job.interval_s
                interval.add_metric([job.job, p.provider], seconds)
        yield from (monthly, projected, reserve, interval)

    def _cache(self, telemetry: Telemetry) -> Iterator[Metric]:
        cache = telemetry.cache()
        yield counter_by(
            "cryptoagg_cache_lookups",
            "Service cache lookups: hit, miss (loaded upstream), stale (served after a failure)",
            "result",
            {"hit": cache.hits, "miss": cache.misses, "stale": cache.stale},
        )
        yield GaugeMetricFamily("cryptoagg_cache_entries", "Entries in the cache", cache.entries)
        shared = cache.shared
        if shared is None:
            return
        yield counter_by(
            "cryptoagg_shared_cache_loads",
            "Service cache loads through the replicas' shared tier (REDIS_URL): hit (another "
            "replica's value), load (made here for every replica), alone (for this replica "
            "only: Redis down, or a lock wait given up)",
            "result",
            {"hit": shared.hits, "load": shared.loads, "alone": shared.alone},
        )
        yield CounterMetricFamily(
            "cryptoagg_shared_cache_lock_waits",
            "Polls while another replica held a key's load lock",
            shared.waits,
        )

    def _websocket(self, telemetry: Telemetry) -> Metric:
        return GaugeMetricFamily(
            "cryptoagg_websocket_clients",
            "Connected WebSocket (/ws) clients",
            telemetry.websocket_clients(),
        )

    def _collectors(self, telemetry: Telemetry) -> Iterator[Metric]:
        collectors = telemetry.collectors()
        if not collectors.enabled:
            return
        yield GaugeMetricFamily(
            "cryptoagg_collector_leader",
            "1 when this process holds the leader lock and runs the collectors",
            1 if collectors.leader else 0,
        )
        lag = GaugeMetricFamily(
            "cryptoagg_collector_lag_seconds",
            "Seconds a job is behind: since its last successful run, minus its interval",
            labels=["job"],
        )
        last = GaugeMetricFamily(
            "cryptoagg_collector_last_success_timestamp_seconds",
            "Unix time of the job's last successful run",
            labels=["job"],
        )
        runs = CounterMetricFamily(
            "cryptoagg_collector_runs", "Job runs by result", labels=["job", "result"]
        )
        for name, job in collectors.jobs.items():  # sorted by name
            lag.add_metric([name], job.lag_s)
            if job.last_run is not None:
                last.add_metric([name], job.last_run.timestamp())
            runs.add_metric([name, "ok"], job.runs)
            runs.add_metric([name, "failed"], job.failures)
        yield from (lag, last, runs)

    def _redis(self, services: Services) -> Iterator[Metric]:
        """The link to the replicas' shared state (nothing without REDIS_URL)."""
        reading = services.health.redis
        if reading is None:
            return
        link = reading()
        yield GaugeMetricFamily(
            "cryptoagg_redis_up",
            "1 while Redis answers and shared state is used; 0: this replica runs on local "
            "state (degraded)",
            1 if link.up else 0,
        )
        yield CounterMetricFamily(
            "cryptoagg_redis_fallbacks",
            "Operations answered from local state because Redis was down or failed",
            link.fallbacks,
        )
        yield CounterMetricFamily(
            "cryptoagg_redis_rejoins", "Connections to Redis made, the first included", link.rejoins
        )

    def _relay(self, telemetry: Telemetry) -> Iterator[Metric]:
        """The WebSocket fan-out across replicas (nothing without REDIS_URL)."""
        relay = telemetry.relay()
        if relay is None:
            return
        yield counter_by(
            "cryptoagg_relay_updates",
            "WebSocket updates through Redis: sent (to the other replicas), received (from "
            "them, for this replica's clients), dropped (the outbox was full)",
            "direction",
            {"sent": relay.sent, "received": relay.received, "dropped": relay.dropped},
        )


def counter_by(name: str, documentation: str, label: str, values: dict[str, int]) -> Metric:
    """A counter family with one series per value of one label."""
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in values.items():
        family.add_metric([value], count)
    return family


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry), headers={"content-type": content_type})


def install_metrics(app: FastAPI) -> HttpMetrics:
    """`/metrics` and its registry; the returned `HttpMetrics` is for `install_security`,
    whose outermost layer counts every request."""
    registry = CollectorRegistry()
    registry.register(ServiceCollector(lambda: getattr(app.state, "services", None)))
    app.state.gc_pauses = GcPauses()  # recording while the lifespan runs (`start_up_frozen`)
    registry.register(app.state.gc_pauses)
    app.state.metrics_registry = registry
    app.include_router(router)
    return HttpMetrics(registry)
