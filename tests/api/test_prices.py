"""`/api/price` and `/api/prices` in-process against the simulator: assumed stablecoin rates and
receive-time quote stamps are labelled, and an assumed rate widens the band."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cryptoagg.api.app import create_app
from cryptoagg.config import load_settings
from cryptoagg.core.models import Capability
from cryptoagg.providers.registry import PROVIDERS

#: every spot-price provider but Binance (which quotes in USDT)
NOT_BINANCE = [
    p.name for p in PROVIDERS if Capability.SPOT_PRICE in p.capabilities and p.name != "binance"
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE"):
        monkeypatch.delenv(key, raising=False)


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The app in mock mode, and the base URL of its simulator (for `/_sim/faults`)."""
    app: FastAPI = create_app(
        load_settings(use_mock_data=True, data_dir=tmp_path, collectors=False)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client, app.state.container.upstream_base_url


async def only_binance_answers(sim: str) -> None:
    async with httpx.AsyncClient(base_url=sim) as control:  # the simulator runs in this loop
        for name in NOT_BINANCE:
            fault = {"provider": name, "kind": "error", "status": 503}
            assert (await control.post("/_sim/faults", json=fault)).status_code == 201


def assert_assumed_usdt(body: dict[str, Any]) -> None:
    assert body["sources"] == ["binance"]
    assert body["conversions"] == {"USDT": {"rate": 1.0, "assumed": True, "sources": []}}
    [quote] = body["quotes"]
    assert quote["converted_from"] == "USDT" and quote["time_source"] == "provider"
    band = body["confidence"]
    # the one quote spans the ±0.5% allowance: never a zero-width band
    assert band["spread_bps"] == 100.0
    assert band["low"] < body["price"] < band["high"]
    assert band["low"] == pytest.approx(body["price"] * 0.995, rel=1e-12)
    assert "assumed stablecoin rate" in band["method"]


async def test_only_binance_answering_marks_usdt_assumed_and_widens_the_band(
    tmp_path: Path,
) -> None:
    async with served(tmp_path) as (client, sim):
        await only_binance_answers(sim)
        one = await client.get("/api/price/bitcoin")
        batch = await client.get("/api/prices", params={"symbols": "BTC,ETH"})
    assert one.status_code == 200, one.text
    body = one.json()
    assert_assumed_usdt(body)
    assert set(body["unavailable"]) == set(NOT_BINANCE)
    assert batch.status_code == 200, batch.text
    prices = batch.json()["prices"]
    assert [p["asset_id"] for p in prices] == ["bitcoin", "ethereum"]
    for entry in prices:
        assert_assumed_usdt(entry)


async def test_quotes_say_where_their_time_comes_from_and_rates_who_measured_them(
    tmp_path: Path,
) -> None:
    async with served(tmp_path) as (client, _):
        response = await client.get("/api/price/bitcoin")
        tether = (await client.get("/api/price/tether")).json()
    assert response.status_code == 200, response.text
    body = response.json()
    times = {q["provider"]: q["time_source"] for q in body["quotes"]}
    assert times["kraken"] == "received"  # Kraken's Ticker has no time
    assert times["binance"] == times["coinbase"] == times["coingecko"] == "provider"
    usdt = body["conversions"]["USDT"]
    assert usdt["assumed"] is False
    assert {"coingecko", "kraken"} <= set(usdt["sources"])  # they quote tether in USD
    # measured from those quotes (it may be exactly 1.0 — Coinbase's ticker has four
    # decimals — but it lies among what they quote), not assumed
    quoted = [q["price"] for q in tether["quotes"] if q["provider"] in usdt["sources"]]
    assert len(quoted) >= 2 and min(quoted) <= usdt["rate"] <= max(quoted)
    assert 0 < body["confidence"]["spread_bps"] < 50  # the simulator's providers disagree a bit


async def test_the_openapi_docs_explain_the_labels(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, _):
        spec = (await client.get("/openapi.json")).json()
    for path in ("/api/price/{symbol}", "/api/prices"):
        description = spec["paths"][path]["get"]["description"]
        assert "`time_source`" in description and "`assumed: true`" in description
    example = spec["paths"]["/api/price/{symbol}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["example"]
    assert set(example["quotes"][0]) == {
        "provider",
        "price",
        "as_of",
        "time_source",
        "converted_from",
    }
    assert set(example["conversions"]["USDT"]) == {"rate", "assumed", "sources"}
