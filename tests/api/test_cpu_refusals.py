"""CPU work a route did not catch itself (analysis) is refused as the OpenAPI document says: 503
`busy` or 429 `cost_budget_exceeded` in the error shape, with `Retry-After`, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoagg.api.app import create_app
from cryptoagg.config import load_settings
from cryptoagg.core.errors import CostExceeded, CpuBusy, WorkRefused


@pytest.mark.parametrize(
    ("refusal", "status", "code", "wait"),
    [
        (CpuBusy("busy: 1 CPU worker(s) and a queue of 8 are taken", 1.2), 503, "busy", 2),
        (CostExceeded("cost budget spent", 7.0), 429, "cost_budget_exceeded", 7),
    ],
)
async def test_refused_cpu_work_is_answered_with_its_status(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refusal: WorkRefused,
    status: int,
    code: str,
    wait: int,
) -> None:
    app = create_app(
        load_settings(use_mock_data=True, data_dir=tmp_path, collectors=False, providers_file=None)
    )

    async def refuse(*_: Any, **__: Any) -> None:
        raise refusal

    async with app.router.lifespan_context(app):
        monkeypatch.setattr(app.state.container.analysis, "analyse", refuse)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.get("/api/analysis/BTC")
            spec = (await client.get("/openapi.json")).json()
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.headers["retry-after"] == str(wait)  # whole seconds, rounded up
    assert response.json()["error"]["details"] == {"retry_after_s": wait}
    assert str(status) in spec["paths"]["/api/analysis/{symbol}"]["get"]["responses"]
