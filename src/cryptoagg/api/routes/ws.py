"""`WS /ws`: live consensus prices, provider states and news (protocol in the README).

A client sends `{"subscribe": [topics]}` or `{"unsubscribe": [topics]}`; topics are
`prices:<asset>` (an id, ticker or alias, answered under the canonical id), `providers` and
`news`. The server answers each subscription with a `snapshot` frame, then pushes `update`
frames as the collectors produce them, and a `heartbeat` frame every `WS_HEARTBEAT_S`.
Anything it cannot use gets an `error` frame and the connection stays open.

Each connection runs three tracked tasks: a receiver (client messages), a sender (the only
writer to the socket, draining the client's hub queue) and a watch on the hub's drop signal.
Close codes: 1013 when the client is too slow (its queue overflowed) or the server has
`WS_MAX_CONNECTIONS` clients already; 1008 after `INVALID_LIMIT` invalid messages within
`INVALID_WINDOW_S`; 1009 for a message over `WS_MAX_MESSAGE_BYTES`.

Before the handshake, `RequestLimits` (`api/http/limits.py`) spends one request of the client's
rate limit on the upgrade and holds one of its WS_MAX_PER_CLIENT connections while the
session lasts; a client over either gets a 429 instead of the handshake, so one address cannot
take every one of the `WS_MAX_CONNECTIONS` slots.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from cryptoagg.api.deps import services_of
from cryptoagg.bootstrap.container import Services
from cryptoagg.services.events import NEWS, NEWS_PREFIX, PROVIDERS, Subscriber, control_frame
from cryptoagg.services.live import UnknownTopic

log = structlog.get_logger("cryptoagg.ws")

router = APIRouter()

#: topics one connection may hold at once
MAX_TOPICS = 100
#: invalid messages tolerated within INVALID_WINDOW_S before the connection is closed
INVALID_LIMIT = 20
INVALID_WINDOW_S = 10.0
#: how long a close frame may wait behind a full socket buffer
CLOSE_TIMEOUT_S = 5.0

TOO_SLOW = 1013  # "try again later"
TOO_MANY_CONNECTIONS = 1013
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
USAGE = 'expected {"subscribe": [topics]} or {"unsubscribe": [topics]}'


class Refused(Exception):
    """The client broke the protocol's limits: close the connection with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@router.websocket("/ws")
async def live_updates(websocket: WebSocket) -> None:
    services = services_of(websocket.app.state)
    hub = services.events
    if len(hub) >= services.settings.ws_max_connections:
        # accept first so the client sees a close code it can act on, not a bare 403
        log.warning("ws_refused", connections=len(hub))
        with contextlib.suppress(WebSocketDisconnect, OSError):
            await websocket.accept()
            await websocket.close(TOO_MANY_CONNECTIONS, "too many connections; try again later")
        return
    subscriber = hub.connect()
    try:
        await websocket.accept()
        await Session(websocket, services, subscriber).run()
    finally:
        hub.disconnect(subscriber)


class Session:
    def __init__(self, websocket: WebSocket, services: Services, subscriber: Subscriber) -> None:
        self.websocket = websocket
        self.hub = services.events
        #: topic names and the data of snapshots
        self.live = services.live
        self.subscriber = subscriber
        self.max_bytes = services.settings.ws_max_message_bytes
        self._invalid: deque[float] = deque()

    async def run(self) -> None:
        receiver = asyncio.create_task(self._receive(), name="ws-receive")
        sender = asyncio.create_task(self._send(), name="ws-send")
        dropped = asyncio.create_task(self.subscriber.dropped.wait(), name="ws-dropped")
        tasks = (receiver, sender, dropped)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.subscriber.dropped.is_set():
            await self._close(TOO_SLOW, self.subscriber.drop_reason or "too slow")
            return
        for task in (receiver, sender):
            if task.cancelled() or task.exception() is None:
                continue
            error = task.exception()
            if isinstance(error, Refused):
                log.info("ws_closed", code=error.code, reason=error.reason)
                await self._close(error.code, error.reason)
            elif not isinstance(error, WebSocketDisconnect | OSError):
                log.error("ws_session_failed", error=f"{type(error).__name__}: {error}"[:300])
                await self._close(1011, "internal error")
            return

    async def _close(self, code: int, reason: str) -> None:
        """Close, but never wait long behind a client that stopped reading: after the
        timeout the server closes the transport without the close frame."""
        self.hub.disconnect(self.subscriber)
        with contextlib.suppress(TimeoutError, WebSocketDisconnect, OSError, RuntimeError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.websocket.close(code, reason[:120])

    async def _send(self) -> None:
        queue = self.subscriber.queue
        send = self.websocket.send_text
        while True:
            await send(await queue.get())

    async def _receive(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                size = len(message.get("bytes") or b"")
                self._check_size(size)
                self._reject("send JSON in text frames, not binary")
                continue
            self._check_size(len(text.encode()))
            await self.handle(text)

    def _check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise Refused(MESSAGE_TOO_BIG, f"message over {self.max_bytes} bytes")

    def _reject(self, error: str, topic: str | None = None) -> None:
        """An error frame; too many in a short window close the connection (1008)."""
        fields: dict[str, Any] = {"message": error}
        if topic is not None:
            fields["topic"] = topic
        self.hub.send(self.subscriber, control_frame("error", **fields))

    def _count_invalid(self) -> None:
        now = asyncio.get_running_loop().time()
        self._invalid.append(now)
        while self._invalid and self._invalid[0] < now - INVALID_WINDOW_S:
            self._invalid.popleft()
        if len(self._invalid) >= INVALID_LIMIT:
            raise Refused(POLICY_VIOLATION, "too many invalid messages")

    async def handle(self, text: str) -> None:
        """One client message; a message with any error counts once towards the limit."""
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._reject("invalid JSON")
            self._count_invalid()
            return
        parsed = _parse(message)
        if isinstance(parsed, str):
            self._reject(parsed)
            self._count_invalid()
            return
        action, topics = parsed
        failed = False
        if action == "subscribe":
            for raw in topics:
                failed |= not await self._subscribe(raw)
        else:
            held = {self._known(raw) for raw in topics} & self.subscriber.topics
            gone = sorted(held)
            for topic in gone:
                self.hub.unsubscribe(self.subscriber, topic)
            self.hub.send(self.subscriber, control_frame("unsubscribed", topics=gone))
        if failed:
            self._count_invalid()

    def _known(self, raw: str) -> str:
        """The canonical form of a topic, else the topic as given (for unsubscribing)."""
        try:
            return self.live.canonical(raw)
        except UnknownTopic:
            return raw

    async def _subscribe(self, raw: str) -> bool:
        try:
            topic = self.live.canonical(raw)
        except UnknownTopic as exc:
            self._reject(exc.message, raw)
            return False
        if topic not in self.subscriber.topics and len(self.subscriber.topics) >= MAX_TOPICS:
            self._reject(f"at most {MAX_TOPICS} topics per connection", raw)
            return False
        if topic == PROVIDERS:
            self.hub.subscribe(self.subscriber, topic, self.live.providers(), fresh=True)
        elif topic == NEWS or topic.startswith(NEWS_PREFIX):
            self.hub.subscribe(self.subscriber, topic, await self.live.news(topic), fresh=True)
        else:
            latest = self.hub.latest(topic)
            fallback = None if latest is not None else await self.live.price(topic)
            self.hub.subscribe(self.subscriber, topic, fallback)
        return True


def _parse(message: object) -> tuple[str, list[str]] | str:
    """(action, topics) from a client message, or what is wrong with it."""
    if not isinstance(message, dict) or len(message) != 1:
        return USAGE
    action, topics = next(iter(message.items()))
    if action not in ("subscribe", "unsubscribe"):
        return USAGE
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        return f"{action}: expected a list of topic strings"
    if len(topics) > MAX_TOPICS:
        return f"{action}: at most {MAX_TOPICS} topics per message"
    return action, topics
