"""Live updates: the in-process publish/subscribe hub behind `WS /ws`.

Publishers (the price collector, the provider-status feed, the news collector) call
`publish(topic, data)`: synchronous and cheap. The hub encodes the update frame once (orjson)
and puts the same string on every subscriber's bounded queue, so a fan-out to a thousand
clients costs a thousand `put_nowait`s, not a thousand encodings. A subscriber whose queue is
full is marked dropped (the WebSocket closes it) and removed at once: neither the publisher
nor any other subscriber ever waits for a slow client.

Topics are `prices:<asset_id>`, `providers`, `news` and `news:<asset_id>`. The hub keeps each
topic's latest update for snapshots. Heartbeats are one frame, encoded once, for every
subscriber every `heartbeat_s`.

Scale-out (REDIS_URL): `EventHub.relay` (events_redis.py) also sends each update to Redis once,
and the other replicas' relays hand it to their hub's `deliver`; else only local clients hear it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import orjson
import structlog

log = structlog.get_logger("cryptoagg.events")

PROVIDERS = "providers"
NEWS = "news"
PRICES_PREFIX = "prices:"
#: `news:<asset_id>`: the news items linked to one asset
NEWS_PREFIX = "news:"


def price_topic(asset_id: str) -> str:
    return PRICES_PREFIX + asset_id


def news_topic(asset_id: str) -> str:
    return NEWS_PREFIX + asset_id


def _default(value: object) -> object:
    # the HTTP API's rendering (api/render.py): Decimals as JSON numbers
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def encode(data: object) -> bytes:
    """JSON as the HTTP API writes it: Decimals as numbers, datetimes ISO-8601 with `Z`."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_UTC_Z)


@dataclass(frozen=True, slots=True)
class Update:
    """One published payload: its data encoded once, and the update frame built from it."""

    topic: str
    data: orjson.Fragment
    published_at: datetime
    frame: str


def make_update(topic: str, data: object, published_at: datetime) -> Update:
    fragment = orjson.Fragment(encode(data))
    frame = encode(
        {"type": "update", "topic": topic, "data": fragment, "published_at": published_at}
    )
    return Update(topic, fragment, published_at, frame.decode())


def snapshot_frame(topic: str, latest: Update | None, fallback: object = None) -> str:
    """The snapshot sent right after subscribing: the latest update, else `fallback`."""
    if latest is not None:
        body = {
            "type": "snapshot",
            "topic": topic,
            "data": latest.data,
            "published_at": latest.published_at,
        }
    else:
        body = {"type": "snapshot", "topic": topic, "data": fallback, "published_at": None}
    return encode(body).decode()


def control_frame(kind: str, **fields: object) -> str:
    """Frames that are not topic data: `heartbeat`, `error`, `unsubscribed`."""
    return encode({"type": kind, **fields}).decode()


class Publisher(Protocol):
    """What publishers see of the hub (the seam for a cross-replica implementation)."""

    def publish(self, topic: str, data: object) -> int: ...


class Subscriber:
    """One client's side of the hub: its topics and a bounded queue of encoded frames."""

    __slots__ = ("drop_reason", "dropped", "queue", "topics")

    def __init__(self, queue_size: int) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self.topics: set[str] = set()
        self.dropped = asyncio.Event()
        self.drop_reason: str | None = None

    def offer(self, frame: str) -> bool:
        """Queue `frame` without waiting; a full queue marks this subscriber too slow."""
        if self.dropped.is_set():
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.drop_reason = f"too slow: {self.queue.maxsize} messages waiting"
            self.dropped.set()
            return False
        return True


@dataclass(slots=True)
class HubStats:
    published: int = 0
    #: frames put on subscribers' queues (updates, snapshots, heartbeats, control frames)
    delivered: int = 0
    #: subscribers dropped because their queue was full
    dropped: int = 0


class EventHub:
    def __init__(self, *, queue_size: int, clock: Callable[[], datetime]) -> None:
        self.queue_size = queue_size
        self.clock = clock
        self.stats = HubStats()
        self._subscribers: set[Subscriber] = set()
        self._topics: dict[str, set[Subscriber]] = {}
        self._latest: dict[str, Update] = {}
        self._heartbeats: asyncio.Task[None] | None = None
        self.relay: Callable[[Update], None] | None = None  # to the other replicas (or None)

    def __len__(self) -> int:
        """Connected subscribers."""
        return len(self._subscribers)

    def subscribers(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    def latest(self, topic: str) -> Update | None:
        return self._latest.get(topic)

    def connect(self, queue_size: int | None = None) -> Subscriber:
        subscriber = Subscriber(queue_size or self.queue_size)
        self._subscribers.add(subscriber)
        return subscriber

    def disconnect(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        for topic in subscriber.topics:
            subs = self._topics.get(topic)
            if subs is not None:
                subs.discard(subscriber)
                if not subs:
                    del self._topics[topic]
        subscriber.topics.clear()

    def subscribe(
        self, subscriber: Subscriber, topic: str, fallback: object = None, *, fresh: bool = False
    ) -> bool:
        """Queue the topic's snapshot (the latest update, else `fallback`; always `fallback`
        when `fresh`) and add the topic. Both happen without awaiting, so no update can slip
        in between or before the snapshot. False when the subscriber is (now) dropped."""
        latest = None if fresh else self._latest.get(topic)
        if not self.send(subscriber, snapshot_frame(topic, latest, fallback)):
            return False
        subscriber.topics.add(topic)
        self._topics.setdefault(topic, set()).add(subscriber)
        return True

    def unsubscribe(self, subscriber: Subscriber, topic: str) -> None:
        subscriber.topics.discard(topic)
        subs = self._topics.get(topic)
        if subs is not None:
            subs.discard(subscriber)
            if not subs:
                del self._topics[topic]

    def send(self, subscriber: Subscriber, frame: str) -> bool:
        """Queue one frame for one subscriber (snapshots, errors); drop it when full."""
        if subscriber.offer(frame):
            self.stats.delivered += 1
            return True
        self._drop(subscriber)
        return False

    def publish(self, topic: str, data: object) -> int:
        """Encode `data` once and fan it out; returns how many subscribers got it."""
        self.stats.published += 1
        update = make_update(topic, data, self.clock())
        if self.relay is not None:
            self.relay(update)
        return self.deliver(update)

    def deliver(self, update: Update) -> int:
        self._latest[update.topic] = update
        subs = self._topics.get(update.topic)
        return self._fan_out(list(subs), update.frame) if subs else 0

    def broadcast(self, frame: str) -> int:
        """One frame to every connected subscriber (heartbeats)."""
        return self._fan_out(list(self._subscribers), frame)

    def _fan_out(self, subscribers: list[Subscriber], frame: str) -> int:
        reached = 0
        slow = []
        for subscriber in subscribers:
            if subscriber.offer(frame):
                reached += 1
            else:
                slow.append(subscriber)
        self.stats.delivered += reached
        for subscriber in slow:
            self._drop(subscriber)
        return reached

    def _drop(self, subscriber: Subscriber) -> None:
        if subscriber not in self._subscribers:
            return
        self.disconnect(subscriber)
        self.stats.dropped += 1
        log.info("ws_subscriber_dropped", reason=subscriber.drop_reason)

    def heartbeat(self) -> int:
        return self.broadcast(control_frame("heartbeat", at=self.clock()))

    def start(self, heartbeat_s: float) -> None:
        self._heartbeats = asyncio.create_task(self._beat(heartbeat_s), name="ws-heartbeats")

    async def _beat(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.heartbeat()

    async def aclose(self) -> None:
        if self._heartbeats is not None:
            self._heartbeats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeats
            self._heartbeats = None
