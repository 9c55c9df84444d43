"""Helpers for adapter tests: recorded payloads replayed through `httpx.MockTransport`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.providers.base import HttpProvider, ProviderContext

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


Handler = Callable[[httpx.Request], httpx.Response]


def respond(body: bytes | str, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    data = body.encode() if isinstance(body, str) else body
    return lambda _request: httpx.Response(status, content=data, headers=headers or {})


def replay(name: str, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    """A handler answering every request with the recorded payload `name`."""
    return respond(fixture_bytes(name), status, headers)


class Recorder:
    """Wraps a handler and keeps the requests it saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def make(
    cls: type[HttpProvider],
    handler: Handler,
    api_key: str | None = None,
    clock: Callable[[], datetime] = lambda: NOW,
    **ctx: Any,
) -> HttpProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    context = ProviderContext(
        client=client,
        registry=seeded_registry(),
        api_key=SecretStr(api_key) if api_key else None,
        clock=clock,
        **ctx,
    )
    return cls(context)
