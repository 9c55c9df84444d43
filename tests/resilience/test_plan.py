"""The monthly plan: intervals from quotas and rates, reaction to bursts, and a whole month
simulated on an injected clock with the real budgets, plan, pools and scopes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import NoProviderAvailable
from cryptoagg.core.limits import Limits, Priority
from cryptoagg.core.models import Capability, Quote
from cryptoagg.core.ports import Outbound
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.plan import month_bounds
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.quota import MemoryQuotaStore, QuotaLedger
from cryptoagg.resilience.retry import RetryPolicy
from cryptoagg.resilience.scope import background
from tests.support import FakeClock

APRIL = datetime(2026, 4, 1, tzinfo=UTC)  # 30 days
DAY = 86400


def guards_for(clock: FakeClock, limits: dict[str, Limits]) -> Guards:
    guards = Guards(clock.mono, clock.wall, QuotaLedger(MemoryQuotaStore()))
    for name, lim in limits.items():
        guards.add(name, lim)
    return guards


def test_month_bounds() -> None:
    assert month_bounds(datetime(2026, 12, 31, 23, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


def test_a_provider_without_a_quota_runs_at_base_intervals_within_its_rate() -> None:
    clock = FakeClock(APRIL, t=0.0)
    guards = guards_for(clock, {"binance": Limits(per_second=10), "slow": Limits(per_minute=1)})
    plan = guards.plan
    plan.register("prices", 60.0, ["binance", "slow"], Priority.COLLECTOR)
    plan.register("health", 60.0, ["binance", "slow"], Priority.PROBE)
    assert plan.interval_s("prices", "binance") == 60.0
    # 1 a minute, 75 % of it for background work: two jobs at 1 a minute must slow down
    assert plan.interval_s("prices", "slow") == pytest.approx(60 / (0.75 * 0.95), rel=0.01)
    assert plan.interval_s("health", "slow") == pytest.approx(60 / 0.05 / 0.75, rel=0.01)
    [view] = [p for p in plan.plans() if p.provider == "binance"]
    assert view.monthly_quota is None and view.client_reserve is None


def test_a_quota_is_shared_out_and_a_client_burst_slows_background_work() -> None:
    clock = FakeClock(APRIL, t=0.0)
    guards = guards_for(clock, {"cg": Limits(per_minute=30, monthly=10_000)})
    plan = guards.plan
    plan.register("prices", 60.0, ["cg"], Priority.COLLECTOR)
    before = plan.interval_s("prices", "cg")
    # 8,000 target - 2,500 clients' reserve = 5,500; probes none; 30 days of minutes = 43,200
    assert before == pytest.approx(43_200 * 60 / 5_500, rel=0.001)
    view = plan.provider_plan("cg")
    assert (view.target, view.client_reserve, view.used_this_month) == (8000, 2500, 0)
    assert view.projected_month_end == pytest.approx(8000, abs=1)

    clock.t = 10 * DAY  # a third of the month; clients used 1,500, above their reserve's pace
    for _ in range(1500):
        guards["cg"].budget.spend(Priority.CLIENT, "client")
    # clients are now projected at 150 a day: 8,000 - 1,500 - 3,000 = 3,500 for 20 days
    after = plan.interval_s("prices", "cg")
    assert after == pytest.approx(20 * 1440 * 60 / 3_500, rel=0.001)
    view = plan.provider_plan("cg")
    assert view.used_by_clients == 1500
    assert view.projected_month_end == pytest.approx(8000, abs=1)

    for _ in range(1500):  # a bigger burst: nothing is left for background work
        guards["cg"].budget.spend(Priority.CLIENT, "client")
    assert plan.interval_s("prices", "cg") is None
    assert not plan.due("prices", "cg")
    clock.t = 25 * DAY  # quiet since: the clients' pace falls, collectors resume
    assert plan.interval_s("prices", "cg") is not None


def test_background_stops_at_the_target_and_the_state_shows_an_exhausted_quota() -> None:
    clock = FakeClock(APRIL, t=0.0)
    guards = guards_for(clock, {"cg": Limits(monthly=100)})
    guards.plan.register("prices", 60.0, ["cg"], Priority.COLLECTOR)
    for _ in range(80):
        guards["cg"].budget.spend(Priority.CLIENT, "client")
    assert not guards.plan.background_allowed("cg")
    assert guards.plan.interval_s("prices", "cg") is None  # paused
    for _ in range(20):
        guards["cg"].budget.spend(Priority.CLIENT, "client")
    view = guards.plan.provider_plan("cg")
    assert view.exhausted and view.client_reserve == 0  # nothing left to keep for anyone
    assert guards["cg"].admit() is not None


def test_calls_per_run_are_learned_from_what_runs_sent() -> None:
    clock = FakeClock(APRIL, t=0.0)
    guards = guards_for(clock, {"cg": Limits(monthly=10_000)})
    plan = guards.plan
    plan.register("candles", 300.0, ["cg"], Priority.COLLECTOR)
    one = plan.interval_s("candles", "cg")
    plan.observe("candles", {"cg": 20})
    twenty = plan.interval_s("candles", "cg")
    assert one is not None and twenty == pytest.approx(20 * one)


def test_a_provider_due_when_a_run_starts_stays_due_for_the_whole_run() -> None:
    clock = FakeClock(APRIL, t=0.0)
    guards = guards_for(clock, {"cg": Limits(monthly=10_000), "binance": Limits(per_second=10)})
    plan = guards.plan
    plan.register("candles", 300.0, ["cg", "binance"], Priority.COLLECTOR)
    for name in ("cg", "binance"):
        run = clock.wall()
        assert plan.due("candles", name, run)
        for _ in range(20):  # one call per asset
            guards[name].budget.spend(Priority.COLLECTOR, "candles")
            clock.t += 1
        assert plan.due("candles", name, run)  # still the same run
        assert not plan.due("candles", name, clock.wall())  # the next run is not due yet
        clock.t += 300
        assert plan.due("candles", "binance", clock.wall())


# -- a month on an injected clock ------------------------------------------------------------


class Metered:
    """A provider that sends one request per call and counts what it received, as the
    simulator does."""

    requires_key = False
    capabilities = frozenset({Capability.SPOT_PRICE, Capability.TRENDING})
    disabled_reason: str | None = None

    def __init__(self, name: str, received: Counter[str]) -> None:
        self.name = name
        self.received = received
        self.outbound: Outbound | None = None

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        assert self.outbound is not None
        await self.outbound.before_send(self.name)
        self.received[self.name] += 1
        return [Quote(asset_id="bitcoin", provider=self.name, price=Decimal(1), as_of=APRIL)]


@dataclass
class MonthResult:
    received: Counter[str]
    background_by_day: dict[str, list[int]]
    ledger: dict[str, int]
    refused_clients: int


LIMITS = {
    # like CoinGecko, CoinPaprika and Binance
    "cg": Limits(per_minute=30, monthly=10_000),
    "paprika": Limits(per_minute=60, monthly=20_000),
    "binance": Limits(per_second=10, per_minute=600),
}


async def simulate_month(client_calls_per_hour: int, burst: tuple[int, int] | None) -> MonthResult:
    """Collectors (prices every minute over every provider, candles every 5 minutes from
    the first that answers), health probes every minute, and clients asking `cg` a few
    times an hour; `burst` = (day, extra client calls per hour during that day)."""
    clock = FakeClock(APRIL, t=0.0)
    received: Counter[str] = Counter()
    guards = guards_for(clock, LIMITS)
    providers = [Metered(n, received) for n in LIMITS]
    for p in providers:
        p.outbound = guards
    health = HealthBook(clock=clock.wall)
    config = PoolConfig(retry=RetryPolicy(attempts=1))

    def pool(members: list[Metered]) -> ProviderPool:
        return ProviderPool(
            Capability.SPOT_PRICE,
            members,  # type: ignore[arg-type]
            health=health,
            guards=guards,
            config=config,
            clock=clock.mono,
        )

    everyone = pool(providers)
    candles = pool([providers[1], providers[0], providers[2]])  # binance is last here
    only_cg = pool([providers[0]])
    plan = guards.plan
    plan.register("prices", 60.0, list(LIMITS), Priority.COLLECTOR)
    plan.register("candles", 300.0, list(LIMITS), Priority.COLLECTOR)
    plan.register("health", 60.0, list(LIMITS), Priority.PROBE)
    start, end = month_bounds(APRIL)
    minutes = int((end - start).total_seconds() // 60)
    background_by_day: dict[str, list[int]] = {n: [0] * 30 for n in LIMITS}
    refused = 0

    async def run(job: str, priority: Priority, the_pool: ProviderPool, first: bool) -> None:
        with background(job, priority, clock.wall()) as scope:
            try:
                if first:
                    await the_pool.first(lambda p: p.spot_prices([]))
                else:
                    await the_pool.gather(lambda p: p.spot_prices([]))
            except NoProviderAvailable:
                pass
        plan.observe(job, scope.sent)
        day = int(clock.t // DAY)
        for name, n in scope.sent.items():
            background_by_day[name][day] += n

    for minute in range(minutes):
        clock.t = minute * 60.0
        await run("prices", Priority.COLLECTOR, everyone, first=False)
        if minute % 5 == 0:
            await run("candles", Priority.COLLECTOR, candles, first=True)
        await run("health", Priority.PROBE, everyone, first=False)
        per_hour = client_calls_per_hour
        if burst is not None and minute // 1440 == burst[0]:
            per_hour += burst[1]
        # spread the hour's client calls over its minutes
        calls = per_hour * (minute % 60 + 1) // 60 - per_hour * (minute % 60) // 60
        for _ in range(calls):
            clock.t += 0.5
            try:
                await only_cg.first(lambda p: p.spot_prices([]))
            except NoProviderAvailable:
                refused += 1
    month = "2026-04"
    ledger = {n: guards.ledger.get(n, month) for n in LIMITS}
    return MonthResult(received, background_by_day, ledger, refused)


@pytest.mark.slow
async def test_a_month_stays_under_every_quota_and_a_burst_slows_the_collectors() -> None:
    calm = await simulate_month(client_calls_per_hour=3, burst=None)
    busy = await simulate_month(client_calls_per_hour=3, burst=(14, 120))

    for result in (calm, busy):
        assert result.ledger == dict(result.received)  # charged exactly what was received
        assert result.refused_clients == 0
        for name, limits in LIMITS.items():
            if limits.monthly is not None:
                assert result.received[name] <= limits.monthly
    # the calm month ends at the plan's target (80 %; background work stops there, the
    # clients' calls of the last hours may go a few calls past it)
    assert 7_500 <= calm.received["cg"] <= 8_000 * 1.01
    assert 14_000 <= calm.received["paprika"] <= 16_000
    # Binance carries the frequent work: prices and candles every run
    assert calm.received["binance"] >= 43_200 + 8_640

    # the burst (2,880 client calls on day 15) is paid for by background work afterwards
    assert busy.received["cg"] <= 8_000 * 1.01
    before = sum(busy.background_by_day["cg"][:14]) / 14
    after = sum(busy.background_by_day["cg"][15:]) / 15
    assert after < 0.8 * before
    assert sum(busy.background_by_day["cg"]) < sum(calm.background_by_day["cg"]) - 2_000
