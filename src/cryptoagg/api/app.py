"""`create_app(settings)`: the FastAPI application, its lifespan and middleware."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Scope

from cryptoagg import __version__
from cryptoagg.api.coingecko import routes as coingecko
from cryptoagg.api.http.errors import install_error_handlers
from cryptoagg.api.http.gc_pauses import start_up_frozen
from cryptoagg.api.http.hot import HotPath, ResponseCache
from cryptoagg.api.http.metrics import install_metrics
from cryptoagg.api.http.mock import MockMarker
from cryptoagg.api.http.ratelimit import ClientRateLimiter, share_limits
from cryptoagg.api.http.security import install_security
from cryptoagg.api.openapi import install_examples
from cryptoagg.api.routes import (
    analysis,
    assets,
    health,
    history,
    images,
    info,
    market,
    monitoring,
    news,
    news_sentiment,
    prices,
    providers,
    sentiment,
    ws,
)
from cryptoagg.bootstrap import build
from cryptoagg.config import Settings
from cryptoagg.resilience.shared_window import SharedWindows
from cryptoagg.web.dashboard import install_dashboard
from cryptoagg.web.docs import install_docs


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with build(settings) as container:
            # routes see the services only (`api/deps.py`); the whole container stays on the
            # state for tests that inspect or provoke the infrastructure behind them
            app.state.services = container.services
            app.state.container = container
            app.state.responses = ResponseCache()
            async with shared_rate_limit(app.state.rate_limiter, container.inbound):
                with start_up_frozen(app.state.gc_pauses):  # full GC pauses: api/http/gc_pauses.py
                    yield

    app = FastAPI(
        title="cryptoagg",
        version=__version__,
        summary="Free public crypto data providers behind one reliable API",
        lifespan=lifespan,
        # metrics are Prometheus (/metrics); FastAPI's OpenTelemetry hooks would otherwise
        # look up the global OTel providers (and the environment) on every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # /docs and /redoc are served from vendored files (web/docs.py), not from a CDN
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    install_examples(app)
    for module in (health, market, prices, history, info, providers, monitoring, sentiment):
        app.include_router(module.router)
    app.include_router(coingecko.router)
    app.include_router(ws.router)
    for area in (analysis, assets, news_sentiment, news, images):
        app.include_router(area.router)
    install_dashboard(app)
    docs = install_docs(app)

    def record_market(scope: Scope, duration_ms: float) -> None:
        market.record_market_query(app.state.services, scope, duration_ms)

    # limits (with the hot path after the rate limit), CORS, then security headers and
    # request metrics (see api/http/security.py)
    hot = HotPath(app.state, hooks={"/api/market": record_market})
    install_security(app, settings, install_metrics(app), fast=hot, docs=docs)
    if settings.use_mock_data:
        app.add_middleware(MockMarker)
    return app


@asynccontextmanager
async def shared_rate_limit(
    limiter: ClientRateLimiter | None, windows: SharedWindows | None
) -> AsyncIterator[None]:
    """With several replicas (REDIS_URL), the clients' rate limit counts over all of them
    while the app runs (`api/http/ratelimit.py`)."""
    if limiter is None or windows is None:
        yield
        return
    task = asyncio.create_task(share_limits(limiter, windows), name="rate-limit-share")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
