"""Mock mode marker: adds `"_mock": true` to every JSON object body (only when enabled).

The CoinGecko-compatible `/api/v3` keeps CoinGecko's exact shapes (a client iterating over a
`simple/price` answer must not meet a boolean); it is marked with an `X-Mock: true` header
instead."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SHAPE_EXACT_PREFIX = "/api/v3/"


class MockMarker:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(SHAPE_EXACT_PREFIX):

            async def mark(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message["headers"], (b"x-mock", b"true")]}
                await send(message)

            await self.app(scope, receive, mark)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await _flush(start, b"".join(chunks), send)

        await self.app(scope, receive, capture)


async def _flush(start: Message, body: bytes, send: Send) -> None:
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    content_type = dict(start["headers"]).get(b"content-type", b"")
    if content_type.startswith(b"application/json") and body.startswith(b"{"):
        data = orjson.loads(body)
        data["_mock"] = True
        body = orjson.dumps(data)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
