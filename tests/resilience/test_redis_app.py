"""The app with REDIS_URL (in-process, mock mode): `/health` and `/metrics` show the link;
Redis killed mid-run keeps requests served with `/health` degraded, and the link comes back;
two apps on one Redis are two replicas sharing the cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoagg.api.app import create_app
from cryptoagg.config import load_settings
from cryptoagg.resilience.shared_cache import SharedTier
from tests.redis_support import (
    delete_prefix,
    redis_server,
    require_redis,
    unique_prefix,
    wait_until,
)


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE", "REDIS_URL"):
        monkeypatch.delenv(key, raising=False)


@asynccontextmanager
async def app_on(
    redis_url: str, data_dir: Path, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    # a 2 s timeout (tests/redis_support.py's FAST): a loaded machine must not make a live
    # server look down; a stopped one refuses connections at once
    options = {
        "collectors": False,
        "redis_reconnect_max_s": 0.1,
        "redis_timeout_s": 2.0,
        **settings,
    }
    app = create_app(
        load_settings(use_mock_data=True, data_dir=data_dir, redis_url=redis_url, **options)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client


def _container(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.container  # type: ignore[attr-defined]


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_health_and_metrics_follow_redis_down_and_back(tmp_path: Path) -> None:
    with redis_server() as server:
        async with app_on(server.url, tmp_path) as client:
            link = _container(client).redis
            link.config = replace(link.config, heartbeat_s=0.1)
            up = (await client.get("/health")).json()
            assert up["checks"]["redis"] == {
                "ok": True,
                "degraded_reason": None,
                "down_for_s": None,
                "fallbacks": 0,
                "rejoins": 1,
            }
            metrics = (await client.get("/metrics")).text
            assert _metric(metrics, "cryptoagg_redis_up") == 1

            await server.astop()
            await wait_until(lambda: not link.up, timeout_s=10)
            # requests keep being served from the replica's own state
            price = await client.get("/api/price/bitcoin")
            assert price.status_code == 200 and price.json()["price"] > 0
            down = (await client.get("/health")).json()
            assert down["status"] == "degraded"
            assert down["checks"]["redis"]["ok"] is False
            assert down["checks"]["redis"]["degraded_reason"]
            metrics = (await client.get("/metrics")).text
            assert _metric(metrics, "cryptoagg_redis_up") == 0
            assert _metric(metrics, "cryptoagg_redis_fallbacks_total") >= 1

            await server.astart()
            await wait_until(lambda: link.up, timeout_s=10)
            back = (await client.get("/health")).json()
            assert back["checks"]["redis"]["ok"] is True
            assert back["checks"]["redis"]["rejoins"] == 2


async def test_without_redis_url_health_has_no_redis_check(tmp_path: Path) -> None:
    options = {"collectors": False}
    app = create_app(load_settings(use_mock_data=True, data_dir=tmp_path, **options))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            body = (await client.get("/health")).json()
            metrics = (await client.get("/metrics")).text
            assert _container(client).cache.shared is None
    assert "redis" not in body["checks"]
    for name in ("cryptoagg_redis_up", "cryptoagg_shared_cache", "cryptoagg_relay"):
        assert name not in metrics


async def test_two_apps_on_one_redis_share_the_cache(tmp_path: Path) -> None:
    url = require_redis()
    prefix = unique_prefix()
    try:
        async with (
            app_on(url, tmp_path / "a", redis_prefix=prefix) as a,
            app_on(url, tmp_path / "b", redis_prefix=prefix) as b,
        ):
            first = (await a.get("/api/market", params={"limit": 5})).json()
            second = (await b.get("/api/market", params={"limit": 5})).json()
            tier_a: SharedTier = _container(a).cache.shared
            tier_b: SharedTier = _container(b).cache.shared
            assert (tier_a.loads, tier_b.loads) == (1, 0)
            assert tier_b.shared_hits == 1
            loads = 'cryptoagg_shared_cache_loads_total{result="%s"}'
            metrics_a, metrics_b = (await a.get("/metrics")).text, (await b.get("/metrics")).text
            assert (
                _metric(metrics_a, loads % "load") == 1 and _metric(metrics_a, loads % "hit") == 0
            )
            assert (
                _metric(metrics_b, loads % "load") == 0 and _metric(metrics_b, loads % "hit") == 1
            )
            assert _metric(metrics_b, loads % "alone") == 0

            # an update published on A reaches B's clients through Redis, counted on both
            relay_b = _container(b).services.telemetry.relay
            _container(a).services.events.publish("prices:bitcoin", {"price": 1.0})
            await wait_until(lambda: relay_b().received >= 1, timeout_s=10)
            updates = 'cryptoagg_relay_updates_total{direction="%s"}'
            metrics_a, metrics_b = (await a.get("/metrics")).text, (await b.get("/metrics")).text
            assert _metric(metrics_a, updates % "sent") >= 1
            assert _metric(metrics_b, updates % "received") >= 1
            assert _metric(metrics_a, updates % "dropped") == 0
            # B serves A's listing (the two simulators differ: only A's was asked)
            rows_a, rows_b = first["cryptocurrencies"], second["cryptocurrencies"]
            assert len(rows_a) == 5
            assert [(r["asset_id"], r["price"], r["as_of"]) for r in rows_b] == [
                (r["asset_id"], r["price"], r["as_of"]) for r in rows_a
            ]
    finally:
        await delete_prefix(url, prefix)


async def test_two_apps_on_one_redis_share_each_clients_rate_limit(tmp_path: Path) -> None:
    url = require_redis()
    prefix = unique_prefix()
    limits = {"redis_prefix": prefix, "rate_limit_per_min": 2, "rate_limit_burst": 5}
    try:
        async with (
            app_on(url, tmp_path / "a", **limits) as a,
            app_on(url, tmp_path / "b", **limits) as b,
        ):

            async def share(client: httpx.AsyncClient) -> None:  # as the app does every second
                app = client._transport.app  # type: ignore[attr-defined]
                await app.state.rate_limiter.share(_container(client).inbound)

            windows = _container(a).inbound
            if windows.left_s() < 10:  # the whole test inside one minute's window
                await asyncio.sleep(windows.left_s() + 0.1)
            assert [(await a.get("/api/pools")).status_code for _ in range(5)] == [200] * 5
            await share(a)
            assert [(await b.get("/api/pools")).status_code for _ in range(3)] == [200] * 3
            await share(b)
            # 8 requests over the two, the allowance is 2 + 5 a minute: B refuses though its
            # own allowance has 2 left, and says when the minute is over
            refused = await b.get("/api/pools")
            assert refused.status_code == 429
            assert 0 < int(refused.headers["retry-after"]) <= 60
            assert (await b.get("/health")).status_code == 200  # probes stay exempt
    finally:
        await delete_prefix(url, prefix)
