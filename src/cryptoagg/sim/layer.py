"""The fault layer: counts every provider request and injects the faults that fire (what a
provider's 429 body looks like, and whether it answers RSS, comes from its `SimProvider`).

A pure ASGI middleware, because `reset` must break the HTTP exchange itself (headers promising
a body, part of it, then an error so the server drops the connection) and `timeout` must notice
the client hanging up.

`timeout` holds a request for `delay_s` (60 s by default), until the client disconnects or the
server shuts down (`SimState.close()`), then answers 504. In process (httpx.ASGITransport) no
disconnect ever arrives and no client timeout applies, so tests there pass a small `delay_s`.
`reset` raises `httpx.RemoteProtocolError` after a partial body: a real server drops the
connection, and an in-process client sees the very error a dropped socket gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping

import httpx
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from cryptoagg.sim.faults import Fault
from cryptoagg.sim.state import OUTLIER_FACTOR, SimProvider, SimState

JSON = "application/json"
#: binance/error_451.json
GEOBLOCK_BODY = {
    "code": 0,
    "msg": "Service unavailable from a restricted location according to 'b. Eligibility' in "
    "https://www.binance.com/en/terms. Please contact customer service if you believe you "
    "received this message in error.",
}
POLL_S = 0.1


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class FaultLayer:
    def __init__(self, app: ASGIApp, state: SimState, providers: Mapping[str, SimProvider]) -> None:
        self.app = app
        self.state = state
        self.providers = providers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        provider = scope["path"].lstrip("/").partition("/")[0] if scope["type"] == "http" else ""
        if provider not in self.providers:
            await self.app(scope, receive, send)
            return
        self.state.stats.count(provider, scope["path"][len(provider) + 1 :] or "/")
        fault = self.state.faults.pick(provider)
        if fault is not None and fault.kind != "slow":
            await self._inject(fault, provider, receive, send)
            return
        if fault is not None and not await self._hold(receive, fault.delay):
            await self._closing(send)  # or the client gave up while we were slow
            return
        outlier = self.state.faults.pick(provider, outlier=True)
        token = OUTLIER_FACTOR.set(outlier.factor if outlier else 1.0)
        try:
            await self.app(scope, receive, send)
        finally:
            OUTLIER_FACTOR.reset(token)

    async def _hold(self, receive: Receive, seconds: float) -> bool:
        """Wait `seconds`; False as soon as the client disconnects or the server shuts down."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        gone = asyncio.ensure_future(_until_disconnect(receive))
        try:
            while not gone.done() and not self.state.closing:
                left = deadline - loop.time()
                if left <= 0:
                    return True
                await asyncio.wait({gone}, timeout=min(POLL_S, left))
            return False
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await gone

    async def _closing(self, send: Send) -> None:
        """Answer a held request when the server shuts down (a gone client needs nothing)."""
        if self.state.closing:
            body = orjson.dumps({"error": "simulator shutting down"})
            await _respond(send, 503, body, JSON, {"connection": "close"})

    async def _inject(self, fault: Fault, provider: str, receive: Receive, send: Send) -> None:
        kind = fault.kind
        if kind == "error":
            body = orjson.dumps({"error": f"simulated HTTP {fault.status}"})
            await _respond(send, fault.status, body, JSON)
        elif kind == "ratelimit":
            body = orjson.dumps(self.providers[provider].rate_limit_body)
            retry = {"retry-after": str(math.ceil(fault.retry_after_s))}
            await _respond(send, 429, body, JSON, retry)
        elif kind == "geoblock":
            await _respond(send, 451, orjson.dumps(GEOBLOCK_BODY), JSON)
        elif kind == "malformed":
            if self.providers[provider].feed:
                body = b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><chan'
                await _respond(send, 200, body, "application/rss+xml; charset=utf-8")
            else:
                await _respond(send, 200, b'{"data": [{"id": "bitcoin", "price', JSON)
        elif kind == "timeout":
            if await self._hold(receive, fault.delay):
                body = orjson.dumps({"error": "simulated gateway timeout"})
                await _respond(send, 504, body, JSON)
            else:
                await self._closing(send)
        elif kind == "reset":
            headers = [(b"content-type", JSON.encode()), (b"content-length", b"4096")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"partial', "more_body": True})
            # The server drops the connection; in-process (httpx.ASGITransport) the client
            # sees the same error a real socket would give it.
            raise httpx.RemoteProtocolError("simulated connection reset")
