"""Breaker deadlines shared by replicas: one replica's 429 with `Retry-After` (or a trip, or a
geo-block) keeps every replica away from the provider until it passes, while each breaker's
own logic stays local (`CircuitBreaker.hold`)."""

from __future__ import annotations

import asyncio
import random

import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import CircuitOpen, GeoBlocked, RateLimited, Unavailable
from cryptoagg.core.limits import Limits
from cryptoagg.resilience.breaker import BreakerPolicy, CircuitBreaker, State
from cryptoagg.resilience.guard import GuardedCalls
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.retry import Deadline
from tests.redis_support import wait_until
from tests.resilience.test_shared_budget import Replica, replicas
from tests.support import FakeClock, FakeSpot

BTC = seeded_registry().get("bitcoin")


def spot(one: Replica, **kwargs: object) -> tuple[FakeSpot, GuardedCalls]:
    """A fake provider "p" whose requests pass `one`'s guards, and `one`'s call path."""
    fake = FakeSpot("p", **kwargs)  # type: ignore[arg-type]
    fake.outbound = one.guards
    return fake, GuardedCalls(one.guards, HealthBook(), random.Random(0))


async def call(calls: GuardedCalls, fake: FakeSpot) -> None:
    deadline = Deadline.after(5.0, calls.guards.clock)
    await calls.call("p", lambda: fake.spot_prices([BTC]), deadline=deadline)


async def test_a_retry_after_seen_by_a_keeps_b_from_sending_until_it_passes() -> None:
    async with replicas({"p": Limits()}) as (a, b):
        a_spot, a_calls = spot(a, errors=[RateLimited("p", "HTTP 429", retry_after_s=2.0)])
        b_spot, b_calls = spot(b)
        with pytest.raises(RateLimited):
            await call(a_calls, a_spot)
        assert a.guards["p"].breaker.state is State.OPEN
        # b's breaker knew nothing: the send gate refuses, and b's breaker holds from now on
        with pytest.raises(CircuitOpen) as refused:
            await call(b_calls, b_spot)
        assert "Retry-After" in refused.value.detail
        assert b_spot.calls == 0  # refused at the send gate: nothing left
        held = b.guards["p"].breaker
        assert held.state is State.OPEN and held.trips == 0  # held, not tripped by b
        assert isinstance(b.guards["p"].admit(), CircuitOpen)  # no Redis needed to refuse
        with pytest.raises(CircuitOpen):
            await call(b_calls, b_spot)
        assert b_spot.calls == 0
        left_ms = await a.link.client.pttl(a.shared.budgets.key("p", "cool"))
        assert 0 < left_ms <= 2000
        await asyncio.sleep(left_ms / 1000 + 0.05)
        await call(b_calls, b_spot)  # passed: b's half-open probe goes out and closes it
        assert b_spot.calls == 1
        assert held.state is State.CLOSED


async def test_the_periodic_sync_holds_every_replicas_breaker() -> None:
    async with replicas({"p": Limits()}, modes=("live", "live", "live")) as (a, b, c):
        fake, calls = spot(a, error=Unavailable("p", "HTTP 500"))
        for _ in range(5):  # five failures in a row trip a's breaker (30 s)
            with pytest.raises(Unavailable):
                await call(calls, fake)
        assert a.guards["p"].breaker.state is State.OPEN
        await b.shared.sync()
        await c.shared.sync()
        for other in (b, c):
            breaker = other.guards["p"].breaker
            assert breaker.state is State.OPEN
            assert breaker.why == "unavailable (x5) (shared)"
            assert 29.0 < breaker.retry_in_s() <= 30.0  # type: ignore[operator]


async def test_a_geo_block_keeps_the_others_away_for_the_disable_hold() -> None:
    async with replicas({"p": Limits()}) as (a, b):
        fake, calls = spot(a, errors=[GeoBlocked("p", "HTTP 451")])
        with pytest.raises(GeoBlocked):
            await call(calls, fake)
        assert a.guards["p"].breaker.state is State.DISABLED
        await b.shared.sync()
        held = b.guards["p"].breaker
        # b is not disabled for good: it may try itself once the hold passes
        assert held.state is State.OPEN
        assert held.why == "disabled, geo_blocked: HTTP 451 (shared)"
        assert 599.0 < held.retry_in_s() <= 600.0  # type: ignore[operator]


async def test_redis_down_leaves_each_breaker_to_itself() -> None:
    async with replicas({"p": Limits()}) as (a, b):
        a.link.lost(ConnectionError("test: Redis went away"))
        fake, calls = spot(a, errors=[RateLimited("p", "HTTP 429", retry_after_s=30)])
        with pytest.raises(RateLimited):
            await call(calls, fake)  # the trip is not shared, and nothing fails for it
        assert a.guards["p"].breaker.state is State.OPEN
        await wait_until(lambda: a.link.up)
        b_spot, b_calls = spot(b)
        await call(b_calls, b_spot)
        assert b_spot.calls == 1


async def test_a_shorter_cool_down_never_cuts_a_longer_one() -> None:
    async with replicas({"p": Limits()}, modes=("live",)) as (a,):
        breaker = a.guards["p"].breaker
        breaker.record_failure(RateLimited("p", "HTTP 429", retry_after_s=60))
        await a.guards.tripped(a.guards["p"])
        breaker.record_failure(RateLimited("p", "HTTP 429", retry_after_s=1))
        await a.guards.tripped(a.guards["p"])
        ttl = await a.link.client.pttl(a.shared.budgets.key("p", "cool"))
        assert 59_000 < ttl <= 60_000


# -- the local side: `hold` ----------------------------------------------------------------


def held_breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("p", BreakerPolicy(), clock, clock.wall)


def test_hold_opens_a_closed_breaker_without_counting_a_trip() -> None:
    clock = FakeClock()
    breaker = held_breaker(clock)
    assert breaker.hold(20, "rate limited, Retry-After 20s (shared)")
    assert (breaker.state, breaker.trips, breaker.why) == (
        State.OPEN,
        0,
        "rate limited, Retry-After 20s (shared)",
    )
    assert not breaker.allow()
    clock.advance(20)
    assert breaker.allow()  # the half-open probe is this replica's own
    assert breaker.state is State.HALF_OPEN
    breaker.record_success()
    assert breaker.state is State.CLOSED


def test_hold_extends_but_never_shortens_and_leaves_a_disabled_breaker_alone() -> None:
    clock = FakeClock()
    breaker = held_breaker(clock)
    breaker.hold(30, "first")
    assert not breaker.hold(10, "shorter")
    assert breaker.retry_in_s() == 30
    assert breaker.hold(45, "longer")
    assert breaker.retry_in_s() == 45
    breaker.record_failure(GeoBlocked("p", "HTTP 451"))
    assert breaker.state is State.DISABLED
    assert not breaker.hold(60, "shared")
    assert breaker.state is State.DISABLED
