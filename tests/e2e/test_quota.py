"""Quota truth against real processes: the ledger charges exactly the requests the simulator
received; clients wait for a rate budget within their deadline or get 503 with Retry-After;
a mock run never touches the real state in the same data directory."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import server, simulator

pytestmark = pytest.mark.e2e


def providers(api: str) -> dict[str, dict[str, Any]]:
    rows = httpx.get(f"{api}/api/providers", timeout=10).json()["providers"]
    return {r["name"]: r for r in rows}


def ledger_totals(path: Path) -> dict[str, int]:
    data = json.loads(path.read_text())
    month = datetime.now(UTC).strftime("%Y-%m")
    return {
        provider: sum(months.get(month, {}).values())
        for provider, months in data["counts"].items()
        if sum(months.get(month, {}).values())
    }


def sim_totals(sim: str) -> dict[str, int]:
    calls = httpx.get(f"{sim}/_sim/stats").json()["calls"]
    return {provider: sum(paths.values()) for provider, paths in calls.items()}


@pytest.mark.slow
def test_the_ledger_equals_what_the_simulator_received(tmp_path: Path) -> None:
    """Client requests, collectors, history fills an adapter declines, cache hits and budget
    refusals: every provider is charged exactly the requests that reached it."""
    limits = tmp_path / "providers.yaml"
    # kraken: one call a minute, so most of this test's kraken calls are refused
    limits.write_text("providers:\n  kraken: {rate_per_min: 1}\n")
    env = {
        "PROVIDERS_FILE": str(limits),
        "COLLECTORS": "true",
        "COLLECT_PRICES_S": "5",
        "COLLECT_HEALTH_S": "5",
        "COLLECT_CANDLES_S": "10",
        "REQUEST_DEADLINE_S": "3",
    }
    start = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with simulator(seed=11) as sim:
        env["UPSTREAM_BASE_URL"] = sim
        with server(tmp_path, env) as api:
            for _ in range(3):  # the second and third are cache hits
                assert httpx.get(f"{api}/api/price/bitcoin", timeout=15).status_code == 200
                assert httpx.get(f"{api}/api/trending", timeout=15).status_code == 200
                assert httpx.get(f"{api}/api/market?limit=10", timeout=15).status_code == 200
            for symbol in ("BTC", "ETH", "SOL"):
                # CoinGecko declines 1-minute ranges without a call; Binance fills them
                history = httpx.get(
                    f"{api}/api/crypto/history/{symbol}",
                    params={"interval": "1m", "start": start},
                    timeout=15,
                )
                assert history.status_code == 200, history.text
            for symbol in ("bitcoin", "ethereum", "solana", "cardano"):
                httpx.get(f"{api}/api/price/{symbol}", timeout=15)
            time.sleep(6)  # a second round of collectors
            rows = providers(api)
            kraken_refusals = rows["kraken"]["quota"]["used_this_month"]
        # the server has stopped: nothing is in flight any more
        received = sim_totals(sim)
    charged = ledger_totals(tmp_path / "quota.json")
    assert charged == received
    assert received["coingecko"] >= 2 and received["binance"] >= 3
    assert kraken_refusals <= 2  # refused calls were not charged


def test_a_client_waits_for_a_budget_the_collectors_just_spent(tmp_path: Path) -> None:
    limits = tmp_path / "providers.yaml"
    # one CoinGecko call every 4 s, and a quota big enough for collectors to run each time
    limits.write_text("providers:\n  coingecko: {rate_per_s: 0.25, monthly_quota: 100000000}\n")
    env = {
        "PROVIDERS_FILE": str(limits),
        "COLLECTORS": "true",
        "COLLECT_PRICES_S": "5",
        "SLOW_TTL_S": "0",
        "REQUEST_DEADLINE_S": "10",
    }
    with simulator(seed=12) as sim:
        env["UPSTREAM_BASE_URL"] = sim
        with server(tmp_path, env) as api:
            waits = []
            for _ in range(2):
                used = providers(api)["coingecko"]["quota"]["used_this_month"]
                deadline = time.monotonic() + 20
                while providers(api)["coingecko"]["quota"]["used_this_month"] == used:
                    assert time.monotonic() < deadline, "the collector never called CoinGecko"
                    time.sleep(0.05)
                started = time.monotonic()  # a collector has just taken CoinGecko's slot
                response = httpx.get(f"{api}/api/trending", timeout=15)
                waits.append(time.monotonic() - started)
                assert response.status_code == 200, response.text
                assert len(response.json()["trending"]) > 0
            assert all(1.0 <= w < 10.0 for w in waits), waits


def test_a_wait_past_the_deadline_is_a_503_with_retry_after(tmp_path: Path) -> None:
    limits = tmp_path / "providers.yaml"
    limits.write_text("providers:\n  coingecko: {rate_per_s: 0.1}\n")  # one call every 10 s
    env = {
        "PROVIDERS_FILE": str(limits),
        "SLOW_TTL_S": "0",
        "STALE_IF_ERROR_S": "0",  # no stale answer to fall back on
        "REQUEST_DEADLINE_S": "3",
    }
    with simulator(seed=13) as sim:
        env["UPSTREAM_BASE_URL"] = sim
        with server(tmp_path, env) as api:
            assert httpx.get(f"{api}/api/trending", timeout=15).status_code == 200
            started = time.monotonic()
            refused = httpx.get(f"{api}/api/trending", timeout=15)
            took = time.monotonic() - started
            assert refused.status_code == 503
            retry_after = int(refused.headers["retry-after"])
            assert 5 <= retry_after <= 10
            body = refused.json()["error"]
            assert body["details"]["retry_after_s"] == retry_after
            assert body["details"]["reasons"]["coingecko"].startswith(
                "budget_exhausted: rate limit, next call in"
            )
            assert took < 1.0  # refused at once, not after sleeping out the deadline
            time.sleep(retry_after)
            assert httpx.get(f"{api}/api/trending", timeout=15).status_code == 200
        assert sim_totals(sim)["coingecko"] == 2


@pytest.mark.slow
def test_a_mock_run_leaves_the_real_state_alone(tmp_path: Path) -> None:
    mock_env = {
        "USE_MOCK_DATA": "true",
        "COLLECTORS": "true",
        "COLLECT_PRICES_S": "5",
        "COLLECT_NEWS_S": "60",
        "COLLECT_CANDLES_S": "10",
    }
    with server(tmp_path, mock_env) as api:
        assert httpx.get(f"{api}/api/market?limit=5", timeout=15).status_code == 200
        history = httpx.get(f"{api}/api/crypto/history/BTC?interval=1h", timeout=30).json()
        assert history["candles"]
        assert httpx.get(f"{api}/api/analysis/BTC?interval=1h", timeout=30).status_code == 200
        deadline = time.monotonic() + 30
        while not (
            httpx.get(f"{api}/api/news").json()["news"]
            and httpx.get(f"{api}/api/market/history?symbol=BTC").json()["history"]
        ):
            assert time.monotonic() < deadline, "the mock collectors stored nothing"
            time.sleep(0.5)
    mock_ledger = ledger_totals(tmp_path / "mock" / "quota.json")
    assert mock_ledger["coingecko"] >= 1
    assert not (tmp_path / "quota.json").exists()
    assert not (tmp_path / "cryptoagg.db").exists()

    # a real run in the same DATA_DIR, with no reachable upstream
    real_env = {"UPSTREAM_BASE_URL": "http://127.0.0.1:9", "REQUEST_DEADLINE_S": "2"}
    with server(tmp_path, real_env) as api:
        assert httpx.get(f"{api}/api/news").json()["news"] == []
        assert httpx.get(f"{api}/api/market/history?symbol=BTC").json()["history"] == []
        stored = httpx.get(
            f"{api}/api/crypto/history/BTC", params={"interval": "1h", "backfill": "false"}
        ).json()
        assert stored["candles"] == []
        analysis = httpx.get(f"{api}/api/analysis/BTC?interval=1h", timeout=15)
        assert analysis.status_code == 422
        assert httpx.get(f"{api}/api/price/bitcoin", timeout=15).status_code == 503
        assert "_mock" not in httpx.get(f"{api}/api/providers").json()
    assert ledger_totals(tmp_path / "mock" / "quota.json") == mock_ledger
    # nothing reached a provider: connection refused is not charged
    real = tmp_path / "quota.json"
    assert not real.exists() or ledger_totals(real) == {}
