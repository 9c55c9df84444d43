"""What the simulator's shape tests share: the recorded payloads and a checked GET."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parents[1] / "fixtures" / "providers"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


async def get(client: httpx.AsyncClient, url: str, status: int = 200, **kw: Any) -> Any:
    response = await client.get(url, **kw)
    assert response.status_code == status, response.text
    return response.json()
