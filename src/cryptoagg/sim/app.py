"""`create_sim_app(seed, clock)`: every simulated provider under `/{provider}/...` plus the
control API under `/_sim` (SPEC §10). Same seed and same clock give the same bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from cryptoagg.sim import aggregators, binance, coinbase, coingecko, cryptocompare, kraken
from cryptoagg.sim.control import control_router
from cryptoagg.sim.defi_sentiment import defillama_routes, sentiment_routes
from cryptoagg.sim.layer import FaultLayer
from cryptoagg.sim.news import cryptopanic_routes, rss_routes
from cryptoagg.sim.state import Routes, SimState, utcnow

ROUTE_FACTORIES: tuple[Callable[[SimState], Routes], ...] = (
    coingecko.routes,
    binance.routes,
    kraken.routes,
    coinbase.routes,
    aggregators.coinpaprika_routes,
    aggregators.coincap_routes,
    cryptocompare.routes,
    aggregators.messari_routes,
    sentiment_routes,
    defillama_routes,
    rss_routes,
    cryptopanic_routes,
)


def create_sim_app(seed: int = 1, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The simulator app; its `SimState` is `app.state.sim` (stats, faults, `close()`)."""
    state = SimState(seed=seed, clock=clock)
    app = FastAPI(
        title="cryptoagg provider simulator",
        docs_url="/_sim/docs",
        redoc_url=None,
        openapi_url="/_sim/openapi.json",
    )
    app.state.sim = state
    for factory in ROUTE_FACTORIES:
        for path, handler in factory(state):
            app.add_api_route(path, handler, methods=["GET"], include_in_schema=False)
    app.include_router(control_router(state))
    app.add_middleware(FaultLayer, state=state)
    return app
