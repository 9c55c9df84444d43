"""Request-scoped access to the composition root, and the admin guard."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from cryptoagg.bootstrap import Container
from cryptoagg.core.errors import Forbidden


# dependencies are `async def` although they never await: FastAPI runs a plain `def`
# dependency in a worker thread, which costs more than the whole cached response
async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def require_admin(request: Request, container: ContainerDep) -> None:
    """Bearer ADMIN_TOKEN, compared in constant time; 403 when unset or wrong."""
    token = container.settings.admin_token
    if token is None:
        raise Forbidden("mutating endpoints are disabled: ADMIN_TOKEN is not set")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
        raise Forbidden("a valid admin bearer token is required")


AdminDep = Annotated[None, Depends(require_admin)]
