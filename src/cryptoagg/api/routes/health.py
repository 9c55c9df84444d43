"""`GET /health`: overall status with the provider checks behind it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg import __version__
from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.render import iso, render
from cryptoagg.resilience.redis_link import LinkReading
from cryptoagg.services.health import CollectorsReport

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
    lock: str | None = Field(
        description="the leader lock: postgresql (advisory), file or redis; null: no collectors"
    )
    terms: int = Field(description="times this process has become the leader")
    leader_for_s: float | None = Field(description="seconds as the leader; null: not the leader")
    fencing_token: int | None = Field(
        description="this term's fencing token (Redis lease); null where the database fences"
    )
    behind: list[str] = Field(description="jobs running late")
    jobs: dict[str, JobOut]


class ProvidersCheck(BaseModel):
    enabled: int
    failing: list[str]
    disabled: dict[str, str | None] = Field(description="disabled providers and why")
    last_success: dict[str, datetime | None]


class RedisCheck(BaseModel):
    ok: bool = Field(description="Redis answers; false: this replica runs on local state")
    degraded_reason: str | None
    down_for_s: float | None
    fallbacks: int = Field(description="operations answered from local state")
    rejoins: int


class Checks(BaseModel):
    database: DatabaseCheck
    collectors: CollectorsCheck
    providers: ProvidersCheck
    redis: RedisCheck | None = Field(None, description="REDIS_URL only: shared state")


class HealthOut(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    mock: bool = Field(description="serving from the built-in simulator (USE_MOCK_DATA)")
    checks: Checks


def _collectors(report: CollectorsReport) -> dict[str, Any]:
    return {
        "enabled": report.enabled,
        # only the leader collects; the others stand by for the leader lock
        "leader": report.leader,
        "lock": report.lock,
        "terms": report.terms,
        "leader_for_s": None if report.leader_for_s is None else round(report.leader_for_s, 1),
        "fencing_token": report.fencing_token,
        "behind": report.behind,
        "jobs": {
            name: {
                "interval_s": job.interval_s,
                "runs": job.runs,
                "failures": job.failures,
                "last_run": iso(job.last_run),
                "lag_s": round(job.lag_s, 1),
                "last_error": job.last_error,
            }
            for name, job in report.jobs.items()
        },
    }


def _redis(link: LinkReading) -> dict[str, Any]:
    return {
        "ok": link.up,
        "degraded_reason": link.degraded_reason,
        "down_for_s": link.down_for_s,
        "fallbacks": link.fallbacks,
        "rejoins": link.rejoins,
    }


@router.get(
    "/health",
    summary="Service health: healthy, degraded or unhealthy, with the checks behind it",
    response_model=HealthOut,
)
async def health(services: ServicesDep) -> Response:
    """`unhealthy`: the database is unreachable or every enabled provider is failing;
    `degraded`: some providers are failing, a collector job is behind or Redis is down; else
    `healthy`."""
    report = await services.health.check()
    providers = report.providers
    redis = report.redis
    return render(
        {
            "status": report.status,
            "version": __version__,
            "mock": report.mock,
            "checks": {
                "database": {"ok": report.database_ok, "dialect": report.dialect},
                "collectors": _collectors(report.collectors),
                "providers": {
                    "enabled": providers.enabled,
                    "failing": providers.failing,
                    "disabled": providers.disabled,
                    "last_success": {name: iso(at) for name, at in providers.last_success.items()},
                },
                **({} if redis is None else {"redis": _redis(redis)}),
            },
        }
    )
