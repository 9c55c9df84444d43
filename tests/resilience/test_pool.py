from __future__ import annotations

from decimal import Decimal

import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import (
    AuthFailed,
    NoProviderAvailable,
    RateLimited,
    Unavailable,
    UpstreamNotFound,
)
from cryptoagg.core.limits import Limits
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.retry import RetryPolicy
from cryptoagg.resilience.strategy import Strategy
from tests.support import FakeClock, FakeSpot, fake_pool

BTC = seeded_registry().get("bitcoin")


async def spot(pool: ProviderPool) -> str:
    """Which provider answered a request for bitcoin's price."""
    answer = await pool.first(lambda p: p.spot_prices([BTC]))
    return answer.provider


async def test_first_fails_over_in_priority_order() -> None:
    a = FakeSpot("a", errors=[Unavailable("a", "HTTP 500")])
    b = FakeSpot("b", "100")
    c = FakeSpot("c", "200")
    p = fake_pool(a, b, c)
    answer = await p.first(lambda prov: prov.spot_prices([BTC]))
    assert answer.provider == "b"
    assert answer.value[0].price == Decimal(100)
    assert (a.calls, b.calls, c.calls) == (1, 1, 0)
    assert p.health.get("a").failures == 1
    assert p.health.get("a").last_error_reason == "unavailable"
    assert p.health.get("b").successes == 1
    assert [(r.from_provider, r.to_provider) for r in p.rotations] == [(None, "b")]
    assert p.rotations[0].reason == "a unavailable: HTTP 500"


async def test_all_failing_lists_every_reason() -> None:
    b = FakeSpot("b")
    b.disabled_reason = "missing key"
    p = fake_pool(
        FakeSpot("a", errors=[Unavailable("a", "HTTP 502")]),
        b,
        FakeSpot("c", errors=[UpstreamNotFound("c", "HTTP 404")]),
    )
    with pytest.raises(NoProviderAvailable) as info:
        await spot(p)
    assert info.value.reasons == {
        "a": "unavailable: HTTP 502",
        "b": "disabled: missing key",
        "c": "not_found: HTTP 404",
    }
    assert p.health.get("c").failures == 0  # a caller error is not the provider's fault


async def test_gather_collects_answers_and_reasons() -> None:
    p = fake_pool(
        FakeSpot("a", "1"), FakeSpot("b", errors=[Unavailable("b", "x")]), FakeSpot("c", "3")
    )
    gathered = await p.gather(lambda prov: prov.spot_prices([BTC]))
    assert [a.provider for a in gathered.answers] == ["a", "c"]
    assert gathered.reasons == {"b": "unavailable: x"}


async def test_open_breaker_skips_the_provider_without_calling_it() -> None:
    clock = FakeClock()
    a = FakeSpot("a", errors=[Unavailable("a", "HTTP 500")] * 5)
    b = FakeSpot("b")
    p = fake_pool(a, b, clock=clock)
    for _ in range(5):
        assert await spot(p) == "b"
    assert p.guards["a"].breaker.state == "open"
    assert await spot(p) == "b"
    assert a.calls == 5  # the sixth request never reached it
    clock.advance(30)
    assert await spot(p) == "a"  # half-open probe succeeds
    assert p.guards["a"].breaker.state == "closed"


async def test_retry_after_is_honoured_to_the_second() -> None:
    clock = FakeClock()
    a = FakeSpot("a", errors=[RateLimited("a", "HTTP 429", retry_after_s=120)])
    p = fake_pool(a, FakeSpot("b"), clock=clock)
    assert await spot(p) == "b"
    clock.advance(119)
    assert await spot(p) == "b"
    assert a.calls == 1
    clock.advance(1)
    assert await spot(p) == "a"
    assert a.calls == 2


async def test_a_pool_that_no_provider_answers_says_when_to_come_back() -> None:
    """A 429's Retry-After opens the breaker until then; the pool's refusal, and the 503
    made of it, carry what is left of it, at the 429 and on every request after."""
    clock = FakeClock()
    a = FakeSpot("a", errors=[RateLimited("a", "HTTP 429", retry_after_s=60)])
    p = fake_pool(a, clock=clock)
    with pytest.raises(NoProviderAvailable) as first:
        await spot(p)
    assert first.value.retry_after_s == 60
    clock.advance(45)
    with pytest.raises(NoProviderAvailable) as later:
        await spot(p)
    assert later.value.reasons == {"a": "circuit_open: next probe in 15s"}
    assert later.value.retry_after_s == pytest.approx(15)
    assert a.calls == 1


async def test_auth_failure_disables_until_restart() -> None:
    clock = FakeClock()
    a = FakeSpot("a", errors=[AuthFailed("a", "HTTP 401")])
    p = fake_pool(a, FakeSpot("b"), clock=clock)
    assert await spot(p) == "b"
    clock.advance(86400)
    assert await spot(p) == "b"
    assert a.calls == 1
    assert p.guards["a"].breaker.state == "disabled"
    p.providers = [a]
    with pytest.raises(NoProviderAvailable) as info:
        await spot(p)
    assert info.value.reasons == {"a": "disabled: auth_failed: HTTP 401"}


async def test_budget_refusal_and_near_limit_ordering() -> None:
    clock = FakeClock()
    a, b = FakeSpot("a"), FakeSpot("b")
    limits = {"a": Limits(monthly=10), "b": Limits(per_minute=2)}
    p = fake_pool(a, b, clock=clock, limits=limits)
    for _ in range(8):
        assert await spot(p) == "a"
    # a has used 80 % — still first; at 90 % it goes last
    assert await spot(p) == "a"
    assert p.guards["a"].budget.near_limit
    assert await spot(p) == "b"
    # b's per-minute budget (burst 1) is now spent, a is the only one left until a refills
    assert await spot(p) == "a"
    assert p.guards["a"].budget.quota_left() == 0
    with pytest.raises(NoProviderAvailable) as info:
        await spot(p)
    assert info.value.reasons["a"] == "quota_exhausted: monthly quota used"
    assert info.value.reasons["b"].startswith("budget_exhausted: rate limit, next call in")
    clock.advance(30)
    assert await spot(p) == "b"


async def test_round_robin_spreads_calls() -> None:
    a, b, c = FakeSpot("a"), FakeSpot("b"), FakeSpot("c")
    p = fake_pool(a, b, c, config=PoolConfig(strategy=Strategy.ROUND_ROBIN))
    assert [await spot(p) for _ in range(6)] == ["a", "b", "c", "a", "b", "c"]
    assert len(p.rotations) == 6


async def test_manual_rotate_prefers_the_next_member() -> None:
    p = fake_pool(FakeSpot("a"), FakeSpot("b"))
    assert await spot(p) == "a"
    rotation = p.rotate("operator")
    assert (rotation.from_provider, rotation.to_provider, rotation.reason) == ("a", "b", "operator")
    assert await spot(p) == "b"


async def test_retries_transient_errors_then_succeeds() -> None:
    a = FakeSpot("a", errors=[Unavailable("a", "HTTP 503")])
    p = fake_pool(a, FakeSpot("b"), config=PoolConfig(retry=RetryPolicy(attempts=2, base_s=0.001)))
    assert await spot(p) == "a"
    assert a.calls == 2


async def test_each_failed_attempt_counts_and_an_open_breaker_stops_retrying() -> None:
    a = FakeSpot("a", errors=[Unavailable("a", "HTTP 500")] * 10)
    p = fake_pool(a, FakeSpot("b"), config=PoolConfig(retry=RetryPolicy(attempts=3, base_s=0.001)))
    assert await spot(p) == "b"  # three failed attempts
    assert await spot(p) == "b"  # two more open the breaker; the third is never sent
    assert a.calls == 5
    assert p.guards["a"].breaker.state == "open"
