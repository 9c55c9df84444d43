"""The Providers tab's monthly plan in a real headless Chromium: quota, projection, client
reserve and each background job's interval, as /api/providers gave them to the page.

The server starts with a quota ledger already holding this month's calls: 1,020 for
CoinGecko (20 by clients) and all of CoinPaprika's 20,000, so CoinPaprika's quota is used up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.procs import server, simulator
from tests.web.browser import Page
from tests.web.conftest import OpenPage

pytestmark = pytest.mark.e2e

#: the order the tab lists a provider's jobs in (collectors first, then the probes)
JOB_ORDER = ["prices", "candles", "news", "health", "discovery"]
#: text that means a value was missing or of the wrong type when it was rendered
BROKEN = ("undefined", "NaN", "[object", "null")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    month = datetime.now(UTC).strftime("%Y-%m")
    counts = {
        "coingecko": {month: {"client": 20, "prices": 1000}},
        "coinpaprika": {month: {"client": 20_000}},
    }
    (data / "quota.json").write_text(json.dumps({"version": 2, "counts": counts}))
    env = {"COLLECTORS": "true", "RATE_LIMIT_PER_MIN": "0"}
    with simulator(seed=3) as sim, server(data, {"UPSTREAM_BASE_URL": sim, **env}) as url:
        yield url


def half_up(value: float, places: int) -> str:
    """Rounded as JavaScript's `toFixed` and `Math.round` do (ties away from zero)."""
    exponent = Decimal(1).scaleb(-places)
    return str(Decimal(value).quantize(exponent, rounding=ROUND_HALF_UP))


def duration(seconds: float) -> str:
    """The tab's way of writing an interval: 652.3 -> "11 min", 9720 -> "2.7 h"."""

    def trim(v: float) -> str:
        return half_up(v, 0) if v >= 10 else half_up(v, 1).removesuffix(".0")

    if seconds < 60:
        return f"{half_up(seconds, 0)} s"
    if seconds < 3600:
        return f"{trim(seconds / 60)} min"
    if seconds < 2 * 86400:
        return f"{trim(seconds / 3600)} h"
    return f"{trim(seconds / 86400)} d"


def job_text(job: dict[str, Any]) -> str:
    if job["interval_s"] is None:
        return f"{job['job']} paused"
    every = f"{job['job']} every {duration(job['interval_s'])}"
    if abs(job["interval_s"] - job["base_interval_s"]) < 0.05:
        return every
    return f"{every} (base {duration(job['base_interval_s'])})"


def schedule_text(schedule: list[dict[str, Any]]) -> str:
    def rank(job: dict[str, Any]) -> int:
        return JOB_ORDER.index(job["job"]) if job["job"] in JOB_ORDER else len(JOB_ORDER)

    ordered = sorted(schedule, key=rank)
    return "schedule " + " · ".join(job_text(j) for j in ordered)


def open_providers(page: Page, api: str) -> dict[str, dict[str, Any]]:
    """Open the Providers tab; the providers in the JSON the page received, by name."""
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/providers") as answer:
        page.goto(f"{api}/#providers")
    page.locator("#providers-table tr[data-provider]").first.wait_for()
    return {p["name"]: p for p in answer.value.json()["providers"]}


def test_duration_is_written_as_the_tab_writes_it() -> None:
    assert [duration(s) for s in (30, 60.0, 300.0, 570.0, 652.3, 9720, 8977.1, 259_200)] == [
        "30 s",
        "1 min",
        "5 min",
        "9.5 min",
        "11 min",
        "2.7 h",
        "2.5 h",
        "3 d",
    ]


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_each_provider_shows_its_quota_projection_reserve_and_job_intervals(
    open_page: OpenPage, api: str, width: int, height: int
) -> None:
    page = open_page(width, height)
    providers = open_providers(page, api)

    coingecko = providers["coingecko"]
    quota = coingecko["quota"]
    assert quota["monthly"] == 10_000 and quota["target"] == 8_000
    assert quota["used_this_month"] >= 1_020 and quota["used_by_clients"] >= 20
    row = page.locator('#providers-table tr[data-provider="coingecko"]')
    text = row.inner_text()
    used, left = quota["used_this_month"], quota["left"]
    assert f"{used:,} used of 10,000 ({left:,} left)" in text
    assert f"projected {quota['projected_month_end']:,} by month end · target 8,000" in text
    reserve = f"client reserve {quota['client_reserve']:,} · clients used"
    assert f"{reserve} {quota['used_by_clients']:,}" in text
    assert quota["client_reserve"] > 0
    jobs = {j["job"] for j in coingecko["schedule"]}
    assert {"prices", "candles", "health"} <= jobs
    plan = page.locator('#providers-table tr[data-plan-for="coingecko"]')
    assert plan.inner_text() == schedule_text(coingecko["schedule"])

    # without a monthly quota: the use and the projection, no cap
    binance = page.locator('#providers-table tr[data-provider="binance"]').inner_text()
    projected = providers["binance"]["quota"]["projected_month_end"]
    assert "used · no monthly cap" in binance
    assert f"projected {projected:,} by month end" in binance
    shown = page.locator('#providers-table tr[data-plan-for="binance"]').inner_text()
    assert shown == schedule_text(providers["binance"]["schedule"])

    panel = page.locator("#panel-providers").inner_text()
    assert not [word for word in BROKEN if word in panel], panel
    # every row is inside the viewport: nothing scrolls sideways, even on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert row.bounding_box()["width"] <= width  # type: ignore[index]


def test_a_used_up_quota_is_marked_and_its_jobs_paused(page: Page, api: str) -> None:
    providers = open_providers(page, api)
    paprika = providers["coinpaprika"]
    assert paprika["state"] == "quota_exhausted"
    assert paprika["quota"]["exhausted"] and paprika["quota"]["left"] == 0
    assert paprika["schedule"] and all(j["interval_s"] is None for j in paprika["schedule"])

    row = page.locator('#providers-table tr[data-provider="coinpaprika"]')
    assert row.get_attribute("data-state") == "quota_exhausted"
    state = row.locator("td").nth(1).locator(".pill")
    assert state.inner_text() == "quota exhausted"
    assert "pill-bad" in (state.get_attribute("class") or "")
    assert "20,000 used of 20,000 (0 left)" in row.inner_text()
    plan = page.locator('#providers-table tr[data-plan-for="coinpaprika"]')
    assert plan.inner_text() == schedule_text(paprika["schedule"])
    assert "prices paused" in plan.inner_text()
