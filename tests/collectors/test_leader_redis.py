"""The Redis lease (LEADER_LOCK=redis): one holder, a larger fencing token each term,
compare-and-renew and compare-and-delete, and a leader cut off from Redis that keeps the
lease only until its own deadline (which the key in Redis outlives)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from cryptoagg.collectors.leader_redis import RedisLease
from cryptoagg.resilience.redis_link import RedisLink
from tests.redis_support import open_link, redis_server, unique_prefix, wait_until
from tests.support import FakeClock


@pytest.fixture
async def links() -> AsyncIterator[tuple[RedisLink, RedisLink]]:
    """Two replicas' links on the machine's Redis, under one prefix."""
    prefix = unique_prefix()
    async with open_link(prefix=prefix) as a, open_link(prefix=prefix) as b:
        yield a, b


async def test_one_holder_and_a_larger_token_each_term(
    links: tuple[RedisLink, RedisLink],
) -> None:
    a, b = RedisLease(links[0], 5), RedisLease(links[1], 5)
    assert await a.try_acquire()
    assert await a.try_acquire()  # idempotent: still the same term
    first = a.token
    assert first is not None and first >= 1
    assert not await b.try_acquire() and b.token is None
    assert await a.held()
    ttl = await links[0].client.pttl(a.key)
    assert 4000 < ttl <= 5000  # renewed to the full lease
    await a.release()
    assert a.token is None and not await a.held()
    assert await b.try_acquire()
    assert b.token == first + 1


async def test_an_expired_lease_goes_to_another_and_the_old_holder_learns_it(
    links: tuple[RedisLink, RedisLink],
) -> None:
    a, b = RedisLease(links[0], 0.2), RedisLease(links[1], 5)
    assert await a.try_acquire()
    await asyncio.sleep(0.3)  # a missed its renewals (paused, partitioned)
    assert await b.try_acquire()
    assert not await a.held()  # compare-and-renew: the key is b's now
    assert a.token is None
    await a.release()  # compare-and-delete: never b's lease
    assert await b.held()
    assert await links[0].client.get(b.key) == f"{b.token}:{b.owner}".encode()


async def test_without_redis_the_leader_holds_only_until_its_own_deadline() -> None:
    clock = FakeClock()
    with redis_server() as server:
        async with open_link(server.url) as link:
            lease = RedisLease(link, 10, clock=clock)
            assert await lease.try_acquire()
            remaining = await link.client.pttl(lease.key)
            await server.astop()
            clock.advance(8.5)  # 8.5 s after the last renewal: before the 9 s deadline
            assert await lease.held()
            assert not link.up
            clock.advance(1.0)  # past lease * (1 - margin)
            assert not await lease.held()
            assert lease.token is None
            # the key outlives the local deadline, so nobody held it while we believed we did
            assert remaining / 1000 > 9.0
            await server.astart()  # an empty server: the lease is free for whoever asks
            await wait_until(lambda: link.up)
            assert await lease.try_acquire()
            assert lease.token == 1
