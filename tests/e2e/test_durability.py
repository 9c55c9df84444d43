"""Nothing acknowledged is lost on `kill -9`: the server is killed 20 times while its
collectors write; after each kill the database passes SQLite's integrity check and holds every
row the server had already served through its API."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import free_port, generous_limits, server_env, simulator, spawn, wait_until_up

pytestmark = pytest.mark.e2e

KILLS = 20


def acknowledged(base: str) -> tuple[set[str], set[str]]:
    """Candle open times and price tick times the server serves right now: it has
    committed them, so they must survive whatever happens next."""
    now = datetime.now(UTC)
    candles = httpx.get(
        f"{base}/api/crypto/history/bitcoin",
        params={
            "interval": "1m",
            "start": (now - timedelta(days=3)).isoformat(),
            "end": now.isoformat(),
            "backfill": "false",
        },
        timeout=10,
    ).json()["candles"]
    ticks = httpx.get(
        f"{base}/api/market/history", params={"symbol": "bitcoin", "limit": 1000}, timeout=10
    ).json()["history"]
    return {c["time"] for c in candles}, {t["as_of"] for t in ticks}


def stored(db: Path) -> tuple[set[str], set[str]]:
    def iso(text: str) -> str:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")

    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        candles = connection.execute(
            "SELECT open_time FROM candles WHERE asset_id = 'bitcoin' AND interval = '1m'"
        ).fetchall()
        ticks = connection.execute("SELECT as_of FROM prices WHERE asset_id = 'bitcoin'").fetchall()
    return {iso(r[0]) for r in candles}, {iso(r[0]) for r in ticks}


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(5)
    db = tmp_path / "cryptoagg.db"
    seen_candles: set[str] = set()
    seen_ticks: set[str] = set()
    with simulator() as sim:
        env = {
            "UPSTREAM_BASE_URL": sim,
            "PROVIDERS_FILE": str(generous_limits(tmp_path)),
            "COLLECTORS": "true",
            "COLLECT_ASSETS": "20",
            "COLLECT_PRICES_S": "5",
            "PRICE_TTL_S": "0",
            # a week of minutes for 20 assets: each start has hundreds of chunks to write
            "COLLECT_CANDLES_LOOKBACK_H": "168",
        }
        for kill in range(KILLS):
            port = free_port()
            proc, log = spawn(["serve"], server_env(tmp_path, port, env))
            base = f"http://127.0.0.1:{port}"
            try:
                wait_until_up(base + "/health", proc, log)
                time.sleep(rng.uniform(0.3, 1.5))  # the collectors are writing
                candles, ticks = acknowledged(base)
                time.sleep(rng.uniform(0.0, 0.5))
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                log.unlink(missing_ok=True)
            seen_candles |= candles
            seen_ticks |= ticks
            on_disk_candles, on_disk_ticks = stored(db)
            assert seen_candles <= on_disk_candles, f"kill {kill}: candles lost"
            assert seen_ticks <= on_disk_ticks, f"kill {kill}: price ticks lost"
    assert len(seen_candles) > 1000 and len(seen_ticks) >= 1  # the test watched real writes
