"""The one place where errors become HTTP: `{"error": {"code", "message", "details"}}`.

Validation errors name the field and the problem but never echo the input (it may hold a
secret); unexpected errors are logged and answered with a bare 500.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cryptoagg.api.render import render
from cryptoagg.core.errors import (
    AmbiguousSymbol,
    BadResponse,
    CostExceeded,
    CpuBusy,
    CryptoAggError,
    Forbidden,
    InvalidInput,
    NoProviderAvailable,
    PayloadTooLarge,
    ProviderError,
    UnknownAsset,
    WorkRefused,
)
from cryptoagg.services.status import UnknownPool

log = structlog.get_logger("cryptoagg.api")

STATUS_CODES: list[tuple[type[CryptoAggError], int]] = [
    (UnknownAsset, 404),
    (UnknownPool, 404),
    (Forbidden, 403),
    (AmbiguousSymbol, 409),
    (InvalidInput, 422),
    (PayloadTooLarge, 413),
    (CostExceeded, 429),
    (CpuBusy, 503),
    (NoProviderAvailable, 503),
    (BadResponse, 502),
    (ProviderError, 503),
]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return render(error_body(code, message, details), status, dict(headers or {}))


def _details(exc: CryptoAggError) -> Any:
    if isinstance(exc, AmbiguousSymbol):
        return {"candidates": exc.candidates}
    if isinstance(exc, NoProviderAvailable):
        details: dict[str, Any] = {"capability": exc.capability, "reasons": exc.reasons}
        if exc.retry_after_s is not None:
            details["retry_after_s"] = retry_after_header(exc.retry_after_s)
        return details
    if isinstance(exc, ProviderError):
        return {"provider": exc.provider, "reason": exc.reason}
    if isinstance(exc, WorkRefused):
        return {"retry_after_s": retry_after_header(exc.retry_after_s)}
    return None


async def _domain(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CryptoAggError)
    status = next((code for cls, code in STATUS_CODES if isinstance(exc, cls)), 500)
    if status == 500:
        log.error("internal_error", error=exc.message, exc_info=exc)
        return error_response(500, "internal_error", "internal error")
    return error_response(status, exc.code, exc.message, _details(exc), retry_headers(exc))


def retry_headers(exc: CryptoAggError) -> dict[str, str]:
    """`Retry-After` when the error says when to come back (a refusal of work, or a pool whose
    providers are held back by budgets, a 429's Retry-After or an open breaker)."""
    retry_after_s = (
        exc.retry_after_s if isinstance(exc, NoProviderAvailable | WorkRefused) else None
    )
    if retry_after_s is None:
        return {}
    return {"retry-after": str(retry_after_header(retry_after_s))}


def retry_after_header(seconds: float) -> int:
    """Whole seconds, rounded up (a client that waits that long finds a call possible)."""
    return max(1, math.ceil(seconds))


async def _validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "problem": err["msg"],
        }
        for err in exc.errors()
    ]
    return error_response(422, "invalid_input", "the request is not valid", problems)


async def _http(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    code = codes.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return error_response(500, "internal_error", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CryptoAggError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
