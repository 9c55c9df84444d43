"""The WebSocket relay through Redis: two hubs are two replicas; one publish reaches the
clients of both, once each; `providers` stays local; Redis down means local only, and the
relay subscribes again when Redis returns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.services.events import (
    PROVIDERS,
    EventHub,
    Subscriber,
    make_update,
    price_topic,
)
from cryptoagg.services.events_redis import RedisRelay, pack, unpack
from tests.redis_support import open_link, redis_server, unique_prefix, wait_until

NOW = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
BTC = price_topic("bitcoin")


@dataclass
class Replica:
    hub: EventHub
    relay: RedisRelay
    client: Subscriber
    link: RedisLink

    def frames(self) -> list[dict[str, object]]:
        out = []
        while not self.client.queue.empty():
            out.append(orjson.loads(self.client.queue.get_nowait()))
        return [f for f in out if f["type"] == "update"]


@asynccontextmanager
async def replicas(url: str | None = None) -> AsyncIterator[tuple[Replica, Replica]]:
    prefix = unique_prefix()
    async with AsyncExitStack() as stack:
        pair = []
        for _ in range(2):
            link = await stack.enter_async_context(open_link(url, prefix))
            hub = EventHub(queue_size=64, clock=lambda: NOW)
            relay = RedisRelay(hub, link)
            await relay.start()
            stack.push_async_callback(relay.aclose)
            client = hub.connect()
            for topic in (BTC, PROVIDERS):
                hub.subscribe(client, topic)
            client.queue.get_nowait(), client.queue.get_nowait()  # the two snapshots
            pair.append(Replica(hub, relay, client, link))
        yield pair[0], pair[1]


async def test_one_publish_reaches_the_clients_of_both_replicas_once() -> None:
    async with replicas() as (a, b):
        reached = a.hub.publish(BTC, {"price": Decimal("64000.5"), "as_of": NOW})
        assert reached == 1  # A's own client, at once
        await wait_until(lambda: b.relay.received == 1)
        await asyncio.sleep(0.05)  # A's reader sees its own update come back, and skips it
        frames_a, frames_b = a.frames(), b.frames()
        assert frames_a == frames_b
        assert frames_a == [
            {
                "type": "update",
                "topic": BTC,
                "data": {"price": 64000.5, "as_of": "2024-05-01T12:00:00.250000Z"},
                "published_at": "2024-05-01T12:00:00.250000Z",
            }
        ]
        assert a.relay.sent == 1 and a.relay.received == 0
        # B's later subscribers get it as their snapshot
        latest = b.hub.latest(BTC)
        assert latest is not None and latest.frame == a.hub.latest(BTC).frame  # type: ignore[union-attr]


async def test_the_providers_topic_stays_local() -> None:
    async with replicas() as (a, b):
        a.hub.publish(PROVIDERS, [{"name": "kraken", "state": "down"}])
        a.hub.publish(BTC, {"price": 1})  # sent after it: once it arrives, the other would have
        await wait_until(lambda: b.relay.received == 1)
        assert [f["topic"] for f in b.frames()] == [BTC]
        assert [f["topic"] for f in a.frames()] == [PROVIDERS, BTC]


async def test_a_message_that_is_not_an_update_is_ignored() -> None:
    async with replicas() as (a, b):
        await a.link.client.publish(b.relay.channel, b"x\nprices:bitcoin\nnot-a-time\n{}")
        await a.link.client.publish(
            b.relay.channel, b"x\nprices:bitcoin\n2024-05-01T12:00:00+00:00\n<script>"
        )
        await a.link.client.publish(b.relay.channel, b"garbage")
        a.hub.publish(BTC, {"price": 2})
        await wait_until(lambda: b.relay.received == 1)
        assert [f["data"] for f in b.frames()] == [{"price": 2}]


async def test_redis_down_means_local_only_and_the_relay_resubscribes() -> None:
    with redis_server() as server:
        async with replicas(server.url) as (a, b):
            await server.astop()
            assert a.hub.publish(BTC, {"price": 1}) == 1  # A's clients still hear A
            await asyncio.sleep(0.2)
            assert [f["data"] for f in a.frames()] == [{"price": 1}]
            assert b.frames() == []

            await server.astart()
            await wait_until(lambda: a.link.up and b.link.up)
            a.hub.publish(BTC, {"price": 2})
            await wait_until(lambda: b.relay.received == 1)
            assert [f["data"] for f in b.frames()] == [{"price": 2}]


def test_pack_and_unpack_keep_the_frame_identical() -> None:
    update = make_update(BTC, {"price": Decimal("0.1"), "as_of": NOW}, NOW)
    origin, back = unpack(pack("me", update))
    assert origin == "me"
    assert back.frame == update.frame
    assert back.published_at == NOW and back.topic == BTC
    with pytest.raises(ValueError):
        unpack(b"me\n" + BTC.encode() + b"\n2024-05-01T12:00:00\n{}")  # no zone


async def test_an_idle_subscription_stays_up_past_the_socket_timeout() -> None:
    async with replicas() as (a, b):
        await asyncio.sleep(b.link.config.timeout_s * 4)  # no message for a while
        assert b.link.up and b.link.fallbacks == 0
        a.hub.publish(BTC, {"price": 3})
        await wait_until(lambda: b.relay.received == 1)
        assert [f["data"] for f in b.frames()] == [{"price": 3}]
