from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.api.conftest import AppClient


async def test_history_fills_a_missing_range_once_then_serves_it_from_storage(
    app_client: AppClient,
) -> None:
    async with app_client() as client:
        first = await client.get("/api/crypto/history/BTC", params={"interval": "1h"})
        second = await client.get(
            "/api/crypto/history/bitcoin", params={"interval": "1h", "end": first.json()["end"]}
        )
        stats = (await client.get("/api/providers")).json()
    assert first.status_code == 200, first.text
    body = first.json()
    # 200 hours up to the current one, which has not closed yet: 199 candles
    assert (body["asset_id"], body["interval"], body["count"]) == ("bitcoin", "1h", 199)
    assert body["backfilled"] == 199 and body["missing"] == []
    times = [datetime.fromisoformat(c["time"]) for c in body["candles"]]
    assert times == sorted(times) and times[1] - times[0] == timedelta(hours=1)
    assert times[-1] == datetime.fromisoformat(body["end"]) - timedelta(hours=1)
    candle = body["candles"][0]
    assert (
        Decimal(str(candle["low"])) <= Decimal(str(candle["open"])) <= Decimal(str(candle["high"]))
    )
    assert second.json()["backfilled"] == 0
    assert second.json()["candles"] == body["candles"]
    binance = {p["name"]: p for p in stats["providers"]}["binance"]
    assert binance["successes"] == 1  # one upstream call for both requests


async def test_history_without_backfill_reports_what_is_missing(app_client: AppClient) -> None:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    start = end - timedelta(days=9)
    params = {
        "interval": "1d",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "backfill": "false",
    }
    async with app_client() as client:
        response = await client.get("/api/crypto/history/ETH", params=params)
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 0 and body["backfilled"] == 0
    assert sum(s["candles"] for s in body["missing"]) == 10


async def test_history_refuses_bad_ranges(app_client: AppClient) -> None:
    async with app_client() as client:
        wrong_interval = await client.get("/api/crypto/history/BTC", params={"interval": "5m"})
        reversed_range = await client.get(
            "/api/crypto/history/BTC",
            params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        )
        too_long = await client.get(
            "/api/crypto/history/BTC",
            params={
                "interval": "1m",
                "start": "2026-01-01T00:00:00Z",
                "end": "2026-02-01T00:00:00Z",
            },
        )
        unknown = await client.get("/api/crypto/history/NOPECOIN")
    assert wrong_interval.status_code == 422
    assert reversed_range.status_code == 422
    assert "start must not be after end" in reversed_range.json()["error"]["message"]
    assert too_long.status_code == 422 and "at most 5000" in too_long.json()["error"]["message"]
    assert unknown.status_code == 404
