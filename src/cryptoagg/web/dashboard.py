"""`GET /` and `/static/…`: the dashboard page and the files it loads.

The page is plain HTML with ES modules (`static/js/`) and the chart library vendored from npm
(`static/vendor/`, see its README): users need no build chain, and the strict page policy
(`script-src 'self'`, no inline script) holds because nothing is inlined. Every answer is sent
with `Cache-Control: no-cache`, so browsers revalidate (ETag/Last-Modified → 304) and pick up an
upgrade on the next load instead of mixing old and new modules.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

WEB = Path(str(resources.files("cryptoagg.web")))
NO_CACHE = "no-cache"


class DashboardFiles(StaticFiles):
    """StaticFiles whose answers are revalidated on every load (see the module docstring)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def revalidated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((b"cache-control", NO_CACHE.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, revalidated)


def install_dashboard(app: FastAPI) -> None:
    """Serve the page at `/` and its files under `/static`."""
    page = (WEB / "templates" / "index.html").read_bytes()

    @app.get(
        "/",
        summary="The dashboard (HTML): market, charts, providers and more, live over /ws",
        response_class=HTMLResponse,
        tags=["dashboard"],
        responses={200: {"content": {"text/html": {"example": "<!doctype html>…"}}}},
    )
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(page, headers={"cache-control": NO_CACHE})

    app.add_api_route("/", dashboard, methods=["HEAD"], include_in_schema=False)
    app.mount("/static", DashboardFiles(directory=WEB / "static"), name="static")
