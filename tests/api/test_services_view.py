"""Routes only render: what the API receives of the composition root is `Services` (use cases
and settings), and no route, WebSocket or middleware reaches the whole container."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

import cryptoagg.api
from cryptoagg.api.app import create_app
from cryptoagg.bootstrap.container import Container, Services
from cryptoagg.config import load_settings

#: where the infrastructure lives: a field of one of these types would let a route reach past
#: the services
INFRASTRUCTURE = (
    "sqlalchemy",
    "cryptoagg.storage",
    "cryptoagg.providers",
    "cryptoagg.collectors",
    "cryptoagg.resilience",
    "cryptoagg.core.assets",
    "cryptoagg.core.ports",
)
API = Path(cryptoagg.api.__file__).parent


def test_the_services_view_holds_use_cases_and_settings_only() -> None:
    hints = typing.get_type_hints(Services)
    modules = {
        name: hints[name].__module__ for name in (f.name for f in dataclasses.fields(Services))
    }
    assert modules["settings"] == "cryptoagg.config"
    reaching = {n: m for n, m in modules.items() if m.startswith(INFRASTRUCTURE)}
    assert reaching == {}
    assert {m.split(".")[1] for n, m in modules.items() if n != "settings"} == {"services"}
    for forbidden in ("engine", "guards", "registry", "providers", "pools", "prices_repo"):
        assert forbidden not in modules


def _answers(dependant: Dependant) -> set[object]:
    """What the dependencies of a route (and theirs) return, by their annotations."""
    found: set[object] = set()
    for sub in dependant.dependencies:
        if sub.call is not None:
            found.add(typing.get_type_hints(sub.call).get("return"))
        found |= _answers(sub)
    return found


def test_no_route_depends_on_the_container(tmp_path: Path) -> None:
    app = create_app(load_settings(use_mock_data=True, data_dir=tmp_path, collectors=False))
    routes = [
        r.original_route
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute | APIWebSocketRoute)
    ]
    assert len(routes) > 25
    # the routes that answer from the services take them as a dependency, the compatible face too
    given = {r.path for r in routes if Services in _answers(r.dependant)}
    assert {"/health", "/api/market", "/api/v3/simple/price", "/api/news"} <= given
    asking = sorted(r.path for r in routes if Container in _answers(r.dependant))
    assert asking == []


def test_nothing_in_the_api_reads_the_container_from_the_app_state() -> None:
    readers = sorted(
        str(path.relative_to(API))
        for path in API.rglob("*.py")
        if "state.container" in path.read_text() and path.name != "app.py"
    )
    assert readers == []
