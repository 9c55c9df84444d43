"""AnalysisService on a real database: fill on demand, store, reuse while current."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from cryptoagg.core.analysis import METHOD_VERSION, analyse
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import NotEnoughCandles
from cryptoagg.core.models import Interval
from cryptoagg.services.analysis import AnalysisService
from cryptoagg.storage.analysis import AnalysisRepository, StoredAnalysis
from tests.services.test_history import NOW, FakeOhlcv, WithHole, service
from tests.support import FakeClock

HOUR = timedelta(hours=1)
LAST_CLOSED = datetime(2026, 3, 3, 11, 0, tzinfo=NOW.tzinfo)


@pytest.fixture
def btc() -> Asset:
    return seeded_registry().get("bitcoin")


def analyses(engine: Engine, provider: FakeOhlcv, clock: FakeClock) -> AnalysisService:
    return AnalysisService(
        service(engine, [provider], chunk=720), AnalysisRepository(engine), clock.wall
    )


async def test_fills_the_window_stores_it_and_reuses_it_until_a_candle_closes(
    migrated: Engine, btc: Asset
) -> None:
    provider, clock = FakeOhlcv("binance"), FakeClock(NOW)
    svc = analyses(migrated, provider, clock)

    first = await svc.analyse(btc, Interval.H1, 60, max_calls=3)

    assert not first.reused and first.backfilled == 60
    assert provider.asked == [(LAST_CLOSED - 59 * HOUR, LAST_CLOSED)]
    assert first.result["candles"] == 60
    assert first.result["last"] == "2026-03-03T11:00:00Z"
    assert first.analysis.computed_at == NOW and first.analysis.method == METHOD_VERSION
    clock.now = NOW + timedelta(minutes=29)  # 12:59: still the same open hour
    again = await svc.analyse(btc, Interval.H1, 60, max_calls=3)
    assert again.reused and again.analysis == first.analysis
    assert len(provider.asked) == 1
    other_window = await svc.analyse(btc, Interval.H1, 50, max_calls=3)
    assert not other_window.reused and other_window.backfilled == 0  # candles are stored
    clock.now = NOW + timedelta(minutes=30)  # 13:00: a new candle has closed
    later = await svc.analyse(btc, Interval.H1, 60, max_calls=3)
    assert not later.reused and later.analysis.computed_at == clock.now
    assert svc.repo.count() == 3


async def test_concurrent_requests_share_one_computation(migrated: Engine, btc: Asset) -> None:
    provider = FakeOhlcv("binance")
    svc = analyses(migrated, provider, FakeClock(NOW))
    reports = await asyncio.gather(
        *(svc.analyse(btc, Interval.H1, 100, max_calls=3) for _ in range(5))
    )
    assert sorted(r.reused for r in reports) == [False, True, True, True, True]
    assert len(provider.asked) == 1 and svc.repo.count() == 1
    assert {r.analysis.computed_at for r in reports} == {NOW}
    assert svc._locks == {}  # nothing left behind per key


async def test_without_candles_or_budget_says_how_many_are_needed(
    migrated: Engine, btc: Asset
) -> None:
    provider = FakeOhlcv("binance")
    svc = analyses(migrated, provider, FakeClock(NOW))
    with pytest.raises(NotEnoughCandles) as info:
        await svc.analyse(btc, Interval.H1, 200, max_calls=0)
    assert (info.value.needed, info.value.available, info.value.fetchable) == (50, 0, 200)
    assert info.value.message.endswith(
        "0 are available; 200 more can be fetched later "
        "(providers unavailable or the request's backfill "
        "budget spent)"
    )
    assert provider.asked == [] and svc.repo.count() == 0
    # a young asset: the provider has only 30 hours of it, and nothing older can be fetched
    young = FakeOhlcv("binance", listed=LAST_CLOSED - 29 * HOUR)
    svc = analyses(migrated, young, FakeClock(NOW))
    with pytest.raises(NotEnoughCandles) as info:
        await svc.analyse(btc, Interval.H1, 200, max_calls=3)
    assert info.value.message == (
        "analysis of bitcoin at 1h needs at least 50 closed candles; 30 are available"
    )


async def test_storing_prunes_analyses_past_the_retention(migrated: Engine, btc: Asset) -> None:
    svc = analyses(migrated, FakeOhlcv("binance"), FakeClock(NOW))
    old = StoredAnalysis(btc.id, Interval.D1, 200, NOW - timedelta(days=31), METHOD_VERSION, {})
    svc.repo.add(old)
    await svc.analyse(btc, Interval.H1, 60, max_calls=3)
    assert svc.repo.count() == 1
    assert svc.repo.latest(btc.id, Interval.D1, 200, METHOD_VERSION) is None


MARCH_1 = datetime(2026, 3, 1, tzinfo=NOW.tzinfo)
DAY = timedelta(days=1)


async def test_an_analysis_after_sixteen_hours_of_a_day_uses_the_providers_daily_candle(
    migrated: Engine, btc: Asset
) -> None:
    provider = FakeOhlcv("binance")
    svc = analyses(migrated, provider, FakeClock(NOW))
    history = svc.history
    await history.fill(btc, Interval.H1, MARCH_1 + 8 * HOUR, NOW)  # 1 March: 16 hours

    report = await svc.analyse(btc, Interval.D1, 50, max_calls=3)

    # the window ends on 2 March (a complete rollup of 24 hours); 1 March was partial, so it
    # was fetched with the 48 days before it
    start = MARCH_1 + DAY - 49 * DAY
    assert provider.asked[-1] == (start, MARCH_1)
    assert report.backfilled == 49
    used = history.candles.between(btc.id, Interval.D1, start, MARCH_1 + DAY)
    assert [c for c in used if c.partial] == []
    assert used[-2].provider == "binance" and used[-1].sub_candles == 24
    assert report.result == analyse(btc.id, Interval.D1, used, 50)
    assert report.result["candles"] == 50


async def test_an_analysis_leaves_out_a_partial_day_no_provider_could_replace(
    migrated: Engine, btc: Asset
) -> None:
    provider = WithHole("binance", hole=MARCH_1)
    svc = AnalysisService(
        service(migrated, [provider], chunk=720), AnalysisRepository(migrated), FakeClock(NOW).wall
    )
    await svc.history.fill(btc, Interval.H1, MARCH_1 + 8 * HOUR, NOW)

    report = await svc.analyse(btc, Interval.D1, 60, max_calls=3)

    start = MARCH_1 + DAY - 59 * DAY
    stored = svc.history.candles.between(btc.id, Interval.D1, start, MARCH_1 + DAY)
    [partial] = [c for c in stored if c.partial]
    assert (partial.open_time, partial.sub_candles) == (MARCH_1, 16)
    # the 59 complete days, not the partial one
    assert report.result["candles"] == 59
    complete = [c for c in stored if not c.partial]
    assert report.result == analyse(btc.id, Interval.D1, complete, 60)
    assert report.result["indicators"]["volatility"]["returns"] == 58
