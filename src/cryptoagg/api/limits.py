"""`RequestLimits`: what one request may take, checked in one pure-ASGI layer (it runs for
every request, so the three share one wrapper):

- the client's rate limit (`api/ratelimit.py`): 429 with `Retry-After`;
- the hot path (`api/hot.py`): a fresh cached GET is answered from memory here, after the
  rate limit and before the body limit and deadline it does not need;
- the body limit (`api/bodylimit.py`): 413;
- the deadline (REQUEST_TIMEOUT_S): a handler that has not started its response in time is
  cancelled and the client gets 504. The deadline ends when the response starts, so a long
  download is never cut off. Provider calls have their own, shorter deadline
  (REQUEST_DEADLINE_S) and fail over within it; this one catches whatever else could hold a
  request (a slow database, a client trickling its body). Cancelling a request never cancels
  an upstream load other requests share: the cache runs shared loads as their own tasks.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cryptoagg.api.asgi import client_address, send_error
from cryptoagg.api.bodylimit import CLOSE, BodyTooLarge, body_framing, counting
from cryptoagg.api.ratelimit import EXEMPT_PATHS, ClientRateLimiter, client_key

log = structlog.get_logger("cryptoagg.api")


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
        trust_proxy: bool = False,
        exempt: frozenset[str] = EXEMPT_PATHS,
        fast: FastPath | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.limiter = limiter
        self.trust_proxy = trust_proxy
        self.exempt = exempt
        self.fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.limiter is not None and scope["path"] not in self.exempt:
            wait = self.limiter.acquire(client_key(client_address(scope, self.trust_proxy)))
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
