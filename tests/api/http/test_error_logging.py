"""Both ways a 500 is logged by `api/http/errors.py` carry the traceback, in both log formats, and
nothing of the request's credentials (issue 13, point 2; the real server: tests/e2e)."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from cryptoagg.api.http.errors import install_error_handlers
from cryptoagg.core.errors import StorageError
from cryptoagg.logging import configure_logging

ADMIN = "admin-token-errlog-6c8e0a"
CLIENT_COOKIE = "sid-errlog-2b4d6f"


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/unexpected")
    async def unexpected() -> None:
        raise RuntimeError(f"state broken while holding {ADMIN}")

    @app.get("/storage")
    async def storage() -> None:
        raise StorageError("the database is locked")

    return app


pytestmark = pytest.mark.usefixtures("restore_logging")


async def _logged_500(path: str, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    configure_logging("INFO", fmt, [ADMIN])
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.get(
            path,
            headers={"Authorization": f"Bearer {ADMIN}", "Cookie": f"sid={CLIENT_COOKIE}"},
        )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    err = capsys.readouterr().err
    assert ADMIN not in err
    assert CLIENT_COOKIE not in err
    return err


@pytest.mark.parametrize(
    ("path", "event", "last_line"),
    [
        ("/unexpected", "unhandled_error", "RuntimeError: state broken while holding ***"),
        (
            "/storage",
            "internal_error",
            "cryptoagg.core.errors.StorageError: the database is locked",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["console", "json"])
async def test_a_500_is_logged_with_its_traceback(
    capsys: pytest.CaptureFixture[str], fmt: str, path: str, event: str, last_line: str
) -> None:
    err = await _logged_500(path, fmt, capsys)
    if fmt == "json":
        (record,) = [json.loads(line) for line in err.splitlines()]
        assert (record["event"], record["level"]) == (event, "error")
        traceback = record["exception"]
    else:
        line, _, traceback = err.partition("\n")
        assert f"[error    ] {event}" in line
    assert traceback.startswith("Traceback (most recent call last):")
    assert 'tests/api/http/test_error_logging.py", line' in traceback
    assert traceback.rstrip().endswith(last_line)
    assert "locals" not in err
