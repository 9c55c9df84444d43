"""`/api/analysis/{symbol}` in-process, in mock mode (candles from the simulator)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cryptoagg.core import indicators as ind
from cryptoagg.core.analysis import METHOD_VERSION
from tests.api.conftest import AppClient


def last_closed_day() -> str:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today - timedelta(days=1)).isoformat().replace("+00:00", "Z")


async def test_analysis_of_stored_candles_is_stored_and_reused(
    app_client: AppClient, tmp_path: Path
) -> None:
    params = {"interval": "1d", "window": "60"}
    async with app_client() as client:
        first = await client.get("/api/analysis/BTC", params=params)
        second = await client.get("/api/analysis/bitcoin", params=params)
        body = first.json()
        history = await client.get(
            "/api/crypto/history/BTC",
            params={"interval": "1d", "start": body["first"], "end": body["last"]},
        )
    assert first.status_code == 200, first.text
    assert (body["asset_id"], body["symbol"], body["interval"]) == ("bitcoin", "BTC", "1d")
    assert (body["window"], body["candles"], body["last"]) == (60, 60, last_closed_day())
    assert body["reused"] is False and body["backfilled"] == 60
    # the figures are those of the stored candles the history endpoint serves
    closes = [float(c["close"]) for c in history.json()["candles"]]
    assert len(closes) == 60 and closes[-1] == body["close"]
    got = body["indicators"]
    assert got["sma"]["20"] == pytest.approx(sum(closes[-20:]) / 20)
    assert got["sma"]["200"] is None
    assert got["ema"]["26"] == pytest.approx(ind.ema(closes, 26)[-1])
    assert got["rsi"]["value"] == pytest.approx(ind.rsi(closes, 14)[-1])
    assert got["macd"]["signal"] == pytest.approx(ind.macd(closes).signal[-1])
    assert got["volatility"]["periods_per_year"] == 365
    assert body["trend"]["label"] in ("uptrend", "downtrend", "sideways")
    assert "sqrt(365)" in body["method"]["volatility"]
    assert all(lv["price"] < body["close"] for lv in body["levels"]["support"])
    assert all(lv["price"] > body["close"] for lv in body["levels"]["resistance"])
    # the second request is served from market_analysis
    again = second.json()
    assert again["reused"] is True and again["backfilled"] == 0
    assert again["computed_at"] == body["computed_at"]
    assert again["indicators"] == body["indicators"]
    with sqlite3.connect(tmp_path / "mock" / "cryptoagg.db") as connection:
        stored = connection.execute(
            'SELECT asset_id, interval, "window", method FROM market_analysis'
        ).fetchall()
    assert stored == [("bitcoin", "1d", 60, METHOD_VERSION)]


async def test_hourly_analysis_uses_8760_periods_a_year(app_client: AppClient) -> None:
    async with app_client() as client:
        response = await client.get("/api/analysis/ETH", params={"interval": "1h"})
    body = response.json()
    assert response.status_code == 200, response.text
    assert (body["interval"], body["window"], body["candles"]) == ("1h", 200, 200)
    assert body["indicators"]["sma"]["200"] is not None
    assert body["indicators"]["volatility"]["periods_per_year"] == 8760
    vol = body["indicators"]["volatility"]
    assert vol["annualised"] == pytest.approx(vol["per_period"] * 8760**0.5)


async def test_too_few_candles_is_a_422_saying_how_many(app_client: AppClient) -> None:
    async with app_client(history_backfill_calls=0) as client:
        response = await client.get("/api/analysis/BTC", params={"interval": "1d"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "not_enough_candles"
    assert error["message"] == (
        "analysis of bitcoin at 1d needs at least 50 closed candles; 0 are available; "
        "200 more can be fetched later (providers unavailable or the request's backfill "
        "budget spent)"
    )


async def test_bad_input_is_refused_in_the_error_shape(app_client: AppClient) -> None:
    async with app_client() as client:
        short = await client.get("/api/analysis/BTC", params={"window": "10"})
        minute = await client.get("/api/analysis/BTC", params={"interval": "1m"})
        unknown = await client.get("/api/analysis/NOPECOINXYZ")
    assert short.status_code == 422
    assert short.json()["error"]["details"][0]["field"] == "query.window"
    assert minute.status_code == 422
    assert minute.json()["error"]["details"][0]["field"] == "query.interval"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_asset"


async def test_openapi_documents_the_response_and_errors(app_client: AppClient) -> None:
    async with app_client() as client:
        schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/api/analysis/{symbol}"]["get"]
    assert operation["summary"] == "Indicators, support/resistance levels and trend of an asset"
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/AnalysisOut")
    model = schema["components"]["schemas"]["AnalysisOut"]
    assert model["examples"][0]["trend"]["label"] == "uptrend"
    assert set(operation["responses"]) >= {"200", "404", "409", "422"}
    example = operation["responses"]["409"]["content"]["application/json"]["example"]
    assert example["error"]["code"] == "ambiguous_symbol"
