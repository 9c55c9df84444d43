from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cryptoagg.bootstrap import build
from cryptoagg.config import load_settings
from cryptoagg.core.errors import ConfigError, Unavailable, UpstreamNotFound
from cryptoagg.core.limits import Priority
from cryptoagg.resilience.breaker import State
from cryptoagg.services.incidents import IncidentService
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.monitoring import (
    AlertRepository,
    CheckState,
    IncidentRecord,
    IncidentRepository,
    ResponseTimeRepository,
    StatusLogRepository,
)
from tests.collectors.health_support import T0, FakeSpot, Rig
from tests.e2e.procs import generous_limits


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'health.db'}")
    upgrade(eng)
    return eng


async def test_one_row_per_check_and_budget_breaker_and_health_are_fed(engine: Engine) -> None:
    good, bad, throttled = FakeSpot("good"), FakeSpot("bad"), FakeSpot("throttled")
    keyless = FakeSpot("keyless", disabled_reason="missing key")
    bad.error = Unavailable("bad", "HTTP 500")
    rig = Rig(engine, [good, bad, throttled, keyless])
    rig.guards["throttled"].budget.spend()  # its one call this minute is gone

    assert await rig.job() == 3
    assert good.calls == [["bitcoin"]]
    assert len(bad.calls) == 1
    assert throttled.calls == [] and keyless.calls == []

    [error] = StatusLogRepository(engine).errors()
    assert (error.provider, error.state, error.reason) == (
        "bad",
        CheckState.DOWN,
        "unavailable: HTTP 500",
    )
    assert error.latency_ms is not None
    times = ResponseTimeRepository(engine)
    [good_time] = times.recent("good")
    assert good_time.ok is True and good_time.endpoint == "spot_price:bitcoin"
    assert times.recent("bad")[0].ok is False
    assert times.recent("throttled") == []  # skipped: no call went out
    assert times.recent("keyless") == []

    assert rig.guards["good"].budget.calls_this_minute() == 1
    assert rig.guards["bad"].budget.calls_this_minute() == 1
    assert rig.guards["bad"].breaker.consecutive == 1
    assert rig.health.get("good").successes == 1
    assert rig.health.get("bad").last_error_reason == "unavailable"
    assert rig.health.get("throttled").failures == 0


async def test_budget_refusal_is_skipped_not_a_failure(engine: Engine) -> None:
    throttled = FakeSpot("throttled")
    rig = Rig(engine, [throttled])
    for _ in range(5):
        rig.guards["throttled"].budget.spend()
        await rig.job()  # the budget refuses every time: the clock does not move
    assert throttled.calls == []
    assert StatusLogRepository(engine).errors() == []
    assert IncidentRepository(engine).latest() == []


async def test_a_fault_opens_an_incident_and_recovery_resolves_it(engine: Engine) -> None:
    kraken = FakeSpot("kraken")
    rig = Rig(engine, [kraken], consecutive_failures=100)
    kraken.error = Unavailable("kraken", "HTTP 503")
    for _ in range(2):
        await rig.run()
    assert IncidentRepository(engine).latest() == []
    await rig.run()
    [incident] = IncidentRepository(engine).latest("open")
    assert incident.provider == "kraken"
    assert incident.reason == "unavailable: HTTP 503"
    assert incident.opened_at == T0 + timedelta(seconds=120)

    kraken.error = None
    await rig.run()
    assert len(IncidentRepository(engine).latest("open")) == 1
    await rig.run()
    assert IncidentRepository(engine).latest("open") == []
    [resolved] = IncidentRepository(engine).latest("resolved")
    assert resolved.resolved_at == T0 + timedelta(seconds=240)
    assert [a.kind for a in AlertRepository(engine).latest()] == ["resolved", "opened"]


async def test_an_open_breaker_holds_the_check_back_and_counts_as_failed(engine: Engine) -> None:
    kraken = FakeSpot("kraken")
    kraken.error = Unavailable("kraken", "HTTP 500")
    rig = Rig(engine, [kraken], consecutive_failures=1)
    await rig.job()
    assert rig.guards["kraken"].breaker.state is State.OPEN
    await rig.job()
    await rig.job()
    assert len(kraken.calls) == 1  # the open breaker let no further call out
    states = [e.state for e in StatusLogRepository(engine).errors()]
    assert states == [CheckState.HELD_BACK, CheckState.HELD_BACK, CheckState.DOWN]
    held = StatusLogRepository(engine).errors()[0]
    assert held.reason is not None
    assert held.reason.startswith("circuit_open: next probe in 30s")
    assert held.reason.endswith("; last error unavailable: kraken: HTTP 500")
    assert len(IncidentRepository(engine).latest("open")) == 1

    # after the cool-down the check is the half-open probe; it succeeds and closes the breaker
    kraken.error = None
    rig.clocks.advance(31)
    await rig.job()
    assert len(kraken.calls) == 2
    assert rig.guards["kraken"].breaker.state is State.CLOSED
    await rig.job()
    assert IncidentRepository(engine).latest("open") == []


async def test_a_hanging_provider_times_out(engine: Engine) -> None:
    slow = FakeSpot("slow")
    slow.hang = True
    rig = Rig(engine, [slow])
    await rig.job()
    [error] = StatusLogRepository(engine).errors()
    assert error.reason == "timeout: request deadline reached"
    assert rig.guards["slow"].breaker.consecutive == 1


async def test_a_caller_side_error_still_shows_the_provider_is_up(engine: Engine) -> None:
    odd = FakeSpot("odd")
    odd.error = UpstreamNotFound("odd", "HTTP 404")
    rig = Rig(engine, [odd])
    for _ in range(3):
        await rig.run()
    assert StatusLogRepository(engine).errors() == []
    assert all(r.ok for r in ResponseTimeRepository(engine).recent("odd"))


async def test_a_restart_does_not_open_a_duplicate(engine: Engine) -> None:
    IncidentRepository(engine).open("kraken", T0 - timedelta(hours=1), "timeout: x", 3)
    kraken = FakeSpot("kraken")
    kraken.error = Unavailable("kraken", "HTTP 500")
    rig = Rig(engine, [kraken], consecutive_failures=100)
    for _ in range(4):
        await rig.run()
    [incident] = IncidentRepository(engine).latest("all")
    assert incident.failed_checks == 7
    assert AlertRepository(engine).latest() == []


async def test_the_health_job_is_wired_into_the_collectors(tmp_path: Path) -> None:
    settings = load_settings(
        use_mock_data=True,
        data_dir=tmp_path,
        # lifted budgets: the other collectors start at the same moment and would use them up
        providers_file=generous_limits(tmp_path),
        collect_prices_s=3600,
        collect_health_s=3600,
    )
    async with build(settings) as container:
        assert container.collectors is not None
        jobs = container.collectors.supervisor.jobs
        for _ in range(400):  # its first run waits 5 s for the collectors' first round
            if "health" in jobs and jobs["health"].runs:
                break
            await asyncio.sleep(0.05)
        assert jobs["health"].interval_s == 3600
        times = ResponseTimeRepository(container.engine)
        assert times.recent("alternative_me")[0].endpoint == "fear_greed"
        assert times.recent("defillama")[0].endpoint == "tvl:uniswap"
        assert all(times.recent(p)[0].ok for p in ("alternative_me", "defillama"))
        # the price collector's first round already answered for Kraken: no probe of its own
        assert times.recent("kraken") == []
        [kraken] = StatusLogRepository(container.engine).latest(provider="kraken")
        assert kraken.state is CheckState.PASSIVE_UP


@pytest.mark.parametrize("value", ["4", "0", "-1", "soon"])
def test_the_health_interval_has_a_floor(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("COLLECT_HEALTH_S", value)
    with pytest.raises(ConfigError, match="COLLECT_HEALTH_S"):
        load_settings()
    monkeypatch.setenv("COLLECT_HEALTH_S", "5")
    assert load_settings().collect_health_s == 5.0


async def test_a_failing_incident_store_does_not_stop_the_checks(engine: Engine) -> None:
    class Down(IncidentRepository):
        def open(
            self, provider: str, at: datetime, reason: str, failed_checks: int
        ) -> IncidentRecord:
            raise RuntimeError("database down")

    bad, good = FakeSpot("bad"), FakeSpot("good")
    bad.error = Unavailable("bad", "HTTP 500")
    rig = Rig(engine, [bad, good], consecutive_failures=100)
    rig.job.incidents = IncidentService(Down(engine), AlertRepository(engine))
    for _ in range(4):
        assert await rig.run() == 2
    assert len(StatusLogRepository(engine).errors(provider="bad")) == 4
    assert len(ResponseTimeRepository(engine).recent("good")) == 4
    assert rig.job.incidents.machine.open_providers() == []  # rolled back each time


async def test_real_traffic_since_the_last_check_spares_the_call(engine: Engine) -> None:
    provider = FakeSpot("kraken")
    rig = Rig(engine, [provider])
    await rig.run()  # nothing seen yet: a real probe
    assert len(provider.calls) == 1
    rig.health.success("kraken", 12.0)  # a pool served a request
    await rig.run()
    rig.health.failure("kraken", Unavailable("kraken", "HTTP 503"))
    await rig.run()
    await rig.run()  # nothing since: probe again
    assert len(provider.calls) == 2
    states = [r.state for r in reversed(StatusLogRepository(engine).latest(limit=10))]
    assert states == [CheckState.UP, CheckState.PASSIVE_UP, CheckState.PASSIVE_DOWN, CheckState.UP]
    [down] = StatusLogRepository(engine).errors(limit=10)
    assert down.reason == "unavailable: kraken: HTTP 503"


async def test_a_monthly_quota_is_probed_as_the_plan_allows(engine: Engine) -> None:
    provider = FakeSpot("metered")
    rig = Rig(engine, [provider])
    rig.guards.plan.register("health", 60.0, ["metered"], Priority.PROBE)
    # January, nothing used: 80 % of 10,000 less the clients' 25 % is 5,500 calls left for
    # background work, of which probes may spend 5 %: 275 a month, one every ~162 minutes
    interval = rig.guards.plan.interval_s("health", "metered")
    assert interval == pytest.approx(31 * 86400 / 275, rel=0.01)
    for _ in range(200):  # 200 minutes
        await rig.run()
    assert len(provider.calls) == 2  # at the start and ~162 minutes later
    assert rig.guards["metered"].budget.used_this_month("health") == 2
    skipped = [
        r for r in StatusLogRepository(engine).latest(limit=300) if r.state is CheckState.SKIPPED
    ]
    assert len(skipped) == 198
    assert skipped[-1].reason == "plan: next call in 161 min"
