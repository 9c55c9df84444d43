"""Response examples for the OpenAPI document of routes that return pre-encoded bytes.

Those routes return a `Response` (so that the hot path can reuse its bytes), which leaves
FastAPI nothing to derive a schema or example from. `examples.json` holds one real answer per
route (keyed by path for GET, "METHOD path" otherwise), recorded from the simulator in mock
mode with lists trimmed to their first item;
`install_examples` puts each under its route's 200 response.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fastapi import FastAPI


def _examples() -> dict[str, Any]:
    text = resources.files("cryptoagg.api").joinpath("examples.json").read_text("utf-8")
    examples: dict[str, Any] = json.loads(text)
    return examples


def install_examples(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for key, example in _examples().items():
            method, _, path = key.rpartition(" ")
            operation = spec["paths"].get(path, {}).get(method.lower() or "get")
            if operation is None:
                continue
            ok = operation.setdefault("responses", {}).setdefault("200", {})
            ok.setdefault("description", "Successful Response")
            ok.setdefault("content", {}).setdefault("application/json", {})["example"] = example
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
