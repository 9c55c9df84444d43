"""`GET /health`: overall status with the provider checks behind it."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from cryptoagg import __version__
from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.render import iso, render
from cryptoagg.storage.db import database_ok

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service health with provider checks")
async def health(container: ContainerDep) -> Response:
    database = await asyncio.to_thread(database_ok, container.engine)
    rows = container.status.providers_status()
    enabled = [r for r in rows if r.enabled]
    failing = [r.name for r in enabled if r.state in ("failing", "open", "half_open")]
    if not database or (enabled and len(failing) == len(enabled)):
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
                "database": {"ok": database, "dialect": container.engine.dialect.name},
                "providers": {
                    "enabled": len(enabled),
                    "failing": failing,
                    "disabled": {r.name: r.disabled_reason for r in rows if not r.enabled},
                    "last_success": {r.name: iso(r.last_success) for r in enabled},
                },
            },
        }
    )
