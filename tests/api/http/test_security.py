"""Security in-process: body limit, per-client rate limit, who the client is behind trusted
proxies, WebSocket upgrade refusals, CORS, security headers, the request deadline and the
admin token on every mutating route."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from cryptoagg.api.app import create_app
from cryptoagg.api.http.asgi import TrustedProxies, client_address, is_https
from cryptoagg.api.http.limits import RequestLimits
from cryptoagg.api.http.ratelimit import ClientConnections, ClientRateLimiter, client_key
from cryptoagg.api.http.security import Edge
from cryptoagg.config import load_settings
from cryptoagg.core.errors import ConfigError
from tests.support import FakeClock

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
#: POST routes that change nothing (a body too large for a query string), with the reason:
#: every other mutating route must require ADMIN_TOKEN
READ_ONLY_POSTS = {
    "/api/hf/run-sentiment": "scores the texts it is sent; stores nothing",
}
SETTINGS = (
    "ADMIN_TOKEN",
    "USE_MOCK_DATA",
    "PROVIDERS_FILE",
    "MAX_BODY_BYTES",
    "REQUEST_TIMEOUT_S",
    "RATE_LIMIT_PER_MIN",
    "RATE_LIMIT_BURST",
    "TRUST_PROXY_HEADERS",
    "TRUSTED_PROXIES",
    "WS_MAX_PER_CLIENT",
    "CORS_ORIGINS",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in SETTINGS:
        monkeypatch.delenv(key, raising=False)


@asynccontextmanager
async def served(
    tmp_path: Path, base_url: str = "http://app", **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    options = {"collectors": False, **settings}
    app = create_app(load_settings(use_mock_data=True, data_dir=tmp_path, **options))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client, app


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error


# --- body limit ------------------------------------------------------------------------------


async def test_a_declared_body_over_the_limit_is_refused_before_the_handler_acts(
    tmp_path: Path,
) -> None:
    admin = {"authorization": "Bearer admin-token-1"}
    async with served(tmp_path, max_body_bytes=1000, admin_token="admin-token-1") as (client, _):
        refused = await client.post("/api/pools/markets/rotate", headers=admin, content=b"x" * 1001)
        rotations = (await client.get("/api/pools/markets/rotations")).json()["rotations"]
        allowed = await client.post("/api/pools/markets/rotate", headers=admin, content=b"x" * 1000)
    assert refused.status_code == 413
    error = error_of(refused)
    assert error["code"] == "payload_too_large"
    assert "1000 bytes" in error["message"]
    assert refused.headers["connection"] == "close"
    assert rotations == []  # the rotation never happened
    assert allowed.status_code == 200


async def _chunks(total: int, size: int = 256) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b'{"texts": [' if sent == 0 else b" " * min(size, total - sent)
        sent += len(chunk)
        yield chunk


async def test_a_chunked_body_is_cut_off_at_the_limit(tmp_path: Path) -> None:
    async with served(tmp_path, max_body_bytes=1000) as (client, _):
        big = await client.post("/api/hf/run-sentiment", content=_chunks(5000))
        small = await client.post(
            "/api/hf/run-sentiment", json={"texts": ["Bitcoin rallies as ETF inflows jump"]}
        )
    assert "content-length" not in big.request.headers  # really chunked
    assert big.status_code == 413
    assert error_of(big)["code"] == "payload_too_large"
    assert small.status_code == 200
    assert len(small.json()["results"]) == 1


async def test_the_middleware_stops_reading_at_the_limit() -> None:
    read = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal read
        while True:
            message = await receive()
            read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    chunks = [b"a" * 100] * 50
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"transfer-encoding", b"chunked")]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await RequestLimits(app, max_body_bytes=250, timeout_s=5)(scope, receive, send)
    assert read == 200  # the third chunk crossed the limit and was never handed over
    assert sent[0]["status"] == 413
    assert b"payload_too_large" in sent[1]["body"]


# --- rate limit ------------------------------------------------------------------------------


def test_the_limiter_allows_a_burst_then_the_steady_rate() -> None:
    clock = FakeClock()
    limiter = ClientRateLimiter(per_min=60, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(1.0)
    assert limiter.acquire("b") == 0.0  # another client has its own allowance
    clock.advance(1.0)
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(1.0)


def test_the_limiter_keeps_memory_bounded() -> None:
    clock = FakeClock()
    limiter = ClientRateLimiter(per_min=60, burst=2, clock=clock, max_clients=3)
    for client in ("a", "b", "c", "d", "e"):
        limiter.acquire(client)
    assert len(limiter) == 3  # the least recently seen went first
    clock.advance(10)  # every allowance has refilled: the cells hold nothing
    limiter.acquire("f")
    assert len(limiter) == 1


class Windows:
    """Shared windows on one dict, as two replicas' Redis would keep them (None: down)."""

    window_s = 60.0

    def __init__(self) -> None:
        self.totals: dict[str, int] | None = {}

    def left_s(self) -> float:
        return 30.0

    async def add(self, counts: dict[str, int]) -> dict[str, int] | None:
        if self.totals is None:
            return None
        for client, n in counts.items():
            self.totals[client] = self.totals.get(client, 0) + n
        return {client: self.totals[client] for client in counts}


async def test_a_client_over_its_allowance_summed_over_replicas_is_refused_on_each() -> None:
    clock = FakeClock()
    windows = Windows()
    a, b = (ClientRateLimiter(per_min=2, burst=5, clock=clock) for _ in range(2))
    a.sharing = b.sharing = True
    assert [a.acquire("x") for _ in range(5)] == [0.0] * 5  # A's burst
    await a.share(windows)  # type: ignore[arg-type]
    assert [b.acquire("x") for _ in range(3)] == [0.0] * 3  # B's own cell has room
    await b.share(windows)  # type: ignore[arg-type]
    # 8 over both replicas, the allowance is 2 + 5: refused on B though its cell has 2 left
    assert b.acquire("x") == pytest.approx(30.0)
    assert b.acquire("y") == 0.0  # another client is not
    clock.advance(30.0)  # the window ended
    assert b.acquire("x") == 0.0

    windows.totals = None  # Redis down: each replica's own limit holds
    await b.share(windows)  # type: ignore[arg-type]
    assert b.acquire("x") == 0.0


def test_a_limiter_not_shared_keeps_no_counts() -> None:
    limiter = ClientRateLimiter(per_min=60, burst=3, clock=FakeClock())
    limiter.acquire("a")
    assert not limiter._admitted


def test_ipv6_clients_share_their_64_block() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"


async def test_429_with_retry_after_once_a_client_spent_its_burst(tmp_path: Path) -> None:
    async with served(tmp_path, rate_limit_per_min=6, rate_limit_burst=3) as (client, _):
        allowed = [(await client.get("/api/pools")).status_code for _ in range(3)]
        limited = await client.get("/api/pools")
        # probes and scrapers are exempt
        health = await client.get("/health")
        metrics = await client.get("/metrics")
        # without TRUST_PROXY_HEADERS a forwarded address is just a claim
        spoofed = await client.get("/api/pools", headers={"x-forwarded-for": "198.51.100.7"})
    assert allowed == [200, 200, 200]
    assert limited.status_code == 429
    # 6/min is one request per 10 s: the next one conforms in (just under) 10 s
    assert limited.headers["retry-after"] == "10"
    error = error_of(limited)
    assert error["code"] == "rate_limited"
    assert error["details"] == {"retry_after_s": 10}
    assert health.status_code == 200 and metrics.status_code == 200
    assert spoofed.status_code == 429


@pytest.mark.parametrize(
    "trust",
    [{"trusted_proxies": "127.0.0.1"}, {"trust_proxy_headers": True}],
    ids=["TRUSTED_PROXIES", "deprecated TRUST_PROXY_HEADERS"],
)
async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(
    tmp_path: Path, trust: dict[str, Any]
) -> None:
    # the ASGI transport's peer is 127.0.0.1
    settings = {"rate_limit_per_min": 6, "rate_limit_burst": 1, **trust}
    async with served(tmp_path, **settings) as (client, _):

        def via(address: str) -> dict[str, str]:
            # the client's own claim first, the address our proxy saw last
            return {"x-forwarded-for": f"203.0.113.99, {address}"}

        first = await client.get("/api/pools", headers=via("198.51.100.1"))
        again = await client.get("/api/pools", headers=via("198.51.100.1"))
        other = await client.get("/api/pools", headers=via("198.51.100.2"))
    assert (first.status_code, again.status_code, other.status_code) == (200, 429, 200)


async def test_a_proxy_header_from_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    settings = {"rate_limit_per_min": 6, "rate_limit_burst": 1, "trusted_proxies": "10.0.0.0/8"}
    async with served(tmp_path, **settings) as (client, _):
        first = await client.get("/api/pools", headers={"x-forwarded-for": "198.51.100.1"})
        other = await client.get("/api/pools", headers={"x-forwarded-for": "198.51.100.2"})
    assert (first.status_code, other.status_code) == (200, 429)  # both 127.0.0.1's


def _scope(peer: str, forwarded: list[str], proto: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    if proto is not None:
        headers.append((b"x-forwarded-proto", proto.encode()))
    return {"type": "http", "client": (peer, 5000), "headers": headers, "scheme": "http"}


PROXIES = TrustedProxies(
    [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48")]
)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("192.0.2.1", ["198.51.100.1"], "192.0.2.1"),  # an untrusted peer: its own address
        ("10.0.0.1", [], "10.0.0.1"),  # a proxy of ours that forwarded nothing
        ("10.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        # the client's own claims come first; each proxy appended whom it heard from
        ("10.0.0.1", ["203.0.113.5, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.1", ["203.0.113.5, 198.51.100.1, 10.2.3.4"], "198.51.100.1"),
        ("10.0.0.1", ["203.0.113.5", "198.51.100.1, 10.2.3.4"], "198.51.100.1"),  # repeated
        # every entry a proxy of ours: the leftmost is the client
        ("10.0.0.1", ["10.9.9.9, 10.2.3.4"], "10.9.9.9"),
        # an entry that is not an address ends the walk at the last address walked
        ("10.0.0.1", ["198.51.100.1, unknown, 10.2.3.4"], "10.2.3.4"),
        ("10.0.0.1", ["garbage"], "10.0.0.1"),
        # ports and brackets, canonical forms
        ("10.0.0.1", ["198.51.100.1:4711"], "198.51.100.1"),
        ("10.0.0.1", ["[2001:DB8::1]:4711"], "2001:db8::1"),
        ("2001:db8:ffff::2", ["2001:db8:1::1"], "2001:db8:1::1"),
        ("::ffff:10.0.0.1", ["198.51.100.1"], "198.51.100.1"),  # an IPv4-mapped peer
    ],
)
def test_the_client_is_the_first_address_from_the_right_that_is_no_proxy_of_ours(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert client_address(_scope(peer, forwarded), PROXIES) == client


def test_without_trusted_proxies_forwarded_headers_are_ignored() -> None:
    scope = _scope("10.0.0.1", ["198.51.100.1"], proto="https")
    assert client_address(scope) == "10.0.0.1"
    assert not is_https(scope)
    # the deprecated TRUST_PROXY_HEADERS: any peer is a proxy, one hop (the nearest) is read
    anyone = TrustedProxies(any_peer=True)
    assert client_address(_scope("192.0.2.1", ["203.0.113.5, 198.51.100.1"]), anyone) == (
        "198.51.100.1"
    )
    assert is_https(scope, anyone)


def test_https_only_from_a_trusted_peer() -> None:
    assert is_https(_scope("10.0.0.1", [], proto="https"), PROXIES)
    assert not is_https(_scope("10.0.0.1", [], proto="http"), PROXIES)
    assert not is_https(_scope("192.0.2.1", [], proto="https"), PROXIES)


@pytest.mark.parametrize("value", ["10.0.0.1/8", "proxy.example", "10.0.0.0/33", "*"])
def test_a_bad_trusted_proxy_stops_start_up_naming_the_setting(value: str) -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES") as refused:
        load_settings(trusted_proxies=value)
    assert repr(value) in str(refused.value)


def test_trusted_proxies_are_a_comma_list_of_addresses_and_networks() -> None:
    settings = load_settings(trusted_proxies=" 10.0.0.0/8, 192.0.2.7,2001:db8::/32 ")
    assert [str(n) for n in settings.trusted_proxies] == [
        "10.0.0.0/8",
        "192.0.2.7/32",
        "2001:db8::/32",
    ]
    assert load_settings(trusted_proxies="").trusted_proxies == []


# --- WebSocket upgrades ----------------------------------------------------------------------


def test_connections_are_capped_per_client_and_released() -> None:
    sockets = ClientConnections(per_client=2)
    assert [sockets.open("a"), sockets.open("a"), sockets.open("a")] == [True, True, False]
    assert sockets.open("b")  # another client has its own
    sockets.close("a")
    assert sockets.held("a") == 1 and sockets.open("a")
    for client in ("a", "a", "b"):
        sockets.close(client)
    assert len(sockets) == 0  # nothing kept for clients without connections


async def _upgrade(limits: RequestLimits, extensions: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "headers": [],
        "client": ("192.0.2.1", 5000),
        "extensions": extensions,
    }
    await limits(scope, receive, send)
    return sent


async def test_a_refused_upgrade_is_a_429_before_the_handshake_or_a_close() -> None:
    async def accepting(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})

    clock = FakeClock()
    sockets = ClientConnections(per_client=1)
    limits = RequestLimits(
        accepting,
        max_body_bytes=1000,
        timeout_s=5,
        limiter=ClientRateLimiter(per_min=60, burst=1, clock=clock),
        sockets=sockets,
    )
    denial = {"websocket.http.response": {}}
    assert await _upgrade(limits, denial) == [{"type": "websocket.accept"}]
    assert len(sockets) == 0  # that session ended: its slot was given back
    limited = await _upgrade(limits, denial)
    assert limited[0]["type"] == "websocket.http.response.start"
    assert limited[0]["status"] == 429
    assert (b"retry-after", b"1") in limited[0]["headers"]
    assert b'"rate_limited"' in limited[1]["body"]
    clock.advance(1)
    assert sockets.open("192.0.2.1")  # the client holds a connection: its one
    capped = await _upgrade(limits, denial)
    assert capped[0]["status"] == 429
    assert b'"too_many_connections"' in capped[1]["body"]
    # a server without the denial extension: closed before the handshake
    clock.advance(1)
    assert await _upgrade(limits, {}) == [{"type": "websocket.close", "code": 1013}]


async def test_a_zero_rate_limit_disables_it(tmp_path: Path) -> None:
    async with served(tmp_path, rate_limit_per_min=0, rate_limit_burst=1) as (client, _):
        statuses = {(await client.get("/api/pools")).status_code for _ in range(20)}
    assert statuses == {200}


# --- CORS ------------------------------------------------------------------------------------


async def test_cors_is_same_origin_by_default(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, _):
        response = await client.get("/api/pools", headers={"origin": "https://app.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_exactly_the_configured_origins(tmp_path: Path) -> None:
    async with served(tmp_path, cors_origins="https://app.example") as (client, _):
        good = await client.get("/api/pools", headers={"origin": "https://app.example"})
        evil = await client.get("/api/pools", headers={"origin": "https://evil.example"})
        preflight = await client.options(
            "/api/pools/markets/rotate",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization",
            },
        )
        refused = await client.options(
            "/api/pools/markets/rotate",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
    assert good.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-credentials" not in good.headers
    # a page of that origin may read what the data is: stale, partial (market_chart), mock
    exposed = good.headers["access-control-expose-headers"].lower().split(", ")
    assert {"retry-after", "age", "x-data-stale", "x-data-partial", "x-mock"} <= set(exposed)
    assert "access-control-allow-origin" not in evil.headers
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


# --- security headers ------------------------------------------------------------------------


def csp(response: httpx.Response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


async def test_json_errors_and_probes_get_the_resource_headers(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, _):
        responses = [
            await client.get("/api/pools"),
            await client.get("/no/such/page"),
            await client.get("/health"),
            await client.get("/metrics"),
        ]
    assert [r.status_code for r in responses] == [200, 404, 200, 200]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert csp(response) == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}
        assert "strict-transport-security" not in response.headers  # plain http


async def _asgi(app: Any, path: str = "/", scheme: str = "http") -> tuple[int, dict[str, str]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "scheme": scheme}
    await app(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers


def page(extra: list[tuple[bytes, bytes]] | None = None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/html; charset=utf-8"), *(extra or [])]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"<html></html>"})

    return app


async def test_pages_get_the_full_set() -> None:
    _, headers = await _asgi(Edge(page()))
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in headers["permissions-policy"]
    assert headers["cross-origin-opener-policy"] == "same-origin"
    policy = {p.split()[0]: p.split()[1:] for p in headers["content-security-policy"].split(";")}
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline or foreign scripts
    assert policy["img-src"] == ["'self'", "data:"]  # coin logos come from /api/images
    assert policy["connect-src"] == ["'self'"]  # fetch and /ws to our own origin only
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "strict-transport-security" not in headers
    _, secure = await _asgi(Edge(page()), scheme="https")
    assert secure["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_a_response_keeps_a_header_it_sets_itself() -> None:
    own = [(b"content-security-policy", b"default-src 'self' https://charts.example")]
    _, headers = await _asgi(Edge(page(own)))
    assert headers["content-security-policy"] == "default-src 'self' https://charts.example"
    assert headers["x-frame-options"] == "DENY"


async def test_hsts_only_over_https(tmp_path: Path) -> None:
    async with served(tmp_path, base_url="https://app") as (client, _):
        direct = await client.get("/api/pools")
    async with served(tmp_path, trusted_proxies="127.0.0.0/8") as (client, _):
        proxied = await client.get("/api/pools", headers={"x-forwarded-proto": "https"})
    async with served(tmp_path) as (client, _):
        untrusted = await client.get("/api/pools", headers={"x-forwarded-proto": "https"})
    assert direct.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "strict-transport-security" in proxied.headers
    assert "strict-transport-security" not in untrusted.headers


async def test_docs_load_only_our_own_files_under_a_policy_that_allows_only_them(
    tmp_path: Path,
) -> None:
    async with served(tmp_path) as (client, _):
        docs = await client.get("/docs")
        redoc = await client.get("/redoc")
        loaded: list[str] = []
        for page in (docs, redoc):
            loaded += re.findall(r'<script src="([^"]+)"', page.text)
            loaded += re.findall(r'<link[^>]*href="([^"]+)"', page.text)
        files = {url: await client.get(url) for url in loaded}
    assert set(loaded) == {
        "/static/vendor/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui.css",
        "/static/vendor/redoc.standalone.js",
        "/static/favicon.svg",
    }
    assert all(answer.status_code == 200 for answer in files.values()), files
    for page in (docs, redoc):
        assert page.status_code == 200
        policy = csp(page)
        sources = [source for directive in policy.values() for source in directive]
        assert not [s for s in sources if "http" in s or "." in s], sources  # no other host
        assert policy["script-src"][0] == "'self'"
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["img-src"] == ["'self'", "data:"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert page.headers["x-frame-options"] == "DENY"
    # Swagger UI's one inline script runs by its hash, and nothing else inline could
    [inline] = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert csp(docs)["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert "<script>" not in redoc.text


# --- deadline --------------------------------------------------------------------------------


async def test_a_slow_handler_gets_504_and_its_shared_load_goes_on(tmp_path: Path) -> None:
    async with served(tmp_path, request_timeout_s=0.5) as (client, app):
        sim = app.state.container.upstream_base_url
        async with httpx.AsyncClient(base_url=sim) as control:
            fault = {"provider": "coingecko", "kind": "slow", "delay_s": 1.5}
            assert (await control.post("/_sim/faults", json=fault)).status_code == 201
            started = time.monotonic()
            slow = await client.get("/api/market", params={"limit": 5})
            took = time.monotonic() - started
            health = await client.get("/health")
            await control.delete("/_sim/faults")
        await asyncio.sleep(1.5)  # the cancelled request's upstream load completes meanwhile
        cache = app.state.container.cache
        misses = cache.misses
        later = await client.get("/api/market", params={"limit": 6})
    assert slow.status_code == 504
    error = error_of(slow)
    assert error["code"] == "deadline_exceeded"
    assert "0.5 s" in error["message"]
    assert 0.5 <= took < 1.4
    assert health.status_code == 200
    assert later.status_code == 200
    assert cache.misses == misses  # served from the load the 504'd request had started


async def test_the_deadline_never_cuts_a_response_that_has_started() -> None:
    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.3)
        await send({"type": "http.response.body", "body": b"late but whole"})

    async def stuck(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(5)

    async def run(app: Any) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
        await RequestLimits(app, max_body_bytes=1000, timeout_s=0.1)(scope, receive, send)
        return sent

    whole = await run(streaming)
    assert [m.get("status") for m in whole[:1]] == [200]
    assert whole[1]["body"] == b"late but whole"
    started = time.monotonic()
    cut = await run(stuck)
    assert time.monotonic() - started < 1
    assert cut[0]["status"] == 504


# --- ADMIN_TOKEN on every mutating route -----------------------------------------------------


def mutating_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(app.routes):
        for method in sorted((route.methods or set()) & MUTATING):
            if route.path not in READ_ONLY_POSTS:
                found.append((method, route.path))
    return found


def concrete(path: str) -> str:
    # "bitcoin" satisfies every path pattern here (asset ids, tickers, pool ids)
    return re.sub(r"\{[^}]+\}", "bitcoin", path)


async def test_every_mutating_route_requires_the_admin_token(tmp_path: Path) -> None:
    async with served(tmp_path / "unset") as (client, app):
        routes = mutating_routes(app)
        unset = {r: await client.request(r[0], concrete(r[1])) for r in routes}
    assert ("POST", "/api/pools/{pool_id}/rotate") in routes  # the test covers something
    token = "admin-token-for-the-route-test"
    async with served(tmp_path / "set", admin_token=token) as (client, _):
        missing = {r: await client.request(r[0], concrete(r[1])) for r in routes}
        wrong = {
            r: await client.request(r[0], concrete(r[1]), headers={"authorization": "Bearer no"})
            for r in routes
        }
        right = {
            r: await client.request(
                r[0], concrete(r[1]), headers={"authorization": f"Bearer {token}"}
            )
            for r in routes
        }
    for route in routes:
        for answers in (unset, missing, wrong):
            assert answers[route].status_code == 403, route
            assert error_of(answers[route])["code"] == "forbidden"
            assert token not in answers[route].text
        assert right[route].status_code != 403, route


def test_read_only_posts_still_exist() -> None:
    app = create_app(load_settings(use_mock_data=True, collectors=False))
    posts = {r.path for r in iter_route_contexts(app.routes) if "POST" in (r.methods or set())}
    assert set(READ_ONLY_POSTS) <= posts  # a stale entry would hide nothing, but mislead
