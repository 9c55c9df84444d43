"""Schemathesis over the OpenAPI schema (in-process ASGI, mock mode): no input the schema
allows may produce a 5xx."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from cryptoagg.api.app import create_app
from cryptoagg.config import load_settings

DATA = Path(tempfile.mkdtemp(prefix="cryptoagg-schema-"))
app = create_app(
    load_settings(
        use_mock_data=True,
        data_dir=DATA,
        collectors=False,
        admin_token="schema-test-admin",
        providers_file=None,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_input_produces_a_server_error(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: "
        f"{response.text[:500]}"
    )
