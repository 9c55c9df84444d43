"""The dashboard's Trending tab in a real headless Chromium against a real server in mock mode:
every coin picture comes from the server's own `/api/images` (fetched by the server from the
simulated CDN, or its generated icon), and the browser asks no other host."""

from __future__ import annotations

import pytest

from tests.web.browser import Browser
from tests.web.offline import origin, recorded_page

pytestmark = pytest.mark.e2e


def test_trending_pictures_come_from_our_own_origin(browser: Browser, mock_api: str) -> None:
    with recorded_page(browser, mock_api) as (page, recorder):
        page.goto(f"{mock_api}/#trending")
        items = page.locator("#trending-list li")
        items.first.wait_for()
        pictures = page.locator("#trending-list li img")
        pictures.first.wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#trending-list li img')]"
            ".every((img) => img.complete && img.naturalWidth > 0)"
        )
        sources = pictures.evaluate_all("(imgs) => imgs.map((img) => img.src)")
        kinds = page.evaluate(
            "async (urls) => Promise.all(urls.map(async (url) =>"
            " (await fetch(url)).headers.get('content-type')))",
            sources,
        )
        assert pictures.count() == items.count() > 0
    assert all(origin(src) == origin(mock_api) for src in sources), sources
    assert all("/api/images/" in src for src in sources), sources
    assert set(kinds) <= {"image/png", "image/svg+xml"} and "image/png" in kinds, kinds
    assert recorder.foreign == []
    assert recorder.problems == []
