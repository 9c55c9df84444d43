"""A browser context that records where its pages go: every request to the server's origin
passes, any other is aborted and kept (the machine may have no network), and console and page
errors are kept too (a Content-Security-Policy refusal is one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route

from tests.web.browser import Browser


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Recorder:
    """The page's requests by origin, and its console and page errors."""

    def __init__(self, server: str) -> None:
        self.origin = origin(server)
        self.ours: list[str] = []
        self.foreign: list[str] = []
        self.problems: list[str] = []

    def route(self, route: Route) -> None:
        url = route.request.url
        if origin(url) == self.origin:
            self.ours.append(urlsplit(url).path)
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


@contextmanager
def recorded_page(browser: Browser, server: str) -> Iterator[tuple[Page, Recorder]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    recorder = Recorder(server)
    # data: URLs are not requests; everything else (documents, scripts, styles, images,
    # fonts, fetches, workers) passes through here
    context.route("**/*", recorder.route)
    page = context.new_page()
    page.on("pageerror", lambda error: recorder.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            recorder.problems.append(f"console: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    try:
        yield page, recorder
    finally:
        context.close()
