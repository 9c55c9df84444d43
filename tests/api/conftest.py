"""The app in-process (ASGI) with its real lifespan, in mock mode: the simulator runs on a
loopback port inside the test process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoagg.api.app import create_app
from cryptoagg.config import load_settings

AppClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppClient:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE"):
        monkeypatch.delenv(key, raising=False)

    @asynccontextmanager
    async def client(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        options = {"collectors": False, **settings}
        app = create_app(load_settings(use_mock_data=True, data_dir=tmp_path, **options))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as c:
                yield c

    return client
