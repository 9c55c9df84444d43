"""The process's outside connections: the simulator in mock mode, the HTTP client, the database.

Each is closed by the exit stack it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog
from sqlalchemy import Engine

from cryptoagg import __version__
from cryptoagg.config import Settings
from cryptoagg.sim.server import BackgroundSim
from cryptoagg.storage.db import make_engine, upgrade

log = structlog.get_logger("cryptoagg.bootstrap")
#: httpx's `event_hooks`: "request"/"response" -> the hooks called with each
EventHooks = Mapping[str, list[Callable[..., Any]]]


async def upstream_url(settings: Settings, stack: contextlib.AsyncExitStack) -> str | None:
    """UPSTREAM_BASE_URL, or in mock mode the URL of a simulator started here."""
    if not settings.use_mock_data:
        return settings.upstream_base_url
    sim = BackgroundSim(seed=1)
    await sim.start()
    stack.push_async_callback(sim.stop)
    log.info("mock_mode", simulator=sim.url)
    return sim.url


def http_client(
    settings: Settings, stack: contextlib.AsyncExitStack, event_hooks: EventHooks | None = None
) -> httpx.AsyncClient:
    """The one outbound client every provider shares; `event_hooks` are httpx's, given by
    whoever builds the container (`providers schema` keeps the bodies its probes receive)."""
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.upstream_timeout_s),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"user-agent": f"cryptoagg/{__version__}"},
        follow_redirects=True,
        event_hooks=event_hooks,
    )
    stack.push_async_callback(client.aclose)
    return client


async def open_engine(settings: Settings, stack: contextlib.AsyncExitStack) -> Engine:
    """The database engine, migrated to the newest schema (in a thread: it blocks)."""
    engine = make_engine(settings.db_url)
    stack.callback(engine.dispose)
    await asyncio.to_thread(upgrade, engine)
    return engine
