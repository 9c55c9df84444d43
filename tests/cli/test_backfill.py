"""`cryptoagg backfill` as a user runs it, including being killed half-way."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_main import run

pytestmark = pytest.mark.e2e


def rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        counted = connection.execute(
            "SELECT interval, count(*), count(DISTINCT open_time) FROM candles "
            "WHERE asset_id = 'bitcoin' GROUP BY interval"
        ).fetchall()
    for interval, total, distinct in counted:
        assert total == distinct, interval
    return {interval: total for interval, total, _ in counted}


def table_row(out: str, interval: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.strip("│ ").startswith(interval + " "))
    return [cell.strip() for cell in line.strip("│").split("│")]


def test_backfill_fills_each_tier_and_a_second_run_fetches_nothing(tmp_path: Path) -> None:
    first = run(["backfill", "--symbol", "BTC", "--days", "30", "--mock"], tmp_path)
    assert first.returncode == 0, first.stderr
    # interval, days, missing, added, calls, still missing
    assert table_row(first.stdout, "1d")[1:4] == ["30", "30", "30"]
    assert table_row(first.stdout, "1h")[1:4] == ["30", "720", "720"]
    assert table_row(first.stdout, "1m")[1:] == ["7", "10,080", "10,080", "14", "0"]
    stored = rows(tmp_path / "mock" / "cryptoagg.db")
    assert stored["1m"] == 10080 and stored["1h"] >= 720 and stored["1d"] >= 30
    second = run(["backfill", "--symbol", "BTC", "--days", "30", "--mock"], tmp_path)
    assert second.returncode == 0, second.stderr
    for interval in ("1d", "1h"):
        assert table_row(second.stdout, interval)[2:] == ["0", "0", "0", "0"]


def test_a_killed_backfill_resumes_without_duplicates(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "USE_MOCK_DATA"}
    env.update({"DATA_DIR": str(tmp_path), "COLUMNS": "200"})
    args = [sys.executable, "-m", "cryptoagg", "backfill", "--symbol", "ETH", "--days", "365"]
    proc = subprocess.Popen(
        [*args, "--mock"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    db = tmp_path / "mock" / "cryptoagg.db"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # kill it once some candles are in
        if db.exists():
            with sqlite3.connect(db) as connection:
                try:
                    n = connection.execute("SELECT count(*) FROM candles").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
            if n > 0:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = run(["backfill", "--symbol", "ETH", "--days", "365", "--mock"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    for interval in ("1d", "1h", "1m"):
        assert table_row(resumed.stdout, interval)[5] == "0"  # nothing left missing
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        counted = connection.execute(
            "SELECT interval, count(*), count(DISTINCT open_time) FROM candles "
            "WHERE asset_id = 'ethereum' GROUP BY interval"
        ).fetchall()
    by_interval = {interval: (total, distinct) for interval, total, distinct in counted}
    assert all(total == distinct for total, distinct in by_interval.values())
    assert by_interval["1d"][0] >= 365 and by_interval["1h"][0] >= 365 * 24
