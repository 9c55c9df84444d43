"""The service's own health verdict (`services/health.py`): the database, the providers'
states and the background jobs, decided once for `GET /health`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from cryptoagg.core.errors import Unavailable
from cryptoagg.core.models import Capability
from cryptoagg.services.health import (
    NO_COLLECTORS,
    CollectorsReport,
    JobReport,
    ServiceHealth,
)
from cryptoagg.services.status import StatusService
from cryptoagg.storage.db import make_engine
from tests.support import START, FakeClock, FakeSpot, fake_pool

NAMES = ("kraken", "binance", "coinbase")


def status_service(clock: FakeClock) -> StatusService:
    providers = [FakeSpot(name) for name in NAMES]
    pool = fake_pool(*providers, clock=clock)
    return StatusService(providers, pool.health, pool.guards, {Capability.SPOT_PRICE: pool})


def job(*, behind: bool, last_run: datetime | None = START) -> JobReport:
    return JobReport(
        interval_s=30.0,
        runs=3,
        failures=1,
        last_run=last_run,
        lag_s=95.0 if behind else 0.0,
        last_error=None,
        behind=behind,
    )


async def test_healthy_when_the_database_answers_and_nothing_fails(migrated: Engine) -> None:
    status = status_service(FakeClock())
    for name in NAMES:
        status.health.success(name, 12.0)
    report = await ServiceHealth(status, migrated, lambda: NO_COLLECTORS, mock=True).check()
    assert report.status == "healthy"
    assert report.mock is True
    assert report.database_ok is True
    assert report.dialect == migrated.dialect.name
    assert report.collectors == NO_COLLECTORS
    assert report.providers.enabled == 3
    assert report.providers.failing == []
    assert report.providers.disabled == {}
    assert report.providers.last_success == dict.fromkeys(NAMES, START)


async def test_some_providers_failing_or_a_job_behind_is_degraded(migrated: Engine) -> None:
    clock = FakeClock()
    status = status_service(clock)
    for name in NAMES:
        status.health.success(name, 12.0)
    clock.advance(5)
    status.health.failure("binance", Unavailable("binance", "HTTP 502"))
    failing = await ServiceHealth(status, migrated, lambda: NO_COLLECTORS, mock=False).check()
    assert failing.status == "degraded"
    assert failing.providers.failing == ["binance"]

    status.health.success("binance", 10.0)
    jobs = CollectorsReport(
        enabled=True, leader=True, jobs={"news": job(behind=False), "prices": job(behind=True)}
    )
    late = await ServiceHealth(status, migrated, lambda: jobs, mock=False).check()
    assert late.status == "degraded"
    assert late.providers.failing == []
    assert late.collectors.behind == ["prices"]


async def test_every_provider_failing_or_no_database_is_unhealthy(
    migrated: Engine, tmp_path: Path
) -> None:
    status = status_service(FakeClock())
    for name in NAMES:
        status.health.failure(name, Unavailable(name, "HTTP 500"))
    down = await ServiceHealth(status, migrated, lambda: NO_COLLECTORS, mock=False).check()
    assert down.status == "unhealthy"
    assert down.providers.failing == list(NAMES)

    fine = status_service(FakeClock())
    (tmp_path / "db").mkdir()  # a directory where the database file should be
    unreachable = make_engine(f"sqlite:///{tmp_path / 'db'}")
    try:
        report = await ServiceHealth(fine, unreachable, lambda: NO_COLLECTORS, mock=False).check()
    finally:
        unreachable.dispose()
    assert (report.status, report.database_ok, report.dialect) == ("unhealthy", False, "sqlite")


def test_jobs_behind_are_listed_by_name() -> None:
    report = CollectorsReport(
        enabled=True,
        leader=False,
        jobs={"prices": job(behind=True), "candles": job(behind=True), "news": job(behind=False)},
    )
    assert report.behind == ["candles", "prices"]
    assert NO_COLLECTORS.behind == []
