"""The Redis link: up, down (a server the test kills), fallback, reconnect, rejoin callbacks
and scripts that survive a server restart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from cryptoagg.resilience.redis_link import RedisLink
from tests.redis_support import RedisServer, fast_config, open_link, redis_server, wait_until


@pytest.fixture
async def own() -> AsyncIterator[tuple[RedisServer, RedisLink]]:
    """A link on a server of the test's own, which the test may kill."""
    with redis_server() as server:
        async with open_link(server.url) as link:
            yield server, link


async def _get(client: Redis, key: str) -> bytes | str | None:
    value: bytes | str | None = await client.get(key)
    return value


async def test_up_on_the_machine_server_runs_ops_under_the_prefix() -> None:
    async with open_link() as link:
        assert link.up and link.degraded_reason is None
        key = link.key("probe", "a")
        assert key == f"{link.config.prefix}probe:a"
        await link.run(lambda c: c.set(key, b"1"), lambda: None)
        assert await link.run(lambda c: _get(c, key), lambda: b"local") == b"1"
        assert link.fallbacks == 0
        assert link.reading().up is True and link.reading().down_for_s is None


async def test_a_killed_server_means_fallback_and_degraded_then_rejoin(
    own: tuple[RedisServer, RedisLink],
) -> None:
    server, link = own
    rejoined: list[bool] = []

    async def rejoin() -> None:
        rejoined.append(link.up)  # runs before the link is marked up again

    link.on_rejoin(rejoin)
    key = link.key("k")
    await link.run(lambda c: c.set(key, b"shared"), lambda: None)

    await server.astop()
    assert await link.run(lambda c: _get(c, key), lambda: b"local") == b"local"
    assert not link.up
    assert link.degraded_reason is not None and "Error" in link.degraded_reason
    assert link.fallbacks == 1
    # while down, nothing is tried on Redis: the fallback answers at once
    assert await link.run(lambda c: _get(c, key), lambda: b"local") == b"local"
    assert link.fallbacks == 2
    reading = link.reading()
    assert not reading.up and reading.down_for_s is not None and reading.down_for_s >= 0

    await server.astart()
    await wait_until(lambda: link.up)
    assert rejoined == [False]
    assert link.rejoins == 2  # the first connection and this one
    # a fresh server (no persistence): the value is gone, the link works again
    assert await link.run(lambda c: _get(c, key), lambda: b"local") is None


async def test_an_idle_link_notices_a_dead_server_by_its_heartbeat(
    own: tuple[RedisServer, RedisLink],
) -> None:
    server, link = own
    assert link.up
    await server.astop()
    await wait_until(lambda: not link.up, timeout_s=5)
    assert link.fallbacks == 0  # nobody asked: the heartbeat found it
    await server.astart()
    await wait_until(lambda: link.up, timeout_s=5)


async def test_starting_without_redis_degrades_and_connects_when_it_comes() -> None:
    server = RedisServer()
    link = RedisLink(fast_config(server.url))
    try:
        await link.start()  # never raises: the service starts without Redis
        assert not link.up and link.degraded_reason
        assert await link.run(lambda c: c.ping(), lambda: "local") == "local"
        await server.astart()
        await wait_until(lambda: link.up, timeout_s=5)
        assert await link.run(lambda c: c.ping(), lambda: "local") is True
    finally:
        await link.aclose()
        server.stop()


async def test_scripts_are_reloaded_after_a_restart(own: tuple[RedisServer, RedisLink]) -> None:
    server, link = own
    incr = link.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    key = link.key("n")
    assert await link.run(lambda c: incr(keys=[key], args=[2], client=c), lambda: -1) == 2
    await server.astop()
    assert await link.run(lambda c: incr(keys=[key], args=[2], client=c), lambda: -1) == -1
    await server.astart()
    await wait_until(lambda: link.up)
    # the new server's script cache was empty: the link loaded it again on rejoin
    assert await link.client.script_exists(incr.sha) == [True]
    assert await link.run(lambda c: incr(keys=[key], args=[5], client=c), lambda: -1) == 5


async def test_a_failing_rejoin_callback_is_retried_a_buggy_one_is_skipped(
    own: tuple[RedisServer, RedisLink],
) -> None:
    server, link = own
    calls = {"flaky": 0, "buggy": 0}

    async def flaky() -> None:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RedisConnectionError("gone again")

    async def buggy() -> None:
        calls["buggy"] += 1
        raise ValueError("a bug")

    link.on_rejoin(flaky)
    link.on_rejoin(buggy)
    await server.astop()
    await wait_until(lambda: not link.up)
    await server.astart()
    await wait_until(lambda: link.up)
    assert calls == {"flaky": 2, "buggy": 1}


async def test_a_bad_command_falls_back_without_marking_redis_down() -> None:
    async with open_link() as link:
        key = link.key("s")
        await link.run(lambda c: c.set(key, b"text"), lambda: None)
        # INCR of a string is a command error, not Redis being gone
        assert await link.run(lambda c: c.incr(key), lambda: -1) == -1
        assert link.up and link.fallbacks == 1
