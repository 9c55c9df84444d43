"""Data truth against the real server and simulator: one checked price on every endpoint and
frame while a listing provider sends an outlier, and staleness said from the first request
after the TTL while every provider fails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.sync.client import connect

from tests.e2e.procs import fault, generous_limits, server, simulator

pytestmark = pytest.mark.e2e

SPOT = ("coingecko", "binance", "kraken", "coinbase", "coinpaprika", "cryptocompare")
#: the listing providers without a key (CoinCap needs one)
LISTINGS = ("coingecko", "coinpaprika")
EVERY_PRICE_PROVIDER = (*SPOT, "coincap", "messari")


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with simulator(seed=5) as url:
        yield url


@pytest.fixture
def clean(sim: str) -> Iterator[str]:
    httpx.delete(f"{sim}/_sim/faults")
    yield sim
    httpx.delete(f"{sim}/_sim/faults")


def get(api: str, path: str, **params: str) -> httpx.Response:
    response = httpx.get(f"{api}{path}", params=params, timeout=15)
    assert response.status_code == 200, response.text
    return response


def provider(api: str, name: str) -> dict[str, Any]:
    rows = get(api, "/api/providers").json()["providers"]
    return next(r for r in rows if r["name"] == name)


def ws_price(api: str) -> dict[str, Any]:
    """The latest `prices:bitcoin` frame (the snapshot a subscriber gets first)."""
    with connect(api.replace("http", "ws") + "/ws", open_timeout=10) as ws:
        ws.send(orjson.dumps({"subscribe": ["prices:bitcoin"]}).decode())
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            frame = orjson.loads(ws.recv(timeout=15))
            if frame.get("topic") == "prices:bitcoin" and frame.get("data"):
                data: dict[str, Any] = frame["data"]
                return data
    raise AssertionError("no prices:bitcoin frame")


def test_a_listing_outlier_is_never_served_and_its_provider_is_marked(
    clean: str, tmp_path: Path
) -> None:
    sim = clean
    fault(sim, "coingecko", "outlier", factor=1.2)
    env = {
        "UPSTREAM_BASE_URL": sim,
        "PROVIDERS_FILE": str(generous_limits(tmp_path)),
        "COLLECTORS": "true",
        "COLLECT_PRICES_S": "5",
    }
    with server(tmp_path, env) as api:
        reference = get(api, "/api/price/bitcoin").json()
        low = Decimal(str(reference["confidence"]["low"]))
        high = Decimal(str(reference["confidence"]["high"]))
        assert [o["provider"] for o in reference["outliers"]] == ["coingecko"]

        market = get(api, "/api/market", limit="250").json()
        btc = next(r for r in market["cryptocurrencies"] if r["asset_id"] == "bitcoin")
        batch = get(api, "/api/prices", symbols="BTC,ETH").json()
        simple = get(api, "/api/v3/simple/price", ids="bitcoin", vs_currencies="usd").json()
        rows = get(api, "/api/v3/coins/markets", vs_currency="usd", ids="bitcoin").json()
        frame = ws_price(api)
        served = {
            "/api/market": btc["price"],
            "/api/prices": batch["prices"][0]["price"],
            "/api/v3/simple/price": simple["bitcoin"]["usd"],
            "/api/v3/coins/markets": rows[0]["current_price"],
            "ws prices:bitcoin": frame["price"],
        }
        state = provider(api, "coingecko")
    for where, price in served.items():
        assert low <= Decimal(str(price)) <= high, f"{where}: {price} outside [{low}, {high}]"
    # the listing row names what contributed and what was left out
    assert btc["price_basis"] == "consensus"
    assert "coingecko" not in btc["sources"]
    assert btc["sources"] == ["coinpaprika"]
    (replaced,) = btc["replaced"]
    assert replaced["provider"] == "coingecko" and replaced["reason"] == "outlier"
    assert Decimal(str(replaced["price"])) > high * Decimal("1.1")
    # every row, also of assets nobody asked a price for: with two listings that disagree,
    # a spot consensus was fetched to tell which is off
    rows_served = market["cryptocurrencies"]
    both = [r for r in rows_served if r["replaced"] or "coinpaprika" in r["sources"]]
    assert len(both) >= 50  # of the 56 simulated assets
    assert not [r["asset_id"] for r in rows_served if "coingecko" in r["sources"]]
    assert {x["provider"] for r in both for x in r["replaced"]} == {"coingecko"}
    # and the provider is marked like a failing one
    assert state["state"] == "outlier"
    assert state["last_error_reason"] == "outlier"
    assert "off the consensus" in state["last_error"]


def test_every_provider_failing_is_stale_from_the_first_request_then_503(
    clean: str, tmp_path: Path
) -> None:
    sim = clean
    env = {
        "UPSTREAM_BASE_URL": sim,
        "PROVIDERS_FILE": str(generous_limits(tmp_path)),
        "PRICE_TTL_S": "2",
        "MARKETS_TTL_S": "2",
        "STALE_IF_ERROR_S": "8",
        "RETRY_ATTEMPTS": "1",
        "UPSTREAM_TIMEOUT_S": "1",
    }
    endpoints: dict[str, dict[str, str]] = {
        "/api/price/bitcoin": {},
        "/api/prices": {"symbols": "BTC"},
        "/api/market": {"symbols": "BTC"},
        "/api/v3/simple/price": {"ids": "bitcoin", "vs_currencies": "usd"},
        "/api/v3/coins/markets": {"vs_currency": "usd", "ids": "bitcoin"},
    }
    with server(tmp_path, env) as api:
        fresh = {path: get(api, path, **params) for path, params in endpoints.items()}
        for name in EVERY_PRICE_PROVIDER:
            fault(sim, name, "error", status=503)
        time.sleep(2.5)  # past the TTL: the next request starts a refresh, which fails
        stale = {path: get(api, path, **params) for path, params in endpoints.items()}
        time.sleep(6)  # past STALE_IF_ERROR_S since the values were loaded
        gone = {
            path: httpx.get(f"{api}{path}", params=params, timeout=15)
            for path, params in endpoints.items()
        }
    assert fresh["/api/price/bitcoin"].json()["stale"] is False
    assert fresh["/api/v3/simple/price"].headers["x-data-stale"] == "false"
    price = stale["/api/price/bitcoin"].json()
    assert price["stale"] is True
    assert price["price"] == fresh["/api/price/bitcoin"].json()["price"]
    assert price["unavailable"]["kraken"] == "unavailable: HTTP 503"
    assert set(SPOT) <= set(price["unavailable"])
    entry = stale["/api/prices"].json()["prices"][0]
    assert entry["stale"] is True and "binance" in entry["unavailable"]
    listing = stale["/api/market"].json()
    assert listing["stale"] is True and listing["cryptocurrencies"][0]["stale"] is True
    assert set(LISTINGS) <= set(listing["unavailable"])
    for path in ("/api/v3/simple/price", "/api/v3/coins/markets"):
        assert stale[path].headers["x-data-stale"] == "true", path
        assert int(stale[path].headers["age"]) >= 2, path
        assert stale[path].json() == fresh[path].json(), path  # CoinGecko's shape, unchanged
    assert {path: r.status_code for path, r in gone.items()} == dict.fromkeys(endpoints, 503)
