"""`/docs` (Swagger UI) and `/redoc` (ReDoc) from vendored files, so the API documentation loads
nothing from another host (no CDN, no web fonts, a local favicon).

The pages are FastAPI's own (`get_swagger_ui_html`, `get_redoc_html`) with our asset URLs,
rendered once. FastAPI's default docs routes are off (`docs_url=None`, `redoc_url=None` in
`create_app`) and so is its OAuth2 redirect page: the API has no OAuth2 flow. Swagger UI's
page runs one inline script (its set-up call); its hash goes into the pages' policy
(`DocsPages.script_hashes`, used by `api/http/security.py`), so no other inline script can run.
The vendored files and their versions are listed in `static/vendor/README.md`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_JS = "/static/vendor/swagger-ui-bundle.js"
SWAGGER_CSS = "/static/vendor/swagger-ui.css"
REDOC_JS = "/static/vendor/redoc.standalone.js"
FAVICON = "/static/favicon.svg"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class DocsPages:
    """What the security headers need to know about the documentation pages."""

    paths: tuple[str, ...]
    #: CSP sources of the pages' inline scripts (`'sha256-…'`)
    script_hashes: tuple[str, ...]


def inline_script_hashes(html: str) -> tuple[str, ...]:
    """The CSP hash source of every inline `<script>` in `html`, as a browser computes it (the
    SHA-256 of the element's text, UTF-8)."""
    return tuple(
        f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"
        for text in _INLINE_SCRIPT.findall(html)
    )


def install_docs(app: FastAPI) -> DocsPages:
    """Serve `/docs` and `/redoc` (the app must have been created with `docs_url=None` and
    `redoc_url=None`); returns what `install_security` needs for their policy."""
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url=FAVICON,
        # no badge from swagger.io's online validator (it would send the document there)
        swagger_ui_parameters={"validatorUrl": None},
    )
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=REDOC_JS,
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    swagger_html = bytes(swagger.body).decode()
    redoc_html = bytes(redoc.body).decode()

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_html)

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc_ui() -> HTMLResponse:
        return HTMLResponse(redoc_html)

    hashes = inline_script_hashes(swagger_html) + inline_script_hashes(redoc_html)
    return DocsPages((DOCS_PATH, REDOC_PATH), hashes)
