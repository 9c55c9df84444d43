"""Headless Chromium for browser tests: the OS package driven by Playwright's Python client.

Playwright's own browser download is never used (`executable_path` points at the OS build).
Without Chromium or Playwright the tests skip with the reason; with CI=true they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, sync_playwright

__all__ = ["Browser", "BrowserContext", "Page", "WebSocket", "chromium"]

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def _executable() -> str | None:
    configured = os.environ.get("CHROMIUM")
    for path in (configured, *CANDIDATES, shutil.which("chromium")):
        if path and os.access(path, os.X_OK):
            return path
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    path = _executable()
    if path is None:
        reason = "no Chromium (apt-get install -y chromium, or set CHROMIUM=/path)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path)
        try:
            yield browser
        finally:
            browser.close()
