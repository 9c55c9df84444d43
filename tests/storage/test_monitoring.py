from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from cryptoagg.storage.db import upgrade
from cryptoagg.storage.monitoring import (
    AlertRepository,
    CheckRecord,
    CheckState,
    IncidentRepository,
    ResponseTimeRecord,
    ResponseTimeRepository,
    StatusLogRepository,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    upgrade(engine)
    return engine


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_status_log_lists_failed_checks_newest_first_with_filters(migrated: Engine) -> None:
    repo = StatusLogRepository(migrated)
    written = repo.add_many(
        [
            CheckRecord(at(0), "kraken", False, CheckState.DOWN, "unavailable: HTTP 500", 12.5),
            CheckRecord(at(1), "kraken", True, CheckState.UP, None, 8.0),
            CheckRecord(at(2), "binance", False, CheckState.SKIPPED, "budget_exhausted: rate"),
            CheckRecord(at(3), "binance", False, CheckState.HELD_BACK, "circuit_open: 20s"),
            CheckRecord(at(4), "kraken", False, CheckState.DOWN, "timeout: timed out", 1000.0),
        ]
    )
    assert written == 5
    assert repo.add_many([]) == 0

    errors = repo.errors()
    assert [(e.provider, e.at) for e in errors] == [
        ("kraken", at(4)),
        ("binance", at(3)),
        ("kraken", at(0)),
    ]
    assert errors[0].state is CheckState.DOWN
    assert errors[0].reason == "timeout: timed out"
    assert errors[0].latency_ms == 1000.0
    assert errors[0].ok is False
    assert errors[0].at.tzinfo is UTC
    assert errors[1].state is CheckState.HELD_BACK and errors[1].latency_ms is None

    assert [e.at for e in repo.errors(provider="kraken")] == [at(4), at(0)]
    assert [e.at for e in repo.errors(since=at(1))] == [at(4), at(3)]
    assert [e.at for e in repo.errors(limit=1)] == [at(4)]
    assert repo.errors(provider="coinbase") == []


def test_response_times_recent_per_provider(migrated: Engine) -> None:
    repo = ResponseTimeRepository(migrated)
    repo.add_many(
        [
            ResponseTimeRecord(
                at(i), "kraken" if i % 2 else "binance", "spot_price", i * 10.0, i != 3
            )
            for i in range(6)
        ]
    )
    recent = repo.recent("kraken", limit=2)
    assert [(r.at, r.latency_ms, r.ok) for r in recent] == [
        (at(5), 50.0, True),
        (at(3), 30.0, False),
    ]
    assert recent[0].endpoint == "spot_price"
    assert len(repo.recent("binance")) == 3
    assert repo.recent("coinbase") == []


def test_incident_open_count_resolve_and_filters(migrated: Engine) -> None:
    repo = IncidentRepository(migrated)
    first = repo.open("kraken", at(0), "unavailable: HTTP 500", failed_checks=3)
    second = repo.open("binance", at(10), "timeout: timed out", failed_checks=3)
    assert first.id != second.id
    assert first.is_open and first.resolved_at is None

    repo.add_failed_check(first.id)
    repo.add_failed_check(first.id)
    stored = repo.open_for("kraken")
    assert stored is not None
    assert stored.id == first.id
    assert stored.failed_checks == 5
    assert stored.opened_at == at(0)
    assert stored.reason == "unavailable: HTTP 500"

    assert repo.resolve(first.id, at(60)) is True
    assert repo.resolve(first.id, at(70)) is False  # already resolved: kept as it was
    assert repo.open_for("kraken") is None
    resolved = repo.get(first.id)
    assert resolved is not None and resolved.resolved_at == at(60) and not resolved.is_open

    assert [i.id for i in repo.latest("open")] == [second.id]
    assert [i.id for i in repo.latest("resolved")] == [first.id]
    assert [i.id for i in repo.latest("all")] == [second.id, first.id]
    assert [i.id for i in repo.latest("all", limit=1)] == [second.id]
    assert repo.get(9999) is None
    assert repo.resolve(9999, at(1)) is False


def test_open_for_returns_the_newest_open_incident(migrated: Engine) -> None:
    repo = IncidentRepository(migrated)
    repo.open("kraken", at(0), "a", 3)
    newer = repo.open("kraken", at(5), "b", 3)
    found = repo.open_for("kraken")
    assert found is not None and found.id == newer.id


def test_alerts_add_mark_and_list_with_provider(migrated: Engine) -> None:
    incidents = IncidentRepository(migrated)
    alerts = AlertRepository(migrated)
    incident = incidents.open("kraken", at(0), "unavailable: HTTP 500", 3)
    opened = alerts.add(incident.id, at(0), "opened", "kraken is down")
    resolved = alerts.add(incident.id, at(30), "resolved", "kraken is back up")
    orphan = alerts.add(None, at(40), "opened", "no incident")
    assert opened.provider == "kraken"
    assert (opened.delivered, opened.attempts) == (False, 0)
    assert orphan.provider is None

    alerts.mark(opened.id, delivered=True, attempts=3)
    listed = alerts.latest()
    assert [a.id for a in listed] == [orphan.id, resolved.id, opened.id]
    by_id = {a.id: a for a in listed}
    assert (by_id[opened.id].delivered, by_id[opened.id].attempts) == (True, 3)
    assert (by_id[resolved.id].delivered, by_id[resolved.id].attempts) == (False, 0)
    assert by_id[resolved.id].kind == "resolved"
    assert by_id[resolved.id].message == "kraken is back up"
    assert by_id[resolved.id].provider == "kraken"
    assert by_id[resolved.id].at == at(30)
    assert [a.id for a in alerts.latest(limit=1)] == [orphan.id]
