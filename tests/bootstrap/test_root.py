"""What `build` wires: one guard per provider and one pool per capability sharing them, one
service context behind the use cases, and the collectors' jobs on the same objects (the
price job writing through the recorder, the prices table's one writer)."""

from __future__ import annotations

from pathlib import Path

from cryptoagg.bootstrap import build
from cryptoagg.collectors.candles import CandleCollector
from cryptoagg.collectors.health import HealthChecks
from cryptoagg.collectors.news import NewsCollector
from cryptoagg.collectors.prices import PriceTicks
from cryptoagg.config import load_settings
from cryptoagg.core.models import Capability


async def test_build_wires_one_set_of_guards_pools_and_services(tmp_path: Path) -> None:
    settings = load_settings(
        use_mock_data=True,
        data_dir=tmp_path,
        collect_prices_s=3600,
        collect_assets=7,
        collect_candles_s=1800,
        collect_news_s=2700,
        collect_health_s=900,
    )
    async with build(settings) as container:
        names = [p.name for p in container.providers]
        assert len(names) == len(set(names)) >= 5
        assert all(name in container.guards for name in names)
        for capability in Capability:
            able = [p.name for p in container.providers if capability in p.capabilities]
            pool = container.pools.get(capability)
            if not able:
                assert pool is None, capability
                continue
            assert pool is not None, capability
            # the providers' own order (their priority), every pool on the same state
            assert [p.name for p in pool.providers] == able
            assert pool.guards is container.guards and pool.health is container.health

        ctx = container.prices.ctx
        assert ctx.cache is container.cache and ctx.registry is container.registry
        assert ctx.pools == container.pools
        assert container.market.ctx is ctx and container.market.prices is container.prices
        assert container.history.ctx is ctx and container.assets.ctx is ctx

        collectors = container.collectors
        assert collectors is not None
        jobs = {name: (interval, job) for name, interval, job in collectors.jobs}
        assert {name: interval for name, (interval, _) in jobs.items()} == {
            "prices": 3600,
            "health": 900,
            "candles": 1800,
            "news": 2700,
        }
        ticks = jobs["prices"][1]
        assert isinstance(ticks, PriceTicks)
        assert ticks.prices is container.prices and ticks.recorder is container.recorder
        assert ticks.publisher is container.events and ticks.top == 7
        health = jobs["health"][1]
        assert isinstance(health, HealthChecks)
        assert health.guards is container.guards and health.health is container.health
        assert isinstance(jobs["candles"][1], CandleCollector)
        assert isinstance(jobs["news"][1], NewsCollector)


async def test_without_collectors_nothing_is_scheduled(tmp_path: Path) -> None:
    settings = load_settings(use_mock_data=True, data_dir=tmp_path, collectors=False)
    async with build(settings) as container:
        assert container.collectors is None
        # the monthly plan still knows every job (each replica shows the plan)
        demands = container.guards.plan.demands
        planned = {job for by_job in demands.values() for job in by_job}
        assert planned == {"prices", "health", "candles", "news"}
        assert {d.base_interval_s for by_job in demands.values() for d in by_job.values()} == {
            settings.collect_prices_s,
            settings.collect_health_s,
            settings.collect_candles_s,
            settings.collect_news_s,
        }


async def test_a_configured_priority_wins_a_tie_with_a_position(tmp_path: Path) -> None:
    """The README's example: `kraken: {priority: 0}` tries Kraken first, before CoinGecko
    (position 0); the others keep their order."""
    providers_file = tmp_path / "providers.yaml"
    providers_file.write_text("providers:\n  kraken: {priority: 0}\n")
    plain = load_settings(use_mock_data=True, data_dir=tmp_path / "a", collectors=False)
    moved = load_settings(
        use_mock_data=True,
        data_dir=tmp_path / "b",
        collectors=False,
        providers_file=providers_file,
    )
    async with build(plain) as container:
        before = [p.name for p in container.providers]
    async with build(moved) as container:
        after = [p.name for p in container.providers]
        spot = container.pools[Capability.SPOT_PRICE].ordered()
    assert before[0] == "coingecko" and after[0] == "kraken"
    assert after[1:] == [n for n in before if n != "kraken"]
    assert spot[0].name == "kraken"
