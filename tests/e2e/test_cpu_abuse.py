"""Issue 13, point 5, against a real server: clients saturating `POST /api/hf/run-sentiment`
within the request rate limit are refused once over their character budget (429) or while
the CPU worker and its queue are taken (503), both with `Retry-After` in the error shape,
and `/health` keeps answering meanwhile. Before the limiter every abusive request got 200
and `/health` took seconds (the figure is `bench/cpu_abuse.py`'s; here only a generous
bound)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.cpu_load import heavy_texts
from tests.e2e.procs import server

pytestmark = pytest.mark.e2e

TEXTS, CHARS = 32, 2000
ABUSE_S = 6.0
#: one address per abuser (the whole of 127.0.0.0/8 is loopback): each has its own budget
ABUSERS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
#: 9 requests a second at most from each client, under the rate limit's 10
SEND_EVERY_S = 0.11
#: a very generous bound: the benchmark's p99 is tens of milliseconds
HEALTH_LIMIT_S = 1.0


def _abuse(
    base: str, address: str, texts: list[str], until: float, out: list[httpx.Response]
) -> None:
    """Maximum-size requests from `address`, one at a time, at most one per SEND_EVERY_S:
    within the request rate limit (RATE_LIMIT_PER_MIN=600)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base, transport=transport, timeout=60) as client:
        while (now := time.monotonic()) < until:
            out.append(client.post("/api/hf/run-sentiment", json={"texts": texts}))
            time.sleep(max(0.0, now + SEND_EVERY_S - time.monotonic()))


def _check_refusal(response: httpx.Response, code: str) -> None:
    error = response.json()["error"]
    assert error["code"] == code, response.text
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    assert error["details"] == {"retry_after_s": retry_after}


def test_sentiment_abuse_is_refused_and_health_stays_fast(tmp_path: Path) -> None:
    env = {
        "UPSTREAM_BASE_URL": "http://127.0.0.1:9",  # nothing listens: no outbound call
        "SENTIMENT_MAX_TEXTS": str(TEXTS),
        "SENTIMENT_MAX_CHARS": str(CHARS),
        # the default rate, bursts of one maximum-size request (the default is four): then
        # about one every 4 s
        "SENTIMENT_CLIENT_CHARS_PER_MIN": "1000000",
        "SENTIMENT_CLIENT_BURST_CHARS": str(TEXTS * CHARS),
        "CPU_WORKERS": "1",
        "CPU_QUEUE": "1",
    }
    texts = heavy_texts(TEXTS, CHARS)
    with server(tmp_path, env) as base:
        responses: dict[str, list[httpx.Response]] = {address: [] for address in ABUSERS}
        until = time.monotonic() + ABUSE_S
        threads = [
            threading.Thread(target=_abuse, args=(base, address, texts, until, responses[address]))
            for address in ABUSERS
        ]
        for thread in threads:
            thread.start()
        health: list[tuple[int, float]] = []
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.monotonic() < until:
                started = time.perf_counter()
                status = client.get("/health").status_code
                health.append((status, time.perf_counter() - started))
                time.sleep(0.1)
        for thread in threads:
            thread.join(timeout=60)

    statuses = Counter(r.status_code for rs in responses.values() for r in rs)
    assert set(statuses) <= {200, 429, 503}, statuses
    assert statuses[200] >= len(ABUSERS)  # each client's burst was served
    assert statuses[429] > 0 and statuses[503] > 0, statuses
    for address in ABUSERS:  # every client ran into its own budget
        assert any(r.status_code == 429 for r in responses[address]), address
    everything = [r for rs in responses.values() for r in rs]
    _check_refusal(next(r for r in everything if r.status_code == 429), "cost_budget_exceeded")
    _check_refusal(next(r for r in everything if r.status_code == 503), "busy")
    assert len(health) >= 20
    slow = [
        (status, round(seconds, 3))
        for status, seconds in health
        if status != 200 or seconds > HEALTH_LIMIT_S
    ]
    assert not slow, slow
