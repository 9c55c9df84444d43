"""The Charts tab and partial rollups, in a real headless Chromium: a closed partial candle is
drawn grey and counted in the info line; the current period, partial until it closes, is not.

The history answer is the page's own request fulfilled with a fixed body, so the test does
not depend on what the simulator's providers happen to have.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Route

from tests.e2e.procs import server, simulator
from tests.web.browser import Page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"RATE_LIMIT_PER_MIN": "0"}
    with (
        simulator(seed=3) as sim,
        server(tmp_path_factory.mktemp("data"), {"UPSTREAM_BASE_URL": sim, **env}) as url,
    ):
        yield url


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def candle(at: datetime, source: str, sub_candles: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "time": iso(at),
        "open": 100.0,
        "high": 110.0,
        "low": 95.0,
        "close": 105.0,
        "volume": 12.5,
        "source": source,
        "partial": sub_candles is not None,
    }
    if sub_candles is not None:
        row |= {"sub_candles": sub_candles, "sub_candles_expected": 24}
    return row


def test_a_closed_partial_candle_is_counted_and_the_open_one_is_not(page: Page, api: str) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    body = {
        "symbol": "BTC",
        "asset_id": "bitcoin",
        "interval": "1d",
        "start": iso(today - timedelta(days=3)),
        "end": iso(today),
        "count": 4,
        "backfilled": 0,
        "missing": [
            {
                "start": iso(today - timedelta(days=2)),
                "end": iso(today - timedelta(days=2)),
                "candles": 1,
            }
        ],
        "candles": [
            candle(today - timedelta(days=3), "binance"),
            candle(today - timedelta(days=2), "rollup", sub_candles=16),
            candle(today - timedelta(days=1), "rollup", sub_candles=None),
            candle(today, "rollup", sub_candles=9),  # today: still open
        ],
    }

    def answer(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(re.compile(r"/api/crypto/history/"), answer)
    page.goto(f"{api}/#charts/bitcoin")
    info = page.locator("#chart-info[data-count='4']")
    info.wait_for()
    assert info.get_attribute("data-partial") == "1"
    text = info.inner_text()
    assert "1 partial (grey: rolled up from incomplete data)" in text
    assert "1 still missing" in text
    assert page.locator("#chart canvas").count() > 0
