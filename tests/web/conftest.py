"""Fixtures of the browser tests: one headless Chromium per module, and pages whose console
errors and page errors fail the test that opened them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.procs import server
from tests.web.browser import Browser, BrowserContext, Page, chromium

#: a 1x1 transparent PNG answered for coin logos (the machine has no internet)
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b60000000049454e44ae426082"
)

#: `open_page(width, height)`: a page of that viewport, closed at the test's end
OpenPage = Callable[[int, int], Page]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # not per session: Playwright's sync API keeps an event loop running on this thread
    # until it stops, and tests after these ones call asyncio.run
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def mock_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server in mock mode (its own simulator in-process), no rate limit."""
    env = {"USE_MOCK_DATA": "true", "RATE_LIMIT_PER_MIN": "0"}
    with server(tmp_path_factory.mktemp("data"), env) as url:
        yield url


@pytest.fixture
def problems() -> list[str]:
    """Console errors and page errors of the test's pages; none may be left at the end."""
    return []


@pytest.fixture
def open_page(browser: Browser, problems: list[str]) -> Iterator[OpenPage]:
    contexts: list[BrowserContext] = []

    def open_(width: int, height: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        page.route(
            re.compile(r"^https://"),
            lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL),
        )
        return page

    yield open_
    for context in contexts:
        context.close()
    # CSP violations, failed loads and script errors all surface as console errors
    assert problems == []


@pytest.fixture
def page(open_page: OpenPage) -> Page:
    return open_page(1280, 900)
