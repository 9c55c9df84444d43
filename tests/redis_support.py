"""Redis for tests: the machine's server, and servers a test starts (and kills) itself.

The machine's server is 127.0.0.1:6379, database 15 (override with TEST_REDIS_URL); every
test works under its own key prefix (`unique_prefix()`) and deletes it afterwards, so tests
never see each other's keys. With CI=true a missing server (or a missing `redis-server`
binary) fails the test instead of skipping it, as `tests/storage/conftest.py` does for
PostgreSQL.

A test of Redis going away starts its own server (`RedisServer`: another port, no
persistence), kills it mid-test and starts it again on the same port.

Use it from a test module with small fixtures of its own, e.g.::

    @pytest.fixture
    async def link() -> AsyncIterator[RedisLink]:
        async with open_link() as link:
            yield link
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from cryptoagg.resilience.redis_link import LinkConfig, RedisLink

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_redis(url: str = REDIS_URL) -> str:
    """`url` when its server answers; skips (fails with CI=true) when it does not."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis not reachable at {url}: {type(exc).__name__}")
    finally:
        client.close()
    return url


def unique_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"


async def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under `prefix`; the number deleted."""
    client = Redis.from_url(url)
    deleted = 0
    try:
        async for key in client.scan_iter(match=f"{prefix}*", count=500):
            deleted += await client.delete(key)
    finally:
        await client.aclose()
    return deleted


#: a fast heartbeat and reconnection, so a test sees the link change in ms; a command timeout
#: long enough that a loaded machine never makes a live server look down (a stopped server
#: refuses connections at once)
FAST = LinkConfig("", timeout_s=2.0, heartbeat_s=0.1, reconnect_min_s=0.02, reconnect_max_s=0.1)


def fast_config(url: str, prefix: str | None = None) -> LinkConfig:
    return replace(FAST, url=url, prefix=prefix or unique_prefix())


@asynccontextmanager
async def open_link(url: str | None = None, prefix: str | None = None) -> AsyncIterator[RedisLink]:
    """A started link (`FAST`) on the machine's server (or `url`) under a fresh prefix,
    closed and cleaned up afterwards."""
    url = url or require_redis()
    link = RedisLink(fast_config(url, prefix))
    await link.start()
    try:
        yield link
    finally:
        await link.aclose()
        if url == REDIS_URL:
            await delete_prefix(url, link.config.prefix)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A `redis-server` of the test's own on a free port, without persistence, that the test
    may kill (`stop`, SIGKILL: as if the host died) and start again on the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _unavailable("redis-server is not installed")
            return
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", *NO_PERSISTENCE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self._process.poll() is not None:
                        self.stop()
                        _unavailable(f"redis-server did not start on port {self.port}")
                        return
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    async def astop(self) -> None:
        """`stop` without blocking the event loop of the test."""
        await asyncio.to_thread(self.stop)

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


@contextmanager
def redis_server(port: int | None = None) -> Iterator[RedisServer]:
    """A started `RedisServer`, killed at the end whatever happened."""
    server = RedisServer(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def wait_until(condition: Any, timeout_s: float = 10.0, step_s: float = 0.02) -> None:
    """Poll `condition()` (true-ish, or an awaitable of one) until it holds; fail on time."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        await asyncio.sleep(step_s)
