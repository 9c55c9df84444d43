"""`/docs` (Swagger UI) and `/redoc` (ReDoc) in a real headless Chromium against a real server:
they render from the vendored files, and the browser asks no host but the server.

Every request the pages make is recorded (`offline.py`); one to any other origin fails the
test, and so does any console or page error (a Content-Security-Policy refusal is one).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.web.browser import Browser, Page
from tests.web.offline import Recorder, recorded_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def recorded(browser: Browser, mock_api: str) -> Iterator[tuple[Page, Recorder]]:
    with recorded_page(browser, mock_api) as (page, recorder):
        yield page, recorder


def test_swagger_ui_renders_the_operations_from_local_files(
    recorded: tuple[Page, Recorder], mock_api: str
) -> None:
    page, recorder = recorded
    page.goto(f"{mock_api}/docs")
    operations = page.locator(".opblock")
    operations.first.wait_for()
    trending = page.locator(".opblock-summary-path", has_text="/api/trending")
    trending.first.wait_for()
    assert operations.count() >= 20
    assert "cryptoagg" in page.locator(".info .title").inner_text()
    page.wait_for_load_state("networkidle")
    assert recorder.foreign == []
    assert recorder.problems == []
    assert {"/docs", "/static/vendor/swagger-ui-bundle.js", "/openapi.json"} <= set(recorder.ours)
    assert "/static/vendor/swagger-ui.css" in recorder.ours


def test_redoc_renders_the_operations_from_local_files(
    recorded: tuple[Page, Recorder], mock_api: str
) -> None:
    page, recorder = recorded
    page.goto(f"{mock_api}/redoc")
    page.locator("h2", has_text="Trending coins").first.wait_for()
    assert page.locator("h1").first.inner_text().startswith("cryptoagg")
    # the side menu's credit stays (as text: its logo would come from Redocly's CDN)
    assert page.get_by_text("API docs by Redocly").is_visible()
    page.wait_for_load_state("networkidle")
    assert recorder.foreign == []
    assert recorder.problems == []
    assert {"/redoc", "/static/vendor/redoc.standalone.js", "/openapi.json"} <= set(recorder.ours)


def test_docs_pages_name_no_other_host(mock_api: str) -> None:
    for path in ("/docs", "/redoc"):
        page = httpx.get(f"{mock_api}{path}")
        assert page.status_code == 200
        assert "http://" not in page.text and "https://" not in page.text, path
        policy = page.headers["content-security-policy"]
        assert "http" not in policy and "'unsafe-inline'" not in policy.split("style-src")[0]
