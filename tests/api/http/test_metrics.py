"""`/metrics` in-process: scrape after known traffic and check the series' values."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from cryptoagg.api.app import create_app
from cryptoagg.bootstrap import Container
from cryptoagg.bootstrap.collectors import plan_jobs
from cryptoagg.config import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE", "RATE_LIMIT_PER_MIN"):
        monkeypatch.delenv(key, raising=False)


@asynccontextmanager
async def served(
    tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    options = {"collectors": False, **settings}
    app = create_app(load_settings(use_mock_data=True, data_dir=tmp_path, **options))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client, app


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


async def test_requests_are_counted_by_route_template(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, _):
        for _ in range(3):  # the first builds the body, the next two take the hot path
            assert (await client.get("/api/market", params={"limit": 5})).status_code == 200
        await client.get("/api/market", params={"limit": 6})
        await client.get("/api/price/BTC")
        await client.get("/api/price/ETH")
        await client.get("/api/price/not-a-coin")
        await client.get("/no/such/page")
        await client.post("/api/pools/markets/rotate")  # 403: no ADMIN_TOKEN
        samples = await scrape(client)
    requests = "cryptoagg_http_requests_total"
    assert value(samples, requests, route="/api/market", method="GET", status="2xx") == 4
    assert value(samples, requests, route="/api/price/{symbol}", method="GET", status="2xx") == 2
    assert value(samples, requests, route="/api/price/{symbol}", method="GET", status="4xx") == 1
    assert value(samples, requests, route="unmatched", method="GET", status="4xx") == 1
    rotate = {"route": "/api/pools/{pool_id}/rotate", "method": "POST", "status": "4xx"}
    assert value(samples, requests, **rotate) == 1
    # raw paths never become label values
    assert not any("BTC" in str(labels) for labels in series(samples, requests))
    latency = "cryptoagg_http_request_duration_seconds"
    assert value(samples, f"{latency}_count", route="/api/market", method="GET") == 4
    assert value(samples, f"{latency}_bucket", route="/api/market", method="GET", le="+Inf") == 4
    assert value(samples, f"{latency}_sum", route="/api/market", method="GET") > 0


async def test_cache_and_upstream_calls_match_what_happened(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, app):
        await client.get("/api/market", params={"limit": 5})  # loads the listing
        await client.get("/api/market", params={"limit": 6})  # same listing, from the cache
        samples = await scrape(client)
        sim = app.state.container.upstream_base_url
        async with httpx.AsyncClient() as control:  # the simulator runs in this event loop
            stats = (await control.get(f"{sim}/_sim/stats")).json()["calls"]
        providers = (await client.get("/api/providers")).json()["providers"]
    assert value(samples, "cryptoagg_cache_lookups_total", result="miss") == 1
    assert value(samples, "cryptoagg_cache_lookups_total", result="hit") == 1
    assert value(samples, "cryptoagg_cache_lookups_total", result="stale") == 0
    assert value(samples, "cryptoagg_cache_entries") == 1
    calls = series(samples, "cryptoagg_upstream_calls_total")
    seen_by_sim = {p: sum(paths.values()) for p, paths in stats.items()}
    listings = ("coingecko", "coinpaprika", "coincap")  # one call each
    assert seen_by_sim == dict.fromkeys(listings, 1)
    assert calls == {frozenset({("provider", p), ("outcome", "ok")}): 1 for p in listings}
    quota = {p["name"]: p["quota"] for p in providers}
    assert value(samples, "cryptoagg_quota_used_this_month", provider="coingecko") == 1
    left = value(samples, "cryptoagg_quota_left_this_month", provider="coingecko")
    assert left == quota["coingecko"]["left"] == quota["coingecko"]["monthly"] - 1
    # providers without a monthly quota have no "left" series
    assert ("cryptoagg_quota_left_this_month", frozenset({("provider", "kraken")})) not in samples


async def test_breaker_state_and_failed_call_outcomes(tmp_path: Path) -> None:
    async with served(tmp_path, breaker_failures=1) as (client, app):
        sim = app.state.container.upstream_base_url
        fault = {"provider": "kraken", "kind": "error", "status": 503}
        async with httpx.AsyncClient() as control:
            assert (await control.post(f"{sim}/_sim/faults", json=fault)).status_code == 201
        price = await client.get("/api/price/BTC")
        samples = await scrape(client)
    assert price.status_code == 200  # the other providers still agree on a price
    breaker = "cryptoagg_breaker_state"
    assert value(samples, breaker, provider="kraken") == 2  # open
    assert value(samples, breaker, provider="binance") == 0  # closed
    assert (
        value(samples, "cryptoagg_upstream_calls_total", provider="kraken", outcome="unavailable")
        == 1
    )
    assert value(samples, "cryptoagg_upstream_calls_total", provider="binance", outcome="ok") == 1


async def test_rejections_websocket_clients_and_build_info(tmp_path: Path) -> None:
    async with served(tmp_path, rate_limit_per_min=60, rate_limit_burst=2) as (client, app):
        statuses = [(await client.get("/api/pools")).status_code for _ in range(4)]
        container: Container = app.state.container
        subscribers = [container.events.connect() for _ in range(3)]
        container.events.disconnect(subscribers[0])
        samples = await scrape(client)  # exempt from the rate limit
    assert statuses == [200, 200, 429, 429]
    assert value(samples, "cryptoagg_http_rejected_total", reason="rate_limited") == 2
    requests = "cryptoagg_http_requests_total"
    # refused before routing, still counted under the route they asked for
    assert value(samples, requests, route="/api/pools", method="GET", status="4xx") == 2
    assert value(samples, "cryptoagg_websocket_clients") == 2
    assert value(samples, "cryptoagg_build_info", version="0.1.0") == 1


async def test_collector_lag_per_job(tmp_path: Path) -> None:
    async with served(tmp_path, collectors=True) as (client, app):
        collectors = app.state.container.collectors
        supervisor = collectors.supervisor
        for _ in range(100):  # the leader lock is taken off the event loop
            if collectors.is_leader:
                break
            await client.get("/health")
        assert collectors.is_leader
        prices = supervisor.jobs["prices"]
        prices.last_run = supervisor.clock() - timedelta(seconds=prices.interval_s + 100)
        samples = await scrape(client)
    lag = series(samples, "cryptoagg_collector_lag_seconds")
    assert {dict(labels)["job"] for labels in lag} == {"prices", "health", "candles", "news"}
    assert value(samples, "cryptoagg_collector_lag_seconds", job="prices") == pytest.approx(
        100, abs=2
    )
    assert value(samples, "cryptoagg_collector_leader") == 1
    stamp = value(samples, "cryptoagg_collector_last_success_timestamp_seconds", job="prices")
    assert stamp == pytest.approx(prices.last_run.timestamp())


async def test_the_monthly_plan_is_what_api_providers_shows(tmp_path: Path) -> None:
    # this month so far: CoinGecko 1,020 calls (20 by clients), CoinPaprika's quota used up
    month = datetime.now(UTC).strftime("%Y-%m")
    counts = {
        "coingecko": {month: {"client": 20, "prices": 1000}},
        "coinpaprika": {month: {"client": 20_000}},
    }
    (tmp_path / "mock").mkdir()  # mock mode keeps its state in DATA_DIR/mock
    (tmp_path / "mock" / "quota.json").write_text(json.dumps({"version": 2, "counts": counts}))
    async with served(tmp_path) as (client, app):
        container: Container = app.state.container
        # the jobs as the collectors would register them; the plan's clock stops, so the
        # scrape and the API answer describe the same instant
        plan_jobs(container.settings, container.providers, container.guards)
        now = container.guards.plan.wall()
        container.guards.plan.wall = lambda: now
        assert (await client.get("/api/market", params={"limit": 5})).status_code == 200
        samples = await scrape(client)
        providers = {p["name"]: p for p in (await client.get("/api/providers")).json()["providers"]}

    def by_provider(name: str) -> dict[str, float]:
        return {dict(labels)["provider"]: v for labels, v in series(samples, name).items()}

    quota = {name: p["quota"] for name, p in providers.items()}
    assert by_provider("cryptoagg_quota_monthly") == {"coingecko": 10_000, "coinpaprika": 20_000}
    assert {n: q["monthly"] for n, q in quota.items() if q["monthly"] is not None} == {
        "coingecko": 10_000,
        "coinpaprika": 20_000,
    }
    projected = by_provider("cryptoagg_quota_projected_month_end")
    assert projected == {name: q["projected_month_end"] for name, q in quota.items()}
    assert projected["coinpaprika"] == 20_000  # used up: nothing more this month
    assert 1_021 <= projected["coingecko"] <= 8_000  # the plan aims at the target
    reserve = by_provider("cryptoagg_quota_client_reserve")
    assert reserve == {
        name: q["client_reserve"] for name, q in quota.items() if q["client_reserve"] is not None
    }
    assert set(reserve) == {"coingecko", "coinpaprika"} and reserve["coingecko"] > 0

    intervals = {
        (dict(labels)["provider"], dict(labels)["job"]): v
        for labels, v in series(samples, "cryptoagg_collector_interval_seconds").items()
    }
    shown = {
        (name, job["job"]): job["interval_s"]
        for name, p in providers.items()
        for job in p["schedule"]
    }
    assert set(intervals) == set(shown)
    for key, interval in shown.items():
        if interval is None:
            assert intervals[key] == math.inf, key  # paused
        else:
            assert intervals[key] == pytest.approx(interval, abs=0.05), key  # the API rounds
    assert {job for (name, job) in shown if name == "coingecko"} >= {"prices", "candles", "health"}
    assert intervals[("coinpaprika", "prices")] == math.inf
    assert intervals[("kraken", "prices")] == 60.0  # no monthly quota: fits at its base
    assert intervals[("coingecko", "prices")] > 60.0  # slowed to stay within the target
