"""`create_app(settings)`: the FastAPI application, its lifespan and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cryptoagg import __version__
from cryptoagg.api.errors import install_error_handlers
from cryptoagg.api.mock import MockMarker
from cryptoagg.api.routes import health, history, info, market, monitoring, providers
from cryptoagg.bootstrap import build
from cryptoagg.config import Settings


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with build(settings) as container:
            app.state.container = container
            yield

    app = FastAPI(
        title="cryptoagg",
        version=__version__,
        summary="Free public crypto data providers behind one reliable API",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (health, market, history, info, providers, monitoring):
        app.include_router(module.router)
    if settings.use_mock_data:
        app.add_middleware(MockMarker)
    return app
