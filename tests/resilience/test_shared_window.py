"""SharedWindows on the machine's Redis: counts add up over the replicas within a window, a
new window starts from zero, and a stopped Redis answers None (the caller counts alone)."""

from __future__ import annotations

from cryptoagg.resilience.shared_window import SharedWindows
from tests.redis_support import open_link, redis_server, wait_until


async def test_counts_add_up_within_a_window_and_start_over_in_the_next() -> None:
    now = [120.5]
    async with open_link() as link:
        a = SharedWindows(link, "inbound", 60.0, wall=lambda: now[0])
        b = SharedWindows(link, "inbound", 60.0, wall=lambda: now[0])
        assert await a.add({}) == {}
        assert await a.add({"x": 3, "y": 1}) == {"x": 3, "y": 1}
        assert await b.add({"x": 2}) == {"x": 5}  # another replica, the same window
        assert a.left_s() == 59.5
        now[0] = 180.0  # the next minute
        assert await b.add({"x": 1}) == {"x": 1}
        ttl = await link.client.pttl(link.key("inbound", "3", "x"))
        assert 0 < ttl <= 120_000  # kept two windows, then gone


async def test_a_stopped_redis_answers_none() -> None:
    with redis_server() as server:
        async with open_link(server.url) as link:
            windows = SharedWindows(link, "inbound")
            assert await windows.add({"x": 1}) == {"x": 1}
            await server.astop()
            await wait_until(lambda: not link.up, timeout_s=10)
            assert await windows.add({"x": 1}) is None
