"""The one error shape as OpenAPI documentation: `responses=error_responses(404, 422)`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine code, e.g. unknown_asset")
    message: str = Field(description="what went wrong, for people")
    details: Any = Field(default=None, description="structured context (candidates, reasons)")


class ErrorBody(BaseModel):
    error: ErrorDetail


_EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "the body is not valid JSON",
        {"code": "http_error", "message": "There was an error parsing the body", "details": None},
    ),
    403: (
        "missing or wrong admin token (or ADMIN_TOKEN not set)",
        {
            "code": "forbidden",
            "message": "a valid admin bearer token is required",
            "details": None,
        },
    ),
    404: (
        "unknown asset",
        {"code": "unknown_asset", "message": "unknown asset: 'NOPECOIN'", "details": None},
    ),
    409: (
        "ambiguous ticker: ask by asset id",
        {
            "code": "ambiguous_symbol",
            "message": "symbol 'HOT' names several assets: holotoken, hydro-protocol; "
            "ask by asset id",
            "details": {"candidates": ["holotoken", "hydro-protocol"]},
        },
    ),
    422: (
        "invalid input",
        {
            "code": "invalid_input",
            "message": "the request is not valid",
            "details": [
                {"field": "query.limit", "problem": "Input should be less than or equal to 100"}
            ],
        },
    ),
    413: (
        "the body is too large",
        {
            "code": "payload_too_large",
            "message": "request body larger than 1048576 bytes (MAX_BODY_BYTES)",
            "details": None,
        },
    ),
    414: (
        "the request target (path and query) is over MAX_URL_BYTES",
        {
            "code": "uri_too_long",
            "message": "the request target is over 8192 bytes",
            "details": None,
        },
    ),
    431: (
        "the request headers are over MAX_HEADER_BYTES or MAX_HEADERS",
        {
            "code": "header_fields_too_large",
            "message": "the request headers are over 32768 bytes",
            "details": None,
        },
    ),
    429: (
        "too many requests from this client (RATE_LIMIT_PER_MIN); see Retry-After",
        {
            "code": "rate_limited",
            "message": "too many requests: at most 600 per minute per client (bursts of 60)",
            "details": {"retry_after_s": 2},
        },
    ),
    503: (
        "no provider could answer",
        {
            "code": "no_provider_available",
            "message": "no provider could answer ohlcv (binance: rate_limited)",
            "details": {"capability": "ohlcv", "reasons": {"binance": "rate_limited"}},
        },
    ),
    504: (
        "no answer within REQUEST_TIMEOUT_S",
        {
            "code": "deadline_exceeded",
            "message": "no answer within 30 s (REQUEST_TIMEOUT_S)",
            "details": None,
        },
    ),
}


def error_example(status: int) -> dict[str, Any]:
    """The example body of `status` (the error shape)."""
    return {"error": _EXAMPLES[status][1]}


def error_responses(
    *statuses: int, examples: Mapping[int, dict[str, Any]] | None = None, **described: str
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the error shape with an example for each status;
    `described` overrides a description (`s422="..."`), `examples` an example's `error`."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, example = _EXAMPLES[status]
        example = (examples or {}).get(status, example)
        out[status] = {
            "model": ErrorBody,
            "description": described.get(f"s{status}", description),
            "content": {"application/json": {"example": {"error": example}}},
        }
    return out
