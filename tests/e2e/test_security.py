"""Security against real server processes: slow clients are cut off at HEADER_TIMEOUT_S while
others are served; oversized request heads are refused while they arrive (414/431) and the
server's memory stays flat under a flood of them; one client address can take neither every
WebSocket slot nor more upgrades than its rate limit; behind trusted proxies each forwarded
client has its own rate limit; and no configured secret ever shows in a response, a
WebSocket frame or the server's own log (at DEBUG)."""

from __future__ import annotations

import contextlib
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
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from cryptoagg.api.app import create_app
from cryptoagg.api.http.headertimeout import server_protocol
from cryptoagg.api.http.headlimits import HeadLimits
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


#: head caps of the threaded servers: smaller than the defaults, so the settings are what
#: the protocol applies
SMALL_HEADS = HeadLimits(max_url_bytes=1024, max_header_bytes=4096, max_headers=20)


@contextmanager
def threaded_uvicorn(tmp_path: Path, impl: str) -> Iterator[str]:
    settings = load_settings(
        use_mock_data=True,
        data_dir=tmp_path,
        collectors=False,
        header_timeout_s=HEADER_TIMEOUT_S,
        max_url_bytes=SMALL_HEADS.max_url_bytes,
        max_header_bytes=SMALL_HEADS.max_header_bytes,
        max_headers=SMALL_HEADS.max_headers,
    )
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        http=server_protocol(settings, "h11" if impl == "h11" else "httptools"),
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


# --- request heads ---------------------------------------------------------------------------


def _address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def _exchange(base: str, request: bytes) -> tuple[int, bytes, bytes]:
    """Send `request` on a new connection; the status, head and body of the answer (the
    server closes: after a refusal, or because the request asked it to)."""
    with socket.create_connection(_address(base)) as sock:
        sock.sendall(request)
        answer, _ = _read_until_closed(sock, 10)
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def _request(target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return b"GET " + target + b" HTTP/1.1\r\n" + lines + b"\r\n"


def _full_head(limits: HeadLimits) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A request target and headers exactly at the caps."""
    target = b"/health?pad="
    target += b"a" * (limits.max_url_bytes - len(target))
    headers = [(b"host", b"x"), (b"connection", b"close")]
    used = sum(len(n) + len(v) for n, v in headers)
    headers.append((b"x-pad", b"b" * (limits.max_header_bytes - used - len(b"x-pad"))))
    return target, headers


def _error_code(body: bytes) -> str:
    error = orjson.loads(body)["error"]
    assert set(error) == {"code", "message", "details"}
    return str(error["code"])


NEVER_ENDING = 32 * 1_048_576


def check_oversized_heads(base: str, limits: HeadLimits) -> None:
    """A head exactly at the caps is served; one byte or one header more is refused with
    414/431 in the error shape and the connection closed; so is a head that never ends; and
    what a parser rejects gets a 400 in the error shape."""
    target, headers = _full_head(limits)
    status, _, _ = _exchange(base, _request(target, headers))
    assert status == 200

    status, head, body = _exchange(base, _request(target + b"a", headers))
    assert status == 414
    assert _error_code(body) == "uri_too_long"
    assert b"content-type: application/json" in head and b"connection: close" in head

    bigger = [*headers[:-1], (headers[-1][0], headers[-1][1] + b"b")]
    status, _, body = _exchange(base, _request(target, bigger))
    assert status == 431
    assert _error_code(body) == "header_fields_too_large"
    assert f"{limits.max_header_bytes} bytes" in orjson.loads(body)["error"]["message"]

    many = [(b"host", b"x"), *((b"x-h%d" % i, b"1") for i in range(limits.max_headers))]
    status, _, body = _exchange(base, _request(b"/health", many))
    assert status == 431
    assert f"{limits.max_headers} headers" in orjson.loads(body)["error"]["message"]

    # a header that never ends: refused while it arrives, long before it is all sent (what
    # goes out before the client notices is what the kernels' socket buffers took)
    with socket.create_connection(_address(base)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = _send_until_refused(sock, NEVER_ENDING)
        answer, _ = _read_until_closed(sock, 10)
    assert sent < NEVER_ENDING
    assert answer.startswith(b"HTTP/1.1 431 ")

    status, _, body = _exchange(base, b"GET / HTTP/1.1\r\nHost x\r\n\r\n")
    assert status == 400
    assert _error_code(body) == "bad_request"


def _send_until_refused(sock: socket.socket, total: int, chunk: int = 65536) -> int:
    """Send up to `total` header bytes; how many went out before the server cut it off."""
    sock.settimeout(10)
    sent = 0
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        while sent < total:
            sock.sendall(b"a" * chunk)
            sent += chunk
    return sent


@pytest.mark.parametrize("impl", ["h11", "httptools"])
def test_oversized_heads_are_refused_with_either_parser(tmp_path: Path, impl: str) -> None:
    with threaded_uvicorn(tmp_path, impl) as base:
        check_oversized_heads(base, SMALL_HEADS)


def _memory_mb(pid: int) -> dict[str, float]:
    """The process's resident memory now and its peak so far (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


@contextmanager
def server_process(data_dir: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`cryptoagg serve`; its base URL and process id."""
    port = free_port()
    proc, log = spawn(["serve"], server_env(data_dir, port, env))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/health", proc, log)
        yield base, proc.pid
    finally:
        stop(proc)
        log.unlink(missing_ok=True)


FLOOD_CONNECTIONS = 4
FLOOD_BYTES = 40 * 1_048_576


def test_a_header_flood_leaves_the_real_servers_memory_flat(tmp_path: Path) -> None:
    """`cryptoagg serve` with the default caps (MAX_HEADER_BYTES 32 KiB): the caps hold, and
    four connections each sending 40 MB of one header are cut off after a few hundred KiB.
    Before the caps the server took them all: 132 MB → 370 MB peak, 213 MB held after."""
    with server_process(tmp_path, {"USE_MOCK_DATA": "true"}) as (base, pid):
        check_oversized_heads(base, HeadLimits())
        before = _memory_mb(pid)["VmRSS"]
        peak = before
        answers: list[bytes] = []
        sent: list[int] = []
        done = threading.Event()

        def flood() -> None:
            with socket.create_connection(_address(base)) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
                sent.append(_send_until_refused(sock, FLOOD_BYTES, 1_048_576))
                answers.append(_read_until_closed(sock, 10)[0])

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _memory_mb(pid)["VmRSS"])
                time.sleep(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        senders = [threading.Thread(target=flood) for _ in range(FLOOD_CONNECTIONS)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=60)
        time.sleep(0.5)
        done.set()
        watcher.join(timeout=5)
        after = _memory_mb(pid)["VmRSS"]
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    print(f"header flood: RSS {before:.0f} MB before, {peak:.0f} MB peak, {after:.0f} MB after")
    assert len(answers) == FLOOD_CONNECTIONS
    assert all(a.startswith(b"HTTP/1.1 431 ") for a in answers), answers
    assert all(n < FLOOD_BYTES / 2 for n in sent), sent  # cut off early
    assert peak - before < 30, (before, peak)
    assert after - before < 20, (before, after)


# --- WebSocket slots and upgrades ------------------------------------------------------------


@contextmanager
def _ws(base: str, source: str = "127.0.0.1") -> Iterator[ClientConnection]:
    """A WebSocket to /ws from the loopback address `source` (a client of its own)."""
    sock = socket.create_connection(_address(base), timeout=5, source_address=(source, 0))
    with sock, connect(base.replace("http", "ws") + "/ws", sock=sock, open_timeout=5) as ws:
        yield ws


def _refusal(base: str, source: str = "127.0.0.1") -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refused, _ws(base, source):
        pass
    return refused.value


def _news_snapshot(ws: ClientConnection) -> dict[str, object]:
    ws.send(orjson.dumps({"subscribe": ["news"]}).decode())
    while True:
        frame: dict[str, object] = orjson.loads(ws.recv(timeout=10))
        if frame["type"] != "heartbeat":
            return frame


def test_one_client_can_take_neither_every_websocket_slot_nor_unlimited_upgrades(
    tmp_path: Path,
) -> None:
    """One address opening connections as fast as it can gets WS_MAX_PER_CLIENT of them, the
    rest a 429 before the handshake; another client still connects; and the upgrades spent
    the address's rate limit, so once it is gone neither an upgrade nor a request gets in."""
    per_client, burst = 3, 12
    env = {
        "USE_MOCK_DATA": "true",
        "WS_MAX_PER_CLIENT": str(per_client),
        "RATE_LIMIT_PER_MIN": "6",
        "RATE_LIMIT_BURST": str(burst),
    }
    with server_process(tmp_path, env) as (base, _):
        held: list[ClientConnection] = []
        refusals: list[InvalidStatus] = []
        with contextlib.ExitStack() as stack:
            for _ in range(burst):
                try:
                    held.append(stack.enter_context(_ws(base)))
                except InvalidStatus as refused:
                    refusals.append(refused)
            assert len(held) == per_client
            assert len(refusals) == burst - per_client
            for refused in refusals:
                assert refused.response.status_code == 429
                assert _error_code(refused.response.body) == "too_many_connections"
            # another client is served meanwhile
            with _ws(base, source="127.0.0.2") as other:
                assert _news_snapshot(other)["type"] == "snapshot"
            assert _news_snapshot(held[0])["type"] == "snapshot"
        # every upgrade above spent one request of 127.0.0.1's allowance: none is left
        limited = _refusal(base)
        assert limited.response.status_code == 429
        assert _error_code(limited.response.body) == "rate_limited"
        assert int(limited.response.headers["retry-after"]) >= 1
        assert httpx.get(f"{base}/api/pools", timeout=5).status_code == 429
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
    rejected = dict(
        re.findall(r'^cryptoagg_http_rejected_total\{reason="(\w+)"\} (\S+)$', metrics, re.M)
    )
    assert float(rejected["websocket_per_client"]) == burst - per_client
    assert float(rejected["websocket_rate_limited"]) == 1


# --- proxies ---------------------------------------------------------------------------------


def test_behind_trusted_proxies_each_forwarded_client_has_its_own_rate_limit(
    tmp_path: Path,
) -> None:
    """TRUSTED_PROXIES: a request from a trusted peer is counted for the address
    X-Forwarded-For names last, past the trusted proxies in it; an untrusted peer's
    X-Forwarded-For is ignored."""
    env = {
        "USE_MOCK_DATA": "true",
        "TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
        "RATE_LIMIT_PER_MIN": "6",
        "RATE_LIMIT_BURST": "1",
    }
    with server_process(tmp_path, env) as (base, _):
        proxy = httpx.Client(base_url=base, timeout=5)
        untrusted = httpx.Client(
            base_url=base, timeout=5, transport=httpx.HTTPTransport(local_address="127.0.0.2")
        )
        with proxy, untrusted:

            def via(client: httpx.Client, forwarded: str) -> int:
                headers = {"x-forwarded-for": forwarded}
                return client.get("/api/pools", headers=headers).status_code

            assert via(proxy, "198.51.100.1") == 200
            assert via(proxy, "198.51.100.1") == 429  # its bucket is spent
            assert via(proxy, "198.51.100.2") == 200  # another client: a bucket of its own
            # a client's own claims further left change nothing
            assert via(proxy, "203.0.113.7, 198.51.100.2") == 429
            # a second proxy of ours (10.0.0.0/8) in the chain is walked past
            assert via(proxy, "198.51.100.3, 10.1.2.3") == 200
            assert via(proxy, "198.51.100.3") == 429
            # 127.0.0.2 is no proxy of ours: its X-Forwarded-For is ignored
            assert via(untrusted, "198.51.100.9") == 200
            assert via(untrusted, "198.51.100.10") == 429


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
