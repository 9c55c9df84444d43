"""`GET /health`: overall status with the provider checks behind it."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg import __version__
from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.render import iso, render
from cryptoagg.bootstrap import Container
from cryptoagg.storage.db import database_ok

router = APIRouter(tags=["health"])


class DatabaseCheck(BaseModel):
    ok: bool
    dialect: str


class JobOut(BaseModel):
    interval_s: float
    runs: int
    failures: int
    last_run: datetime | None
    lag_s: float
    last_error: str | None


class CollectorsCheck(BaseModel):
    enabled: bool
    leader: bool = Field(description="only the leader collects; the others stand by")
    behind: list[str] = Field(description="jobs running late")
    jobs: dict[str, JobOut]


class ProvidersCheck(BaseModel):
    enabled: int
    failing: list[str]
    disabled: dict[str, str | None] = Field(description="disabled providers and why")
    last_success: dict[str, datetime | None]


class Checks(BaseModel):
    database: DatabaseCheck
    collectors: CollectorsCheck
    providers: ProvidersCheck


class HealthOut(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    mock: bool = Field(description="serving from the built-in simulator (USE_MOCK_DATA)")
    checks: Checks


def _collectors(container: Container) -> dict[str, Any]:
    collectors = container.collectors
    if collectors is None:
        return {"enabled": False, "leader": False, "behind": [], "jobs": {}}
    now = collectors.supervisor.clock()  # the clock the job times were taken with
    jobs = collectors.supervisor.jobs
    return {
        "enabled": True,
        # only the leader collects; the others stand by for the leader lock
        "leader": collectors.is_leader,
        "behind": sorted(name for name, job in jobs.items() if job.behind(now)),
        "jobs": {
            name: {
                "interval_s": job.interval_s,
                "runs": job.runs,
                "failures": job.failures,
                "last_run": iso(job.last_run),
                "lag_s": round(job.lag_s(now), 1),
                "last_error": job.last_error,
            }
            for name, job in sorted(jobs.items())
        },
    }


@router.get(
    "/health",
    summary="Service health: healthy, degraded or unhealthy, with the checks behind it",
    response_model=HealthOut,
)
async def health(container: ContainerDep) -> Response:
    """`unhealthy`: the database is unreachable or every enabled provider is failing;
    `degraded`: some providers are failing or a collector job is behind; else `healthy`."""
    database = await asyncio.to_thread(database_ok, container.engine)
    rows = container.status.providers_status()
    enabled = [r for r in rows if r.enabled]
    failing = [r.name for r in enabled if r.state in ("failing", "open", "half_open")]
    collectors = _collectors(container)
    if not database or (enabled and len(failing) == len(enabled)):
        status = "unhealthy"
    elif failing or collectors["behind"]:
        status = "degraded"
    else:
        status = "healthy"
    return render(
        {
            "status": status,
            "version": __version__,
            "mock": container.mock,
            "checks": {
                "database": {"ok": database, "dialect": container.engine.dialect.name},
                "collectors": collectors,
                "providers": {
                    "enabled": len(enabled),
                    "failing": failing,
                    "disabled": {r.name: r.disabled_reason for r in rows if not r.enabled},
                    "last_success": {r.name: iso(r.last_success) for r in enabled},
                },
            },
        }
    )
