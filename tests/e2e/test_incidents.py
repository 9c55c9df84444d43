"""Provider health end to end: the simulator and the server as real processes. A fault makes a
provider's health checks fail, an incident opens after three of them and its alert reaches a
real webhook receiver; removing the fault resolves the incident after two good checks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import fault, generous_limits, server, simulator
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

HEALTH_S = 5


def wait_for(
    what: str, probe: Callable[[], list[dict[str, Any]]], timeout_s: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


def incidents(api: str, status: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{api}/api/incidents", params={"status": status})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["incidents"]
    return rows


def test_a_provider_fault_opens_an_incident_and_its_removal_resolves_it(tmp_path: Path) -> None:
    with simulator(seed=5) as sim, Receiver([204]) as receiver:
        env = {
            "UPSTREAM_BASE_URL": sim,
            "PROVIDERS_FILE": str(generous_limits(tmp_path)),
            "COLLECTORS": "true",
            "COLLECT_HEALTH_S": str(HEALTH_S),
            # the other collectors run once at start-up and then stay out of the way
            "COLLECT_PRICES_S": "3600",
            "COLLECT_CANDLES_S": "3600",
            "COLLECT_NEWS_S": "3600",
            "COLLECT_ASSETS": "1",
            "COLLECT_CANDLES_LOOKBACK_H": "1",
            "UPSTREAM_TIMEOUT_S": "2",
            "BREAKER_COOLDOWN_S": "1",
            # the breaker stays out of it: the start-up collectors also call the faulty kraken
            "BREAKER_FAILURES": "100",
            "ALERT_WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/hooks/ops?token=t0ken",
            "WEBHOOK_ALLOW_PRIVATE": "true",
        }
        fault(sim, "kraken", "error", status=503)  # from the first check on
        with server(tmp_path, env) as api:
            opened = wait_for(
                "an open kraken incident",
                lambda: [i for i in incidents(api, "open") if i["provider"] == "kraken"],
                timeout_s=4 * HEALTH_S + 5,
            )
            assert [i["provider"] for i in incidents(api, "open")] == ["kraken"]
            assert opened[0]["reason"] == "unavailable: HTTP 503"
            assert opened[0]["failed_checks"] >= 3
            errors = httpx.get(f"{api}/api/logs/errors?provider=kraken").json()
            assert len(errors["errors"]) >= 3
            assert errors["errors"][0]["reason"] == "unavailable: HTTP 503"
            assert errors["last_errors"][0]["provider"] == "kraken"

            httpx.delete(f"{sim}/_sim/faults")
            resolved = wait_for(
                "the kraken incident resolved",
                lambda: [i for i in incidents(api, "resolved") if i["id"] == opened[0]["id"]],
                timeout_s=3 * HEALTH_S + 5,
            )
            assert resolved[0]["resolved_at"] > resolved[0]["opened_at"]
            assert incidents(api, "open") == []

            alerts = wait_for(
                "both alerts delivered",
                lambda: [
                    a
                    for a in httpx.get(f"{api}/api/alerts").json()["alerts"]
                    if a["provider"] == "kraken" and a["delivered"]
                ][:2][1:],  # non-empty once two are delivered
                timeout_s=10,
            )
            assert alerts
            rows = httpx.get(f"{api}/api/alerts").json()["alerts"]
    assert [(a["kind"], a["incident_id"]) for a in rows] == [
        ("resolved", opened[0]["id"]),
        ("opened", opened[0]["id"]),
    ]
    assert all(a["delivered"] and a["attempts"] == 1 for a in rows)
    sent = [json.loads(body) for _, _, body in receiver.requests]
    assert [(s["event"], s["provider"]) for s in sent] == [
        ("opened", "kraken"),
        ("resolved", "kraken"),
    ]
    assert receiver.requests[0][0] == "/hooks/ops?token=t0ken"
