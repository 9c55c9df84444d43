"""`create_sim_app(seed, clock)`: every simulated provider under `/{provider}/...` plus the
control API under `/_sim` (SPEC §10). Same seed and same clock give the same bodies.

The providers are the catalog's (`sim/catalog.py`: each provider module declares what it
serves), so a new simulated provider needs no edit here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from cryptoagg.sim.catalog import catalog
from cryptoagg.sim.control import control_router
from cryptoagg.sim.layer import FaultLayer
from cryptoagg.sim.state import SimState, utcnow


def create_sim_app(seed: int = 1, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The simulator app; its `SimState` is `app.state.sim` (stats, faults, `close()`)."""
    state = SimState(seed=seed, clock=clock)
    providers = {p.name: p for p in catalog()}
    app = FastAPI(
        title="cryptoagg provider simulator",
        docs_url="/_sim/docs",
        redoc_url=None,
        openapi_url="/_sim/openapi.json",
    )
    app.state.sim = state
    for provider in providers.values():
        for path, handler in provider.routes(state):
            app.add_api_route(path, handler, methods=["GET"], include_in_schema=False)
    app.include_router(control_router(state, list(providers)))
    app.add_middleware(FaultLayer, state=state, providers=providers)
    return app
