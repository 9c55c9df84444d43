"""The cache's shared tier: two `TTLCache`s on two links are two replicas. A cold key costs
one loader call across both; a value keeps its age; a holder's failure is shared; a lock
whose holder died is given up after its lease; Redis stopped means each replica alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cryptoagg.core.errors import NoProviderAvailable
from cryptoagg.core.models import FearGreed
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.resilience.pool import Answer
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.resilience.shared_cache import SharedTier
from cryptoagg.resilience.shared_codec import ValueCodec
from tests.redis_support import open_link, redis_server, unique_prefix, wait_until

AS_OF = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _fear_greed(value: int) -> Answer[FearGreed]:
    return Answer(
        "alternative_me",
        FearGreed(value=value, classification="Greed", as_of=AS_OF, provider="alternative_me"),
        AS_OF,
    )


@dataclass
class Replica:
    link: RedisLink
    tier: SharedTier
    cache: TTLCache


def _replica(link: RedisLink, **tier: float) -> Replica:
    shared = SharedTier(link, ValueCodec([Answer, FearGreed]), **tier)  # type: ignore[arg-type]
    return Replica(link, shared, TTLCache(shared=shared))


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas on the machine's Redis, under one test prefix."""
    prefix = unique_prefix()
    async with open_link(prefix=prefix) as a, open_link(prefix=prefix) as b:
        one, two = _replica(a), _replica(b)
        yield one, two
        await one.cache.aclose()
        await two.cache.aclose()


class Loader:
    """Counts calls; each takes `delay_s` and answers the next value (or raises `error`)."""

    def __init__(self, delay_s: float = 0.05, error: Exception | None = None) -> None:
        self.calls = 0
        self.delay_s = delay_s
        self.error = error

    async def __call__(self) -> Answer[FearGreed]:
        self.calls += 1
        n = self.calls
        await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return _fear_greed(50 + n)


async def test_a_cold_key_costs_one_call_across_replicas(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    loader = Loader(delay_s=0.1)
    results = await asyncio.gather(
        *(r.cache.get_or_load("fng", 30, loader) for r in (a, b) for _ in range(20))
    )
    assert loader.calls == 1
    assert {r.value for r in results} == {_fear_greed(51)}
    # the value read from Redis is the same typed value, Decimals and datetimes included
    answer = results[-1].value
    assert isinstance(answer.value, FearGreed) and answer.value.as_of == AS_OF
    assert a.tier.loads + b.tier.loads == 1
    assert a.tier.shared_hits + b.tier.shared_hits == 1  # the other replica's one wait


async def test_a_shared_value_keeps_its_age(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    loader = Loader(delay_s=0)
    await a.cache.get_or_load("fng", 30, loader)
    b.tier._wall = lambda: time.time() + 7  # B reads it 7 s later
    got = await b.cache.get_or_load("fng", 30, loader, refresh_after_s=10)
    assert loader.calls == 1
    assert got.age_s == pytest.approx(7, abs=0.5)
    # and B's own cache counts on from that age: the same entry, its TTL 7 s spent
    assert b.cache.peek("fng") is not None
    assert b.cache.peek("fng").age_s == pytest.approx(7, abs=0.5)  # type: ignore[union-attr]


async def test_past_the_soft_ttl_one_replica_refreshes_for_both(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    loader = Loader(delay_s=0.1)
    for r in (a, b):
        await r.cache.get_or_load("fng", 30, loader, refresh_after_s=10)
    assert loader.calls == 1
    later = time.time() + 11
    for r in (a, b):  # both replicas' values pass the soft TTL
        r.tier._wall = lambda: later
        r.cache.clock = lambda: time.monotonic() + 11
    hits = await asyncio.gather(
        *(r.cache.get_or_load("fng", 30, loader, refresh_after_s=10) for r in (a, b))
    )
    assert all(h.value == _fear_greed(51) for h in hits)  # served while refreshing
    await wait_until(lambda: a.cache.peek("fng").value == _fear_greed(52))  # type: ignore[union-attr]
    await wait_until(lambda: b.cache.peek("fng").value == _fear_greed(52))  # type: ignore[union-attr]
    assert loader.calls == 2


async def test_a_holders_failure_reaches_the_waiters(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    failing = Loader(delay_s=0.1, error=NoProviderAvailable("fear_greed", {"x": "rate_limited"}))
    other = Loader(delay_s=0)
    first = asyncio.create_task(a.cache.get_or_load("fng", 30, failing))
    await asyncio.sleep(0.03)  # A holds the lock
    with pytest.raises(NoProviderAvailable) as raised:
        await b.cache.get_or_load("fng", 30, other)
    with pytest.raises(NoProviderAvailable):
        await first
    assert raised.value.reasons == {"x": "rate_limited"}
    assert (failing.calls, other.calls) == (1, 0)


async def test_a_lock_whose_holder_died_is_given_up_after_its_lease() -> None:
    prefix = unique_prefix()
    async with open_link(prefix=prefix) as link:
        r = _replica(link, lease_s=0.3)
        # a replica that took the lock and died: the lock stays until its lease runs out
        await link.client.set(link.key("cache-lock", "fng"), b"dead", px=300)
        loader = Loader(delay_s=0)
        started = time.monotonic()
        got = await r.cache.get_or_load("fng", 30, loader)
        assert loader.calls == 1 and got.value == _fear_greed(51)
        assert time.monotonic() - started >= 0.25
        await r.cache.aclose()


async def test_an_unshareable_value_stays_local(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    calls = 0

    async def loader() -> dict[str, Decimal | object]:
        nonlocal calls
        calls += 1
        return {"price": Decimal("1.5"), "odd": object()}

    first = await a.cache.get_or_load("odd", 30, loader)
    second = await b.cache.get_or_load("odd", 30, loader)
    assert calls == 2 and first.value["price"] == Decimal("1.5")
    assert second.value is not first.value
    # and A no longer tries: the next load goes straight to the loader
    a.cache._entries.clear()
    await a.cache.get_or_load("odd", 30, loader)
    assert calls == 3 and a.tier.local_loads == 1 and a.tier.loads == 1


async def test_redis_stopped_each_replica_loads_alone_then_shares_again() -> None:
    with redis_server() as server:
        prefix = unique_prefix()
        async with AsyncExitStack() as stack:
            a = _replica(await stack.enter_async_context(open_link(server.url, prefix)))
            b = _replica(await stack.enter_async_context(open_link(server.url, prefix)))
            loader = Loader(delay_s=0.05)
            await asyncio.gather(
                a.cache.get_or_load("k1", 30, loader), b.cache.get_or_load("k1", 30, loader)
            )
            assert loader.calls == 1

            await server.astop()
            got = await asyncio.gather(
                a.cache.get_or_load("k2", 30, loader), b.cache.get_or_load("k2", 30, loader)
            )
            assert loader.calls == 3  # one each: no sharing, and no error
            assert {g.value.value.value for g in got} == {52, 53}
            assert not a.link.up and a.link.fallbacks >= 1

            await server.astart()
            await wait_until(lambda: a.link.up and b.link.up)
            await asyncio.gather(
                a.cache.get_or_load("k3", 30, loader), b.cache.get_or_load("k3", 30, loader)
            )
            assert loader.calls == 4
            for r in (a, b):
                await r.cache.aclose()


async def test_without_a_shared_tier_nothing_changes() -> None:
    cache = TTLCache()
    loader = Loader(delay_s=0)
    assert (await cache.get_or_load("k", 30, loader)).value == _fear_greed(51)
    assert cache.shared is None
