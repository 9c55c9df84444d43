"""`cryptoagg analyze` as a user runs it: a real process against the simulator."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_main import run

pytestmark = pytest.mark.e2e


def row(out: str, name: str) -> str:
    line = next(line for line in out.splitlines() if line.strip("│ ").startswith(name + " "))
    return line.strip().strip("│").split("│")[1].strip()


def test_analyze_prints_the_indicators_of_the_stored_candles(tmp_path: Path) -> None:
    first = run(["analyze", "BTC", "--interval", "1d", "--window", "60", "--mock"], tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "Analysis of BTC (bitcoin): 60 1d candles" in out
    assert "computed now" in out
    with sqlite3.connect(tmp_path / "mock" / "cryptoagg.db") as connection:
        closes = [
            float(c)
            for (c,) in connection.execute(
                "SELECT close FROM candles WHERE asset_id = 'bitcoin' AND interval = '1d' "
                "ORDER BY open_time"
            )
        ]
        stored = connection.execute('SELECT "window", interval FROM market_analysis').fetchall()
    assert len(closes) == 60 and stored == [(60, "1d")]
    assert row(out, "close") == f"{closes[-1]:,.2f}"
    assert row(out, "SMA(20)") == f"{sum(closes[-20:]) / 20:,.2f}"
    assert row(out, "SMA(200)") == "-"
    assert row(out, "RSI(14)").endswith(("(neutral)", "(overbought)", "(oversold)"))
    assert row(out, "trend").split()[0] in ("uptrend", "downtrend", "sideways")

    again = run(["analyze", "bitcoin", "--window", "60", "--method", "--mock"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "stored analysis reused" in again.stdout
    assert row(again.stdout, "SMA(20)") == row(out, "SMA(20)")
    assert "rsi: Wilder RSI(14)" in again.stdout
    assert "sqrt(365)" in again.stdout


def test_analyze_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    unknown = run(["analyze", "NOPECOINXYZ", "--mock"], tmp_path)
    assert unknown.returncode == 1
    assert "unknown asset: 'NOPECOINXYZ'" in unknown.stderr
    no_budget = run(["analyze", "ETH", "--mock"], tmp_path, HISTORY_BACKFILL_CALLS="0")
    assert no_budget.returncode == 1
    assert "needs at least 50 closed candles; 0 are available" in no_budget.stderr
    minute = run(["analyze", "BTC", "--interval", "1m"], tmp_path)
    assert minute.returncode == 2 and "1m" in minute.stderr
    short = run(["analyze", "BTC", "--window", "10"], tmp_path)
    assert short.returncode == 2
    assert "Traceback" not in unknown.stderr + no_budget.stderr + minute.stderr + short.stderr
