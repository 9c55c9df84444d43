"""The Charts tab's consensus panel in a real headless Chromium: a quote stamped with its
receive time says so, and a stablecoin rate is shown as measured (by whom) or as assumed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.procs import SPOT_PROVIDERS, fault, generous_limits, server, simulator
from tests.web.browser import Page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with simulator(seed=3) as url:
        yield url


@pytest.fixture(scope="module")
def api(sim: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # no price cache and no budget running out: each page load asks the providers as they
    # are now (a failed load would serve the last good consensus instead)
    data = tmp_path_factory.mktemp("data")
    env = {
        "UPSTREAM_BASE_URL": sim,
        "PRICE_TTL_S": "0",
        "RATE_LIMIT_PER_MIN": "0",
        "PROVIDERS_FILE": str(generous_limits(data)),
    }
    with server(data, env) as url:
        yield url


def notes(page: Page) -> dict[str, str]:
    """provider -> the notes cell of its quote row."""
    rows = page.locator("#consensus tbody tr")
    return {
        rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").nth(2).inner_text()
        for i in range(rows.count())
    }


def test_receive_times_and_a_measured_rate_are_labelled(page: Page, api: str) -> None:
    page.goto(f"{api}/#charts/bitcoin")
    usdt = page.locator("#consensus p[data-conversion=USDT]")
    usdt.wait_for()
    assert usdt.get_attribute("data-assumed") == "false"
    assert "measured" in usdt.inner_text()
    seen = notes(page)
    assert seen["kraken"] == "time: received"
    assert seen["binance"] == "from USDT"
    assert seen["coingecko"] == ""


def test_an_assumed_rate_is_labelled(page: Page, api: str, sim: str) -> None:
    try:
        for name in SPOT_PROVIDERS:
            if name != "binance":
                fault(sim, name, "error", status=503)
        page.goto(f"{api}/#charts/bitcoin")
        usdt = page.locator("#consensus p[data-conversion=USDT][data-assumed=true]")
        usdt.wait_for()
        assert "assumed" in usdt.inner_text()
        assert notes(page) == {"binance": "from USDT (rate assumed)"}
        assert "spread 100.00 bps" in page.locator("#consensus").inner_text()
    finally:
        httpx.delete(f"{sim}/_sim/faults")
