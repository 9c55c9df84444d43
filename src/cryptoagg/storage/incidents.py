"""Incidents and the alerts raised when one opens or resolves (`incidents`, `alerts`).

What `services/incidents.py` decides over the health checks and `services/webhooks.py`
delivers: apart from the check records (`storage/monitoring.py`), which are an append-only log,
these rows have a life of their own (an incident resolves, an alert is marked delivered).
Synchronous repositories like those in `repositories.py`; async callers use
`asyncio.to_thread`. Listings are newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, RowMapping, Select, select, update

from cryptoagg.storage.tables import alerts, incidents

IncidentFilter = Literal["open", "resolved", "all"]


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
