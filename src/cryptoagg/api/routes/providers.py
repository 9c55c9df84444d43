"""Provider health and pools: `/api/providers`, `/api/pools`, rotations and manual rotation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cryptoagg.api.deps import AdminDep, ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.render import iso, render
from cryptoagg.resilience.pool import Rotation

router = APIRouter(prefix="/api", tags=["providers"])
POOL_ID = r"^[a-z_]{1,40}$"


class LatencyOut(BaseModel):
    p50: float | None
    p95: float | None


class QuotaOut(BaseModel):
    calls_this_minute: int
    used_this_month: int
    used_by_clients: int
    monthly: int | None
    left: int | None
    target: int | None
    projected_month_end: int
    client_reserve: int | None
    exhausted: bool


class BudgetWaitOut(BaseModel):
    client_calls: int
    p50: float | None
    p99: float | None


class ScheduledJobOut(BaseModel):
    job: str
    base_interval_s: float
    interval_s: float | None
    calls_per_run: float


class ProviderOut(BaseModel):
    name: str
    enabled: bool
    disabled_reason: str | None
    state: str
    breaker: str
    next_probe_at: datetime | None
    capabilities: list[str]
    requires_key: bool
    successes: int
    failures: int
    success_rate_1h: float | None
    success_rate_24h: float | None
    latency_ms: LatencyOut
    last_success: datetime | None
    last_error: str | None
    last_error_reason: str | None
    last_error_at: datetime | None
    quota: QuotaOut
    budget_wait_ms: BudgetWaitOut
    schedule: list[ScheduledJobOut]


class ProvidersOut(BaseModel):
    providers: list[ProviderOut]


class TransitionOut(BaseModel):
    at: datetime
    provider: str
    from_: str = Field(alias="from")
    to: str
    reason: str


class TransitionsOut(BaseModel):
    transitions: list[TransitionOut]


class PoolOut(BaseModel):
    id: str
    strategy: str
    members: list[str]
    current: str | None
    rotations: int


class PoolsOut(BaseModel):
    pools: list[PoolOut]


class RotationOut(BaseModel):
    at: datetime
    pool: str
    from_: str | None = Field(alias="from")
    to: str
    reason: str


class RotationsOut(BaseModel):
    pool: str
    rotations: list[RotationOut]


class RotateOut(BaseModel):
    rotation: RotationOut


@router.get(
    "/providers",
    summary="Provider state, breaker, latency, success rates and quota",
    response_model=ProvidersOut,
)
async def providers(services: ServicesDep) -> Response:
    rows = [
        {
            "name": s.name,
            "enabled": s.enabled,
            "disabled_reason": s.disabled_reason,
            "state": s.state,
            "breaker": s.breaker,
            "next_probe_at": iso(s.next_probe_at),
            "capabilities": s.capabilities,
            "requires_key": s.requires_key,
            "successes": s.successes,
            "failures": s.failures,
            "success_rate_1h": s.success_rate_1h,
            "success_rate_24h": s.success_rate_24h,
            "latency_ms": {"p50": s.p50_ms, "p95": s.p95_ms},
            "last_success": iso(s.last_success),
            "last_error": s.last_error,
            "last_error_reason": s.last_error_reason,
            "last_error_at": iso(s.last_error_at),
            "quota": {
                "calls_this_minute": s.calls_this_minute,
                "used_this_month": s.calls_this_month,
                "used_by_clients": s.plan.used_by_clients,
                "monthly": s.quota_monthly,
                "left": s.quota_left,
                "target": s.plan.target,
                "projected_month_end": s.plan.projected_month_end,
                "client_reserve": s.plan.client_reserve,
                "exhausted": s.plan.exhausted,
            },
            "budget_wait_ms": {
                "client_calls": s.client_calls_kept,
                "p50": s.client_wait_p50_ms,
                "p99": s.client_wait_p99_ms,
            },
            "schedule": [
                {
                    "job": j.job,
                    "base_interval_s": j.base_interval_s,
                    "interval_s": None if j.interval_s is None else round(j.interval_s, 1),
                    "calls_per_run": j.calls_per_run,
                }
                for j in s.plan.jobs
            ],
        }
        for s in services.status.providers_status()
    ]
    return render({"providers": rows})


@router.get(
    "/providers/transitions",
    summary="Recent circuit-breaker transitions",
    response_model=TransitionsOut,
    responses=error_responses(422),
)
async def transitions(
    services: ServicesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response:
    rows = [
        {
            "at": iso(t.at),
            "provider": t.provider,
            "from": t.from_state.value,
            "to": t.to_state.value,
            "reason": t.reason,
        }
        for t in services.status.transitions(limit)
    ]
    return render({"transitions": rows})


@router.get(
    "/pools",
    summary="Pools per capability, their strategy and members",
    response_model=PoolsOut,
)
async def pools(services: ServicesDep) -> Response:
    rows = [
        {
            "id": p.id,
            "strategy": p.strategy,
            "members": p.members,
            "current": p.current,
            "rotations": p.rotations,
        }
        for p in services.status.pools_status()
    ]
    return render({"pools": rows})


def _rotation(r: Rotation) -> dict[str, object]:
    return {
        "at": iso(r.at),
        "pool": r.pool,
        "from": r.from_provider,
        "to": r.to_provider,
        "reason": r.reason,
    }


UNKNOWN_POOL = {
    "code": "unknown_pool",
    "message": "unknown pool 'spot'; pools: spot_price, markets, ohlcv",
    "details": None,
}


@router.get(
    "/pools/{pool_id}/rotations",
    summary="A pool's rotations, newest first",
    response_model=RotationsOut,
    responses=error_responses(404, 422, s404="unknown pool", examples={404: UNKNOWN_POOL}),
)
async def rotations(
    services: ServicesDep,
    pool_id: Annotated[str, Path(pattern=POOL_ID)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    rows = [_rotation(r) for r in services.status.rotations(pool_id, limit)]
    return render({"pool": pool_id, "rotations": rows})


@router.post(
    "/pools/{pool_id}/rotate",
    summary="Prefer the pool's next member (admin)",
    response_model=RotateOut,
    responses=error_responses(403, 404, 422, s404="unknown pool", examples={404: UNKNOWN_POOL}),
)
async def rotate(
    services: ServicesDep, _admin: AdminDep, pool_id: Annotated[str, Path(pattern=POOL_ID)]
) -> Response:
    rotation = services.status.rotate(pool_id, "manual rotation")
    return render({"rotation": _rotation(rotation)})
