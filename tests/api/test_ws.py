"""WS /ws through a real uvicorn server on a loopback port (in the test's event loop, so the
test can publish to the server's hub), with the `websockets` client library."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cryptoagg.api.app import create_app
from cryptoagg.api.routes import ws as ws_module
from cryptoagg.bootstrap import Container
from cryptoagg.config import load_settings
from cryptoagg.services.events import price_topic


class Server:
    def __init__(self, url: str, app: FastAPI) -> None:
        self.url = url
        self.app = app

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    def client(self, **options: Any) -> AbstractAsyncContextManager[ClientConnection]:
        # no compression: the slow-client test needs bytes on the wire to fill buffers
        return connect(self.url, compression=None, open_timeout=5, **options)


Serve = Callable[..., AbstractAsyncContextManager[Server]]


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Serve:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE", "TRUSTED_PROXIES"):
        monkeypatch.delenv(key, raising=False)

    @asynccontextmanager
    async def run(**settings: Any) -> AsyncIterator[Server]:
        options = {"collectors": False, **settings}
        app = create_app(load_settings(use_mock_data=True, data_dir=tmp_path, **options))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            for _ in range(300):
                if server.started or task.done():
                    break
                await asyncio.sleep(0.02)
            assert server.started, "the server did not start"
            yield Server(f"ws://127.0.0.1:{port}/ws", app)
        finally:
            server.should_exit = True
            await task
            sock.close()

    return run


async def frame(client: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame that is not a heartbeat."""
    while True:
        async with asyncio.timeout(timeout_s):
            message = orjson.loads(await client.recv())
        if message["type"] != "heartbeat":
            return message  # type: ignore[no-any-return]


async def close_code(client: ClientConnection, timeout_s: float = 10.0) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                await client.recv()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("unreachable")


async def subscribe(client: ClientConnection, *topics: str) -> list[dict[str, Any]]:
    await client.send(orjson.dumps({"subscribe": list(topics)}).decode())
    return [await frame(client) for _ in topics]


async def test_subscribe_gets_snapshots_then_updates_within_a_bound(serve: Serve) -> None:
    async with serve() as server, server.client() as client:
        prices, providers = await subscribe(client, "prices:BTC", "providers")
        # a symbol is answered under the canonical asset id
        assert prices["type"] == "snapshot" and prices["topic"] == "prices:bitcoin"
        # nothing was published yet: the snapshot is the (cached) consensus
        assert prices["data"]["asset_id"] == "bitcoin" and prices["data"]["symbol"] == "BTC"
        assert prices["data"]["low"] <= prices["data"]["price"] <= prices["data"]["high"]
        assert len(prices["data"]["sources"]) >= 3
        assert providers["topic"] == "providers"
        names = {p["name"] for p in providers["data"]}
        assert {"coingecko", "binance", "kraken"} <= names

        hub = server.container.events
        started = time.perf_counter()
        hub.publish(price_topic("bitcoin"), {"asset_id": "bitcoin", "price": 1.5})
        hub.publish(price_topic("ethereum"), {"asset_id": "ethereum", "price": 2.5})
        update = await frame(client, timeout_s=2.0)
        elapsed = time.perf_counter() - started

        assert update["type"] == "update" and update["topic"] == "prices:bitcoin"
        assert update["data"] == {"asset_id": "bitcoin", "price": 1.5}
        published = datetime.fromisoformat(update["published_at"])
        assert abs((datetime.now(UTC) - published).total_seconds()) < 2
        assert elapsed < 2.0

        # a later subscriber's snapshot is the latest update
        async with server.client() as late:
            (snapshot,) = await subscribe(late, "prices:bitcoin")
            assert snapshot["data"] == {"asset_id": "bitcoin", "price": 1.5}
            assert snapshot["published_at"] == update["published_at"]


async def test_unsubscribe_stops_updates(serve: Serve) -> None:
    async with serve() as server, server.client() as client:
        await subscribe(client, "news", "providers")
        await client.send('{"unsubscribe": ["news", "prices:ETH"]}')
        assert await frame(client) == {"type": "unsubscribed", "topics": ["news"]}
        hub = server.container.events
        hub.publish("news", {"items": [{"title": "dropped"}]})
        hub.publish("providers", [{"name": "kraken", "state": "open"}])
        update = await frame(client)
        assert update["topic"] == "providers"  # the news update never came
        assert hub.subscribers("news") == 0


@pytest.mark.slow
async def test_the_price_collector_publishes_each_new_consensus(serve: Serve) -> None:
    settings = {
        "collectors": True,
        "collect_prices_s": 5,
        "price_ttl_s": 0,
        "collect_assets": 2,
        "collect_candles_s": 3600,
        "collect_news_s": 3600,
        "collect_health_s": 3600,
    }
    async with serve(**settings) as server, server.client() as client:
        (snapshot,) = await subscribe(client, "prices:bitcoin")
        assert snapshot["data"]["asset_id"] == "bitcoin"
        update = await frame(client, timeout_s=8.0)  # the next tick, at most 5 s away
        assert update["type"] == "update" and update["topic"] == "prices:bitcoin"
        data = update["data"]
        assert set(data) == {
            "asset_id",
            "symbol",
            "price",
            "low",
            "high",
            "spread_bps",
            "sources",
            "as_of",
            "conversions",
            "received",
        }
        assert data["low"] <= data["price"] <= data["high"] and len(data["sources"]) >= 3
        # Binance quotes in USDT, converted at the rate the others' USD quotes measure;
        # Kraken's ticker carries no time: it is timed on receipt
        assert data["conversions"]["USDT"]["assumed"] is False
        assert "kraken" in data["received"] and "binance" not in data["received"]
        # published once written: the record is there already
        stored = server.container.prices_repo.latest("bitcoin", 10)
        assert datetime.fromisoformat(data["as_of"]) in [r.as_of for r in stored]


async def test_a_slow_client_is_dropped_while_a_fast_one_gets_every_update(
    serve: Serve,
) -> None:
    async with (
        serve(ws_queue_size=16) as server,
        server.client() as fast,
        # reads nothing after its snapshot: its library stops reading the socket at once
        server.client(max_queue=1) as slow,
    ):
        await subscribe(fast, "prices:bitcoin")
        await subscribe(slow, "prices:bitcoin")
        hub = server.container.events
        # incompressible filler, so socket buffers fill after a few MB
        filler = base64.b64encode(os.urandom(48_000)).decode()
        seen: list[int] = []
        sequence = 0
        started = time.monotonic()
        while hub.stats.dropped == 0:
            assert time.monotonic() - started < 60, "the slow client was never dropped"
            for _ in range(4):  # fewer than the queue holds: the fast client keeps up
                hub.publish(price_topic("bitcoin"), {"n": sequence, "filler": filler})
                sequence += 1
            for _ in range(4):
                seen.append((await frame(fast))["data"]["n"])
        assert sequence >= 20  # it took more than one queue's worth to fill the buffers
        assert len(hub) == 1  # only the fast client is still connected
        for _ in range(8):  # and it keeps receiving
            hub.publish(price_topic("bitcoin"), {"n": sequence, "filler": ""})
            sequence += 1
            seen.append((await frame(fast))["data"]["n"])
        assert seen == list(range(sequence))

        # what the slow client finally reads: a gap-free prefix, then the close
        got: list[int] = []
        try:
            async with asyncio.timeout(20):
                while True:
                    message = orjson.loads(await slow.recv())
                    if message["type"] == "update":
                        got.append(message["data"]["n"])
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            assert closed.rcvd.code == 1013
            assert closed.rcvd.reason == "too slow: 16 messages waiting"
        assert got == list(range(len(got))) and len(got) < sequence


async def test_invalid_messages_get_error_frames_and_the_connection_stays(
    serve: Serve,
) -> None:
    async with serve() as server, server.client() as client:
        await client.send("{not json")
        assert await frame(client) == {"type": "error", "message": "invalid JSON"}
        await client.send('{"publish": ["news"]}')
        error = await frame(client)
        assert error["type"] == "error" and "subscribe" in error["message"]
        await client.send('{"subscribe": "news", "unsubscribe": "news"}')
        assert (await frame(client))["type"] == "error"
        await client.send('{"subscribe": [1, 2]}')
        assert await frame(client) == {
            "type": "error",
            "message": "subscribe: expected a list of topic strings",
        }
        await client.send(b'{"subscribe": ["news"]}')
        assert (await frame(client))["message"] == "send JSON in text frames, not binary"
        await client.send('{"subscribe": ["weather", "prices:NOPECOIN", "news"]}')
        unknown, no_asset, snapshot = [await frame(client) for _ in range(3)]
        assert unknown["type"] == "error" and unknown["topic"] == "weather"
        assert unknown["message"].startswith("unknown topic 'weather'")
        assert no_asset == {
            "type": "error",
            "message": "unknown asset: 'NOPECOIN'",
            "topic": "prices:NOPECOIN",
        }
        # the valid topic of the same message is served, and the connection still works
        assert snapshot["type"] == "snapshot" and snapshot["topic"] == "news"
        assert isinstance(snapshot["data"]["items"], list)
        server.container.events.publish("news", {"items": [{"title": "t"}]})
        assert (await frame(client))["data"] == {"items": [{"title": "t"}]}


async def test_a_flood_of_invalid_messages_closes_with_policy_violation(serve: Serve) -> None:
    async with serve() as server, server.client() as client:
        for _ in range(ws_module.INVALID_LIMIT):
            await client.send("nope")
        code, reason = await close_code(client)
        assert (code, reason) == (1008, "too many invalid messages")
        assert len(server.container.events) == 0


async def test_an_oversized_message_closes_with_1009(serve: Serve) -> None:
    async with serve(ws_max_message_bytes=1024) as server, server.client() as client:
        await client.send('{"subscribe": ["' + "x" * 2000 + '"]}')
        assert await close_code(client) == (1009, "message over 1024 bytes")
        assert len(server.container.events) == 0


async def test_topics_per_connection_are_capped(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_module, "MAX_TOPICS", 2)
    async with serve() as server, server.client() as client:
        await subscribe(client, "news", "providers")
        await client.send('{"subscribe": ["news", "prices:ETH"]}')
        again, refused = await frame(client), await frame(client)
        assert again["type"] == "snapshot" and again["topic"] == "news"  # held already
        assert refused == {
            "type": "error",
            "message": "at most 2 topics per connection",
            "topic": "prices:ETH",
        }
        assert server.container.events.subscribers(price_topic("ethereum")) == 0


async def test_connections_beyond_the_limit_are_closed_with_1013(serve: Serve) -> None:
    async with serve(ws_max_connections=2) as server:
        async with server.client() as one, server.client() as two:
            await subscribe(one, "news")
            await subscribe(two, "news")
            async with server.client() as three:
                assert await close_code(three) == (1013, "too many connections; try again later")
            assert len(server.container.events) == 2
        for _ in range(100):  # the two closed: room again
            if len(server.container.events) == 0:
                break
            await asyncio.sleep(0.02)
        async with server.client() as four:
            (snapshot,) = await subscribe(four, "news")
            assert snapshot["type"] == "snapshot"


async def refused(server: Server, **options: Any) -> tuple[int, dict[str, Any]]:
    """An upgrade the server refuses before the handshake: its status and error."""
    with pytest.raises(InvalidStatus) as refusal:
        async with server.client(**options):
            pass
    response = refusal.value.response
    return response.status_code, orjson.loads(response.body)["error"]


async def test_one_client_gets_at_most_its_share_of_connections(serve: Serve) -> None:
    async with serve(ws_max_per_client=2, ws_max_connections=10) as server:
        async with server.client() as one, server.client() as two:
            status, error = await refused(server)
            assert status == 429
            assert error["code"] == "too_many_connections"
            assert error["details"] == {"max_per_client": 2}
            # another address is another client
            async with server.client(local_addr=("127.0.0.2", 0)) as other:
                (snapshot,) = await subscribe(other, "news")
                assert snapshot["type"] == "snapshot"
                assert len(server.container.events) == 3
            await subscribe(one, "news")
            await subscribe(two, "news")
        for _ in range(100):  # closed: the client's slots are free again
            if len(server.container.events) == 0:
                break
            await asyncio.sleep(0.02)
        async with server.client() as again:
            (snapshot,) = await subscribe(again, "news")
            assert snapshot["type"] == "snapshot"


async def test_upgrades_spend_the_clients_rate_limit(serve: Serve) -> None:
    async with serve(rate_limit_per_min=6, rate_limit_burst=2) as server:
        for _ in range(2):
            async with server.client() as client:
                await subscribe(client, "news")
        status, error = await refused(server)
        assert status == 429
        assert error["code"] == "rate_limited"
        assert error["details"]["retry_after_s"] >= 1
        async with server.client(local_addr=("127.0.0.2", 0)) as other:
            await subscribe(other, "news")


async def test_behind_trusted_proxies_each_forwarded_client_has_its_own_share(
    serve: Serve,
) -> None:
    async with serve(ws_max_per_client=1, trusted_proxies="127.0.0.1") as server:

        def via(address: str) -> dict[str, Any]:
            return {"additional_headers": {"x-forwarded-for": address}}

        async with server.client(**via("198.51.100.1")), server.client(**via("198.51.100.2")):
            status, error = await refused(server, **via("198.51.100.1"))
            assert (status, error["code"]) == (429, "too_many_connections")
            # the peer's own address is yet another client (nothing forwarded)
            async with server.client() as direct:
                await subscribe(direct, "news")


async def test_heartbeats_arrive_every_interval(serve: Serve) -> None:
    async with serve(ws_heartbeat_s=0.2) as server, server.client() as client:
        started = time.monotonic()
        beats = []
        async with asyncio.timeout(3):
            while len(beats) < 3:
                message = orjson.loads(await client.recv())
                assert message["type"] == "heartbeat"
                beats.append(datetime.fromisoformat(message["at"]))
        elapsed = time.monotonic() - started
        assert 0.3 <= elapsed <= 2.0
        gaps = [(b - a).total_seconds() for a, b in pairwise(beats)]
        assert all(0.1 <= g <= 0.5 for g in gaps), gaps
        assert len(server.container.events) == 1
