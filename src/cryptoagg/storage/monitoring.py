"""Provider-health storage: health-check results (`status_log`, `response_times`), incidents
and the alerts raised when an incident opens or resolves.

Synchronous repositories like those in `repositories.py`; async callers use `asyncio.to_thread`.
Listings are newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Engine, RowMapping, Select, select, update

from cryptoagg.storage.tables import alerts, incidents, response_times, status_log


class CheckState(StrEnum):
    """The outcome of one health check, as stored in `status_log.state`."""

    UP = "up"
    #: a call went out and failed
    DOWN = "down"
    #: no call went out: the breaker holds the provider back (open, or disabled after an auth
    #: failure or geo-block); counts as a failed check
    HELD_BACK = "held_back"
    #: no call went out: the rate budget or monthly quota said no; not a failure
    SKIPPED = "skipped"
    #: no call went out: real traffic since the previous check succeeded / failed last
    PASSIVE_UP = "passive_up"
    PASSIVE_DOWN = "passive_down"


FAILED_STATES = (CheckState.DOWN, CheckState.HELD_BACK, CheckState.PASSIVE_DOWN)

IncidentFilter = Literal["open", "resolved", "all"]


@dataclass(frozen=True, slots=True)
class CheckRecord:
    at: datetime
    provider: str
    ok: bool
    state: CheckState
    reason: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ResponseTimeRecord:
    at: datetime
    provider: str
    endpoint: str
    latency_ms: float
    ok: bool


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    provider: str
    opened_at: datetime
    resolved_at: datetime | None
    reason: str
    failed_checks: int

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    incident_id: int | None
    provider: str | None
    at: datetime
    kind: str
    message: str
    delivered: bool
    attempts: int


class StatusLogRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, records: Sequence[CheckRecord]) -> int:
        if not records:
            return 0
        rows = [
            {
                "at": r.at,
                "provider": r.provider,
                "ok": r.ok,
                "state": r.state.value,
                "reason": r.reason,
                "latency_ms": r.latency_ms,
            }
            for r in records
        ]
        with self.engine.begin() as connection:
            connection.execute(status_log.insert(), rows)
        return len(rows)

    def errors(
        self,
        *,
        provider: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[CheckRecord]:
        """Failed checks (down or held back; skipped ones are not failures), newest first."""
        return self.latest(provider=provider, since=since, limit=limit, states=FAILED_STATES)

    def latest(
        self,
        *,
        provider: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        states: Sequence[CheckState] | None = None,
    ) -> list[CheckRecord]:
        """Checks, newest first; optionally one provider's, since a time, in some states."""
        query = select(status_log)
        if states is not None:
            query = query.where(status_log.c.state.in_([s.value for s in states]))
        if provider is not None:
            query = query.where(status_log.c.provider == provider)
        if since is not None:
            query = query.where(status_log.c.at >= since)
        query = query.order_by(status_log.c.at.desc(), status_log.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            CheckRecord(
                at=r["at"],
                provider=r["provider"],
                ok=r["ok"],
                state=CheckState(r["state"]),
                reason=r["reason"],
                latency_ms=r["latency_ms"],
            )
            for r in rows
        ]


class ResponseTimeRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, records: Sequence[ResponseTimeRecord]) -> int:
        if not records:
            return 0
        rows = [
            {
                "at": r.at,
                "provider": r.provider,
                "endpoint": r.endpoint,
                "latency_ms": r.latency_ms,
                "ok": r.ok,
            }
            for r in records
        ]
        with self.engine.begin() as connection:
            connection.execute(response_times.insert(), rows)
        return len(rows)

    def recent(self, provider: str, limit: int = 100) -> list[ResponseTimeRecord]:
        query = (
            select(response_times)
            .where(response_times.c.provider == provider)
            .order_by(response_times.c.at.desc(), response_times.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            ResponseTimeRecord(
                at=r["at"],
                provider=r["provider"],
                endpoint=r["endpoint"],
                latency_ms=r["latency_ms"],
                ok=r["ok"],
            )
            for r in rows
        ]


def _incident(row: RowMapping) -> IncidentRecord:
    return IncidentRecord(
        id=row["id"],
        provider=row["provider"],
        opened_at=row["opened_at"],
        resolved_at=row["resolved_at"],
        reason=row["reason"],
        failed_checks=row["failed_checks"],
    )


class IncidentRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, provider: str, at: datetime, reason: str, failed_checks: int) -> IncidentRecord:
        values = {
            "provider": provider,
            "opened_at": at,
            "resolved_at": None,
            "reason": reason,
            "failed_checks": failed_checks,
        }
        with self.engine.begin() as connection:
            new_id = connection.execute(
                incidents.insert().values(values).returning(incidents.c.id)
            ).scalar_one()
        return IncidentRecord(new_id, provider, at, None, reason, failed_checks)

    def resolve(self, incident_id: int, at: datetime) -> bool:
        """Close an open incident; False when it is unknown or already resolved."""
        statement = (
            update(incidents)
            .where(incidents.c.id == incident_id, incidents.c.resolved_at.is_(None))
            .values(resolved_at=at)
            .returning(incidents.c.id)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).first() is not None

    def add_failed_check(self, incident_id: int) -> None:
        """One more failed check while the incident is open."""
        statement = (
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(failed_checks=incidents.c.failed_checks + 1)
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def get(self, incident_id: int) -> IncidentRecord | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(incidents).where(incidents.c.id == incident_id))
                .mappings()
                .first()
            )
        return None if row is None else _incident(row)

    def open_for(self, provider: str) -> IncidentRecord | None:
        """The provider's open incident (the newest, should there be several)."""
        found = self._fetch(
            select(incidents)
            .where(incidents.c.provider == provider, incidents.c.resolved_at.is_(None))
            .order_by(incidents.c.opened_at.desc(), incidents.c.id.desc())
            .limit(1)
        )
        return found[0] if found else None

    def latest(self, status: IncidentFilter = "all", limit: int = 100) -> list[IncidentRecord]:
        query = select(incidents)
        if status == "open":
            query = query.where(incidents.c.resolved_at.is_(None))
        elif status == "resolved":
            query = query.where(incidents.c.resolved_at.is_not(None))
        query = query.order_by(incidents.c.opened_at.desc(), incidents.c.id.desc()).limit(limit)
        return self._fetch(query)

    def _fetch(self, query: Select[Any]) -> list[IncidentRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [_incident(r) for r in rows]


class AlertRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, incident_id: int | None, at: datetime, kind: str, message: str) -> AlertRecord:
        values = {
            "incident_id": incident_id,
            "at": at,
            "kind": kind,
            "message": message,
            "delivered": False,
            "attempts": 0,
        }
        with self.engine.begin() as connection:
            new_id = connection.execute(
                alerts.insert().values(values).returning(alerts.c.id)
            ).scalar_one()
            provider = (
                None
                if incident_id is None
                else connection.execute(
                    select(incidents.c.provider).where(incidents.c.id == incident_id)
                ).scalar_one_or_none()
            )
        return AlertRecord(new_id, incident_id, provider, at, kind, message, False, 0)

    def mark(self, alert_id: int, *, delivered: bool, attempts: int) -> None:
        """Record the outcome of delivering the alert to its webhooks."""
        statement = (
            update(alerts)
            .where(alerts.c.id == alert_id)
            .values(delivered=delivered, attempts=attempts)
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def latest(self, limit: int = 100) -> list[AlertRecord]:
        query = (
            select(alerts, incidents.c.provider)
            .select_from(alerts.outerjoin(incidents, alerts.c.incident_id == incidents.c.id))
            .order_by(alerts.c.at.desc(), alerts.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            AlertRecord(
                id=r["id"],
                incident_id=r["incident_id"],
                provider=r["provider"],
                at=r["at"],
                kind=r["kind"],
                message=r["message"],
                delivered=r["delivered"],
                attempts=r["attempts"],
            )
            for r in rows
        ]
