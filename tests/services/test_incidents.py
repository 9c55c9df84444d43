from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cryptoagg.services.incidents import Check, Event, IncidentMachine, IncidentService
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.incidents import AlertRepository, IncidentRecord, IncidentRepository
from tests.support import FakeNotifier

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'incidents.db'}")
    upgrade(eng)
    return eng


def service(engine: Engine, notifier: FakeNotifier, **thresholds: int) -> IncidentService:
    return IncidentService(
        IncidentRepository(engine),
        AlertRepository(engine),
        notifier,
        machine=IncidentMachine(**thresholds),
    )


# -- the pure state machine ---------------------------------------------------------------


def feed(machine: IncidentMachine, outcomes: str) -> list[Event | None]:
    """'x' a failed check, '.' a good one."""
    return [machine.observe("kraken", c == ".", at(i)) for i, c in enumerate(outcomes)]


def test_three_failures_open_and_two_successes_resolve() -> None:
    events = feed(IncidentMachine(), "xxx..")
    assert events == [None, None, Event.OPENED, None, Event.RESOLVED]


def test_a_good_check_resets_the_failure_streak() -> None:
    machine = IncidentMachine()
    assert feed(machine, "xx.xx") == [None] * 5
    assert machine.open_providers() == []
    assert machine.observe("kraken", False, at(9)) is Event.OPENED


def test_flapping_while_open_does_not_resolve() -> None:
    machine = IncidentMachine()
    events = feed(machine, "xxx.x.x.x")
    assert events.count(Event.OPENED) == 1
    assert Event.RESOLVED not in events
    assert machine.open_providers() == ["kraken"]
    assert machine.observe("kraken", True, at(20)) is None
    assert machine.observe("kraken", True, at(21)) is Event.RESOLVED


def test_failures_while_open_do_not_reopen() -> None:
    events = feed(IncidentMachine(), "xxxxxxx")
    assert events.count(Event.OPENED) == 1


def test_thresholds_are_parameters_and_providers_independent() -> None:
    machine = IncidentMachine(open_after=1, resolve_after=3)
    assert machine.observe("kraken", False, at(0)) is Event.OPENED
    assert machine.observe("binance", True, at(0)) is None
    assert [machine.observe("kraken", True, at(i)) for i in range(3)] == [
        None,
        None,
        Event.RESOLVED,
    ]
    with pytest.raises(ValueError, match="at least 1"):
        IncidentMachine(open_after=0)


# -- the service: storage, alerts, restore ------------------------------------------------


async def test_incident_rows_and_alerts_for_open_and_resolve(engine: Engine) -> None:
    notifier = FakeNotifier()
    svc = service(engine, notifier)
    outcomes = [False, False, False, False, True, True]
    events = [
        await svc.record(Check("kraken", ok, at(i * 60), None if ok else "unavailable: HTTP 500"))
        for i, ok in enumerate(outcomes)
    ]
    assert events == [None, None, Event.OPENED, None, None, Event.RESOLVED]

    [incident] = IncidentRepository(engine).latest("all")
    assert incident.provider == "kraken"
    assert incident.opened_at == at(120)
    assert incident.resolved_at == at(300)
    assert incident.reason == "unavailable: HTTP 500"
    assert incident.failed_checks == 4  # three to open, one more while open

    stored = AlertRepository(engine).latest()
    assert [(a.kind, a.incident_id, a.provider) for a in stored] == [
        ("resolved", incident.id, "kraken"),
        ("opened", incident.id, "kraken"),
    ]
    assert stored[1].message == "kraken is down: unavailable: HTTP 500 (3 failed checks in a row)"
    assert stored[0].message == "kraken is back up after 3m00s"
    assert [a.id for a in notifier.alerts] == [stored[1].id, stored[0].id]


async def test_restart_continues_the_open_incident(engine: Engine) -> None:
    first = service(engine, FakeNotifier())
    for i in range(3):
        await first.record(Check("kraken", False, at(i), "timeout: timed out"))
    [open_incident] = IncidentRepository(engine).latest("open")

    # a new process (or a new collector leader) starts from the database
    notifier = FakeNotifier()
    second = service(engine, notifier)
    assert await second.restore() == 1
    for i in range(3, 6):
        assert await second.record(Check("kraken", False, at(i), "timeout: timed out")) is None
    assert len(IncidentRepository(engine).latest("all")) == 1  # no duplicate
    assert await second.record(Check("kraken", True, at(6))) is None
    assert await second.record(Check("kraken", True, at(7))) is Event.RESOLVED

    [incident] = IncidentRepository(engine).latest("all")
    assert incident.id == open_incident.id
    assert incident.resolved_at == at(7)
    assert incident.failed_checks == 6
    assert [a.kind for a in notifier.alerts] == ["resolved"]
    assert notifier.alerts[0].message == "kraken is back up after 5s"


async def test_record_restores_on_first_use(engine: Engine) -> None:
    IncidentRepository(engine).open("kraken", at(0), "unavailable: HTTP 500", 3)
    svc = service(engine, FakeNotifier())
    assert svc.restored is False
    await svc.record(Check("kraken", True, at(1)))
    assert svc.restored is True
    assert await svc.record(Check("kraken", True, at(2))) is Event.RESOLVED
    assert IncidentRepository(engine).latest("open") == []


async def test_a_failed_write_leaves_the_machine_to_decide_again(engine: Engine) -> None:
    class Broken(IncidentRepository):
        fail = True

        def open(
            self, provider: str, at: datetime, reason: str, failed_checks: int
        ) -> IncidentRecord:
            if self.fail:
                raise RuntimeError("database down")
            return super().open(provider, at, reason, failed_checks)

    incidents = Broken(engine)
    svc = IncidentService(incidents, AlertRepository(engine), FakeNotifier())
    await svc.record(Check("kraken", False, at(0)))
    await svc.record(Check("kraken", False, at(1)))
    with pytest.raises(RuntimeError):
        await svc.record(Check("kraken", False, at(2)))
    assert svc.machine.open_providers() == []
    incidents.fail = False
    assert await svc.record(Check("kraken", False, at(3))) is Event.OPENED
    assert len(incidents.latest("open")) == 1
