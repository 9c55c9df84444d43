"""Provider monitoring as served: the failed health checks (`/api/logs/errors`), incidents and
the alerts they raised.

The health collector writes these rows (`collectors/health.py`, `services/incidents.py`); this
is their read side, so the API asks one service instead of building repositories per request.
What a row means is decided here (a failed check is down, held back or passively down; an
incident is open until resolved, and lasted from its opening to its resolution), so routes
only render it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptoagg.services.status import StatusService
from cryptoagg.storage.incidents import (
    AlertRecord,
    AlertRepository,
    IncidentFilter,
    IncidentRecord,
    IncidentRepository,
)
from cryptoagg.storage.monitoring import StatusLogRepository


@dataclass(frozen=True, slots=True)
class FailedCheck:
    """One failed health check from `status_log`."""

    at: datetime
    provider: str
    #: the stored check state (`down`, `held_back`, `passive_down`)
    state: str
    reason: str | None
    latency_ms: float | None


@dataclass(frozen=True, slots=True)
class LastError:
    """A provider's last error seen by any call since start-up (kept in memory)."""

    provider: str
    at: datetime
    reason: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ErrorLog:
    #: failed health checks, newest first
    errors: list[FailedCheck]
    #: each provider's last error since start-up, newest first
    last_errors: list[LastError]


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    provider: str
    status: Literal["open", "resolved"]
    opened_at: datetime
    resolved_at: datetime | None
    #: seconds from opening to resolution; None while open
    duration_s: float | None
    reason: str
    failed_checks: int


def incident(record: IncidentRecord) -> Incident:
    resolved = record.resolved_at
    return Incident(
        id=record.id,
        provider=record.provider,
        status="open" if record.is_open else "resolved",
        opened_at=record.opened_at,
        resolved_at=resolved,
        duration_s=(resolved - record.opened_at).total_seconds() if resolved else None,
        reason=record.reason,
        failed_checks=record.failed_checks,
    )


class MonitoringService:
    def __init__(
        self,
        status_log: StatusLogRepository,
        incidents: IncidentRepository,
        alerts: AlertRepository,
        status: StatusService,
    ) -> None:
        self.status_log = status_log
        self.incident_rows = incidents
        self.alert_rows = alerts
        self.status = status

    async def errors(
        self, *, provider: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> ErrorLog:
        """Failed checks (stored) and each provider's last error (in memory), optionally of
        one provider; stored checks since a time, at most `limit` of them."""
        rows = await asyncio.to_thread(
            self.status_log.errors, provider=provider, since=since, limit=limit
        )
        last = [
            LastError(
                provider=s.name, at=s.last_error_at, reason=s.last_error_reason, error=s.last_error
            )
            for s in self.status.providers_status()
            if s.last_error_at is not None and (provider is None or s.name == provider)
        ]
        last.sort(key=lambda e: e.at, reverse=True)
        failed = [
            FailedCheck(
                at=r.at,
                provider=r.provider,
                state=r.state.value,
                reason=r.reason,
                latency_ms=r.latency_ms,
            )
            for r in rows
        ]
        return ErrorLog(errors=failed, last_errors=last)

    async def incidents(self, status: IncidentFilter = "all", limit: int = 100) -> list[Incident]:
        """Incidents, newest first: open, resolved or all."""
        rows = await asyncio.to_thread(self.incident_rows.latest, status, limit)
        return [incident(r) for r in rows]

    async def alerts(self, limit: int = 100) -> list[AlertRecord]:
        """Alerts raised when incidents opened or resolved, newest first, with whether their
        webhooks accepted them."""
        return await asyncio.to_thread(self.alert_rows.latest, limit)
