from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cryptoagg.resilience.cache import TTLCache
from tests.support import FakeClock


async def test_single_flight_shares_one_load() -> None:
    cache = TTLCache(clock=FakeClock())
    calls = 0
    gate = asyncio.Event()

    async def loader() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return 42

    tasks = [asyncio.create_task(cache.get_or_load("k", 10, loader)) for _ in range(100)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1
    assert {r.value for r in results} == {42}
    assert sum(not r.hit for r in results) == 1


async def test_ttl_expiry_reloads() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    values = iter([1, 2])

    async def loader() -> int:
        return next(values)

    assert (await cache.get_or_load("k", 10, loader)).value == 1
    clock.advance(9.9)
    assert (await cache.get_or_load("k", 10, loader)).value == 1
    clock.advance(0.2)
    assert (await cache.get_or_load("k", 10, loader)).value == 2


async def test_failure_is_shared_but_not_cached() -> None:
    cache = TTLCache(clock=FakeClock())
    gate = asyncio.Event()
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        raise RuntimeError("upstream down")

    tasks = [asyncio.create_task(cache.get_or_load("k", 10, failing)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert calls == 1
    assert all(isinstance(r, RuntimeError) for r in results)

    async def ok() -> int:
        return 7

    assert (await cache.get_or_load("k", 10, ok)).value == 7


async def test_bounded_entries_evict_least_recent() -> None:
    cache = TTLCache(max_entries=2, clock=FakeClock())

    async def one() -> int:
        return 1

    for key in ("a", "b", "c"):
        await cache.get_or_load(key, 10, one)
    assert len(cache) == 2
    assert cache.peek("a") is None
    assert cache.peek("c") is not None


@pytest.mark.parametrize("ttl", [0.0])
async def test_zero_ttl_always_loads(ttl: float) -> None:
    cache = TTLCache(clock=FakeClock())
    calls = 0

    async def loader() -> int:
        nonlocal calls
        calls += 1
        return calls

    await cache.get_or_load("k", ttl, loader)
    await cache.get_or_load("k", ttl, loader)
    assert calls == 2


async def test_stale_while_revalidate_serves_then_refreshes_once() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    versions = iter(range(10))
    calls = 0

    async def loader() -> int:
        nonlocal calls
        calls += 1
        return next(versions)

    first = await cache.get_or_load("k", 10, loader, refresh_after_s=8)
    assert (first.value, first.hit) == (0, False)
    clock.advance(8.5)
    served = [await cache.get_or_load("k", 10, loader, refresh_after_s=8) for _ in range(5)]
    assert [s.value for s in served] == [0] * 5  # served at once from cache
    await asyncio.sleep(0)  # the one background refresh runs
    await asyncio.sleep(0)
    assert calls == 2
    assert (await cache.get_or_load("k", 10, loader)).value == 1


async def test_stale_if_error_serves_the_last_good_value_with_its_age() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)

    async def good() -> str:
        return "v1"

    async def bad() -> str:
        raise RuntimeError("every provider failed")

    await cache.get_or_load("k", 10, good)
    clock.advance(100)
    served = await cache.get_or_load("k", 10, bad, stale_if_error_s=300)
    assert (served.value, served.stale, served.age_s) == ("v1", True, 100.0)
    assert cache.stale_served == 1
    clock.advance(201)
    with pytest.raises(RuntimeError):
        await cache.get_or_load("k", 10, bad, stale_if_error_s=300)


async def test_a_cancelled_caller_neither_cancels_nor_poisons_the_shared_load() -> None:
    cache = TTLCache(clock=FakeClock())
    calls = 0
    gate = asyncio.Event()

    async def loader() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return 7

    first = asyncio.create_task(cache.get_or_load("k", 10, loader))
    await asyncio.sleep(0)
    second = asyncio.create_task(cache.get_or_load("k", 10, loader))
    await asyncio.sleep(0)
    first.cancel()  # e.g. its request reached REQUEST_TIMEOUT_S
    await asyncio.sleep(0)
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert (await second).value == 7
    assert calls == 1
    stored = cache.peek("k")
    assert stored is not None and stored.value == 7


async def test_aclose_cancels_a_load_nobody_waits_for() -> None:
    cache = TTLCache(clock=FakeClock())
    started = asyncio.Event()
    cancelled = False

    async def loader() -> int:
        nonlocal cancelled
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled = True
            raise
        return 1

    caller = asyncio.create_task(cache.get_or_load("k", 10, loader))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await cache.aclose()
    assert cancelled
    assert cache.peek("k") is None


class Upstream:
    """A loader whose next outcome the test sets: a value, an error, or a wait."""

    def __init__(self) -> None:
        self.value = 0
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        self.value += 1
        return self.value


def swr(cache: TTLCache, upstream: Upstream, **options: float) -> Any:
    """A lookup as the services make it: TTL 10, served for 10 more while it refreshes."""
    return cache.get_or_load(
        "k",
        20,
        upstream,
        refresh_after_s=10,
        stale_if_error_s=options.get("stale_if_error_s", 60),
        revalidate_wait_s=options.get("revalidate_wait_s", 1.0),
        overdue_s=options.get("overdue_s", 5),
    )


async def test_the_first_request_after_the_ttl_sees_a_failed_refresh_as_stale() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    upstream = Upstream()
    assert (await swr(cache, upstream)).value == 1
    clock.advance(11)
    upstream.error = RuntimeError("every provider failed")
    first = await swr(cache, upstream)
    assert (first.value, first.stale) == (1, True)
    assert isinstance(first.error, RuntimeError)
    # later requests: still stale, no wait, one new refresh attempt each
    again = await swr(cache, upstream)
    assert (again.value, again.stale) == (1, True)


async def test_the_first_request_after_the_ttl_gets_a_quick_refresh() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    upstream = Upstream()
    await swr(cache, upstream)
    clock.advance(11)
    served = await swr(cache, upstream)
    assert (served.value, served.stale, served.age_s) == (2, False, 0.0)


async def test_a_slow_refresh_is_not_stale_until_it_overruns_its_deadline() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    upstream = Upstream()
    await swr(cache, upstream)
    clock.advance(11)
    upstream.gate = asyncio.Event()  # the refresh hangs
    first = await swr(cache, upstream, revalidate_wait_s=0.01)
    assert (first.value, first.stale) == (1, False)  # being refreshed normally
    clock.advance(4)
    assert (await swr(cache, upstream)).stale is False
    clock.advance(2)  # the refresh has run 6 s, past its 5 s deadline
    late = await swr(cache, upstream)
    assert (late.value, late.stale, late.error) == (1, True, None)
    upstream.gate.set()
    await asyncio.sleep(0.01)
    assert (await swr(cache, upstream)).value == 2
    assert upstream.calls == 2


async def test_a_stale_value_is_served_only_up_to_stale_if_error() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    upstream = Upstream()
    await swr(cache, upstream, stale_if_error_s=15)
    clock.advance(11)
    upstream.error = RuntimeError("down")
    assert (await swr(cache, upstream, stale_if_error_s=15)).stale is True
    clock.advance(5)  # 16 s old: within the hard TTL (20) but past stale-if-error
    with pytest.raises(RuntimeError, match="down"):
        await swr(cache, upstream, stale_if_error_s=15)


async def test_a_successful_refresh_clears_the_stale_flag() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    upstream = Upstream()
    await swr(cache, upstream)
    clock.advance(11)
    upstream.error = RuntimeError("blip")
    assert (await swr(cache, upstream)).stale is True
    upstream.error = None
    # known to be failing: served stale at once, while a new refresh starts
    assert (await swr(cache, upstream)).stale is True
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    fresh = await swr(cache, upstream)
    assert (fresh.stale, fresh.error) == (False, None)
    assert fresh.value == 2


async def test_past_stale_if_error_a_request_loads_and_gets_a_recovered_value() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)
    upstream = Upstream()
    await swr(cache, upstream, stale_if_error_s=15)
    clock.advance(11)
    upstream.error = RuntimeError("down")
    assert (await swr(cache, upstream, stale_if_error_s=15)).stale is True
    clock.advance(5)
    upstream.error = None  # the providers are back
    served = await swr(cache, upstream, stale_if_error_s=15)
    assert (served.value, served.stale, served.hit) == (2, False, False)
