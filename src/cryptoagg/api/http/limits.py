"""`RequestLimits`: what one request may take, checked in one pure-ASGI layer (it runs for
every request, so the three share one wrapper):

- the client's rate limit (`api/http/ratelimit.py`): 429 with `Retry-After`;
- the hot path (`api/http/hot.py`): a fresh cached GET is answered from memory here, after the
  rate limit and before the body limit and deadline it does not need;
- the body limit (`api/http/bodylimit.py`): 413;
- the deadline (REQUEST_TIMEOUT_S): a handler that has not started its response in time is
  cancelled and the client gets 504. The deadline ends when the response starts, so a long
  download is never cut off. Provider calls have their own, shorter deadline
  (REQUEST_DEADLINE_S) and fail over within it; this one catches whatever else could hold a
  request (a slow database, a client trickling its body). Cancelling a request never cancels
  an upstream load other requests share: the cache runs shared loads as their own tasks.

A WebSocket upgrade (`WS /ws`) spends from the client's rate limit like a request, and a client
holding WS_MAX_PER_CLIENT connections gets no more (`ClientConnections`). Both are refused
before the handshake with a 429 in the error shape (the server's HTTP answer to the upgrade;
`Retry-After` on the rate limit), so a refused client costs no session and holds no slot of
WS_MAX_CONNECTIONS. Refusals are counted by reason (`on_refused`: the metrics' rejected
counter), as `Edge` counts those of plain requests.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Protocol

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cryptoagg.api.http.asgi import NO_PROXIES, TrustedProxies, client_address, send_error
from cryptoagg.api.http.bodylimit import CLOSE, BodyTooLarge, body_framing, counting
from cryptoagg.api.http.ratelimit import (
    EXEMPT_PATHS,
    ClientConnections,
    ClientRateLimiter,
    client_key,
)

log = structlog.get_logger("cryptoagg.api")

#: the close code of a refused upgrade where no HTTP answer can be sent
TRY_AGAIN_LATER = 1013


class FastPath(Protocol):
    async def try_serve(self, scope: Scope, send: Send) -> bool: ...


class RequestLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        timeout_s: float,
        limiter: ClientRateLimiter | None = None,
        proxies: TrustedProxies = NO_PROXIES,
        exempt: frozenset[str] = EXEMPT_PATHS,
        fast: FastPath | None = None,
        sockets: ClientConnections | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.limiter = limiter
        self.proxies = proxies
        self.exempt = exempt
        self.fast = fast
        self.sockets = sockets
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if self.limiter is not None and scope["path"] not in self.exempt:
            wait = self.limiter.acquire(client_key(client_address(scope, self.proxies)))
            if wait > 0:
                await self._too_many(scope, receive, send, wait)
                return
        if self.fast is not None and await self.fast.try_serve(scope, send):
            return
        declared, chunked = body_framing(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        if declared or chunked:
            receive = counting(receive, self.max_body_bytes)
        timeout = asyncio.timeout(self.timeout_s)
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if not started and message["type"] == "http.response.start":
                started = True
                timeout.reschedule(None)
            await send(message)

        try:
            async with timeout:
                await self.app(scope, receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send)
        except TimeoutError:
            if started or not timeout.expired():
                raise
            await self._too_slow(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An upgrade: the client's rate limit, then its connection cap, held until the
        connection ends."""
        client = client_key(client_address(scope, self.proxies))
        if self.limiter is not None:
            wait = self.limiter.acquire(client)
            if wait > 0:
                self._refused("websocket_rate_limited", client)
                await self._too_many(scope, receive, self._denying(scope, send), wait)
                return
        sockets = self.sockets
        if sockets is None:
            await self.app(scope, receive, send)
            return
        if not sockets.open(client):
            self._refused("websocket_per_client", client)
            await send_error(
                scope,
                receive,
                self._denying(scope, send),
                status=429,
                code="too_many_connections",
                message=f"at most {sockets.per_client} WebSocket connections per client",
                details={"max_per_client": sockets.per_client},
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            sockets.close(client)

    def _refused(self, reason: str, client: str) -> None:
        log.debug("ws_refused", reason=reason, client=client)
        if self.on_refused is not None:
            self.on_refused(reason)

    @staticmethod
    def _denying(scope: Scope, send: Send) -> Send:
        """`send` for refusing an upgrade: the error response where the server supports the
        denial-response extension (uvicorn does), else a close before accept (its 403)."""
        if "websocket.http.response" in scope.get("extensions", {}):
            return send

        async def close_instead(message: Message) -> None:
            if message["type"] == "websocket.http.response.start":
                await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})

        return close_instead

    async def _too_many(self, scope: Scope, receive: Receive, send: Send, wait: float) -> None:
        assert self.limiter is not None
        retry_after = max(1, math.ceil(wait))
        await send_error(
            scope,
            receive,
            send,
            status=429,
            code="rate_limited",
            message=f"too many requests: at most {self.limiter.per_min} per minute per client "
            f"(bursts of {self.limiter.burst})",
            details={"retry_after_s": retry_after},
            headers={"retry-after": str(retry_after)},
        )

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_error(
            scope,
            receive,
            send,
            status=413,
            code="payload_too_large",
            message=BodyTooLarge(self.max_body_bytes).detail,
            headers=CLOSE,
        )

    async def _too_slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        log.warning(
            "request_deadline_exceeded",
            method=scope["method"],
            path=scope["path"],
            timeout_s=self.timeout_s,
        )
        await send_error(
            scope,
            receive,
            send,
            status=504,
            code="deadline_exceeded",
            message=f"no answer within {self.timeout_s:g} s (REQUEST_TIMEOUT_S)",
        )
