from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.api.conftest import AppClient


async def test_healthy_with_every_check_listed(app_client: AppClient) -> None:
    async with app_client() as client:
        body = (await client.get("/health")).json()
    assert body["status"] == "healthy"
    assert body["checks"]["database"] == {"ok": True, "dialect": "sqlite"}
    assert body["checks"]["collectors"]["enabled"] is False
    assert body["checks"]["providers"]["failing"] == []


async def test_a_collector_job_behind_makes_the_service_degraded(app_client: AppClient) -> None:
    async with app_client(collectors=True, collect_prices_s=60, collect_news_s=3600) as client:
        app = client._transport.app  # type: ignore[attr-defined]
        container = app.state.container
        jobs = container.collectors.supervisor.jobs
        for _ in range(200):  # until the first price run is done (the next is 60 s away)
            if "prices" in jobs and jobs["prices"].runs >= 1:
                break
            await asyncio.sleep(0.05)
        fresh = (await client.get("/health")).json()
        # the prices job last ran three intervals ago (a stuck upstream, a dead loop...)
        job = jobs["prices"]
        job.started_at = job.started_at - timedelta(minutes=3)
        job.last_run = None
        behind = (await client.get("/health")).json()
    collectors = fresh["checks"]["collectors"]
    assert collectors["leader"] is True and collectors["lock"] == "file"  # SQLite: flock
    assert collectors["terms"] == 1 and collectors["fencing_token"] is None
    assert 0 <= collectors["leader_for_s"] < 30
    assert "prices" not in fresh["checks"]["collectors"]["behind"]
    assert behind["status"] == "degraded"
    assert behind["checks"]["collectors"]["behind"] == ["prices"]
    assert behind["checks"]["collectors"]["jobs"]["prices"]["lag_s"] >= 119
