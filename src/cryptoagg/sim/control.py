"""The control API under `/_sim`: call counts and fault injection (SPEC §10)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from cryptoagg.sim.faults import Fault, FaultSpec
from cryptoagg.sim.state import SimState


def unknown_provider(name: str, known: Sequence[str]) -> RequestValidationError:
    """The 422 of a fault for a provider this simulator does not serve (in the shape of a body
    validation error: the known names are the app's, so no static validator can hold them)."""
    message = f"Value error, unknown provider {name!r}; known: {', '.join(known)}"
    error = {"type": "value_error", "loc": ("body", "provider"), "msg": message, "input": name}
    return RequestValidationError([error])


def control_router(state: SimState, providers: Sequence[str]) -> APIRouter:
    """The control API of a simulator serving `providers`."""
    router = APIRouter(prefix="/_sim", tags=["simulator control"])

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        """Requests per provider and path since the last reset, faulted ones included."""
        return state.stats.snapshot()

    @router.post("/stats/reset")
    @router.delete("/stats")
    async def reset_stats() -> dict[str, Any]:
        """Zero the call counts."""
        state.stats.reset()
        return state.stats.snapshot()

    @router.get("/faults")
    async def list_faults() -> dict[str, list[Fault]]:
        """The faults in force (expired ones are dropped)."""
        return {"faults": state.faults.active()}

    @router.post("/faults", status_code=201)
    async def add_fault(spec: FaultSpec) -> Fault:
        """Inject a fault; it fires on each request to the provider with probability `rate`."""
        if spec.provider not in providers:
            raise unknown_provider(spec.provider, providers)
        return state.faults.add(spec)

    @router.delete("/faults")
    async def clear_faults(
        provider: str | None = Query(default=None, description="only this provider's"),
    ) -> dict[str, int]:
        """Remove all faults, or one provider's."""
        return {"removed": state.faults.clear(provider)}

    return router
