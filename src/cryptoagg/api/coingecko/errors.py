"""CoinGecko's error body on `/api/v3`, with our statuses.

CoinGecko's clients read `{"error": "<message>"}`, so on this face (and only here) core
errors keep the statuses of `api/http/errors.py`'s table but take CoinGecko's body: every
`/api/v3` router uses `CoinGeckoRoute` (`compat_router()`), and the OpenAPI document declares
the same body (`errors()`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from cryptoagg.api.http.errors import STATUS_CODES, retry_headers
from cryptoagg.api.render import render
from cryptoagg.core.errors import CryptoAggError

log = structlog.get_logger("cryptoagg.api.coingecko")


def cg_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return render({"error": message}, status, headers)


class CoinGeckoErrorBody(BaseModel):
    error: str


_ERRORS = {
    400: "vs_currency other than usd: CoinGecko's `invalid vs_currency`",
    404: "unknown coin id: CoinGecko's `coin not found`",
    422: "a parameter is missing or not valid",
    503: "no provider could answer",
}


def errors(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the OpenAPI docs: CoinGecko's error body; `described` overrides a
    description (`s422="..."`)."""
    return {
        s: {"model": CoinGeckoErrorBody, "description": described.get(f"s{s}", _ERRORS[s])}
        for s in statuses
    }


class CoinGeckoRoute(APIRoute):
    """Errors in CoinGecko's body shape, with our statuses (the table of `api/http/errors.py`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except CryptoAggError as exc:
                status = next((code for cls, code in STATUS_CODES if isinstance(exc, cls)), 500)
                if status == 500:
                    log.error("internal_error", error=exc.message)
                    return cg_error(500, "internal error")
                return cg_error(status, exc.message, retry_headers(exc))
            except RequestValidationError as exc:
                # name the parameter and the problem, never echo the value
                problems = [f"{err.get('loc', ('', ''))[-1]}: {err['msg']}" for err in exc.errors()]
                return cg_error(422, "; ".join(problems))

        return handle


def compat_router() -> APIRouter:
    """A router of `/api/v3` endpoints: CoinGecko's error body, one tag in the docs."""
    return APIRouter(prefix="/api/v3", tags=["coingecko-compatible"], route_class=CoinGeckoRoute)
