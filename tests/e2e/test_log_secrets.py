"""Issue 13, point 2: a 500's traceback is logged, in both log formats, without a secret and
without local variables (which held the request's headers: the admin token, cookies, keys).

The server is a real `cryptoagg serve` process; the 500 is a real failure: the `alerts` table
is dropped under the running server, so `GET /api/alerts` fails inside SQLAlchemy.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import free_port, server_env, spawn, stop, wait_until_up

pytestmark = pytest.mark.e2e

ADMIN_TOKEN = "admin-token-e2e-5d7f9b1c3a"
PROVIDER_KEYS = {
    "COINGECKO_API_KEY": "cg-key-e2e-8a6c4e2f0b",
    "CRYPTOCOMPARE_API_KEY": "ccmp-key-e2e-1f3b5d7e9c",
}
WEBHOOK_SECRET = "hook-secret-e2e-2c4e6a8b0d"
# what the failing request's client sends: none of these is configured, only the header
# names tell them apart
COOKIE_VALUE = "session-e2e-0e2a4c6b8d"
CLIENT_KEY = "client-key-e2e-7b9d1f3a5c"
DEMO_KEY = "CG-demo-e2e-3a5c7e9b1d"
SECRETS = [
    ADMIN_TOKEN,
    *PROVIDER_KEYS.values(),
    WEBHOOK_SECRET,
    COOKIE_VALUE,
    CLIENT_KEY,
    DEMO_KEY,
]
#: what the old console log showed: Rich's `locals` panels, and in them the ASGI scope
LOCALS_MARKERS = ("locals", "│", "╭", "'type': 'http'", "'headers': [")


def _failing_request(base: str, data_dir: Path) -> httpx.Response:
    with sqlite3.connect(data_dir / "cryptoagg.db") as db:
        db.execute("DROP TABLE alerts")
    return httpx.get(
        f"{base}/api/alerts",
        # a configured key in a parameter no rule knows by name: only its value gives it away
        params={"limit": "5", "ref": PROVIDER_KEYS["COINGECKO_API_KEY"]},
        headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}",
            "Cookie": f"session={COOKIE_VALUE}; theme=dark",
            "X-Api-Key": CLIENT_KEY,
            "x-cg-demo-api-key": DEMO_KEY,
        },
        timeout=10,
    )


def _served_and_logged(data_dir: Path, log_format: str) -> tuple[httpx.Response, str]:
    """The failing request's response, and everything the server wrote (stdout and stderr)
    once both records of the failure are in: the app's and uvicorn's."""
    port = free_port()
    env = {
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": "INFO",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        **PROVIDER_KEYS,
        "ALERT_WEBHOOK_URL": f"http://127.0.0.1:9/hooks/{WEBHOOK_SECRET}",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        # nothing here calls a provider; should anything try, it finds a closed local port
        "UPSTREAM_BASE_URL": "http://127.0.0.1:9",
    }
    proc, log = spawn(["serve"], server_env(data_dir, port, env))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/health", proc, log)
        response = _failing_request(base, data_dir)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if "unhandled_error" in text and "Exception in ASGI application" in text:
                break
            time.sleep(0.1)
    finally:
        stop(proc)
    output = log.read_text(errors="replace")
    log.unlink()
    return response, output


def _assert_clean(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output, f"{secret} in the log"
    for marker in LOCALS_MARKERS:
        assert marker not in output, f"{marker!r}: local variables in the log"


def _assert_traceback(traceback: str) -> None:
    assert traceback.startswith("Traceback (most recent call last):")
    assert 'api/routes/monitoring.py", line' in traceback  # the route's own frame
    assert "sqlite3.OperationalError: no such table: alerts" in traceback


def test_a_500_in_console_format_logs_its_traceback_and_no_secret(tmp_path: Path) -> None:
    response, output = _served_and_logged(tmp_path, "console")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    _assert_clean(output)
    # the app's record and uvicorn's (the exception escapes to the server), each with the
    # plain traceback after its line
    for event in ("unhandled_error", "Exception in ASGI application"):
        after = output.split(event, 1)[1]
        _assert_traceback(after[after.index("Traceback") :])
    assert "error_type=OperationalError" in output


def test_a_500_in_json_format_logs_its_traceback_and_no_secret(tmp_path: Path) -> None:
    response, output = _served_and_logged(tmp_path, "json")
    assert response.status_code == 500
    _assert_clean(output)
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    failures = [
        r for r in records if r["event"].startswith(("unhandled_error", "Exception in ASGI"))
    ]
    assert [r["event"].strip() for r in failures] == [
        "unhandled_error",
        "Exception in ASGI application",
    ]
    for record in failures:
        assert record["level"] == "error"
        assert "exc_info" not in record
        _assert_traceback(record["exception"])
