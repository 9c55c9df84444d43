"""`start_collectors` through `build`: one leader among processes sharing a database, the
switch that turns the collectors off, and the jobs it starts filling the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from cryptoagg.bootstrap import build
from cryptoagg.config import load_settings
from cryptoagg.core.models import Interval
from cryptoagg.storage.news_feed import NewsFeedRepository


async def test_two_processes_sharing_a_database_elect_one_collector(tmp_path: Path) -> None:
    settings = load_settings(use_mock_data=True, data_dir=tmp_path, collect_prices_s=3600)
    async with build(settings) as a, build(settings) as b:
        await asyncio.sleep(0.2)
        leaders = [c.collectors.is_leader for c in (a, b) if c.collectors is not None]
        assert sorted(leaders) == [False, True]
        for _ in range(100):
            if a.prices_repo.latest("bitcoin", 5):
                break
            await asyncio.sleep(0.05)
        stored = a.prices_repo.latest("bitcoin", 5)
    assert len(stored) == 1  # one tick, from whichever process leads
    assert len(stored[0].sources) >= 3


@pytest.mark.parametrize("enabled", [False])
async def test_collectors_can_be_switched_off(tmp_path: Path, enabled: bool) -> None:
    settings = load_settings(use_mock_data=True, data_dir=tmp_path, collectors=enabled)
    async with build(settings) as container:
        await asyncio.sleep(0.3)
        assert container.prices_repo.latest("bitcoin", 5) == []


async def test_collectors_fill_prices_candles_rollups_and_news(tmp_path: Path) -> None:
    settings = load_settings(
        use_mock_data=True,
        data_dir=tmp_path,
        collect_assets=3,
        collect_prices_s=5,
        price_ttl_s=0,
        collect_candles_s=3600,
        collect_candles_lookback_h=2,
        collect_news_s=3600,
        collect_health_s=3600,
    )
    async with build(settings) as container:
        assert container.collectors is not None
        jobs = container.collectors.supervisor.jobs
        for _ in range(300):
            runs = {
                name: jobs[name].runs if name in jobs else 0
                for name in ("prices", "candles", "news")
            }
            if runs["prices"] >= 2 and runs["candles"] >= 1 and runs["news"] >= 1:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"collectors did not run: {runs}")
        tracked = [a for a in container.registry.tracked()[:3]]
        history = container.history
        now = history.ctx.clock()
        for asset in tracked:
            ticks = container.prices_repo.latest(asset.id, 10)
            assert len(ticks) >= 2, asset.id  # one consensus tick per run
            minutes = container.candles_repo.between(
                asset.id, Interval.M1, now - timedelta(hours=3), now
            )
            assert len(minutes) >= 120, asset.id
            # no gap in the 2 hours the candle job keeps complete
            start = minutes[0].open_time
            assert await history.missing(asset, Interval.M1, start, minutes[-1].open_time) == []
            hours = container.candles_repo.between(
                asset.id, Interval.H1, now - timedelta(hours=3), now
            )
            assert [h.provider for h in hours] == ["rollup"] * len(hours) and 2 <= len(hours) <= 3
        stored_news = [r.item for r in NewsFeedRepository(container.engine).latest(100)]
    assert len(stored_news) >= 10
    assert len({n.url for n in stored_news}) == len(stored_news)
