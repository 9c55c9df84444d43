"""The bench's baseline: a bare ASGI app answering every request with the same bytes (read
from the file named by BARE_BODY_FILE) and the same headers cryptoagg sends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ.get("BARE_BODY_FILE", "/dev/null")).read_bytes()
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
    (b"etag", b'"bare"'),
    (b"cache-control", b"public, max-age=60"),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
