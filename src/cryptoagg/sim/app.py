"""`create_sim_app(seed)`: every simulated provider plus the control API under `/_sim`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from cryptoagg.sim.aggregators import (
    coincap_routes,
    coinpaprika_routes,
    cryptocompare_routes,
    messari_routes,
)
from cryptoagg.sim.coingecko import routes as coingecko_routes
from cryptoagg.sim.exchanges import binance_routes, coinbase_routes, kraken_routes
from cryptoagg.sim.faults import FaultSpec
from cryptoagg.sim.feeds import (
    cryptopanic_routes,
    defillama_routes,
    rss_routes,
    sentiment_routes,
)
from cryptoagg.sim.layer import FaultLayer
from cryptoagg.sim.state import PROVIDERS, SimState, json, utcnow

ROUTE_FACTORIES = (
    coingecko_routes,
    binance_routes,
    kraken_routes,
    coinbase_routes,
    coinpaprika_routes,
    coincap_routes,
    cryptocompare_routes,
    messari_routes,
    sentiment_routes,
    defillama_routes,
    rss_routes,
    cryptopanic_routes,
)


def control_routes(state: SimState) -> list[Route]:
    async def stats(_request: Request) -> Response:
        return json(state.stats.snapshot())

    async def reset_stats(_request: Request) -> Response:
        state.stats.reset()
        return json(state.stats.snapshot())

    async def list_faults(_request: Request) -> Response:
        return json({"faults": [f.model_dump(mode="json") for f in state.faults.active()]})

    async def add_fault(request: Request) -> Response:
        try:
            spec = FaultSpec.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = [
                {"field": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors()
            ]
            return json({"error": {"code": "invalid_input", "details": problems}}, 422)
        if spec.provider not in PROVIDERS:
            message = f"unknown provider {spec.provider!r}; known: {', '.join(PROVIDERS)}"
            return json({"error": {"code": "invalid_input", "message": message}}, 422)
        return json(state.faults.add(spec).model_dump(mode="json"), 201)

    async def clear_faults(request: Request) -> Response:
        removed = state.faults.clear(request.query_params.get("provider"))
        return json({"removed": removed})

    return [
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/stats", reset_stats, methods=["DELETE"]),
        Route("/_sim/stats/reset", reset_stats, methods=["POST"]),
        Route("/_sim/faults", list_faults, methods=["GET"]),
        Route("/_sim/faults", add_fault, methods=["POST"]),
        Route("/_sim/faults", clear_faults, methods=["DELETE"]),
    ]


class SimApp:
    """The ASGI app with its state reachable (tests and benchmarks read `state`)."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        routes = [r for factory in ROUTE_FACTORIES for r in factory(state)]
        inner = Starlette(routes=[*routes, *control_routes(state)])
        self._app: ASGIApp = FaultLayer(inner, state)

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        await self._app(scope, receive, send)


def create_sim_app(seed: int = 1, clock: Callable[[], datetime] = utcnow) -> SimApp:
    return SimApp(SimState(seed=seed, clock=clock))
