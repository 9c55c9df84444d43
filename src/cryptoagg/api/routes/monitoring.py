"""Provider monitoring: failed health checks, incidents and the alerts they raised."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.openapi import RFC3339_HINT, UtcDateTime

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


@router.get(
    "/logs/errors",
    summary="Recent provider errors: failed health checks, newest first",
    responses=error_responses(422),
)
async def errors(
    services: ServicesDep,
    provider: ProviderName = None,
    since: Annotated[UtcDateTime | None, Query(description=RFC3339_HINT)] = None,
    limit: Limit = 100,
) -> ErrorsOut:
    log = await services.monitoring.errors(provider=provider, since=since, limit=limit)
    return ErrorsOut(
        errors=[CheckError.model_validate(e, from_attributes=True) for e in log.errors],
        last_errors=[LastError.model_validate(e, from_attributes=True) for e in log.last_errors],
    )


@router.get(
    "/incidents",
    summary="Provider incidents (3 failed checks open, 2 good resolve)",
    responses=error_responses(422),
)
async def incidents(
    services: ServicesDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "all",
    limit: Limit = 100,
) -> IncidentsOut:
    rows = await services.monitoring.incidents(status, limit)
    return IncidentsOut(
        incidents=[IncidentOut.model_validate(r, from_attributes=True) for r in rows]
    )


@router.get(
    "/alerts",
    summary="Alerts raised when incidents open or resolve, newest first",
    responses=error_responses(422),
)
async def alerts(services: ServicesDep, limit: Limit = 100) -> AlertsOut:
    rows = await services.monitoring.alerts(limit)
    return AlertsOut(alerts=[AlertOut.model_validate(r, from_attributes=True) for r in rows])
