"""`GET /api/providers`: every provider, enabled or why not, last success and last error."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.render import iso, render

router = APIRouter(prefix="/api", tags=["providers"])


@router.get("/providers", summary="Provider state, last success and last error")
async def providers(container: ContainerDep) -> Response:
    rows = [
        {
            "name": s.name,
            "enabled": s.enabled,
            "disabled_reason": s.disabled_reason,
            "state": s.state,
            "capabilities": s.capabilities,
            "requires_key": s.requires_key,
            "successes": s.successes,
            "failures": s.failures,
            "last_success": iso(s.last_success),
            "last_error": s.last_error,
            "last_error_reason": s.last_error_reason,
            "last_error_at": iso(s.last_error_at),
            "last_latency_ms": s.last_latency_ms,
        }
        for s in container.status.providers_status()
    ]
    return render({"providers": rows})
