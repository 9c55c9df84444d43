from __future__ import annotations

import asyncio
from typing import Any

from tests.api.conftest import AppClient


async def test_pools_are_listed_per_capability(app_client: AppClient) -> None:
    async with app_client() as client:
        pools = {p["id"]: p for p in (await client.get("/api/pools")).json()["pools"]}
    assert pools["spot_price"]["strategy"] == "priority"
    assert pools["spot_price"]["members"][:3] == ["coingecko", "binance", "kraken"]
    assert pools["fear_greed"]["members"] == ["alternative_me"]


async def test_rotate_needs_the_admin_token(app_client: AppClient) -> None:
    async with app_client() as client:
        response = await client.post("/api/pools/markets/rotate")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "ADMIN_TOKEN is not set" in response.json()["error"]["message"]

    async with app_client(admin_token="s3cret-admin") as client:
        wrong = await client.post(
            "/api/pools/markets/rotate", headers={"authorization": "Bearer nope"}
        )
        assert wrong.status_code == 403
        assert "s3cret-admin" not in wrong.text
        await client.get("/api/crypto/history/BTC", params={"interval": "1d"})
        before = (await client.get("/api/pools")).json()
        ok = await client.post(
            "/api/pools/ohlcv/rotate", headers={"authorization": "Bearer s3cret-admin"}
        )
        assert ok.status_code == 200
        rotations = (await client.get("/api/pools/ohlcv/rotations")).json()["rotations"]
        missing = await client.get("/api/pools/nope/rotations")
    ohlcv = next(p for p in before["pools"] if p["id"] == "ohlcv")
    rotation = ok.json()["rotation"]
    assert rotation["from"] == ohlcv["current"] == "binance"  # coingecko has no 1d candles
    # the preferred member moves to the back: the next in line is preferred
    assert rotation["to"] == ohlcv["members"][1]
    assert rotations[0]["reason"] == "manual rotation"
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_pool"


async def test_providers_report_health_fields(app_client: AppClient) -> None:
    async with app_client() as client:
        await client.get("/api/price/bitcoin")
        rows = {p["name"]: p for p in (await client.get("/api/providers")).json()["providers"]}
    kraken = rows["kraken"]
    assert kraken["state"] == "ok" and kraken["breaker"] == "closed"
    assert kraken["success_rate_1h"] == 1.0
    assert kraken["latency_ms"]["p50"] > 0
    assert kraken["quota"]["used_this_month"] == 1
    assert rows["coingecko"]["quota"]["monthly"] == 10000
    assert (
        rows["coingecko"]["quota"]["left"] == 10000 - rows["coingecko"]["quota"]["used_this_month"]
    )


def shape(value: Any) -> Any:
    """Keys and nesting without the values (a list by its first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


async def test_the_providers_example_has_the_shape_of_an_answer(app_client: AppClient) -> None:
    # collectors on: their jobs are in each provider's schedule
    async with app_client(collectors=True) as client:
        spec = (await client.get("/openapi.json")).json()
        rows = {p["name"]: p for p in (await client.get("/api/providers")).json()["providers"]}
    operation = spec["paths"]["/api/providers"]["get"]
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    shown = example["providers"][0]
    assert rows[shown["name"]]["schedule"]
    assert shape(shown) == shape(rows[shown["name"]])


async def test_batch_prices_share_one_call_per_provider(app_client: AppClient) -> None:
    async with app_client() as client:
        first = await client.get("/api/prices", params={"symbols": "BTC,eth,SOL"})
        again = await client.get("/api/prices", params={"symbols": "solana,ethereum,bitcoin"})
        bad = await client.get("/api/prices", params={"symbols": " , "})
        rows = {p["name"]: p for p in (await client.get("/api/providers")).json()["providers"]}
    body = first.json()
    assert [p["asset_id"] for p in body["prices"]] == ["bitcoin", "ethereum", "solana"]
    assert all(len(p["sources"]) >= 3 for p in body["prices"])
    assert body["missing"] == []
    # the same cache entry, in the order asked
    assert [p["asset_id"] for p in again.json()["prices"]] == ["solana", "ethereum", "bitcoin"]
    assert again.json()["prices"][2]["price"] == body["prices"][0]["price"]
    assert rows["kraken"]["quota"]["used_this_month"] == 1  # one Ticker call for all three
    assert bad.status_code == 422


async def test_market_requests_are_recorded_and_served_as_history(app_client: AppClient) -> None:
    async with app_client() as client:
        for _ in range(3):
            assert (await client.get("/api/market", params={"limit": 5})).status_code == 200
        for _ in range(100):
            history = (await client.get("/api/market/history", params={"symbol": "BTC"})).json()
            if history["count"]:
                break
            await asyncio.sleep(0.05)
        unknown = await client.get("/api/market/history", params={"symbol": "NOPECOINXYZ"})
    assert history["asset_id"] == "bitcoin"
    assert history["count"] == 1  # three requests, one upstream listing, one record
    # every listing provider that listed it and agreed
    assert history["history"][0]["sources"] == ["coincap", "coingecko", "coinpaprika"]
    assert history["history"][0]["price"] > 0
    assert unknown.status_code == 404
