"""The monitoring read side (`services/monitoring.py`): failed checks from `status_log` with
each provider's last error from memory, incidents with their status and duration, alerts as
stored; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from cryptoagg.core.errors import Unavailable, UpstreamTimeout
from cryptoagg.core.models import Capability
from cryptoagg.services.monitoring import FailedCheck, Incident, LastError, MonitoringService
from cryptoagg.services.status import StatusService
from cryptoagg.storage.incidents import AlertRepository, IncidentRepository
from cryptoagg.storage.monitoring import CheckRecord, CheckState, StatusLogRepository
from tests.support import START, FakeClock, FakeSpot, fake_pool


def monitoring(engine: Engine, clock: FakeClock) -> MonitoringService:
    """The service over three providers (kraken, binance, coinbase) with real guards and
    health on `clock`."""
    providers = [FakeSpot("kraken"), FakeSpot("binance"), FakeSpot("coinbase")]
    pool = fake_pool(*providers, clock=clock)
    status = StatusService(providers, pool.health, pool.guards, {Capability.SPOT_PRICE: pool})
    return MonitoringService(
        StatusLogRepository(engine), IncidentRepository(engine), AlertRepository(engine), status
    )


async def test_errors_are_the_failed_checks_and_each_providers_last_error(
    migrated: Engine,
) -> None:
    clock = FakeClock()
    service = monitoring(migrated, clock)
    StatusLogRepository(migrated).add_many(
        [
            CheckRecord(START, "kraken", False, CheckState.DOWN, "unavailable: HTTP 500", 15.0),
            CheckRecord(START + timedelta(seconds=60), "binance", False, CheckState.HELD_BACK),
            CheckRecord(START + timedelta(seconds=90), "binance", False, CheckState.SKIPPED),
            CheckRecord(START + timedelta(seconds=120), "kraken", True, CheckState.UP, None, 9.0),
        ]
    )
    health = service.status.health
    health.failure("kraken", Unavailable("kraken", "HTTP 500"))
    clock.advance(30)
    health.failure("coinbase", UpstreamTimeout("coinbase", "timed out"))

    log = await service.errors()
    assert log.errors == [
        FailedCheck(START + timedelta(seconds=60), "binance", "held_back", None, None),
        FailedCheck(START, "kraken", "down", "unavailable: HTTP 500", 15.0),
    ]
    # newest first; binance has no error in memory
    assert log.last_errors == [
        LastError("coinbase", START + timedelta(seconds=30), "timeout", "coinbase: timed out"),
        LastError("kraken", START, "unavailable", "kraken: HTTP 500"),
    ]

    kraken = await service.errors(provider="kraken")
    assert [(e.provider, e.state) for e in kraken.errors] == [("kraken", "down")]
    assert [e.provider for e in kraken.last_errors] == ["kraken"]
    recent = await service.errors(since=START + timedelta(seconds=1))
    assert [e.provider for e in recent.errors] == ["binance"]
    assert [e.provider for e in (await service.errors(limit=1)).errors] == ["binance"]


async def test_incidents_say_whether_open_and_how_long_they_lasted(migrated: Engine) -> None:
    service = monitoring(migrated, FakeClock())
    repo = IncidentRepository(migrated)
    old = repo.open("kraken", START, "unavailable: HTTP 500", 3)
    repo.resolve(old.id, START + timedelta(minutes=10))
    current = repo.open("binance", START + timedelta(minutes=20), "timeout: timed out", 4)

    every = await service.incidents()
    assert every == [
        Incident(
            id=current.id,
            provider="binance",
            status="open",
            opened_at=START + timedelta(minutes=20),
            resolved_at=None,
            duration_s=None,
            reason="timeout: timed out",
            failed_checks=4,
        ),
        Incident(
            id=old.id,
            provider="kraken",
            status="resolved",
            opened_at=START,
            resolved_at=START + timedelta(minutes=10),
            duration_s=600.0,
            reason="unavailable: HTTP 500",
            failed_checks=3,
        ),
    ]
    assert [i.id for i in await service.incidents("open")] == [current.id]
    assert [i.id for i in await service.incidents("resolved")] == [old.id]
    assert [i.id for i in await service.incidents("all", limit=1)] == [current.id]


async def test_alerts_newest_first_with_their_delivery(migrated: Engine) -> None:
    service = monitoring(migrated, FakeClock())
    incident = IncidentRepository(migrated).open("kraken", START, "unavailable", 3)
    alerts = AlertRepository(migrated)
    opened = alerts.add(incident.id, START, "opened", "kraken is down")
    alerts.mark(opened.id, delivered=True, attempts=2)
    resolved = alerts.add(incident.id, START + timedelta(minutes=5), "resolved", "back up")

    listed = await service.alerts()
    assert [(a.id, a.kind, a.provider, a.delivered, a.attempts) for a in listed] == [
        (resolved.id, "resolved", "kraken", False, 0),
        (opened.id, "opened", "kraken", True, 2),
    ]
    assert [a.id for a in await service.alerts(limit=1)] == [resolved.id]
