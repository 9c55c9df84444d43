"""What a person sees in Chromium while CoinGecko sends prices 20% too high: the Market tab
shows the consensus price with the left-out listing named, never CoinGecko's price, and the
Providers tab shows CoinGecko as an outlier."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.procs import fault, server, simulator
from tests.web.conftest import OpenPage

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    env = {"RATE_LIMIT_PER_MIN": "0"}
    with simulator(seed=6) as sim:
        fault(sim, "coingecko", "outlier", factor=1.2)
        with server(data, {"UPSTREAM_BASE_URL": sim, **env}) as url:
            yield url


def dollars(value: float) -> str:
    """How the tab writes a price of at least $1 (two decimals, thousands separated)."""
    return f"${value:,.2f}"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_market_tab_serves_the_consensus_and_names_the_listing_left_out(
    open_page: OpenPage, api: str, width: int, height: int
) -> None:
    band = httpx.get(f"{api}/api/price/bitcoin", timeout=15).json()["confidence"]
    page = open_page(width, height)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/market") as answer:
        page.goto(f"{api}/#market")
    body: dict[str, Any] = answer.value.json()
    btc = next(c for c in body["cryptocurrencies"] if c["asset_id"] == "bitcoin")
    (left_out,) = btc["replaced"]
    assert left_out["provider"] == "coingecko"

    cell = page.locator('#market-table tr[data-asset="bitcoin"] td.price')
    cell.wait_for()
    shown = cell.inner_text()
    assert shown == dollars(btc["price"])
    assert band["low"] <= btc["price"] <= band["high"]
    assert shown != dollars(left_out["price"])
    assert "replaced" in (cell.get_attribute("class") or "")
    title = cell.get_attribute("title") or ""
    assert f"coingecko sent {dollars(left_out['price'])}" in title, title
    sources = page.locator('#market-table tr[data-asset="bitcoin"] td').nth(6)
    assert sources.inner_text() == "1" and sources.get_attribute("title") == "coinpaprika"
    fresh = page.locator("#market-fresh").inner_text()
    caption = page.locator("#market-caption").inner_text()
    assert caption == f"Top {len(body['cryptocurrencies'])} tracked assets by market cap"
    assert fresh.startswith("from coingecko, coinpaprika")


def test_the_providers_tab_shows_the_outlier(open_page: OpenPage, api: str) -> None:
    httpx.get(f"{api}/api/market", timeout=15)  # the listing is checked when it is loaded
    page = open_page(1280, 800)
    page.goto(f"{api}/#providers")
    row = page.locator('#providers-table tr[data-provider="coingecko"]')
    row.wait_for()
    badge = row.locator(".pill").first
    assert badge.inner_text() == "outlier"
    assert "disagree with the consensus" in (badge.get_attribute("title") or "")
    assert "outlier" in row.inner_text()
