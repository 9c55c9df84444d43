"""The control API: call counts, fault injection with its HTTP behaviour, expiry and rates."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoagg.sim.app import create_sim_app
from cryptoagg.sim.server import BackgroundSim
from tests.sim.conftest import Clock

FIXTURES = Path(__file__).parents[1] / "fixtures" / "providers"
NOW = datetime(2026, 11, 20, 12, 34, 56, tzinfo=UTC)
PING = "/coingecko/api/v3/ping"


async def add(client: httpx.AsyncClient, **spec: Any) -> dict[str, Any]:
    response = await client.post("/_sim/faults", json=spec)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


async def test_stats_count_every_provider_call(sim: httpx.AsyncClient) -> None:
    await sim.get(PING)
    await sim.get(PING)
    await sim.get("/kraken/0/public/Ticker?pair=XBTUSD")
    await add(sim, provider="kraken", kind="error")
    await sim.get("/kraken/0/public/Ticker?pair=XBTUSD")  # faulted calls count too
    stats = (await sim.get("/_sim/stats")).json()
    assert stats == {
        "total": 4,
        "calls": {"coingecko": {"/api/v3/ping": 2}, "kraken": {"/0/public/Ticker": 2}},
    }
    assert (await sim.post("/_sim/stats/reset")).json()["total"] == 0
    await sim.get(PING)
    assert (await sim.delete("/_sim/stats")).json() == {"total": 0, "calls": {}}


async def test_fault_input_is_validated(sim: httpx.AsyncClient) -> None:
    unknown = await sim.post("/_sim/faults", json={"provider": "nope", "kind": "error"})
    assert unknown.status_code == 422
    assert "unknown provider 'nope'" in unknown.text and "coingecko" in unknown.text
    bad_kind = await sim.post("/_sim/faults", json={"provider": "kraken", "kind": "explode"})
    assert bad_kind.status_code == 422 and "ratelimit" in bad_kind.text
    bad_rate = await sim.post(
        "/_sim/faults", json={"provider": "kraken", "kind": "error", "rate": 2}
    )
    assert bad_rate.status_code == 422
    assert (await sim.get("/_sim/faults")).json() == {"faults": []}


async def test_faults_are_listed_and_deleted(sim: httpx.AsyncClient) -> None:
    first = await add(sim, provider="kraken", kind="error", status=503)
    assert first["id"] == 1 and first["rate"] == 1.0 and first["status"] == 503
    await add(sim, provider="binance", kind="geoblock")
    listed = (await sim.get("/_sim/faults")).json()["faults"]
    assert [f["provider"] for f in listed] == ["kraken", "binance"]
    assert (await sim.delete("/_sim/faults?provider=kraken")).json() == {"removed": 1}
    assert [f["provider"] for f in (await sim.get("/_sim/faults")).json()["faults"]] == ["binance"]
    assert (await sim.delete("/_sim/faults")).json() == {"removed": 1}
    assert (await sim.get("/binance/api/v3/exchangeInfo")).status_code == 200


async def test_error_ratelimit_geoblock_and_malformed(sim: httpx.AsyncClient) -> None:
    await add(sim, provider="kraken", kind="error", status=502)
    assert (await sim.get("/kraken/0/public/Ticker?pair=XBTUSD")).status_code == 502

    await add(sim, provider="coingecko", kind="ratelimit", retry_after_s=120)
    limited = await sim.get(PING)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "120"
    assert limited.json() == recorded("coingecko/error_429.json")
    await add(sim, provider="coinbase", kind="ratelimit", retry_after_s=1.5)
    limited = await sim.get("/coinbase/v2/prices/BTC-USD/spot")
    assert limited.headers["retry-after"] == "2"
    assert limited.json() == recorded("coinbase/app_api_error_429.json")

    await add(sim, provider="binance", kind="geoblock")
    blocked = await sim.get("/binance/api/v3/ticker/24hr?symbol=BTCUSDT")
    assert blocked.status_code == 451 and blocked.json() == recorded("binance/error_451.json")

    await add(sim, provider="coinpaprika", kind="malformed")
    garbled = await sim.get("/coinpaprika/v1/tickers")
    assert garbled.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        garbled.json()
    await add(sim, provider="decrypt", kind="malformed")
    feed = await sim.get("/decrypt/feed")
    assert feed.status_code == 200 and "</rss>" not in feed.text


async def test_outlier_multiplies_only_that_providers_prices(sim: httpx.AsyncClient) -> None:
    url = "/coinpaprika/v1/tickers/btc-bitcoin"
    before = (await sim.get(url)).json()["quotes"]["USD"]["price"]
    gecko_url = "/coingecko/api/v3/simple/price?ids=bitcoin&vs_currencies=usd"
    gecko = (await sim.get(gecko_url)).json()
    await add(sim, provider="coinpaprika", kind="outlier", factor=0.7)
    after = (await sim.get(url)).json()["quotes"]["USD"]["price"]
    assert after == pytest.approx(before * 0.7, rel=1e-12)
    assert (await sim.get(gecko_url)).json() == gecko


async def test_slow_and_timeout_in_process(sim: httpx.AsyncClient) -> None:
    await add(sim, provider="coingecko", kind="slow", delay_s=0.2)
    started = time.monotonic()
    assert (await sim.get(PING)).status_code == 200
    assert time.monotonic() - started >= 0.2
    await sim.delete("/_sim/faults")
    await add(sim, provider="coingecko", kind="timeout", delay_s=0.1)
    assert (await sim.get(PING)).status_code == 504  # held, then a gateway timeout


async def test_reset_in_process_raises_like_a_dropped_connection(sim: httpx.AsyncClient) -> None:
    await add(sim, provider="kraken", kind="reset")
    with pytest.raises(httpx.RemoteProtocolError):
        await sim.get("/kraken/0/public/Ticker?pair=XBTUSD")


async def test_faults_expire_on_the_injected_clock(sim: httpx.AsyncClient, clock: Clock) -> None:
    fault = await add(sim, provider="coingecko", kind="error", for_s=30)
    assert fault["expires_at"].startswith("2026-11-20T12:35:26")
    assert (await sim.get(PING)).status_code == 500
    clock.now += timedelta(seconds=29)
    assert (await sim.get(PING)).status_code == 500
    clock.now += timedelta(seconds=2)
    assert (await sim.get(PING)).status_code == 200
    assert (await sim.get("/_sim/faults")).json() == {"faults": []}


async def test_rate_applies_per_request_with_a_seeded_rng(clock: Clock) -> None:
    outcomes = []
    for _ in range(2):
        app = create_sim_app(seed=1, clock=clock)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sim"
        ) as client:
            await add(client, provider="coingecko", kind="error", rate=0.5)
            outcomes.append([(await client.get(PING)).status_code for _ in range(200)])
    assert outcomes[0] == outcomes[1]  # reproducible
    failed = outcomes[0].count(500)
    assert 70 <= failed <= 130 and failed + outcomes[0].count(200) == 200  # 4 sigma


# -- against a real server on a loopback port ------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[BackgroundSim]:
    running = BackgroundSim(seed=1)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_reset_drops_the_connection(server: BackgroundSim) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        await add(client, provider="kraken", kind="reset")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.get("/kraken/0/public/Ticker?pair=XBTUSD")
        await client.delete("/_sim/faults")
        assert (await client.get("/kraken/0/public/Ticker?pair=XBTUSD")).status_code == 200


async def test_timeout_outlasts_the_client_and_is_released_on_disconnect(
    server: BackgroundSim,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        await add(client, provider="binance", kind="timeout")  # holds for 60 s
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/binance/api/v3/exchangeInfo", timeout=0.3)
        assert time.monotonic() - started < 2
        stats = (await client.get("/_sim/stats")).json()
        assert stats["calls"]["binance"] == {"/api/v3/exchangeInfo": 1}


async def test_shutdown_lets_go_of_held_requests() -> None:
    running = BackgroundSim(seed=1)
    await running.start()
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
        await add(client, provider="binance", kind="timeout")
        pending = asyncio.create_task(client.get("/binance/api/v3/exchangeInfo"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await running.stop()
        assert time.monotonic() - started < 3
        assert (await pending).status_code == 503
