"""WebSocket fan-out across replicas: the hub's updates through one Redis pub/sub channel.

The collectors run on one replica (the leader), but clients are spread over all of them. The
relay is the hub's `relay`: each update the hub publishes goes to its own clients at once and
is queued for Redis (one sender task, in order; a full queue drops updates rather than make a
publisher wait). Every replica's reader hands what arrives to its hub's `deliver`, skipping
its own updates (they were delivered already), so an update costs one PUBLISH and one encoding
per replica.

The `providers` topic stays local: each replica publishes its own view of the providers, the
same one its `/api/providers` answers, and relaying it would interleave replicas' views.

Redis down: the sender's PUBLISH falls back to nothing (the link counts it), the reader ends,
and clients hear only their own replica's updates. The link's rejoin callback subscribes again
before the link is marked up, so no update published after the rejoin is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import orjson
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from cryptoagg.resilience.redis_link import LINK_ERRORS, RedisLink
from cryptoagg.services.events import PROVIDERS, EventHub, Update, make_update

log = structlog.get_logger("cryptoagg.events.redis")

#: topics each replica publishes for itself
LOCAL_TOPICS = frozenset({PROVIDERS})


def pack(origin: str, update: Update) -> bytes:
    """origin, topic, published_at and the data, one per line (the data is one-line JSON)."""
    head = f"{origin}\n{update.topic}\n{update.published_at.isoformat()}\n"
    return head.encode() + orjson.dumps(update.data)


def unpack(message: bytes) -> tuple[str, Update]:
    """The origin and the update; ValueError when the message is not one `pack` wrote."""
    origin, topic, at, data = message.split(b"\n", 3)
    orjson.loads(data)  # only JSON reaches the clients
    published_at = datetime.fromisoformat(at.decode())
    if published_at.tzinfo is None:
        raise ValueError("published_at without a zone")
    return origin.decode(), make_update(topic.decode(), orjson.Fragment(data), published_at)


async def _publish(client: Redis, *, channel: str, message: bytes) -> bool:
    await client.publish(channel, message)
    return True


def _no() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class RelayCounts:
    """What the relay did since start (for /metrics)."""

    #: updates published to the other replicas
    sent: int
    #: the other replicas' updates handed to this replica's clients
    received: int
    #: updates not sent because the outbox was full
    dropped: int


class RedisRelay:
    def __init__(self, hub: EventHub, link: RedisLink, *, queue_size: int = 1024) -> None:
        self.hub = hub
        self.link = link
        self.channel = link.key("events")
        self.origin = uuid.uuid4().hex
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(queue_size)
        self._sender: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None
        self.sent = 0
        self.received = 0
        self.dropped = 0

    def counts(self) -> RelayCounts:
        return RelayCounts(self.sent, self.received, self.dropped)

    async def start(self) -> None:
        """Become the hub's relay and subscribe (now if Redis is up, else on its return)."""
        self.link.on_rejoin(self._subscribe)
        self.hub.relay = self.send
        self._sender = asyncio.create_task(self._send_loop(), name="ws-relay-send")
        if self.link.up:
            try:
                await self._subscribe()
            except LINK_ERRORS as exc:
                self.link.lost(exc)

    def send(self, update: Update) -> None:
        """The hub's relay: queue `update` for the other replicas (never waits)."""
        if update.topic in LOCAL_TOPICS:
            return
        try:
            self._outbox.put_nowait(pack(self.origin, update))
        except asyncio.QueueFull:
            self.dropped += 1

    async def _send_loop(self) -> None:
        while True:
            message = await self._outbox.get()
            if not self.link.up:
                continue  # Redis down: this replica's clients had it already
            if await self.link.run(partial(_publish, channel=self.channel, message=message), _no):
                self.sent += 1

    async def _subscribe(self) -> None:
        """A fresh subscription and reader (the rejoin callback: raises while Redis is down,
        so the link tries again)."""
        await self._stop_reader()
        pubsub = self.link.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self._pubsub = pubsub
        self._reader = asyncio.create_task(self._read(pubsub), name="ws-relay-read")

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and message.get("type") == "message":
                    self._deliver(message["data"])
        except LINK_ERRORS as exc:
            log.info("ws_relay_unsubscribed", reason=type(exc).__name__)
            self.link.lost(exc)

    def _deliver(self, raw: bytes) -> None:
        try:
            origin, update = unpack(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("ws_relay_bad_message", error=type(exc).__name__)
            return
        if origin == self.origin:
            return
        self.received += 1
        self.hub.deliver(update)

    async def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(*LINK_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        if self.hub.relay == self.send:
            self.hub.relay = None
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        await self._stop_reader()
