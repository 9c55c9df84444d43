"""The server and the simulator as real processes, talking HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import SPOT_PROVIDERS, fault, generous_limits, server, simulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with simulator(seed=1) as url:
        yield url


@pytest.fixture(scope="module")
def api(sim: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    env = {
        # caching is off below, so every request is an upstream call: lift the budgets
        "PROVIDERS_FILE": str(generous_limits(data)),
        "UPSTREAM_BASE_URL": sim,
        # no caching, so every request reaches the pools and faults show at once
        "PRICE_TTL_S": "0",
        "MARKETS_TTL_S": "0",
        "SLOW_TTL_S": "0",
        "STALE_IF_ERROR_S": "0",
        "ENABLE_AUTO_DISCOVERY": "true",
        "UPSTREAM_TIMEOUT_S": "1.5",
    }
    with server(data, env) as url:
        yield url


@pytest.fixture(autouse=True)
def clear_faults(sim: str) -> Iterator[None]:
    httpx.delete(f"{sim}/_sim/faults")
    yield
    httpx.delete(f"{sim}/_sim/faults")


def test_market_lists_at_least_20_coins(api: str) -> None:
    body = httpx.get(f"{api}/api/market", params={"limit": 25}).json()
    coins = body["cryptocurrencies"]
    assert len(coins) == 25
    assert body["providers"] == ["coingecko", "coinpaprika"]  # CoinCap needs a key
    assert coins[0]["asset_id"] == "bitcoin" and coins[0]["rank"] == 1
    for coin in coins:
        assert coin["price"] > 0
        assert coin["as_of"].endswith("Z")
        assert coin["sources"] == ["coingecko", "coinpaprika"]  # they agree
        assert coin["stale"] is False
    assert "_mock" not in body


def test_market_filters_by_symbols(api: str) -> None:
    body = httpx.get(f"{api}/api/market", params={"symbols": "eth,BTC"}).json()
    assert [c["asset_id"] for c in body["cryptocurrencies"]] == ["ethereum", "bitcoin"]


def test_price_is_a_consensus_of_several_sources(api: str) -> None:
    body = httpx.get(f"{api}/api/price/bitcoin").json()
    assert len(body["sources"]) >= 3
    assert set(body["sources"]) <= set(SPOT_PROVIDERS)
    band = body["confidence"]
    assert band["low"] <= body["price"] <= band["high"]
    assert band["spread_bps"] < 50  # the simulator's providers agree within a small spread
    assert body["outliers"] == []
    binance = [q for q in body["quotes"] if q["provider"] == "binance"]
    assert binance and binance[0]["converted_from"] == "USDT"
    assert "USDT" in body["conversions"]


def test_failover_when_first_provider_errors(api: str, sim: str) -> None:
    fault(sim, "coingecko", "error", status=503)
    body = httpx.get(f"{api}/api/market", params={"limit": 20}).json()
    assert body["providers"] == ["coinpaprika"]
    assert body["unavailable"]["coingecko"].startswith("unavailable")
    assert len(body["cryptocurrencies"]) == 20
    assert all(c["sources"] == ["coinpaprika"] for c in body["cryptocurrencies"])
    price = httpx.get(f"{api}/api/price/BTC").json()
    assert "coingecko" not in price["sources"]
    assert price["unavailable"]["coingecko"].startswith("unavailable")
    providers = {p["name"]: p for p in httpx.get(f"{api}/api/providers").json()["providers"]}
    assert providers["coingecko"]["state"] == "failing"
    assert providers["coingecko"]["last_error_reason"] == "unavailable"


def test_outlier_provider_is_ignored(api: str, sim: str) -> None:
    before = httpx.get(f"{api}/api/price/bitcoin").json()
    fault(sim, "kraken", "outlier", factor=1.3)
    body = httpx.get(f"{api}/api/price/bitcoin").json()
    assert "kraken" not in body["sources"]
    assert [(o["provider"], o["reason"]) for o in body["outliers"]] == [("kraken", "outlier")]
    kraken_price = Decimal(str(body["outliers"][0]["price"]))
    assert kraken_price > Decimal(str(body["price"])) * Decimal("1.2")
    assert abs(body["price"] - before["price"]) / before["price"] < 0.01


@pytest.mark.parametrize(
    ("kind", "reason"), [("reset", "connection_failed"), ("timeout", "timeout")]
)
def test_transport_faults_fail_over(api: str, sim: str, kind: str, reason: str) -> None:
    fault(sim, "kraken", kind)
    started = time.monotonic()
    body = httpx.get(f"{api}/api/price/bitcoin", timeout=10).json()
    assert time.monotonic() - started < 5
    assert "kraken" not in body["sources"]
    assert len(body["sources"]) >= 3
    assert body["unavailable"]["kraken"].startswith(reason)


def test_every_provider_failing_is_503_with_reasons(api: str, sim: str) -> None:
    for provider in SPOT_PROVIDERS:
        fault(sim, provider, "error", status=500)
    response = httpx.get(f"{api}/api/price/ethereum")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "no_provider_available"
    reasons = error["details"]["reasons"]
    for provider in SPOT_PROVIDERS:
        assert reasons[provider] == "unavailable: HTTP 500"
    assert reasons["coincap"] == "disabled: missing key"
    assert "price" not in response.json()


def test_trending_sentiment_defi(api: str) -> None:
    trending = httpx.get(f"{api}/api/trending").json()
    assert 1 <= len(trending["trending"]) <= 10
    assert trending["sources"] == ["coingecko"]
    fng = httpx.get(f"{api}/api/sentiment").json()["fear_greed"]
    assert 0 <= fng["value"] <= 100
    assert fng["classification"]
    defi = httpx.get(f"{api}/api/defi").json()
    assert defi["total_tvl"] > 0
    assert defi["protocols"] and defi["chains"]


def test_bad_input_uses_one_error_shape(api: str) -> None:
    unknown = httpx.get(f"{api}/api/price/NOPECOINXYZ")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_asset"

    bad_limit = httpx.get(f"{api}/api/market", params={"limit": "0"})
    assert bad_limit.status_code == 422
    assert bad_limit.json()["error"]["details"][0]["field"] == "query.limit"

    bad_symbol = httpx.get(f"{api}/api/price/%24%24%24")
    assert bad_symbol.status_code == 422
    assert set(bad_symbol.json()["error"]) == {"code", "message", "details"}

    secret = "sk-live-SHOULD-NOT-ECHO"
    echoed = httpx.get(f"{api}/api/market", params={"limit": secret})
    assert echoed.status_code == 422
    assert secret not in echoed.text

    missing = httpx.get(f"{api}/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_ambiguous_ticker_is_409_with_candidates(api: str) -> None:
    # the simulator's coin list carries two listed tokens sharing the ticker AUSDC,
    # merged into the registry by auto-discovery at start-up
    for _ in range(50):
        response = httpx.get(f"{api}/api/price/AUSDC")
        if response.status_code != 404:
            break
        time.sleep(0.1)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "ambiguous_symbol"
    assert len(error["details"]["candidates"]) == 2


def test_no_body_contains_mock_marker_in_normal_mode(api: str) -> None:
    for path in ("/health", "/api/providers", "/api/price/eth", "/api/price/NOPECOINXYZ"):
        assert "_mock" not in httpx.get(f"{api}{path}").text


def test_mock_mode_marks_every_body(tmp_path: Path) -> None:
    with server(tmp_path, {"USE_MOCK_DATA": "true"}) as url:
        market = httpx.get(f"{url}/api/market", params={"limit": 20}).json()
        assert market["_mock"] is True
        assert len(market["cryptocurrencies"]) == 20
        price = httpx.get(f"{url}/api/price/bitcoin").json()
        assert price["_mock"] is True
        assert len(price["sources"]) >= 3
        assert httpx.get(f"{url}/api/price/NOPECOINXYZ").json()["_mock"] is True
        assert httpx.get(f"{url}/health").json()["mock"] is True


def test_collector_records_prices_nobody_asked_for(sim: str, tmp_path: Path) -> None:
    env = {"UPSTREAM_BASE_URL": sim, "COLLECTORS": "true", "COLLECT_ASSETS": "5"}
    with server(tmp_path, env) as url:
        for _ in range(100):
            body = httpx.get(f"{url}/api/market/history", params={"symbol": "ETH"}).json()
            if body["count"]:
                break
            time.sleep(0.1)
    assert body["count"] == 1
    assert len(body["history"][0]["sources"]) >= 3
