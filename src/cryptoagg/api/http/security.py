"""The protective middlewares and their order (`install_security`), and `Edge`: security
headers on every response, and the request metrics.

Pages (`text/html`: the dashboard, `/docs`) get the full set: a Content-Security-Policy that
allows only our own origin for scripts, images, connections and frames (inline styles are
allowed; coin logos come from our own `/api/images`), `X-Frame-Options`, `Referrer-Policy`,
`Permissions-Policy`, `Cross-Origin-Opener-Policy`. `/docs` and `/redoc` are FastAPI's pages
with Swagger UI and ReDoc vendored (`web/docs.py`): their policy adds the hash of Swagger UI's
one inline script, ReDoc's search worker (a `blob:`) and nothing from another host.
Everything else (JSON, metrics, static files) gets what matters for a resource
that is not a document: `nosniff` and `default-src 'none'; frame-ancestors 'none'` — few and
short, because the server validates every header of every response. HSTS is sent only on
requests that arrived over https (directly, or through a trusted proxy: TRUSTED_PROXIES).

Every request passes these layers, so there are few of them and each wraps `send` or
`receive` once: `Edge` (headers, metrics) → CORS (only when configured) → `RequestLimits`
(rate limit, body limit, deadline) → the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import structlog
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cryptoagg.api.http.asgi import NO_PROXIES, TrustedProxies, is_https
from cryptoagg.api.http.limits import FastPath, RequestLimits
from cryptoagg.api.http.metrics import HttpMetrics
from cryptoagg.api.http.ratelimit import ClientConnections, ClientRateLimiter
from cryptoagg.config import Settings
from cryptoagg.web.docs import DocsPages

log = structlog.get_logger("cryptoagg.api")

Header = tuple[bytes, bytes]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: the docs pages' policy; `{scripts}`: the hashes of their inline scripts (`docs_policy`)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
NOSNIFF = {"x-content-type-options": "nosniff"}
PAGE = {
    **NOSNIFF,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        "microphone=(), payment=(), usb=()"
    ),
    "cross-origin-opener-policy": "same-origin",
}
HSTS: Header = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def docs_policy(script_hashes: Iterable[str] = ()) -> str:
    """`DOCS_CSP` allowing exactly these inline scripts (`'sha256-…'` sources)."""
    return DOCS_CSP.format(scripts="".join(f" {h}" for h in script_hashes))


def _encode(headers: dict[str, str]) -> list[Header]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class Edge:
    """Outermost layer: adds the security headers a response does not set itself, and
    counts and times every request (it sees every answer, refusals included)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics | None = None,
        docs: DocsPages | None = None,
        proxies: TrustedProxies = NO_PROXIES,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.docs_paths = frozenset(docs.paths if docs else ())
        self.proxies = proxies
        self.page = _encode({**PAGE, "content-security-policy": CSP})
        policy = docs_policy(docs.script_hashes if docs else ())
        self.docs = _encode({**PAGE, "content-security-policy": policy})
        self.api = _encode({**NOSNIFF, "content-security-policy": API_CSP})
        self.names = frozenset(name for name, _ in [*self.page, HSTS])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = self.docs if scope["path"] in self.docs_paths else self.page
        https = is_https(scope, self.proxies)
        status = 500
        started = time.perf_counter()

        async def edge_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                message = {**message, "headers": headers}
                html = set_already = False
                for name, value in headers:
                    lowered = name.lower()
                    if lowered == b"content-type":
                        html = value.startswith(b"text/html")
                    elif lowered in self.names:
                        set_already = True
                extra = page if html else self.api
                if https:
                    extra = [*extra, HSTS]
                if set_already:  # a response's own header wins
                    present = {name.lower() for name, _ in headers}
                    extra = [h for h in extra if h[0] not in present]
                headers.extend(extra)
            await send(message)

        metrics = self.metrics
        if metrics is None:
            await self.app(scope, receive, edge_send)
            return
        metrics.in_flight.inc()
        try:
            await self.app(scope, receive, edge_send)
        finally:
            metrics.in_flight.dec()
            metrics.record(scope, status, time.perf_counter() - started)


def install_security(
    app: FastAPI,
    settings: Settings,
    metrics: HttpMetrics | None,
    fast: FastPath | None = None,
    docs: DocsPages | None = None,
) -> None:
    """Add the protective middlewares (Starlette runs the last added first); `docs`: the
    documentation pages (`web/docs.py`), which get their own policy."""
    limiter = None
    if settings.rate_limit_per_min > 0:
        limiter = ClientRateLimiter(settings.rate_limit_per_min, settings.rate_limit_burst)
    app.state.rate_limiter = limiter  # shared with the other replicas from the lifespan
    proxies = app.state.trusted_proxies = trusted_proxies(settings)  # routes ask it too
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        timeout_s=settings.request_timeout_s,
        limiter=limiter,
        proxies=proxies,
        fast=fast,
        sockets=ClientConnections(settings.ws_max_per_client),
        on_refused=None if metrics is None else _counter(metrics),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type", "if-none-match"],
            expose_headers=list(EXPOSED_HEADERS),
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(Edge, metrics=metrics, docs=docs, proxies=proxies)


#: response headers a browser page of another origin may read: caching, when to come back, and
#: what the data is (stale, partial, mock, a fallback image)
EXPOSED_HEADERS = (
    "etag",
    "age",
    "retry-after",
    "x-data-stale",
    "x-data-partial",
    "x-data-missing",
    "x-data-missing-points",
    "x-mock",
    "x-image-fallback",
)


def _counter(metrics: HttpMetrics) -> Callable[[str], None]:
    """Counts WebSocket upgrades `RequestLimits` refuses, by reason, with the refused
    requests (`Edge` sees no answer to an upgrade)."""

    def count(reason: str) -> None:
        metrics.rejected.labels(reason).inc()

    return count


def trusted_proxies(settings: Settings) -> TrustedProxies:
    """TRUSTED_PROXIES; the deprecated TRUST_PROXY_HEADERS=true trusts any direct peer."""
    if settings.trust_proxy_headers:
        log.warning(
            "trust_proxy_headers_deprecated",
            hint="set TRUSTED_PROXIES to your proxies' addresses or networks instead: "
            "TRUST_PROXY_HEADERS trusts whatever peer connects",
        )
    return TrustedProxies(settings.trusted_proxies, any_peer=settings.trust_proxy_headers)
