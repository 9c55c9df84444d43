"""The dashboard in a real headless Chromium against a real server and the simulator.

Chromium comes from the OS (`apt-get install -y chromium`, done by `.ci/run`) and is driven
through Playwright's Python package; without it these tests skip locally and fail with CI=true.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.procs import fault, server, simulator
from tests.web.browser import Page, WebSocket

pytestmark = pytest.mark.e2e

ADMIN = "dashboard-test-token"


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with simulator(seed=3) as url:
        yield url


@pytest.fixture(scope="module")
def api(sim: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        "UPSTREAM_BASE_URL": sim,
        "COLLECTORS": "true",
        # a new consensus (so a pushed update) every 5 s
        "COLLECT_PRICES_S": "5",
        "PRICE_TTL_S": "4",
        "ADMIN_TOKEN": ADMIN,
        # one browser on loopback loads every module and tab many times over
        "RATE_LIMIT_PER_MIN": "0",
    }
    with server(tmp_path_factory.mktemp("data"), env) as url:
        yield url


def coin_price(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def test_page_and_files_carry_the_page_policy_and_revalidate(api: str) -> None:
    page = httpx.get(f"{api}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-cache"
    # nothing inline: every script is a file of ours
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts and all('src="/static/' in attrs for attrs in scripts)
    assert httpx.head(f"{api}/").status_code == 200

    module = httpx.get(f"{api}/static/js/main.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    assert module.headers["cache-control"] == "no-cache"
    again = httpx.get(f"{api}/static/js/main.js", headers={"if-none-match": module.headers["etag"]})
    assert again.status_code == 304
    assert httpx.get(f"{api}/static/vendor/lightweight-charts.js").status_code == 200
    assert httpx.get(f"{api}/static/../config.py").status_code == 404


def test_market_lists_the_coins_with_prices_from_the_api(page: Page, api: str) -> None:
    page.goto(f"{api}/")
    rows = page.locator("#market-table tbody tr[data-asset]")
    rows.first.wait_for()
    market = httpx.get(f"{api}/api/market", params={"limit": 100}).json()["cryptocurrencies"]
    assert rows.count() == len(market)
    assert rows.nth(0).get_attribute("data-asset") == market[0]["asset_id"] == "bitcoin"
    shown = coin_price(rows.nth(0).locator("td.price").inner_text())
    assert shown == pytest.approx(market[0]["price"], rel=0.02)
    assert page.locator("#health").inner_text() in ("health: healthy", "health: degraded")

    page.fill("#market-filter", "ether")
    visible = page.locator("#market-table tbody tr[data-asset]:visible")
    names = {visible.nth(i).get_attribute("data-asset") for i in range(visible.count())}
    assert "ethereum" in names and "bitcoin" not in names


def test_prices_arrive_live_over_the_websocket(page: Page, api: str) -> None:
    frames: list[dict[str, Any]] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", on_socket)
    page.goto(f"{api}/#market")
    page.wait_for_selector("#live[data-state=live]")
    page.locator('#market-table tr[data-asset="bitcoin"]').wait_for()

    def updates() -> list[dict[str, Any]]:
        return [
            f["data"]
            for f in frames
            if f.get("type") == "update" and f["topic"] == "prices:bitcoin"
        ]

    # the price collector runs every 5 s and publishes prices:bitcoin
    deadline = time.monotonic() + 30
    while not updates() and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert updates(), frames
    # the cell shows the newest pushed consensus price (it may have moved on since)
    page.wait_for_function(
        "(want) => document.querySelector('tr[data-asset=bitcoin] td.price').textContent === want",
        arg=f"${updates()[-1]['price']:,.2f}",
    )


def test_without_a_websocket_the_page_polls(page: Page, api: str) -> None:
    page.route_web_socket(re.compile(r"/ws$"), lambda ws: ws.close())
    asked: list[float] = []
    page.on(
        "request",
        lambda request: asked.append(time.monotonic()) if "/api/market?" in request.url else None,
    )
    page.goto(f"{api}/?poll=2#market")
    page.wait_for_selector("#live[data-state=polling]")
    assert page.locator("#live").inner_text() == "polling every 2 s"
    deadline = time.monotonic() + 15
    while len(asked) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert len(asked) >= 3, asked
    assert page.locator("#market-table tbody tr[data-asset]").count() > 50


def test_chart_switches_range_and_interval(page: Page, api: str) -> None:
    page.goto(f"{api}/#charts/bitcoin")
    info = page.locator("#chart-info[data-count]")
    info.wait_for()
    assert info.get_attribute("data-interval") == "1h"
    assert int(info.get_attribute("data-count") or 0) > 100  # a week of hours, filled on demand
    assert page.locator("#chart canvas").count() > 0
    assert coin_price(page.locator("#consensus-price").inner_text()) > 0

    with page.expect_response(lambda r: "interval=1d" in r.url) as answer:
        page.click("#chart-intervals button[data-interval='1d']")
    body = answer.value.json()
    page.wait_for_selector("#chart-info[data-interval='1d']")
    assert info.get_attribute("data-count") == str(body["count"])

    page.click("#chart-ranges button[data-range='1Y']")
    page.wait_for_selector("#chart-ranges button[data-range='1Y'][aria-pressed=true]")
    # a year of minutes or hours is more than one request may ask for
    assert page.locator("#chart-intervals button[data-interval='1m']").is_disabled()
    assert page.locator("#chart-intervals button[data-interval='1h']").is_disabled()
    assert page.locator("#chart-intervals button[data-interval='1d']").is_enabled()


def open_tab(page: Page, tab: str, path: str) -> Any:
    """Click a tab; return the JSON the page received from `path` for it."""
    with page.expect_response(lambda r: urlsplit(r.url).path == path) as answer:
        page.click(f"#tab-{tab}")
    return answer.value.json()


def test_every_other_tab_shows_the_api_data(page: Page, api: str) -> None:
    page.goto(f"{api}/")
    page.locator("#market-table tbody tr").first.wait_for()

    trending = open_tab(page, "trending", "/api/trending")["trending"]
    items = page.locator("#trending-list li")
    items.nth(len(trending) - 1).wait_for()
    assert items.count() == len(trending) > 0
    assert items.first.get_attribute("data-asset") == trending[0]["asset_id"]

    defi = open_tab(page, "defi", "/api/defi")
    rows = page.locator("#defi-protocols tbody tr")
    rows.first.wait_for()
    assert rows.count() == min(25, len(defi["protocols"]))
    assert rows.first.locator("td").first.inner_text() == defi["protocols"][0]["name"]

    fng = open_tab(page, "sentiment", "/api/sentiment")["fear_greed"]
    page.wait_for_selector("#fng-value")
    assert page.locator("#fng-value").inner_text() == str(fng["value"])
    assert page.locator("#fng-class").inner_text() == fng["classification"]

    news = open_tab(page, "news", "/api/news")["news"]
    items = page.locator("#news-list li")
    items.first.wait_for()
    assert items.first.get_attribute("data-url") == news[0]["url"]
    assert items.count() == len(news)

    providers = open_tab(page, "providers", "/api/providers")["providers"]
    rows = page.locator("#providers-table tbody tr[data-provider]")
    rows.first.wait_for()
    assert [rows.nth(i).get_attribute("data-provider") for i in range(rows.count())] == [
        p["name"] for p in providers
    ]
    assert rows.first.get_attribute("data-state") == providers[0]["state"]

    pools = open_tab(page, "pools", "/api/pools")["pools"]
    rows = page.locator("#pools-table tbody tr[data-pool]")
    rows.first.wait_for()
    assert rows.count() == len(pools)

    errors = open_tab(page, "logs", "/api/logs/errors")
    page.locator("#last-errors-table tbody tr").first.wait_for()
    assert page.locator("#last-errors-table tbody tr").count() == max(1, len(errors["last_errors"]))
    assert page.url.endswith("#logs")


def test_scoring_headlines_shows_each_label(page: Page, api: str) -> None:
    texts = [
        "Great gains as a happy Bitcoin rally delights investors",
        "Exchange hacked, funds stolen",
    ]
    expected = httpx.post(f"{api}/api/hf/run-sentiment", json={"texts": texts}).json()["results"]
    page.goto(f"{api}/#sentiment")
    page.fill("#score-texts", "\n".join(texts))
    page.click("#score-form button[type=submit]")
    rows = page.locator("#score-results tbody tr")
    rows.nth(1).wait_for()
    for i, result in enumerate(expected):
        assert rows.nth(i).locator("td").nth(1).inner_text() == result["label"]
    assert [r["label"] for r in expected] == ["positive", "negative"]


def test_rotate_needs_the_admin_token(page: Page, api: str, problems: list[str]) -> None:
    page.goto(f"{api}/#pools")
    row = page.locator('#pools-table tr[data-pool="markets"]')
    row.wait_for()
    row.locator("button").click()
    error = page.locator("#panel-pools .error")
    error.wait_for()
    assert "token" in error.inner_text().lower()
    # the browser logs the refused request itself
    assert problems == [
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    problems.clear()

    page.fill("#admin-token", ADMIN)
    row = page.locator('#pools-table tr[data-pool="markets"]')
    row.locator("button").click()
    page.locator("#rotations-table td", has_text="manual rotation").first.wait_for()
    assert error.is_hidden()
    assert page.locator("#rotations-title").inner_text() == "Rotations of markets"


# last: it leaves Binance disabled for the rest of the module's server
def test_provider_state_changes_arrive_without_a_reload(page: Page, api: str, sim: str) -> None:
    page.goto(f"{api}/#providers")
    page.wait_for_selector("#live[data-state=live]")
    binance = page.locator('#providers-table tr[data-provider="binance"]')
    binance.wait_for()
    assert binance.get_attribute("data-state") == "ok"
    # the price collector's next call gets 451: Binance is disabled as geo-blocked, the
    # providers feed pushes the change, and the row follows (the page's own refresh is 60 s
    # away while live)
    fault(sim, "binance", "geoblock")
    page.wait_for_selector(
        '#providers-table tr[data-provider="binance"][data-state="disabled"]', timeout=20_000
    )
    assert "geo" in binance.locator("td").nth(1).inner_text()
