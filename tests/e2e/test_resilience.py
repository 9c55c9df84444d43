"""Every simulator fault kind against the real server: the API keeps answering, the faulty
provider's breaker and health show it, and after the fault it comes back through a probe."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import fault, generous_limits, server, simulator

pytestmark = pytest.mark.e2e

COOLDOWN_S = 1.0


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with simulator(seed=3) as url:
        yield url


@pytest.fixture
def api(sim: str, tmp_path: Path) -> Iterator[str]:
    httpx.delete(f"{sim}/_sim/faults")
    env = {
        "UPSTREAM_BASE_URL": sim,
        "PROVIDERS_FILE": str(generous_limits(tmp_path)),
        "PRICE_TTL_S": "0",
        "MARKETS_TTL_S": "0",
        "UPSTREAM_TIMEOUT_S": "1",
        "RETRY_ATTEMPTS": "1",
        "BREAKER_COOLDOWN_S": str(COOLDOWN_S),
    }
    with server(tmp_path, env) as url:
        yield url
    httpx.delete(f"{sim}/_sim/faults")


def provider(api: str, name: str) -> dict[str, Any]:
    rows = httpx.get(f"{api}/api/providers").json()["providers"]
    return next(r for r in rows if r["name"] == name)


def price(api: str) -> dict[str, Any]:
    response = httpx.get(f"{api}/api/price/bitcoin", timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("kind", "extra", "reason"),
    [
        ("error", {"status": 502}, "unavailable"),
        ("timeout", {}, "timeout"),
        ("slow", {"delay_s": 2.5}, "timeout"),
        ("malformed", {}, "bad_response"),
        ("reset", {}, "connection_failed"),
    ],
)
def test_fault_opens_breaker_then_probe_recovers(
    api: str, sim: str, kind: str, extra: dict[str, Any], reason: str
) -> None:
    fault(sim, "kraken", kind, **extra)
    for _ in range(5):
        body = price(api)
        assert "kraken" not in body["sources"]
        assert len(body["sources"]) >= 3
    row = provider(api, "kraken")
    assert row["breaker"] == "open"
    assert row["state"] == "open"
    assert row["last_error_reason"] == reason
    assert row["next_probe_at"] is not None
    body = price(api)  # the open breaker keeps kraken out without calling it
    assert body["unavailable"]["kraken"].startswith("circuit_open")

    httpx.delete(f"{sim}/_sim/faults")
    time.sleep(COOLDOWN_S + 0.1)
    body = price(api)  # the half-open probe goes out and succeeds
    assert "kraken" in body["sources"]
    assert provider(api, "kraken")["breaker"] == "closed"
    moves = [
        (t["from"], t["to"])
        for t in httpx.get(f"{api}/api/providers/transitions").json()["transitions"]
        if t["provider"] == "kraken"
    ]
    assert moves[:3] == [("half_open", "closed"), ("open", "half_open"), ("closed", "open")]


def test_rate_limit_honours_retry_after(api: str, sim: str) -> None:
    fault(sim, "coinbase", "ratelimit", retry_after_s=2)
    body = price(api)
    assert body["unavailable"]["coinbase"].startswith("rate_limited")
    before = httpx.get(f"{sim}/_sim/stats").json()["calls"]["coinbase"]
    for _ in range(3):
        assert price(api)["unavailable"]["coinbase"].startswith("circuit_open")
    after = httpx.get(f"{sim}/_sim/stats").json()["calls"]["coinbase"]
    assert after == before  # no call at all while Retry-After runs
    httpx.delete(f"{sim}/_sim/faults")
    time.sleep(2.1)
    assert "coinbase" in price(api)["sources"]


def test_geoblock_disables_until_restart(api: str, sim: str) -> None:
    fault(sim, "binance", "geoblock")
    assert "binance" not in price(api)["sources"]
    row = provider(api, "binance")
    assert row["state"] == "disabled"
    assert row["disabled_reason"].startswith("geo_blocked")
    httpx.delete(f"{sim}/_sim/faults")
    time.sleep(COOLDOWN_S + 0.1)
    body = price(api)
    assert body["unavailable"]["binance"].startswith("disabled: geo_blocked")


def test_outlier_is_dropped_without_tripping_the_breaker(api: str, sim: str) -> None:
    fault(sim, "coinpaprika", "outlier", factor=0.7)
    body = price(api)
    assert [o["provider"] for o in body["outliers"]] == ["coinpaprika"]
    assert provider(api, "coinpaprika")["breaker"] == "closed"


def test_everything_failing_serves_stale_with_age(api: str, sim: str) -> None:
    fresh = price(api)
    assert fresh["stale"] is False
    for name in ("coingecko", "binance", "kraken", "coinbase", "coinpaprika", "cryptocompare"):
        fault(sim, name, "error", status=503)
    time.sleep(0.2)
    body = price(api)
    assert body["stale"] is True
    assert body["price"] == fresh["price"]
    assert body["age_s"] >= 0.2
    # an asset never asked before has no last good value: 503 with every reason
    response = httpx.get(f"{api}/api/price/solana")
    assert response.status_code == 503
    reasons = response.json()["error"]["details"]["reasons"]
    assert reasons["kraken"] == "unavailable: HTTP 503"
