"""The OpenAPI document as the server really behaves (tests/api/test_schema.py holds it to that
with schemathesis): parameter types whose declaration and validation agree, and the pass that
finishes the document (`install_examples`).

Parameters:

- `UtcDateTime`: an RFC 3339 date-time with an offset (`2026-03-01T00:00:00Z`), exactly what
  `format: date-time` declares; Unix seconds (`0.5`), naive times and bare dates are refused
  (422). Handlers get an aware UTC time, clamped to what `datetime` represents (years 1 to
  9999, `core/timespan.py`).
- `WHITESPACE`, `NOT_BLANK`: what `str.strip()` removes, as a pattern class every regex
  engine reads alike (JSON Schema's, Python's, pydantic's), for parameters a handler strips.
- `required_in_document`: a parameter the handler checks itself, to answer in CoinGecko's words
  (`Missing parameter vs_currency`), is still declared required.

The finishing pass adds, to what FastAPI derives:

- response examples for routes that return pre-encoded bytes (they return a `Response`, so
  that the hot path can reuse its bytes): `examples.json` holds one real answer per route
  (keyed by path for GET, "METHOD path" otherwise), recorded from the simulator in mock mode
  with lists trimmed to their first item; each goes under its route's 200 response;
- the answers the server gives on any route before the app reads it: 414 (MAX_URL_BYTES),
  431 (MAX_HEADER_BYTES, MAX_HEADERS); the middleware's: 429 (rate limit; not on /health and
  /metrics), 504 (REQUEST_TIMEOUT_S), and on routes with a body 400 (not JSON) and 413
  (MAX_BODY_BYTES), all in the error shape (also under `/api/v3`: the middleware answers
  before the route);
- the error shape for every 422 (FastAPI's `HTTPValidationError` is never sent);
- the admin bearer token as a security scheme on every route behind `AdminDep`, with its 403;
- limits that come from the settings (SENTIMENT_MAX_TEXTS, SENTIMENT_MAX_CHARS);
- links from an answer to the operations its values feed (`LINKS`), for clients and for
  schemathesis' stateful tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import AfterValidator, BeforeValidator

from cryptoagg.api.deps import require_admin
from cryptoagg.api.error_models import ErrorBody, error_responses
from cryptoagg.api.http.ratelimit import EXEMPT_PATHS
from cryptoagg.config import Settings
from cryptoagg.core.timespan import as_utc

# --- parameters --------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
RFC3339_HINT = "an RFC 3339 date-time with offset, e.g. 2026-03-01T00:00:00Z"


def _rfc3339(value: object) -> object:
    if not isinstance(value, str) or _RFC3339.fullmatch(value) is None:
        raise ValueError(f"expected {RFC3339_HINT}")
    return value


#: a date-time parameter: RFC 3339 only (as `format: date-time` says), as aware UTC, clamped
UtcDateTime = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(as_utc)]

#: what `str.strip()` removes (Python's whitespace), as a class every regex engine reads
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: a text that is not only whitespace (what `str.strip()` leaves something of)
NOT_BLANK = f"[^{WHITESPACE}]"


_REQUIRED = "x-cryptoagg-required"


def required_in_document(*names: str) -> dict[str, Any]:
    """`openapi_extra=` for a route whose handler checks that these query parameters are
    given (to answer in its own words): the document declares them required."""
    return {_REQUIRED: list(names)}


# --- links -------------------------------------------------------------------------------

#: (from, link name, to, parameters): `from` and `to` are "METHOD path"; the parameters are
#: runtime expressions on the 200 answer of `from`
LINKS: list[tuple[str, str, str, dict[str, str]]] = [
    ("GET /api/market", "price", "GET /api/price/{symbol}", {
        "symbol": "$response.body#/cryptocurrencies/0/asset_id"}),
    ("GET /api/market", "prices", "GET /api/prices", {
        "symbols": "$response.body#/cryptocurrencies/0/asset_id"}),
    ("GET /api/market", "records", "GET /api/market/history", {
        "symbol": "$response.body#/cryptocurrencies/0/asset_id"}),
    ("GET /api/market", "history", "GET /api/crypto/history/{symbol}", {
        "symbol": "$response.body#/cryptocurrencies/0/asset_id"}),
    ("GET /api/market", "analysis", "GET /api/analysis/{symbol}", {
        "symbol": "$response.body#/cryptocurrencies/0/asset_id"}),
    ("GET /api/market", "news", "GET /api/news", {
        "symbol": "$response.body#/cryptocurrencies/0/symbol"}),
    ("GET /api/trending", "price", "GET /api/price/{symbol}", {
        "symbol": "$response.body#/trending/0/asset_id"}),
    ("GET /api/trending", "image", "GET /api/images/{asset_id}", {
        "asset_id": "$response.body#/trending/0/asset_id"}),
    ("GET /api/assets", "resolve", "GET /api/resolve", {
        "q": "$response.body#/assets/0/id"}),
    ("GET /api/assets", "price", "GET /api/price/{symbol}", {
        "symbol": "$response.body#/assets/0/id"}),
    ("GET /api/resolve", "price", "GET /api/price/{symbol}", {
        "symbol": "$response.body#/asset/id"}),
    ("GET /api/resolve", "history", "GET /api/crypto/history/{symbol}", {
        "symbol": "$response.body#/asset/id"}),
    ("GET /api/pools", "rotations", "GET /api/pools/{pool_id}/rotations", {
        "pool_id": "$response.body#/pools/0/id"}),
    ("GET /api/pools", "rotate", "POST /api/pools/{pool_id}/rotate", {
        "pool_id": "$response.body#/pools/0/id"}),
    ("POST /api/pools/{pool_id}/rotate", "rotations", "GET /api/pools/{pool_id}/rotations", {
        "pool_id": "$response.body#/rotation/pool"}),
    ("GET /api/providers", "errors", "GET /api/logs/errors", {
        "provider": "$response.body#/providers/0/name"}),
    ("GET /api/v3/coins/markets", "chart", "GET /api/v3/coins/{id}/market_chart", {
        "id": "$response.body#/0/id"}),
    ("GET /api/v3/coins/markets", "price", "GET /api/v3/simple/price", {
        "ids": "$response.body#/0/id"}),
    ("GET /api/v3/search/trending", "chart", "GET /api/v3/coins/{id}/market_chart", {
        "id": "$response.body#/coins/0/item/id"}),
]  # fmt: skip


# --- the finishing pass ------------------------------------------------------------------

ADMIN_SCHEME = "AdminToken"
_ERROR_REF = "#/components/schemas/ErrorBody"


def _examples() -> dict[str, Any]:
    text = resources.files("cryptoagg.api").joinpath("examples.json").read_text("utf-8")
    examples: dict[str, Any] = json.loads(text)
    return examples


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _operation(spec: dict[str, Any], key: str) -> dict[str, Any]:
    method, _, path = key.partition(" ")
    try:
        operation: dict[str, Any] = spec["paths"][path][method.lower()]
    except KeyError:
        raise KeyError(f"OpenAPI link to an unknown operation: {key}") from None
    return operation


def _add_examples(spec: dict[str, Any]) -> None:
    for key, example in _examples().items():
        method, _, path = key.rpartition(" ")
        operation = spec["paths"].get(path, {}).get(method.lower() or "get")
        if operation is None:
            continue
        ok = operation.setdefault("responses", {}).setdefault("200", {})
        ok.setdefault("description", "Successful Response")
        ok.setdefault("content", {}).setdefault("application/json", {})["example"] = example


def _error_response(status: int) -> dict[str, Any]:
    response = error_responses(status)[status]
    return {
        "description": response["description"],
        "content": {
            "application/json": {
                "schema": {"$ref": _ERROR_REF},
                **response["content"]["application/json"],
            }
        },
    }


def _error_schemas(spec: dict[str, Any]) -> None:
    """The error shape in `components` (routes that declare no error of their own still get
    the middleware's), FastAPI's unused validation-error schemas out."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    shape = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(shape.pop("$defs", {}))
    schemas.setdefault("ErrorBody", shape)
    text = json.dumps(spec["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            schemas.pop(unused, None)


def _middleware_answers(spec: dict[str, Any]) -> None:
    for _method, path, operation in _operations(spec):
        responses = operation.setdefault("responses", {})
        statuses = [414, 431, 504] if path in EXEMPT_PATHS else [414, 429, 431, 504]
        if "requestBody" in operation:
            statuses += [400, 413]
        for status in statuses:
            responses.setdefault(str(status), _error_response(status))
        invalid = responses.get("422")
        if invalid is not None and "HTTPValidationError" in json.dumps(invalid):
            responses["422"] = _error_response(422)


def _required(spec: dict[str, Any]) -> None:
    for _method, _path, operation in _operations(spec):
        names = operation.pop(_REQUIRED, None)
        if not names:
            continue
        for parameter in operation.get("parameters", []):
            if parameter["name"] not in names:
                continue
            parameter["required"] = True
            schema = parameter.get("schema", {})
            branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
            if branches:
                schema.update(branches[0])
            schema.pop("default", None)


def _needs_admin(dependant: Dependant) -> bool:
    return any(d.call is require_admin or _needs_admin(d) for d in dependant.dependencies)


def _admin_security(app: FastAPI, spec: dict[str, Any]) -> None:
    guarded = False
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if not (isinstance(original, APIRoute) and _needs_admin(original.dependant)):
            continue
        for method in route.methods or ():
            operation = spec["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            guarded = True
            operation["security"] = [{ADMIN_SCHEME: []}]
            operation.setdefault("responses", {}).setdefault("403", _error_response(403))
    if guarded:
        schemes = spec.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[ADMIN_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "ADMIN_TOKEN (mutating routes are refused with 403 while unset)",
        }


def _settings_limits(spec: dict[str, Any], settings: Settings) -> None:
    request = spec.get("components", {}).get("schemas", {}).get("SentimentRequest")
    if request is None:
        return
    texts = request["properties"]["texts"]
    texts["maxItems"] = settings.sentiment_max_texts
    texts["items"]["maxLength"] = settings.sentiment_max_chars


def _links(spec: dict[str, Any]) -> None:
    for source, name, target, parameters in LINKS:
        target_id = _operation(spec, target)["operationId"]
        ok = _operation(spec, source)["responses"]["200"]
        ok.setdefault("links", {})[name] = {"operationId": target_id, "parameters": parameters}


def install_examples(app: FastAPI) -> None:
    """Finish the app's OpenAPI document (see the module's docstring). The limits from the
    settings are read from the running app; a document built before start-up lacks them
    and is not kept."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        app.openapi_schema = None  # `build` keeps its own; ours is kept below
        _add_examples(spec)
        _required(spec)
        _middleware_answers(spec)
        _admin_security(app, spec)
        _error_schemas(spec)
        _links(spec)
        services = getattr(app.state, "services", None)
        if services is None:
            return spec
        _settings_limits(spec, services.settings)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
