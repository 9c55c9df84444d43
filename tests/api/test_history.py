from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

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


async def test_sixteen_hours_of_a_day_then_the_day_is_the_providers_and_analysis_skips_none(
    app_client: AppClient, tmp_path: Path
) -> None:
    """Hourly history starting at 08:00 rolls up into a partial day (16 of 24 hours); asking
    for days fetches the provider's candle for it, and the analysis computes on no partial
    candle."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=3)
    days = {"interval": "1d", "start": iso(first), "end": iso(first + timedelta(days=2))}
    async with app_client() as client:
        hours = await client.get(
            "/api/crypto/history/SOL",
            params={"interval": "1h", "start": iso(first + timedelta(hours=8))},
        )
        stored = await client.get("/api/crypto/history/SOL", params={**days, "backfill": "false"})
        filled = await client.get("/api/crypto/history/SOL", params=days)
        analysis = await client.get("/api/analysis/SOL", params={"interval": "1d", "window": 60})
        body = analysis.json()
        used = await client.get(
            "/api/crypto/history/SOL",
            params={"interval": "1d", "start": body["first"], "end": body["last"]},
        )
    assert hours.status_code == 200 and hours.json()["missing"] == []
    # before: the first day is a rollup of its 16 stored hours, so it counts as missing
    before = stored.json()["candles"]
    assert [(c["source"], c["partial"]) for c in before] == [
        ("rollup", True),
        ("rollup", False),
        ("rollup", False),
    ]
    assert (before[0]["sub_candles"], before[0]["sub_candles_expected"]) == (16, 24)
    assert "sub_candles" not in before[1]
    assert stored.json()["missing"] == [{"start": iso(first), "end": iso(first), "candles": 1}]
    # after: the provider's own daily candle replaced it
    after = filled.json()
    assert after["backfilled"] == 1 and after["missing"] == []
    assert after["candles"][0]["source"] != "rollup" and after["candles"][0]["partial"] is False
    assert after["candles"][0]["open"] != before[0]["open"]  # 00:00's open, not 08:00's
    assert after["candles"][1:] == before[1:]
    # the analysis: 60 complete days, the first of them among the window
    assert analysis.status_code == 200, analysis.text
    assert (body["window"], body["candles"]) == (60, 60)
    window = used.json()["candles"]
    assert len(window) == 60 and not any(c["partial"] for c in window)
    assert iso(first) in [c["time"] for c in window]
    assert body["close"] == float(window[-1]["close"])
    with sqlite3.connect(tmp_path / "mock" / "cryptoagg.db") as connection:
        partial_days = connection.execute(
            "SELECT count(*) FROM candles WHERE interval = '1d' AND partial AND open_time < ?",
            (today.strftime("%Y-%m-%d %H:%M:%S"),),
        ).fetchone()
    assert partial_days == (0,)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def test_the_openapi_example_has_the_fields_of_a_real_answer(app_client: AppClient) -> None:
    async with app_client() as client:
        spec = (await client.get("/openapi.json")).json()
        real = (await client.get("/api/crypto/history/BTC", params={"interval": "1d"})).json()
    operation = spec["paths"]["/api/crypto/history/{symbol}"]["get"]
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert set(example) == set(real) - {"_mock"}
    assert (
        set(example["candles"][0])
        == set(real["candles"][0])
        == {
            "time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "source",
            "partial",
        }
    )
    # a partial candle's extra fields are documented in the description
    assert "`sub_candles_expected`" in operation["description"]
