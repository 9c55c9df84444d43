"""The fault layer: counts every provider request and injects the faults that fire.

A raw ASGI wrapper, because `reset` must break the HTTP exchange itself: it sends headers
promising a body, part of the body, and then drops the connection.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from cryptoagg.sim.faults import Fault
from cryptoagg.sim.state import PROVIDERS, SimState

RATE_LIMIT_BODIES = {
    "coingecko": {
        "status": {
            "error_code": 429,
            "error_message": "You've exceeded the Rate Limit. Please visit "
            "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for "
            "higher rate limits.",
        }
    },
    "coinbase": {"errors": [{"id": "rate_limit_exceeded", "message": "Too many requests"}]},
    "binance": {"code": -1003, "msg": "Too many requests."},
}
GEOBLOCK_BODY = {
    "code": 0,
    "msg": "Service unavailable from a restricted location according to 'b. Eligibility' in "
    "https://www.binance.com/en/terms. Please contact customer service if you believe you "
    "received this message in error.",
}


async def _send(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class FaultLayer:
    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        provider, _, rest = scope["path"].lstrip("/").partition("/")
        if provider not in PROVIDERS:
            await self.app(scope, receive, send)
            return
        self.state.stats.count(provider, "/" + rest)
        fault = self.state.faults.pick(provider)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        else:
            await self._inject(fault, provider, receive, send)

    async def _inject(self, fault: Fault, provider: str, receive: Receive, send: Send) -> None:
        json_type = {"content-type": "application/json"}
        if fault.kind == "error":
            body = orjson.dumps({"error": f"simulated HTTP {fault.status}"})
            await _send(send, fault.status, body, json_type)
        elif fault.kind == "ratelimit":
            body = orjson.dumps(RATE_LIMIT_BODIES.get(provider, {"error": "rate limited"}))
            retry = str(round(fault.retry_after_s))
            await _send(send, 429, body, {**json_type, "retry-after": retry})
        elif fault.kind == "geoblock":
            await _send(
                send, 451, orjson.dumps(GEOBLOCK_BODY, option=orjson.OPT_INDENT_2), json_type
            )
        elif fault.kind == "malformed":
            await _send(send, 200, b'{"data": [{"id": "bitcoin", "price', json_type)
        elif fault.kind == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_wait_disconnect(receive), timeout=fault.delay)
        elif fault.kind == "reset":
            headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"partial', "more_body": True})
            raise ConnectionResetError("simulated connection reset")
