"""`GET /health`: overall status with the provider checks behind it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from cryptoagg import __version__
from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.render import iso, render

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service health with provider checks")
async def health(container: ContainerDep) -> Response:
    rows = container.status.providers_status()
    enabled = [r for r in rows if r.enabled]
    failing = [r.name for r in enabled if r.state in ("failing", "open", "half_open")]
    if enabled and len(failing) == len(enabled):
        status = "unhealthy"
    elif failing:
        status = "degraded"
    else:
        status = "healthy"
    return render(
        {
            "status": status,
            "version": __version__,
            "mock": container.mock,
            "checks": {
                "providers": {
                    "enabled": len(enabled),
                    "failing": failing,
                    "disabled": {r.name: r.disabled_reason for r in rows if not r.enabled},
                    "last_success": {r.name: iso(r.last_success) for r in enabled},
                },
            },
        }
    )
