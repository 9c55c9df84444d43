"""The one error shape as OpenAPI documentation: `responses=error_responses(404, 422)`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine code, e.g. unknown_asset")
    message: str = Field(description="what went wrong, for people")
    details: Any = Field(default=None, description="structured context (candidates, reasons)")


class ErrorBody(BaseModel):
    error: ErrorDetail


_EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
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
    503: (
        "no provider could answer",
        {
            "code": "no_provider_available",
            "message": "no provider could answer ohlcv (binance: rate_limited)",
            "details": {"capability": "ohlcv", "reasons": {"binance": "rate_limited"}},
        },
    ),
}


def error_responses(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the error shape with an example for each status;
    `described` overrides a description (`s422="..."`)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, example = _EXAMPLES[status]
        out[status] = {
            "model": ErrorBody,
            "description": described.get(f"s{status}", description),
            "content": {"application/json": {"example": {"error": example}}},
        }
    return out
