"""Security against real server processes: slow clients are cut off at HEADER_TIMEOUT_S while
others are served, and no configured secret ever shows in a response, a WebSocket frame or
the server's own log (at DEBUG)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn
from websockets.sync.client import connect

from cryptoagg.api.app import create_app
from cryptoagg.api.headertimeout import header_timeout_protocol
from cryptoagg.config import load_settings
from tests.e2e.procs import (
    SPOT_PROVIDERS,
    fault,
    free_port,
    generous_limits,
    server,
    server_env,
    simulator,
    spawn,
    stop,
    wait_until_up,
)

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT_S = 1.0
#: allowance for process scheduling on a busy CI machine
SLACK_S = 1.5


# --- slow clients ----------------------------------------------------------------------------


def _read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes; and when it closed (monotonic)."""
    sock.settimeout(0.05)
    received = b""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received, time.monotonic()
        if not chunk:
            return received, time.monotonic()
        received += chunk
    raise AssertionError(f"still open after {limit_s} s; received {received[:200]!r}")


def _trickle(sock: socket.socket, data: bytes, gap_s: float, stop: threading.Event) -> None:
    for byte in data:
        if stop.is_set():
            return
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return
        time.sleep(gap_s)


def check_slow_clients(base: str) -> None:
    """A slow-loris client, an idle connection and a client owing its body are all closed
    about HEADER_TIMEOUT_S after they started waiting; a normal client is served meanwhile."""
    host, port = base.removeprefix("http://").split(":")
    address = (host, int(port))
    # the headers would take 40 s at one byte per 0.2 s
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
    with socket.create_connection(address) as loris, socket.create_connection(address) as idle:
        opened = time.monotonic()
        stop = threading.Event()
        sender = threading.Thread(target=_trickle, args=(loris, request, 0.2, stop), daemon=True)
        sender.start()
        try:
            time.sleep(0.3)
            assert httpx.get(f"{base}/health", timeout=5).status_code == 200  # others served
            answer, closed = _read_until_closed(loris, HEADER_TIMEOUT_S + SLACK_S + 1)
            idle_answer, idle_closed = _read_until_closed(idle, SLACK_S + 1)
        finally:
            stop.set()
            sender.join(timeout=5)
    assert HEADER_TIMEOUT_S - 0.1 <= closed - opened <= HEADER_TIMEOUT_S + SLACK_S
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert orjson.loads(body)["error"]["code"] == "request_timeout"
    assert idle_answer == b""  # never sent a byte: closed without a word
    assert idle_closed - opened <= HEADER_TIMEOUT_S + SLACK_S

    # a client that declares a body, sends a tenth of it and stalls after the answer
    with socket.create_connection(address) as owing:
        owing.sendall(
            b"POST /api/pools/markets/rotate HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100\r\n\r\n" + b"x" * 10
        )
        sent = time.monotonic()
        answer, closed = _read_until_closed(owing, HEADER_TIMEOUT_S + SLACK_S + 1)
    assert answer.startswith(b"HTTP/1.1 403 ")  # answered (no ADMIN_TOKEN), then dropped
    assert closed - sent <= HEADER_TIMEOUT_S + SLACK_S


def test_slow_clients_are_cut_off_by_the_real_server(tmp_path: Path) -> None:
    """`cryptoagg serve` (uvicorn with httptools and the header-timeout protocol)."""
    env = {"USE_MOCK_DATA": "true", "HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S)}
    with server(tmp_path, env) as base:
        check_slow_clients(base)
        # a request whose headers arrived in time is never cut, however long it takes
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as slow:
            slow.sendall(b"GET /api/market?limit=3 HTTP/1.1\r\nHost: x\r\n\r\n")
            head = slow.recv(65536)
            time.sleep(HEADER_TIMEOUT_S + 0.5)  # kept alive; within uvicorn's keep-alive
        assert head.startswith(b"HTTP/1.1 200 ")


@contextmanager
def threaded_uvicorn(tmp_path: Path, impl: str) -> Iterator[str]:
    app = create_app(load_settings(use_mock_data=True, data_dir=tmp_path, collectors=False))
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        http=header_timeout_protocol(HEADER_TIMEOUT_S, "h11" if impl == "h11" else "httptools"),
        timeout_keep_alive=5,
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not instance.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("impl", ["h11", "httptools"])
def test_slow_clients_are_cut_off_with_either_parser(tmp_path: Path, impl: str) -> None:
    with threaded_uvicorn(tmp_path, impl) as base:
        check_slow_clients(base)


# --- secrets ---------------------------------------------------------------------------------

SECRETS = {
    "COINGECKO_API_KEY": "cg-key-7f3a91c2d4e5",
    "COINCAP_API_KEY": "cc-key-0b8e44a1f9d2",
    "CRYPTOCOMPARE_API_KEY": "ccmp-key-5c1d9e7a3b60",
    "MESSARI_API_KEY": "messari-key-e2f4a6c8b013",
    "CRYPTOPANIC_API_KEY": "cpanic-key-9d7b5f3e1a24",
    "ADMIN_TOKEN": "admin-token-4a6c8e0b2d19",
}
WEBHOOK_SECRET = "hook-secret-c3e5a7b9d1f0"
CLIENT_KEY = "CG-client-key-1b3d5f7a9c"


@contextmanager
def logged_server(data_dir: Path, env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """The server with its log kept for reading after it stopped."""
    port = free_port()
    proc, log = spawn(["serve"], server_env(data_dir, port, env))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/health", proc, log)
        yield base, log
    finally:
        stop(proc)


def _wait_for(log: Path, pattern: str, timeout_s: float = 20.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = re.search(pattern, text)
        if found:
            return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not logged within {timeout_s} s")


def _paths(openapi: dict[str, object]) -> list[str]:
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    return [re.sub(r"\{[^}]+\}", "bitcoin", path) for path, ops in paths.items() if "get" in ops]


def test_no_secret_in_responses_frames_or_logs(tmp_path: Path) -> None:
    env = {
        **SECRETS,
        "ALERT_WEBHOOK_URL": f"http://127.0.0.1:9/alerts/{WEBHOOK_SECRET}",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "LOG_LEVEL": "DEBUG",
        "COLLECTORS": "true",  # the news job calls CryptoPanic, whose key goes in the URL
        "ENABLE_AUTO_DISCOVERY": "true",
        "RATE_LIMIT_PER_MIN": "0",
        "PROVIDERS_FILE": str(generous_limits(tmp_path)),
    }
    secrets = [*SECRETS.values(), WEBHOOK_SECRET, CLIENT_KEY]
    seen: list[str] = []

    def record(response: httpx.Response) -> httpx.Response:
        # what the server sent back (the requests themselves carry secrets as input)
        seen.append("\n".join(f"{k}: {v}" for k, v in response.headers.items()))
        seen.append(response.text)
        return response

    with (
        simulator() as sim,
        logged_server(tmp_path, {**env, "UPSTREAM_BASE_URL": sim}) as (
            base,
            log,
        ),
    ):
        client = httpx.Client(base_url=base, timeout=30)
        openapi = record(client.get("/openapi.json")).json()
        for path in _paths(openapi):
            record(client.get(path))
        for path in (
            "/api/market?limit=5",
            "/api/price/BTC",
            "/api/prices?symbols=BTC,ETH",
            "/api/market/history?symbol=BTC",
            # a CoinGecko client's own key, in the query as pycoingecko sends it
            f"/api/v3/simple/price?ids=bitcoin&vs_currencies=usd&x_cg_demo_api_key={CLIENT_KEY}",
        ):
            record(client.get(path))
        with connect(base.replace("http", "ws") + "/ws", open_timeout=5) as ws:
            ws.send(orjson.dumps({"subscribe": ["providers", "prices:bitcoin", "news"]}).decode())
            frames = [str(ws.recv(timeout=15)) for _ in range(3)]
            seen.extend(frames)
            metrics = record(client.get("/metrics")).text
        assert {orjson.loads(f)["type"] for f in frames} <= {"snapshot", "update", "heartbeat"}
        assert re.search(r"^cryptoagg_websocket_clients 1\.0$", metrics, re.M)
        # 422s: keys sent as bad input are never echoed (nor logged: the request line in the
        # access log is masked like any configured secret)
        for secret in SECRETS.values():
            record(client.get("/api/market", params={"limit": secret}))
            record(client.post("/api/hf/run-sentiment", json={"texts": secret}))
        # 403 and 200 with the admin token
        admin = SECRETS["ADMIN_TOKEN"]
        record(client.post("/api/pools/markets/rotate", headers={"authorization": "Bearer x"}))
        rotate = record(
            client.post("/api/pools/markets/rotate", headers={"authorization": f"Bearer {admin}"})
        )
        assert rotate.status_code == 200
        # keyed providers refuse their key, then nothing answers: 503 with every reason
        keyed = {"coingecko", "coincap", "cryptocompare", "messari"}
        for provider in keyed | set(SPOT_PROVIDERS):
            fault(sim, provider, "error", status=401 if provider in keyed else 503)
        unavailable = record(client.get("/api/price/SOL"))
        assert unavailable.status_code == 503, unavailable.text
        providers = record(client.get("/api/providers")).json()["providers"]
        disabled = {p["name"] for p in providers if not p["enabled"]}
        assert disabled >= keyed  # their keys were in use, and refused
        record(client.get("/api/logs/errors"))
        # the CryptoPanic key travels in the query string: logged URLs carry it masked
        redacted = _wait_for(log, r"url='[^']*cryptopanic[^']*auth_token=[^'&]*")
        client.close()
    logged = log.read_text(errors="replace")
    log.unlink()
    assert redacted.endswith("auth_token=%2A%2A%2A")  # masked by redact_url itself
    assert "upstream_call" in logged and "provider=coincap" in logged
    assert "x_cg_demo_api_key=%2A%2A%2A" in logged  # the access log line, masked
    assert len(seen) > 100
    everything = "\n".join(seen)
    for secret in secrets:
        assert secret not in everything, f"{secret} in a response"
        assert secret not in logged, f"{secret} in the log"
