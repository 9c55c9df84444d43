"""Provider monitoring: failed health checks, incidents and the alerts they raised."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.openapi import RFC3339_HINT, UtcDateTime
from cryptoagg.storage.monitoring import (
    AlertRecord,
    AlertRepository,
    IncidentRecord,
    IncidentRepository,
    StatusLogRepository,
)

router = APIRouter(prefix="/api", tags=["monitoring"])

Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many rows")]
ProviderName = Annotated[
    str | None, Query(pattern=r"^[a-z0-9_]{1,40}$", description="only this provider")
]


class CheckError(BaseModel):
    at: datetime
    provider: str
    state: str
    reason: str | None
    latency_ms: float | None


class LastError(BaseModel):
    provider: str
    at: datetime
    reason: str | None
    error: str | None


class ErrorsOut(BaseModel):
    #: failed health checks from `status_log`, newest first
    errors: list[CheckError]
    #: each provider's last error seen by any call since start-up (in memory)
    last_errors: list[LastError]


class IncidentOut(BaseModel):
    id: int
    provider: str
    status: Literal["open", "resolved"]
    opened_at: datetime
    resolved_at: datetime | None
    duration_s: float | None
    reason: str
    failed_checks: int


class IncidentsOut(BaseModel):
    incidents: list[IncidentOut]


class AlertOut(BaseModel):
    id: int
    incident_id: int | None
    provider: str | None
    at: datetime
    kind: str
    message: str
    delivered: bool
    attempts: int


class AlertsOut(BaseModel):
    alerts: list[AlertOut]


def _incident(r: IncidentRecord) -> IncidentOut:
    duration = (r.resolved_at - r.opened_at).total_seconds() if r.resolved_at else None
    return IncidentOut(
        id=r.id,
        provider=r.provider,
        status="open" if r.is_open else "resolved",
        opened_at=r.opened_at,
        resolved_at=r.resolved_at,
        duration_s=duration,
        reason=r.reason,
        failed_checks=r.failed_checks,
    )


def _alert(r: AlertRecord) -> AlertOut:
    return AlertOut.model_validate(r, from_attributes=True)


@router.get(
    "/logs/errors",
    summary="Recent provider errors: failed health checks, newest first",
    responses=error_responses(422),
)
async def errors(
    container: ContainerDep,
    provider: ProviderName = None,
    since: Annotated[UtcDateTime | None, Query(description=RFC3339_HINT)] = None,
    limit: Limit = 100,
) -> ErrorsOut:
    repo = StatusLogRepository(container.engine)
    rows = await asyncio.to_thread(repo.errors, provider=provider, since=since, limit=limit)
    last = [
        LastError(
            provider=s.name, at=s.last_error_at, reason=s.last_error_reason, error=s.last_error
        )
        for s in container.status.providers_status()
        if s.last_error_at is not None and (provider is None or s.name == provider)
    ]
    last.sort(key=lambda e: e.at, reverse=True)
    return ErrorsOut(
        errors=[
            CheckError(
                at=r.at,
                provider=r.provider,
                state=r.state.value,
                reason=r.reason,
                latency_ms=r.latency_ms,
            )
            for r in rows
        ],
        last_errors=last,
    )


@router.get(
    "/incidents",
    summary="Provider incidents (3 failed checks open, 2 good resolve)",
    responses=error_responses(422),
)
async def incidents(
    container: ContainerDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "all",
    limit: Limit = 100,
) -> IncidentsOut:
    rows = await asyncio.to_thread(IncidentRepository(container.engine).latest, status, limit)
    return IncidentsOut(incidents=[_incident(r) for r in rows])


@router.get(
    "/alerts",
    summary="Alerts raised when incidents open or resolve, newest first",
    responses=error_responses(422),
)
async def alerts(container: ContainerDep, limit: Limit = 100) -> AlertsOut:
    rows = await asyncio.to_thread(AlertRepository(container.engine).latest, limit)
    return AlertsOut(alerts=[_alert(r) for r in rows])
