"""HistoryService on a real database (SQLite and PostgreSQL) with scripted OHLCV providers."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import Unavailable
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Candle, Capability, Interval
from cryptoagg.core.ports import Outbound
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.quota import MemoryQuotaStore, QuotaLedger
from cryptoagg.resilience.retry import Deadline, RetryPolicy
from cryptoagg.services.context import ServiceContext, Ttls
from cryptoagg.services.history import HistoryService, Retention
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.configuration import ConfigurationRepository
from tests.support import FakeClock

NOW = datetime(2026, 3, 3, 12, 30, 15, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def price(asset_id: str, at: datetime, interval: Interval) -> tuple[Decimal, ...]:
    """A deterministic, irregular OHLC for each period."""
    n = int(at.timestamp()) // interval.seconds
    base = Decimal(1000 + (n * 37) % 101) + Decimal(n % 7) / 8
    return base, base + Decimal(n % 5), base - Decimal(n % 3) - Decimal("0.125"), base + 1


class FakeOhlcv:
    """Answers any range with one candle per period, from `listed` on, at most `cap` per
    call and no further back than `window` (like Kraken's last-720 rule)."""

    requires_key = False
    capabilities = frozenset({Capability.OHLCV})
    disabled_reason: str | None = None

    def __init__(
        self,
        name: str,
        cap: int = 1000,
        listed: datetime | None = None,
        window: timedelta | None = None,
        fail: bool = False,
    ) -> None:
        self.name = name
        self.cap = cap
        self.listed = listed
        self.window = window
        self.fail = fail
        self.asked: list[tuple[datetime, datetime]] = []
        self.outbound: Outbound | None = None

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        if self.outbound is not None:  # one request per call, like an adapter
            await self.outbound.before_send(self.name)
        self.asked.append((start, end))
        if self.fail:
            raise Unavailable(self.name, "HTTP 503")
        out = []
        at = start
        while at <= end and len(out) < self.cap:
            if (self.listed is None or at >= self.listed) and (
                self.window is None or at >= NOW - self.window
            ):
                o, h, lo, c = price(asset.id, at, interval)
                out.append(
                    Candle(
                        asset_id=asset.id,
                        interval=interval,
                        open_time=at,
                        open=o,
                        high=h,
                        low=lo,
                        close=c,
                        volume=Decimal("1.5"),
                        provider=self.name,
                    )
                )
            at += interval.delta
        return out


def service(
    engine: Engine,
    providers: Sequence[FakeOhlcv],
    chunk: int = 60,
    limits: Limits | None = None,
    deadline_s: float = 10.0,
    **retention: int,
) -> HistoryService:
    # with limits, budgets refill in real time; without, the clock stands still
    guards = Guards(
        time.monotonic if limits else lambda: 0.0, lambda: NOW, QuotaLedger(MemoryQuotaStore())
    )
    for p in providers:
        guards.add(p.name, limits or Limits())
        p.outbound = guards
    pool = ProviderPool(
        Capability.OHLCV,
        providers,  # type: ignore[arg-type]
        health=HealthBook(clock=lambda: NOW),
        guards=guards,
        config=PoolConfig(deadline_s=deadline_s, retry=RetryPolicy(attempts=1)),
    )
    ctx = ServiceContext(
        registry=seeded_registry(),
        pools={Capability.OHLCV: pool},
        cache=TTLCache(),
        ttls=Ttls(),
        clock=lambda: NOW,
    )
    return HistoryService(
        ctx,
        CandleRepository(engine),
        ConfigurationRepository(engine, lambda: NOW),
        Retention(**retention) if retention else Retention(),
        chunk_candles=chunk,
    )


@pytest.fixture
def btc() -> Asset:
    return seeded_registry().get("bitcoin")


async def test_backfill_fills_a_gap_across_chunk_boundaries_without_duplicates(
    migrated: Engine, btc: Asset
) -> None:
    provider = FakeOhlcv("binance")
    history = service(migrated, [provider], chunk=60)
    repo = history.candles
    start = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    end = datetime(2026, 3, 3, 11, 59, tzinfo=UTC)  # 240 closed minutes
    # stored already: 08:00-08:29 and 10:45-11:59; the gap 08:30-10:44 spans chunk edges
    pre = FakeOhlcv("kraken")
    stored = await pre.ohlcv(btc, Interval.M1, start, start + 29 * MINUTE)
    stored += await pre.ohlcv(btc, Interval.M1, datetime(2026, 3, 3, 10, 45, tzinfo=UTC), end)
    assert repo.add_many(stored) == 105

    report = await history.fill(btc, Interval.M1, start, end)

    assert report.missing == 135 and report.added == 135 and report.unfilled == []
    # 135 minutes in chunks of 60: three calls, none of them for a stored minute
    assert provider.asked == [
        (datetime(2026, 3, 3, 10, 30, tzinfo=UTC), datetime(2026, 3, 3, 10, 44, tzinfo=UTC)),
        (datetime(2026, 3, 3, 9, 30, tzinfo=UTC), datetime(2026, 3, 3, 10, 29, tzinfo=UTC)),
        (datetime(2026, 3, 3, 8, 30, tzinfo=UTC), datetime(2026, 3, 3, 9, 29, tzinfo=UTC)),
    ]
    rows = repo.between(btc.id, Interval.M1, start, end)
    assert [c.open_time for c in rows] == [start + i * MINUTE for i in range(240)]
    assert {c.provider for c in rows[:30]} == {"kraken"}
    assert {c.provider for c in rows[30:135]} == {"binance"}
    # a second fill finds nothing to do and spends nothing
    again = await history.fill(btc, Interval.M1, start, end)
    assert again.missing == 0 and again.calls == 0 and len(provider.asked) == 3


async def test_an_interrupted_backfill_resumes_where_it_stopped(
    migrated: Engine, btc: Asset
) -> None:
    provider = FakeOhlcv("binance")
    history = service(migrated, [provider], chunk=60)
    start, end = NOW - timedelta(hours=5), NOW
    first = await history.fill(btc, Interval.M1, start, end, max_calls=2)
    assert first.calls == 2 and first.added == 120
    assert sum(s.count for s in first.unfilled) == first.missing - 120
    second = await history.fill(btc, Interval.M1, start, end)
    assert second.missing == first.missing - 120 and second.unfilled == []
    assert history.candles.count(btc.id, Interval.M1) == first.missing
    asked = sorted(provider.asked)
    for (_, a_end), (b_start, _) in itertools.pairwise(asked):
        assert b_start > a_end  # no range asked twice


async def test_a_minute_that_closes_during_the_fill_is_not_reported_as_left_missing(
    migrated: Engine, btc: Asset
) -> None:
    provider = FakeOhlcv("binance")
    history = service(migrated, [provider], chunk=60)
    now = [NOW]
    history.ctx = dataclasses.replace(history.ctx, clock=lambda: now[0])
    fetch = provider.ohlcv

    async def slow(
        asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        now[0] += MINUTE  # each call takes a minute: 12:30 and 12:31 close meanwhile
        return await fetch(asset, interval, start, end)

    provider.ohlcv = slow  # type: ignore[method-assign]
    report = await history.fill(btc, Interval.M1, NOW - timedelta(hours=2), now[0])
    assert report.missing == 120 and report.added == 120 and report.unfilled == []
    # the minutes that closed meanwhile are the next fill's
    again = await history.fill(btc, Interval.M1, NOW - timedelta(hours=2), now[0])
    assert again.missing == 2 and again.unfilled == []


async def test_rollups_equal_the_aggregate_of_their_minutes(migrated: Engine, btc: Asset) -> None:
    history = service(migrated, [FakeOhlcv("binance")], chunk=720)
    start = datetime(2026, 3, 1, 22, 17, tzinfo=UTC)  # starts and ends inside an hour and a day
    await history.fill(btc, Interval.M1, start, NOW)
    minutes = history.candles.between(btc.id, Interval.M1, start, NOW)
    assert minutes[-1].open_time == datetime(2026, 3, 3, 12, 29, tzinfo=UTC)

    def expected(width: timedelta) -> list[tuple[object, ...]]:
        groups: dict[int, list[Candle]] = {}
        for m in minutes:
            key = int(m.open_time.timestamp()) // int(width.total_seconds())
            groups.setdefault(key, []).append(m)
        return [
            (
                g[0].open,
                max(c.high for c in g),
                min(c.low for c in g),
                g[-1].close,
                sum((c.volume or Decimal(0) for c in g), Decimal(0)),
            )
            for _, g in sorted(groups.items())
        ]

    for interval in (Interval.H1, Interval.D1):
        got = history.candles.between(btc.id, interval, start - timedelta(days=1), NOW)
        assert [(c.open, c.high, c.low, c.close, c.volume) for c in got] == expected(interval.delta)
        assert {c.provider for c in got} == {"rollup"}
    hours = history.candles.between(btc.id, Interval.H1, start - timedelta(days=1), NOW)
    assert hours[0].open_time == datetime(2026, 3, 1, 22, tzinfo=UTC)  # the partial first hour
    assert hours[-1].open_time == datetime(2026, 3, 3, 12, tzinfo=UTC)  # and the current one


async def test_partial_answers_fall_through_to_a_provider_that_covers_the_range(
    migrated: Engine, btc: Asset
) -> None:
    short = FakeOhlcv("kraken", window=timedelta(minutes=30))
    full = FakeOhlcv("binance")
    history = service(migrated, [short, full], chunk=60)
    report = await history.fill(btc, Interval.M1, NOW - timedelta(hours=1), NOW)
    assert report.added == 60 and report.unfilled == []
    rows = history.candles.between(btc.id, Interval.M1, NOW - timedelta(hours=2), NOW)
    assert {c.provider for c in rows} == {"binance"}


async def test_when_no_provider_covers_a_range_the_fullest_answer_is_kept(
    migrated: Engine, btc: Asset
) -> None:
    provider = FakeOhlcv("kraken", window=timedelta(minutes=20))
    history = service(migrated, [provider], chunk=60)
    report = await history.fill(btc, Interval.M1, NOW - timedelta(hours=1), NOW)
    # the window starts at 12:10:15, so it has 12:11 to 12:29; as every provider said it has
    # nothing earlier, the history starts at 12:11 and the earlier minutes are not asked again
    assert report.added == 19 and report.unfilled == []
    assert history.configuration.get("history_floor:bitcoin:1m") == "2026-03-03T12:11:00+00:00"
    again = await history.fill(btc, Interval.M1, NOW - timedelta(hours=3), NOW)
    assert again.calls == 0 and len(provider.asked) == 1


async def test_ranges_before_listing_raise_the_history_floor(migrated: Engine, btc: Asset) -> None:
    listed = datetime(2026, 3, 2, tzinfo=UTC)
    provider = FakeOhlcv("binance", listed=listed)
    history = service(migrated, [provider], chunk=24)
    report = await history.fill(btc, Interval.H1, NOW - timedelta(days=5), NOW)
    assert history.candles.count(btc.id, Interval.H1) == 36  # 2 Mar 00:00 to 3 Mar 11:00
    assert report.unfilled == []  # nothing before the listing is counted as missing any more
    calls = len(provider.asked)
    again = await history.fill(btc, Interval.H1, NOW - timedelta(days=30), NOW)
    assert again.calls == 0 and len(provider.asked) == calls


async def test_the_history_floor_is_readable(migrated: Engine, btc: Asset) -> None:
    history = service(migrated, [FakeOhlcv("binance", listed=datetime(2026, 3, 2, tzinfo=UTC))])
    assert await history.floor(btc, Interval.H1) is None  # not looked for yet
    await history.fill(btc, Interval.H1, NOW - timedelta(days=5), NOW)
    assert await history.floor(btc, Interval.H1) == datetime(2026, 3, 2, tzinfo=UTC)
    assert await history.floor(btc, Interval.D1) is None


class Slow(FakeOhlcv):
    """Each call takes `seconds` on `clock`."""

    def __init__(self, name: str, clock: FakeClock, seconds: float) -> None:
        super().__init__(name)
        self.clock, self.seconds = clock, seconds

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        self.clock.advance(self.seconds)
        return await super().ohlcv(asset, interval, start, end)


async def test_a_fill_starts_no_chunk_after_its_deadline(migrated: Engine, btc: Asset) -> None:
    clock = FakeClock()
    provider = Slow("binance", clock, seconds=4.0)
    history = service(migrated, [provider], chunk=60)
    deadline = Deadline.after(10.0, clock)
    report = await history.fill(btc, Interval.M1, NOW - timedelta(hours=5), NOW, deadline=deadline)
    # calls end at 4 s, 8 s and 12 s: the third began before the deadline and is finished,
    # no fourth is started; what is left is reported
    assert report.calls == 3 and len(provider.asked) == 3 and report.added == 180
    assert sum(s.count for s in report.unfilled) == report.missing - 180
    late = await history.fill(btc, Interval.M1, NOW - timedelta(hours=5), NOW, deadline=deadline)
    assert late.calls == 0 and len(provider.asked) == 3


async def test_a_failing_upstream_pauses_the_backfill(migrated: Engine, btc: Asset) -> None:
    provider = FakeOhlcv("binance", fail=True)
    history = service(migrated, [provider], chunk=60)
    report = await history.fill(btc, Interval.M1, NOW - timedelta(hours=5), NOW)
    assert report.calls == 1 and report.added == 0  # one failure stops it: try again later
    assert sum(s.count for s in report.unfilled) == report.missing
    assert await history.missing(btc, Interval.M1, NOW - timedelta(hours=5), NOW)


async def test_retention_drops_old_minutes_after_they_are_rolled_up(
    migrated: Engine, btc: Asset
) -> None:
    history = service(migrated, [FakeOhlcv("binance")], chunk=1000, minute_days=1)
    await history.fill(btc, Interval.M1, NOW - timedelta(hours=20), NOW)
    hours_before = history.candles.between(btc.id, Interval.H1, NOW - timedelta(days=2), NOW)
    # minutes older than a day appear (e.g. an older backfill into an unpruned database)
    old = await FakeOhlcv("x").ohlcv(
        btc, Interval.M1, NOW - timedelta(days=3), NOW - timedelta(days=3) + 9 * MINUTE
    )
    history.candles.add_many(old)
    deleted = await history.enforce_retention()
    assert deleted == {"1m": 10, "1h": 0}
    assert (
        history.candles.between(btc.id, Interval.H1, NOW - timedelta(days=2), NOW) == hours_before
    )
    # and a fill never asks for what retention would delete: only the day kept is missing
    spans = await history.missing(btc, Interval.M1, NOW - timedelta(days=30), NOW)
    assert [(s.start, s.end) for s in spans] == [
        (datetime(2026, 3, 2, 12, 30, tzinfo=UTC), datetime(2026, 3, 2, 16, 29, tzinfo=UTC))
    ]


async def test_a_partial_answer_while_another_provider_fails_keeps_the_gap_open(
    migrated: Engine, btc: Asset
) -> None:
    short = FakeOhlcv("kraken", window=timedelta(minutes=20))
    down = FakeOhlcv("binance", fail=True)
    history = service(migrated, [short, down], chunk=60)
    report = await history.fill(btc, Interval.M1, NOW - timedelta(hours=1), NOW)
    assert report.added == 19
    assert [s.count for s in report.unfilled] == [41]  # binance may have them: ask again later
    assert history.configuration.get("history_floor:bitcoin:1m") is None


async def test_a_paced_fill_waits_for_the_rate_budget_instead_of_stopping(
    migrated: Engine, btc: Asset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cryptoagg.services.history.PACE_WAIT_S", 0.05)
    provider = FakeOhlcv("binance")
    # a request deadline shorter than the budget's 50 ms spacing: no waiting within it
    history = service(migrated, [provider], limits=Limits(per_second=20), deadline_s=0.02)
    start = NOW - timedelta(hours=30)  # 30 chunks; the budget allows a burst of 20
    unpaced = await history.fill(btc, Interval.M1, start, NOW)
    assert unpaced.unfilled  # stopped when the budget ran out
    paced = await history.fill(btc, Interval.M1, start, NOW, paced=True)
    assert paced.unfilled == [] and len(provider.asked) == 30


class WithHole(FakeOhlcv):
    """A provider without a candle for one period (its data has a hole there)."""

    def __init__(self, name: str, hole: datetime) -> None:
        super().__init__(name)
        self.hole = hole

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        rows = await super().ohlcv(asset, interval, start, end)
        return [c for c in rows if c.open_time != self.hole]


DAY = timedelta(days=1)
MARCH_1 = datetime(2026, 3, 1, tzinfo=UTC)


def marks(candles: Sequence[Candle]) -> list[tuple[datetime, str, bool, int | None]]:
    return [(c.open_time, c.provider, c.partial, c.sub_candles) for c in candles]


async def test_sixteen_hours_of_a_day_then_the_day_fetches_the_providers_daily_candle(
    migrated: Engine, btc: Asset
) -> None:
    provider = FakeOhlcv("binance")
    history = service(migrated, [provider], chunk=720)
    # hourly history from 1 March 08:00: 16 hours of that day, all of the 2nd, the 3rd so far
    await history.fill(btc, Interval.H1, MARCH_1 + timedelta(hours=8), NOW)
    rolled = history.candles.between(btc.id, Interval.D1, MARCH_1, NOW)
    assert marks(rolled) == [
        (MARCH_1, "rollup", True, 16),
        (MARCH_1 + DAY, "rollup", False, 24),
        (MARCH_1 + 2 * DAY, "rollup", True, 12),  # the current day, still open
    ]
    # the partial day has the 08:00 open and 16 hours of volume: not the day's candle
    assert rolled[0].open == price(btc.id, MARCH_1 + timedelta(hours=8), Interval.H1)[0]
    assert rolled[0].volume == Decimal("1.5") * 16
    # so the closed partial day is missing; the complete one and the open one are not
    gaps = await history.missing(btc, Interval.D1, MARCH_1, NOW)
    assert [(s.start, s.end) for s in gaps] == [(MARCH_1, MARCH_1)]

    asked_before = len(provider.asked)
    report = await history.fill(btc, Interval.D1, MARCH_1, NOW)

    assert provider.asked[asked_before:] == [(MARCH_1, MARCH_1)]  # only the partial day
    assert (report.missing, report.added, report.unfilled) == (1, 1, [])
    days = history.candles.between(btc.id, Interval.D1, MARCH_1, NOW)
    assert marks(days) == [
        (MARCH_1, "binance", False, None),
        (MARCH_1 + DAY, "rollup", False, 24),
        (MARCH_1 + 2 * DAY, "rollup", True, 12),
    ]
    o, h, lo, c = price(btc.id, MARCH_1, Interval.D1)
    assert (days[0].open, days[0].high, days[0].low, days[0].close) == (o, h, lo, c)
    # rolling the hours up again (a later hourly fill) keeps the provider's candle
    await history.rollup(btc, Interval.H1, MARCH_1 + timedelta(hours=8), NOW)
    assert history.candles.between(btc.id, Interval.D1, MARCH_1, MARCH_1) == days[:1]
    again = await history.fill(btc, Interval.D1, MARCH_1, NOW)
    assert again.calls == 0


async def test_a_partial_day_no_provider_has_stays_partial_and_missing(
    migrated: Engine, btc: Asset
) -> None:
    provider = WithHole("binance", hole=MARCH_1)
    history = service(migrated, [provider], chunk=720)
    await history.fill(btc, Interval.H1, MARCH_1 + timedelta(hours=8), NOW)
    report = await history.fill(btc, Interval.D1, MARCH_1 - 9 * DAY, NOW)
    assert report.added == 9  # the nine days before; the partial day could not be replaced
    [day] = history.candles.between(btc.id, Interval.D1, MARCH_1, MARCH_1)
    assert (day.provider, day.partial, day.sub_candles) == ("rollup", True, 16)
    gaps = await history.missing(btc, Interval.D1, MARCH_1 - 9 * DAY, NOW)
    assert [(s.start, s.end) for s in gaps] == [(MARCH_1, MARCH_1)]
