"""The dashboard as a person sees it, in a real headless Chromium at a desktop, a phone (390 px)
and a narrow phone (360 px) width: every tab reads cleanly (no console or page error, no request
to another host, no "[object", "undefined" or "NaN", numbers written one way, nothing scrolls
sideways, placeholders not cut), the Pools tab names its members and rotates, the chart is drawn
with formatted axes, and an unknown News symbol is called unknown.

Each tab's screenshot at each size goes to `test-output/screenshots/<tab>-<size>.png` (git-ignored),
written before the checks, so a failing tab leaves its picture behind; so do one asset's news
sentiment and its news (`sentiment-asset-<size>.png`, `news-asset-<size>.png`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.procs import fault, server, simulator
from tests.web.browser import Page
from tests.web.conftest import OpenPage

pytestmark = pytest.mark.e2e

ADMIN = "person-test-token"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
SIZES = {"desktop": (1280, 900), "phone": (390, 844), "narrow": (360, 740)}
#: what shows that a tab has its data: every selector must match
READY = {
    "market": ["#market-table tbody tr[data-asset]", "#market-caption:not(:empty)"],
    "charts": ["#chart-info[data-count]", "#consensus-price"],
    "trending": ["#trending-list li"],
    "defi": ["#defi-protocols tbody tr", "#defi-chains tbody tr"],
    "sentiment": ["#fng-value", "#news-sentiment p", "#asset-sentiment tbody tr", "#asset-news p"],
    "news": ["#news-list li"],
    # one asset's news sentiment and its news: `<asset>` is the asset with most news
    "sentiment/<asset>": ["#asset-sentiment tr.selected", "#asset-news-list li"],
    "news/<asset>": ["#news-asset .window", "#news-list li[data-url]"],
    "providers": ["#providers-table tr[data-provider]", "#incidents-table tbody tr"],
    "pools": ["#pools-table tr[data-pool]", "#rotations-table tbody tr"],
    "logs": ["#errors-table tbody tr", "#last-errors-table tbody tr", "#alerts-table tbody tr"],
}
#: text that means a value was missing or of the wrong type when it was rendered
BROKEN = ("[object", "undefined", "NaN", "Infinity")


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with simulator(seed=3) as url:
        # one provider failing throughout: the Logs and Providers tabs have errors to show
        fault(url, "coinbase", "error", status=503)
        yield url


@pytest.fixture(scope="module")
def api(sim: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        "UPSTREAM_BASE_URL": sim,
        "COLLECTORS": "true",
        "ADMIN_TOKEN": ADMIN,
        # one browser on loopback loads every tab many times over
        "RATE_LIMIT_PER_MIN": "0",
    }
    with server(tmp_path_factory.mktemp("data"), env) as url:
        yield url


@dataclass
class Visit:
    """A page and every request it made."""

    page: Page
    base: str
    requests: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        """Requests to any host but the server (http and ws alike; data: URLs are no request)."""
        home = urlsplit(self.base).netloc
        return [
            u for u in self.requests if urlsplit(u).scheme != "data" and urlsplit(u).netloc != home
        ]


@pytest.fixture(scope="module")
def top_asset(api: str) -> str:
    """The asset with most news, once the news collector has stored some."""
    deadline = time.monotonic() + 30
    while not (assets := httpx.get(f"{api}/api/news/sentiment", timeout=15).json()["assets"]):
        assert time.monotonic() < deadline, "no news was collected"
        time.sleep(0.5)
    asset: str = assets[0]["asset_id"]
    return asset


@pytest.fixture
def visit(open_page: OpenPage, api: str, top_asset: str) -> Callable[[str, str], Visit]:
    def open_(tab_hash: str, size: str) -> Visit:
        width, height = SIZES[size]
        page = open_page(width, height)
        seen = Visit(page, api)
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on("websocket", lambda ws: seen.requests.append(ws.url))
        page.goto(f"{api}/#{tab_hash.replace('<asset>', top_asset)}")
        return seen

    return open_


#: pixels of the candles' colours (#16a34a up, #dc2626 down) on the chart's canvases
CANDLE_PIXELS = """() => {
  let up = 0;
  let down = 0;
  for (const canvas of document.querySelectorAll('#chart canvas')) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      if (a < 200) continue;
      if (Math.abs(r - 22) < 12 && Math.abs(g - 163) < 12 && Math.abs(b - 74) < 12) up += 1;
      if (Math.abs(r - 220) < 12 && Math.abs(g - 38) < 12 && Math.abs(b - 38) < 12) down += 1;
    }
  }
  return { up, down };
}"""


def wait_for_candles(page: Page) -> None:
    """Until both candle colours are drawn on the chart's canvases."""
    drawn = f"() => {{ const c = ({CANDLE_PIXELS})(); return c.up > 200 && c.down > 200; }}"
    page.wait_for_function(drawn, polling=250)


def wait_ready(page: Page, tab: str) -> None:
    for selector in READY[tab]:
        page.locator(selector).first.wait_for(state="attached", timeout=20_000)
    if tab == "charts":
        wait_for_candles(page)
    page.wait_for_load_state("networkidle")
    # lazy thumbnails and the chart's next frame
    page.wait_for_function("() => [...document.images].every((img) => img.complete)")
    page.wait_for_timeout(300)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def unreadable_numbers(text: str) -> list[str]:
    """Numbers a person should not meet: exponent notation, a dollar amount of four or more
    digits without separators, compact money without exactly two decimals ("$4B", "$7.5B")."""
    found = re.findall(r"\d(?:\.\d+)?e[-+]?\d+\b", text)
    found += re.findall(r"\$\d{4,}", text)
    found += [
        m
        for m in re.findall(r"\$[\d.,]+[KMBT]\b", text)
        if not re.fullmatch(r"\$\d{1,3}\.\d{2}[KMBT]", m)
    ]
    return found


CUT_PLACEHOLDERS = """() => [...document.querySelectorAll('[placeholder]')]
  .filter((input) => input.offsetParent !== null)
  .filter((input) => {
    const style = getComputedStyle(input);
    const context = document.createElement('canvas').getContext('2d');
    context.font = style.font;
    const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return context.measureText(input.placeholder).width > room;
  })
  .map((input) => input.id + ': ' + input.placeholder)"""

#: on how many lines the News tab's header shows the sentiment model's name (null: none)
MODEL_NAME_LINES = """() => {
  const box = document.querySelector('#news-fresh');
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  const marker = 'sentiment by ';
  let start = nodes.map((n) => n.data).join('').indexOf(marker);
  if (start < 0) return null;
  start += marker.length;
  const range = document.createRange();
  for (const n of nodes) {
    if (start <= n.data.length) { range.setStart(n, start); break; }
    start -= n.data.length;
  }
  const last = nodes[nodes.length - 1];
  range.setEnd(last, last.data.length);
  const rects = [...range.getClientRects()].filter((r) => r.width > 0);
  return new Set(rects.map((r) => Math.round(r.top))).size;
}"""


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("tab", list(READY))
def test_every_tab_reads_cleanly(
    visit: Callable[[str, str], Visit], problems: list[str], tab: str, size: str
) -> None:
    seen = visit(tab, size)
    page = seen.page
    wait_ready(page, tab)
    screenshot(page, f"{tab.replace('/<asset>', '-asset')}-{size}")

    assert problems == []
    text: str = page.evaluate("document.body.innerText")
    assert [word for word in BROKEN if word in text] == [], text
    assert unreadable_numbers(text) == []
    width = SIZES[size][0]
    scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1] == width, f"the page scrolls sideways: {scroll}"
    assert page.evaluate(CUT_PLACEHOLDERS) == []
    if tab.startswith("news"):  # the model's name is not broken at its hyphens
        assert page.evaluate(MODEL_NAME_LINES) == 1

    # every request goes to the server: trending thumbnails too (the server serves them)
    assert seen.foreign() == []


def test_a_thumbnail_that_does_not_load_leaves_the_coins_initial(
    open_page: OpenPage, api: str, problems: list[str]
) -> None:
    page = open_page(390, 844)
    page.route(
        "**/*",
        lambda route: route.abort() if route.request.resource_type == "image" else route.fallback(),
    )
    trending = httpx.get(f"{api}/api/trending", timeout=15).json()["trending"]
    page.goto(f"{api}/#trending")
    cards = page.locator("#trending-list li[data-asset]")
    cards.nth(len(trending) - 1).wait_for()
    page.wait_for_function("() => !document.querySelector('#trending-list img')")
    initials = page.locator("#trending-list .coin-icon")
    assert initials.count() == len(trending) > 0
    assert [initials.nth(i).inner_text() for i in range(initials.count())] == [
        c["symbol"][0] for c in trending
    ]
    # the browser reports each refused image itself
    assert problems and all("net::ERR_FAILED" in p for p in problems), problems
    problems.clear()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_pools_name_their_members_and_rotate(
    open_page: OpenPage, api: str, problems: list[str], size: str
) -> None:
    page = open_page(*SIZES[size])
    with (
        page.expect_response(lambda r: urlsplit(r.url).path == "/api/pools") as answer,
        page.expect_response(lambda r: urlsplit(r.url).path.endswith("/rotations")) as history,
    ):
        page.goto(f"{api}/#pools")
    pools: list[dict[str, Any]] = answer.value.json()["pools"]
    rows = page.locator("#pools-table tr[data-pool]")
    rows.first.wait_for()
    assert rows.count() == len(pools) > 0
    for pool in pools:
        members = page.locator(f'#pools-table tr[data-pool="{pool["id"]}"] td.members')
        assert members.inner_text() == ", ".join(pool["members"])
        bold = members.locator("strong")
        current = [pool["current"]] if pool["current"] else []
        assert [bold.nth(i).inner_text() for i in range(bold.count())] == current

    # before any click, the rotations of a pool are shown (the first that has rotated),
    # newest first
    shown = next((p for p in pools if p["rotations"]), pools[0])["id"]
    assert urlsplit(history.value.url).path == f"/api/pools/{shown}/rotations"
    rotations: list[dict[str, Any]] = history.value.json()["rotations"]
    title = page.locator("#rotations-title")
    page.wait_for_function(
        "(want) => document.querySelector('#rotations-title').textContent === want",
        arg=f"Rotations of {shown}",
    )
    assert page.locator("#rotations-table tbody tr").count() == max(1, len(rotations))
    if rotations:
        cells = page.locator("#rotations-table tbody tr").first.locator("td")
        assert [cells.nth(i).inner_text() for i in (3, 4)] == [
            rotations[0]["to"] or "–",
            rotations[0]["reason"],
        ]

    # Rotate with the admin token, twice: the pool moves on and its history says so, newest
    # first
    before = next(p for p in pools if p["id"] == "markets")["rotations"]
    page.fill("#admin-token", ADMIN)
    row = page.locator('#pools-table tr[data-pool="markets"]')
    for turn in (1, 2):
        with page.expect_response(lambda r: r.url.endswith("/api/pools/markets/rotate")) as done:
            row.locator("button").click()
        rotation = done.value.json()["rotation"]
        assert rotation["reason"] == "manual rotation"
        page.wait_for_function(
            "(n) => document.querySelector('#pools-table tr[data-pool=markets] td.num')"
            ".textContent === String(n)",
            arg=before + turn,
        )
    page.wait_for_function(
        "() => document.querySelector('#rotations-title').textContent === 'Rotations of markets'"
    )
    page.wait_for_function(
        "(n) => document.querySelectorAll('#rotations-table tbody tr').length === n",
        arg=before + 2,
    )
    newest = page.locator("#rotations-table tbody tr").first.locator("td")
    shown = [newest.nth(i).inner_text() for i in range(2, 5)]
    assert shown == [rotation["from"] or "–", rotation["to"], "manual rotation"]
    assert row.locator("td.members strong").inner_text() == rotation["to"]
    assert page.locator("#panel-pools .error").is_hidden()
    assert title.is_visible()
    assert problems == []


SAMPLE_LABELS = """async () => {
  const { chart } = await import('/static/js/tabs/charts.js');
  const c = chart();
  const [prices, volume] = c.panes().map((pane) => pane.getSeries()[0]);
  const format = prices.priceFormatter();
  const range = c.priceScale('right').getVisibleRange();
  const context = document.createElement('canvas').getContext('2d');
  context.font = `${c.options().layout.fontSize}px ${c.options().layout.fontFamily}`;
  const edges = [range.from, range.to].map((p) => format.format(p));
  const third = (range.to - range.from) / 3;
  const step = 10 ** Math.floor(Math.log10(third));
  const low = Math.ceil((range.from + third) / step) * step;
  return {
    panes: c.panes().length,
    edges,
    ticks: format.formatTickmarks([range.from + third, range.to - third]),
    sample: format.format(97000),
    // two whole steps inside the visible range, away from its edges
    step,
    round: format.formatTickmarks([low, low + step]),
    roundValues: [low, low + step],
    scaleWidth: c.priceScale('right').width(),
    widest: Math.max(...edges.map((text) => context.measureText(text).width)),
    volumeLabel: volume.options().lastValueVisible,
  };
}"""


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_chart_is_drawn_and_its_price_axis_reads_as_prices(
    open_page: OpenPage, api: str, size: str
) -> None:
    page = open_page(*SIZES[size])
    page.goto(f"{api}/#charts/bitcoin")
    page.locator("#chart-info[data-count]").wait_for()
    # drawn: both candle colours on the canvases (wait_for_candles times out otherwise)
    wait_for_candles(page)
    labels = page.evaluate(SAMPLE_LABELS)
    # the axis, the crosshair and the last price use the dashboard's formatter
    assert labels["sample"] == "$97,000.00"
    assert labels["step"] >= 1, labels
    assert labels["round"] == [f"${value:,.0f}" for value in labels["roundValues"]]
    dollars = re.compile(r"\$\d{1,3}(,\d{3})*(\.\d+)?")
    assert all(dollars.fullmatch(text) for text in labels["edges"] + labels["ticks"]), labels
    # room for the widest label on the price axis
    assert labels["scaleWidth"] >= labels["widest"], labels
    # volume has its own pane, and no label of it sits on the price axis
    assert labels["panes"] == 2 and labels["volumeLabel"] is False


def test_a_tiny_price_is_written_out_on_the_axis(page: Page, api: str) -> None:
    market = httpx.get(f"{api}/api/market", params={"limit": 100}, timeout=15).json()
    tiny = min(market["cryptocurrencies"], key=lambda c: c["price"])
    assert tiny["price"] < 0.001, tiny
    page.goto(f"{api}/#charts/{tiny['asset_id']}")
    page.locator("#chart-info[data-count]").wait_for()
    wait_for_candles(page)
    labels = page.evaluate(SAMPLE_LABELS)
    small = re.compile(r"\$0\.0+[1-9]\d*")
    assert all(small.fullmatch(text) for text in labels["edges"] + labels["ticks"]), labels
    assert labels["scaleWidth"] >= labels["widest"], labels


def test_news_for_an_unknown_symbol_says_the_asset_is_unknown(
    page: Page, api: str, problems: list[str]
) -> None:
    answer = httpx.get(f"{api}/api/news", params={"symbol": "NOSUCH"})
    unknown = httpx.get(f"{api}/api/resolve", params={"q": "NOSUCH"})
    assert answer.status_code == unknown.status_code == 404
    page.goto(f"{api}/#news")
    page.locator("#news-list li").first.wait_for()
    page.fill("#news-symbol", "nosuch")
    page.press("#news-symbol", "Enter")
    error = page.locator("#panel-news .error")
    error.wait_for()
    assert error.inner_text() == unknown.json()["error"]["message"] == "unknown asset: 'NOSUCH'"
    assert page.locator("#news-list").inner_text() == "no news about NOSUCH"
    # the browser reports the 404 itself
    assert problems == [
        "console: Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]
    problems.clear()

    # a known asset: no error, its headlines (the items linked to it) or a note that none is
    # stored yet
    page.fill("#news-symbol", "bitcoin")
    page.press("#news-symbol", "Enter")
    error.wait_for(state="hidden")
    tagged = httpx.get(f"{api}/api/news", params={"symbol": "bitcoin", "limit": 50}).json()
    assert tagged["symbol"] == "BTC" and tagged["asset_id"] == "bitcoin"
    page.wait_for_function(
        "(want) => document.querySelector('#news-fresh').textContent.startsWith(want)",
        arg=f"{tagged['count']} headlines about BTC",
    )
    items = page.locator("#news-list li")
    if tagged["news"]:
        assert items.count() == len(tagged["news"])
    else:
        assert page.locator("#news-list").inner_text() == "no stored news about BTC yet"


def test_the_market_says_how_many_assets_it_lists(page: Page, api: str) -> None:
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/market") as answer:
        page.goto(f"{api}/#market")
    coins = answer.value.json()["cryptocurrencies"]
    page.locator("#market-table tbody tr[data-asset]").first.wait_for()
    assert page.locator("#market-table tbody tr[data-asset]").count() == len(coins)
    caption = page.locator("#market-caption").inner_text()
    assert caption == f"Top {len(coins)} tracked assets by market cap"


FORMATS = """async () => {
  const f = await import('/static/js/format.js');
  return {
    price: [93706.345, 2.5, 0.99974, 0.99996, 0.0000208398, 1e-12, 0].map((v) => f.price(v)),
    axis: f.priceTicks([96000, 97000, 98000], 2).concat(f.priceTicks([0.25, 0.5], 2)),
    money: [7.5e9, 4e9, 4.38e9, 1.875e12, 950].map(f.money),
    percent: [-0.94, 3.2, 0, -0.001].map(f.percent),
    signed: [0.1654, -0.0144, 0, -0.0004, null].map((v) => f.signed(v)),
    signClass: [0.1654, -0.0144, -0.0004].map((v) => f.signClass(v)),
    number: [f.number(1181, 0), f.integer(20000), f.number(5.321), f.ratio(0.9876)],
    amount: [f.amount(0.000002084, 'BTC'), f.amount(0.9993, 'BTC')],
    duration: [30, 570, 652.3, 9720, 259200].map(f.duration),
    missing: [f.price(null), f.money(undefined), f.percent(NaN)],
  };
}"""


def test_one_formatter_writes_every_number(page: Page, api: str) -> None:
    page.goto(f"{api}/#providers")
    assert page.evaluate(FORMATS) == {
        "price": [
            "$93,706.35",
            "$2.50",
            "$0.9997",
            "$1.00",
            "$0.00002084",
            "$0.000000000001000",
            "$0.00",
        ],
        "axis": ["$96,000", "$97,000", "$98,000", "$0.25", "$0.50"],
        "money": ["$7.50B", "$4.00B", "$4.38B", "$1.88T", "$950.00"],
        "percent": ["-0.94%", "+3.20%", "0.00%", "0.00%"],
        "signed": ["+0.165", "-0.014", "0.000", "0.000", "–"],
        "signClass": ["num up", "num down", "num"],
        "number": ["1,181", "20,000", "5.32", "98.8%"],
        "amount": ["0.000002084 BTC", "0.9993 BTC"],
        "duration": ["30 s", "9.5 min", "11 min", "2.7 h", "3 d"],
        "missing": ["–", "–", "–"],
    }


def test_no_tab_formats_numbers_of_its_own() -> None:
    js = Path(__file__).resolve().parents[2] / "src" / "cryptoagg" / "web" / "static" / "js"
    own = re.compile(r"\.toFixed\(|\.toPrecision\(|\.toLocaleString\(|Intl\.")
    found = [
        f"{path.relative_to(js)}:{number}: {line.strip()}"
        for path in sorted(js.rglob("*.js"))
        if path.name != "format.js"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if own.search(line)
    ]
    assert found == []
