from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cryptoagg.storage.db import make_engine
from cryptoagg.storage.monitoring import (
    AlertRepository,
    CheckRecord,
    CheckState,
    IncidentRepository,
    StatusLogRepository,
)
from tests.api.conftest import AppClient

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def seed(tmp_path: Path) -> dict[str, int]:
    """Rows as the health collector would have written them (the schema exists by now)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'mock' / 'cryptoagg.db'}")
    StatusLogRepository(engine).add_many(
        [
            CheckRecord(at(0), "kraken", False, CheckState.DOWN, "unavailable: HTTP 500", 15.0),
            CheckRecord(at(60), "binance", False, CheckState.HELD_BACK, "circuit_open: 20s"),
            CheckRecord(at(90), "binance", False, CheckState.SKIPPED, "budget_exhausted: rate"),
            CheckRecord(at(120), "kraken", True, CheckState.UP, None, 9.0),
        ]
    )
    incidents, alerts = IncidentRepository(engine), AlertRepository(engine)
    old = incidents.open("kraken", at(0), "unavailable: HTTP 500", 3)
    incidents.resolve(old.id, at(600))
    current = incidents.open("binance", at(700), "timeout: timed out", 4)
    opened = alerts.add(old.id, at(0), "opened", "kraken is down")
    alerts.mark(opened.id, delivered=True, attempts=2)
    alerts.add(old.id, at(600), "resolved", "kraken is back up after 10m00s")
    engine.dispose()
    return {"old": old.id, "current": current.id, "opened_alert": opened.id}


async def test_incidents_with_status_filter(app_client: AppClient, tmp_path: Path) -> None:
    async with app_client() as client:
        ids = seed(tmp_path)
        every = (await client.get("/api/incidents")).json()["incidents"]
        open_ = (await client.get("/api/incidents", params={"status": "open"})).json()
        resolved = (await client.get("/api/incidents?status=resolved&limit=5")).json()
        one = (await client.get("/api/incidents?limit=1")).json()
    assert [i["id"] for i in every] == [ids["current"], ids["old"]]
    assert [i["provider"] for i in open_["incidents"]] == ["binance"]
    assert open_["incidents"][0]["status"] == "open"
    assert open_["incidents"][0]["resolved_at"] is None
    assert open_["incidents"][0]["failed_checks"] == 4
    [done] = resolved["incidents"]
    assert done == {
        "id": ids["old"],
        "provider": "kraken",
        "status": "resolved",
        "opened_at": "2026-01-01T00:00:00Z",
        "resolved_at": "2026-01-01T00:10:00Z",
        "duration_s": 600.0,
        "reason": "unavailable: HTTP 500",
        "failed_checks": 3,
    }
    assert len(one["incidents"]) == 1


async def test_alerts_newest_first_with_delivery(app_client: AppClient, tmp_path: Path) -> None:
    async with app_client() as client:
        ids = seed(tmp_path)
        body = (await client.get("/api/alerts")).json()
    assert [a["kind"] for a in body["alerts"]] == ["resolved", "opened"]
    opened = body["alerts"][1]
    assert opened["id"] == ids["opened_alert"]
    assert opened["provider"] == "kraken"
    assert opened["incident_id"] == ids["old"]
    assert (opened["delivered"], opened["attempts"]) == (True, 2)
    assert opened["at"] == "2026-01-01T00:00:00Z"
    assert body["alerts"][0]["message"] == "kraken is back up after 10m00s"


async def test_error_log_lists_failed_checks(app_client: AppClient, tmp_path: Path) -> None:
    async with app_client() as client:
        seed(tmp_path)
        body = (await client.get("/api/logs/errors")).json()
        kraken = (await client.get("/api/logs/errors?provider=kraken")).json()
        since = (await client.get("/api/logs/errors?since=2026-01-01T00:00:30Z")).json()
    assert [(e["provider"], e["state"]) for e in body["errors"]] == [
        ("binance", "held_back"),
        ("kraken", "down"),
    ]
    assert body["errors"][1] == {
        "at": "2026-01-01T00:00:00Z",
        "provider": "kraken",
        "state": "down",
        "reason": "unavailable: HTTP 500",
        "latency_ms": 15.0,
    }
    assert body["last_errors"] == []  # nothing has failed in this process
    assert [e["provider"] for e in kraken["errors"]] == ["kraken"]
    assert [e["provider"] for e in since["errors"]] == ["binance"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/incidents?limit=0",
        "/api/incidents?limit=1001",
        "/api/incidents?status=closed",
        "/api/alerts?limit=0",
        "/api/alerts?limit=abc",
        "/api/logs/errors?limit=5000",
        "/api/logs/errors?provider=Not%20A%20Provider",
        "/api/logs/errors?since=yesterday",
    ],
)
async def test_bad_queries_answer_422_in_the_one_error_shape(
    app_client: AppClient, path: str
) -> None:
    async with app_client() as client:
        response = await client.get(path)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"][0]["field"].startswith("query.")
