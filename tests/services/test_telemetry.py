"""What `/metrics` reads at scrape time (`services/telemetry.py`): each provider's call counts
(through the `CountsCalls` port), breaker, quota and plan; the cache's counters; WebSocket
clients; the jobs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from cryptoagg.core.limits import Limits
from cryptoagg.resilience.breaker import State
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.services.events import EventHub
from cryptoagg.services.health import NO_COLLECTORS, CollectorsReport
from cryptoagg.services.telemetry import CacheReading, CountsCalls, Telemetry
from tests.support import FakeClock, FakeSpot, fake_pool


class CountingSpot(FakeSpot):
    """A fake adapter that counts its calls by outcome, as `HttpProvider` does."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.outcomes: Counter[str] = Counter()


async def test_providers_in_order_with_their_calls_and_guards() -> None:
    clock = FakeClock()
    kraken, binance, unguarded = CountingSpot("kraken"), FakeSpot("binance"), FakeSpot("x")
    kraken.outcomes.update({"ok": 5, "rate_limited": 2, "geo_blocked": 1})
    pool = fake_pool(kraken, binance, clock=clock, limits={"binance": Limits(monthly=100)})
    await binance.outbound.before_send("binance")  # type: ignore[union-attr]
    hub = EventHub(queue_size=4, clock=clock.wall)
    telemetry = Telemetry(
        [kraken, binance, unguarded], pool.guards, TTLCache(), hub, lambda: NO_COLLECTORS
    )

    readings = telemetry.providers()
    assert [r.name for r in readings] == ["kraken", "binance", "x"]
    kraken_r, binance_r, unguarded_r = readings
    assert kraken_r.calls == [("geo_blocked", 1), ("ok", 5), ("rate_limited", 2)]
    assert binance_r.calls == []  # it counts nothing
    assert isinstance(kraken, CountsCalls) and not isinstance(binance, CountsCalls)
    assert kraken_r.guard is not None and binance_r.guard is not None
    assert kraken_r.guard.breaker is State.CLOSED
    assert (kraken_r.guard.used_this_month, kraken_r.guard.quota_left) == (0, None)
    assert (binance_r.guard.used_this_month, binance_r.guard.quota_left) == (1, 99)
    assert binance_r.guard.plan.provider == "binance"
    assert binance_r.guard.plan.monthly_quota == 100
    assert unguarded_r.guard is None


async def test_cache_clients_and_jobs_as_kept() -> None:
    clock = FakeClock()
    cache = TTLCache(clock=clock)

    async def load() -> int:
        return 1

    await cache.get_or_load("a", 60, load)  # a miss
    await cache.get_or_load("a", 60, load)  # a hit
    await cache.get_or_load("b", 60, load)  # another miss
    hub = EventHub(queue_size=4, clock=lambda: datetime(2026, 3, 1, tzinfo=UTC))
    hub.connect()
    jobs = CollectorsReport(enabled=True, leader=True, jobs={})
    telemetry = Telemetry([], fake_pool(clock=clock).guards, cache, hub, lambda: jobs)
    assert telemetry.cache() == CacheReading(hits=1, misses=2, stale=0, entries=2)
    assert telemetry.websocket_clients() == 1
    assert telemetry.collectors() is jobs
