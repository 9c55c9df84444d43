"""Request-scoped access to the services, and the admin guard.

Routes receive `Services` (`bootstrap/container.py`): the use cases and the settings, nothing
of the infrastructure behind them, so a route can only ask a service and render its answer.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import State

from cryptoagg.bootstrap.container import Services
from cryptoagg.core.errors import Forbidden


def services_of(state: State) -> Services:
    """The services of a running app (set by its lifespan)."""
    services: Services = state.services
    return services


# dependencies are `async def` although they never await: FastAPI runs a plain `def`
# dependency in a worker thread, which costs more than the whole cached response
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def require_admin(request: Request, services: ServicesDep) -> None:
    """Bearer ADMIN_TOKEN, compared in constant time; 403 when unset or wrong."""
    token = services.settings.admin_token
    if token is None:
        raise Forbidden("mutating endpoints are disabled: ADMIN_TOKEN is not set")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
        raise Forbidden("a valid admin bearer token is required")


AdminDep = Annotated[None, Depends(require_admin)]
