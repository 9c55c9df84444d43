"""News sentiment per asset and the News tab's asset links, in a real headless Chromium against
a server collecting the simulator's news: the Sentiment tab's per-asset table shows the figures
/api/news/sentiment gave the page, clicking an asset (or typing its symbol) shows the items
behind them, a news item names its assets as chips (a click filters the tab, which then shows
the asset's sentiment and follows `news:<asset>`) and the other outlets that carried it, and
at phone widths the table keeps asset and means in the row without scrolling sideways.

The simulator's three RSS feeds draw their stories independently, so a story carried by two
outlets is rare there: the "also in" test adds copies to the answer the page receives.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Route, WebSocketRoute

from tests.e2e.procs import server, simulator
from tests.web.browser import Page
from tests.web.conftest import OpenPage

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1280, 900), "phone": (390, 844), "narrow": (360, 740)}
BROKEN = ("[object", "undefined", "NaN", "null")
OUTLETS = ("CoinDesk", "Cointelegraph", "Decrypt")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator(seed=3) as sim:
        env = {"UPSTREAM_BASE_URL": sim, "COLLECTORS": "true", "RATE_LIMIT_PER_MIN": "0"}
        with server(tmp_path_factory.mktemp("data"), env) as url:
            # the news collector's first run stores the feeds' items (the mock-mode fixture
            # runs no collector, so it has none)
            deadline = time.monotonic() + 30
            while not httpx.get(f"{url}/api/news/sentiment").json()["assets"]:
                assert time.monotonic() < deadline, "no news was collected"
                time.sleep(0.5)
            yield url


def signed(value: float | None) -> str:
    """A mean score as format.js's `signed` writes it: "+0.165", "-0.014", "0.000", "–".
    Intl.NumberFormat rounds the shortest decimal that names the number half away from zero
    (-0.3525 gives -0.353), where Python's format rounds the binary value (-0.352)."""
    if value is None:
        return "–"
    text = str(Decimal(repr(value)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))
    if float(text) == 0:
        return "0.000"
    return text if value < 0 else f"+{text}"


def labels(window: dict[str, Any] | None) -> str:
    counts = (window or {}).get("labels", {})
    return " / ".join(str(counts.get(k, 0)) for k in ("positive", "neutral", "negative"))


def path_is(path: str, query: dict[str, str] | None = None) -> Any:
    def match(response: Any) -> bool:
        parts = urlsplit(response.url)
        asked = {k: v[0] for k, v in parse_qs(parts.query).items()}
        return bool(parts.path == path and asked == (query or {}))

    return match


def cells(row: Any) -> list[str]:
    found = row.locator("td")
    return [found.nth(i).inner_text().strip() for i in range(found.count())]


@pytest.mark.parametrize("size", ["desktop", "narrow"])
def test_the_per_asset_table_shows_the_api_figures(
    open_page: OpenPage, api: str, size: str
) -> None:
    page = open_page(*SIZES[size])
    with page.expect_response(path_is("/api/news/sentiment")) as answer:
        page.goto(f"{api}/#sentiment")
    assets: list[dict[str, Any]] = answer.value.json()["assets"]
    rows = page.locator("#asset-sentiment tbody tr[data-asset]")
    rows.nth(len(assets) - 1).wait_for()
    assert rows.count() == len(assets) > 0
    for i, block in enumerate(assets):
        row = rows.nth(i)
        assert row.get_attribute("data-asset") == block["asset_id"]
        day, week = block.get("24h"), block["7d"]
        assert cells(row) == [
            f"{block['name']} {block['symbol']}",
            f"{day['items'] if day else 0} / {week['items']}",
            labels(day),
            labels(week),
            signed(day["mean_score"] if day else None),
            signed(week["mean_score"]),
        ]
        # coloured by sign
        shown = (row.locator("td.mean-7d .score").get_attribute("class") or "").split()
        score = round(week["mean_score"] or 0, 3)
        assert ("up" in shown, "down" in shown) == (score > 0, score < 0)
    text = page.locator("#asset-sentiment").inner_text()
    assert [word for word in BROKEN if word in text] == []

    width = SIZES[size][0]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if size == "narrow":
        # asset and both means on the row's first line, the rest on a second one below
        top = rows.first.evaluate(
            "(tr) => [...tr.cells].map((td) => Math.round(td.getBoundingClientRect().top))"
        )
        assert top[0] == top[4] == top[5] < min(top[1:4]), top


def test_clicking_an_asset_shows_the_items_behind_its_figures(
    open_page: OpenPage, api: str, problems: list[str]
) -> None:
    page = open_page(*SIZES["desktop"])
    with page.expect_response(path_is("/api/news/sentiment")) as answer:
        page.goto(f"{api}/#sentiment")
    assets = answer.value.json()["assets"]
    page.locator("#asset-news .hint").wait_for()
    pick = assets[min(1, len(assets) - 1)]
    row = page.locator(f'#asset-sentiment tr[data-asset="{pick["asset_id"]}"]')
    with page.expect_response(path_is("/api/news/sentiment", {"symbol": pick["asset_id"]})) as got:
        row.locator("td a").click()
    block = got.value.json()["assets"][0]
    assert urlsplit(page.url).fragment == f"sentiment/{pick['asset_id']}"
    items = page.locator("#asset-news-list li")
    items.nth(len(block["news"]) - 1).wait_for()
    assert items.count() == len(block["news"]) > 0
    assert "selected" in (row.get_attribute("class") or "")
    heading = page.locator("#asset-news h2").inner_text()
    assert heading.startswith(f"{pick['name']} {pick['symbol']}")
    for i, item in enumerate(block["news"]):
        li = items.nth(i)
        assert li.get_attribute("data-url") == item["url"]
        assert li.locator("a").first.inner_text() == item["title"]
        assert li.locator(".pill").inner_text() == (
            f"{item['sentiment_label']} {signed(item['sentiment_score'])}"
        )
        # what moved the score, on hover: the item's strongest three terms
        moved = ", ".join(f"“{t['text']}”" for t in item["sentiment_terms"][:3])
        hover = li.locator(".pill").get_attribute("title")
        assert hover == (f"moved by {moved}" if moved else None)
        assert pick["symbol"] in [c.inner_text() for c in li.locator("a.chip").all()]
    figures = page.locator("#asset-news .window")
    assert figures.nth(0).inner_text().startswith(f"24h {signed(block['24h']['mean_score'])} mean")
    assert f"{block['7d']['items']} items · {labels(block['7d'])}" in figures.nth(1).inner_text()

    # the symbol box: a ticker shows that asset's items, an unknown one says so
    with page.expect_response(path_is("/api/news/sentiment", {"symbol": "ETH"})) as eth:
        page.fill("#sentiment-symbol", "eth")
        page.press("#sentiment-symbol", "Enter")
    assert eth.value.status == 200
    page.wait_for_function(
        "() => document.querySelector('#asset-news h2')?.textContent.startsWith('Ethereum ETH')"
    )
    page.fill("#sentiment-symbol", "nosuch")
    page.press("#sentiment-symbol", "Enter")
    page.locator("#asset-news .refused").wait_for()
    assert page.locator("#asset-news .refused").inner_text() == "unknown asset: 'NOSUCH'"
    assert page.locator("#asset-sentiment tr.selected").count() == 0
    assert problems == [
        "console: Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]
    problems.clear()


def test_items_name_their_assets_and_the_other_outlets(page: Page, api: str) -> None:
    tickers = {
        a["id"]: a["symbol"] for a in httpx.get(f"{api}/api/assets?limit=250").json()["assets"]
    }

    copied: list[int] = []

    def with_copies(route: Route) -> None:
        # a second and third outlet for the first item no other outlet carried yet (the
        # simulator's feeds may share a story), as the deduplication records them
        body = route.fetch().json()
        at = next(i for i, item in enumerate(body["news"]) if len(item["sources"]) == 1)
        copied.append(at)
        first = body["news"][at]
        others = [o for o in OUTLETS if o != first["source"]][:2]
        first["sources"] += [
            {
                "source": name,
                "provider": name.lower(),
                "url": f"https://{name.lower()}.example/copy",
                "published_at": first["published_at"],
                "matched_by": "title",
            }
            for name in others
        ]
        route.fulfill(json=body)

    page.route(re.compile(r"/api/news\?limit=50$"), with_copies)
    with page.expect_response(path_is("/api/news", {"limit": "50"})) as answer:
        page.goto(f"{api}/#news")
    news = answer.value.json()["news"]
    items = page.locator("#news-list li[data-url]")
    items.nth(len(news) - 1).wait_for()
    at = copied[-1]
    others = [o for o in OUTLETS if o != news[at]["source"]][:2]
    assert items.nth(at).locator(".also").inner_text() == f"also in: {', '.join(others)}"
    for i, item in enumerate(news):
        carried = {s["source"] for s in item["sources"] if s["matched_by"] != "first"}
        assert items.nth(i).locator(".also").count() == (1 if carried else 0)
    for i, item in enumerate(news):
        chips = items.nth(i).locator("a.chip")
        assert [c.inner_text() for c in chips.all()] == [tickers[a] for a in item["assets"]]
    text = page.locator("#news-list").inner_text()
    assert [word for word in BROKEN if word in text] == []


def test_a_chip_filters_the_news_by_its_asset_and_follows_it_live(page: Page, api: str) -> None:
    sent: list[Any] = []
    sockets: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        # the page's messages are recorded and passed on; the server's pass untouched
        sockets.append(ws)
        upstream = ws.connect_to_server()

        def forward(message: str | bytes) -> None:
            sent.append(json.loads(message))
            upstream.send(message)

        ws.on_message(forward)

    page.route_web_socket(re.compile(r"/ws$"), through)
    page.goto(f"{api}/#news")
    page.wait_for_selector("#live[data-state=live]")
    chip = page.locator("#news-list li[data-url] a.chip").first
    chip.wait_for()
    asset = chip.get_attribute("data-asset") or ""
    symbol = chip.inner_text()
    with (
        page.expect_response(path_is("/api/news", {"limit": "50", "symbol": asset})) as listed,
        page.expect_response(path_is("/api/news/sentiment", {"symbol": asset})) as summary,
    ):
        chip.click()
    news = listed.value.json()["news"]
    block = summary.value.json()["assets"][0]
    assert urlsplit(page.url).fragment == f"news/{asset}"
    page.wait_for_function(
        "(want) => document.querySelector('#news-fresh').textContent.startsWith(want)",
        arg=f"{len(news)} headlines about {symbol}",
    )
    urls = [li.get_attribute("data-url") for li in page.locator("#news-list li[data-url]").all()]
    assert urls == [n["url"] for n in news] and all(asset in n["assets"] for n in news)
    line = page.locator("#news-asset")
    assert line.is_visible()
    assert line.locator(".who").inner_text() == f"{block['name']} {block['symbol']} news sentiment"
    windows = line.locator(".window")
    for i, key in enumerate(("24h", "7d")):
        w = block.get(key) or {"items": 0, "mean_score": None, "labels": {}}
        assert windows.nth(i).inner_text() == (
            f"{key} {signed(w['mean_score'])} mean · {w['items']} items · {labels(w)}"
        )
    assert page.locator("#news-symbol").input_value() == symbol

    # live: the asset's own topic, not `news`
    topic = f"news:{asset}"
    deadline = time.monotonic() + 10
    while not any(topic in m.get("subscribe", []) for m in sent) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert any(topic in m.get("subscribe", []) for m in sent), sent
    assert any("news" in m.get("unsubscribe", []) for m in sent), sent
    fresh = {
        "title": "A pushed headline",
        "url": "https://decrypt.co/1/a-pushed-headline",
        "source": "Decrypt",
        "provider": "decrypt",
        "published_at": "2026-01-01T00:00:00Z",
        "summary": None,
        "currencies": [],
        "assets": [asset],
        "sentiment_label": "negative",  # the collector scores what it pushes
        "sentiment_score": -0.4125,
    }
    other = {**fresh, "url": "https://decrypt.co/2/not-for-this-filter", "assets": []}
    ws = sockets[-1]
    for pushed_topic, item in (("news", other), (topic, fresh)):
        frame = {"type": "update", "topic": pushed_topic, "data": {"items": [item]}}
        ws.send(json.dumps({**frame, "published_at": "2026-01-01T00:00:00Z"}))
    top = page.locator("#news-list li[data-url]").first
    page.wait_for_function(
        "(url) => document.querySelector('#news-list li[data-url]').dataset.url === url",
        arg=fresh["url"],
    )
    assert [c.inner_text() for c in top.locator("a.chip").all()] == [symbol]
    assert top.locator(".pill").inner_text() == "negative -0.413"
    assert page.locator(f'#news-list li[data-url="{other["url"]}"]').count() == 0

    # all news again: `news` is followed once more
    page.click("#news-all")
    line.wait_for(state="hidden")
    assert urlsplit(page.url).fragment == "news"
    deadline = time.monotonic() + 10
    while not any(topic in m.get("unsubscribe", []) for m in sent) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert any(topic in m.get("unsubscribe", []) for m in sent), sent
