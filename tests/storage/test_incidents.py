"""Incidents and alerts as stored (`storage/incidents.py`), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cryptoagg.storage import monitoring
from cryptoagg.storage.incidents import AlertRepository, IncidentRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


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


def test_incident_names_stay_importable_from_monitoring() -> None:
    # the health collector and the CLI read checks and incidents through one module
    assert monitoring.IncidentRepository is IncidentRepository
    assert monitoring.AlertRepository is AlertRepository
