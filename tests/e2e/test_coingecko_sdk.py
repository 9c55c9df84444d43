"""CoinGecko's official Python SDK (`coingecko-sdk`, with `_strict_response_validation=True`:
every answer is validated against CoinGecko's own response models) pointed at a real server
on the simulator, with a dummy Demo key as a new user would configure it. Also the contract
of every raw body with the kept schemas, and the completeness of long charts."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from coingecko_sdk import Coingecko, NotFoundError, UnprocessableEntityError
from coingecko_sdk.types.coins.market_chart_get_params import MarketChartGetParams
from coingecko_sdk.types.coins.market_get_params import MarketGetParams
from coingecko_sdk.types.simple.price_get_params import PriceGetParams

from tests.api.coingecko.cg_schemas import schema_problems
from tests.api.coingecko.test_schemas import CALLS
from tests.e2e.procs import free_port, server, server_env, simulator, spawn, stop, wait_until_up

pytestmark = pytest.mark.e2e

DEMO_KEY = "CG-dummy-demo-key-e2e-7Qx"
PRO_KEY = "CG-dummy-pro-key-e2e-3Wz"
PARAM_KEY = "CG-dummy-param-key-e2e-9Rk"


def choices(params: type, name: str) -> tuple[str, ...]:
    """The values the SDK offers for a parameter (its `Literal`)."""
    return typing.get_args(typing.get_type_hints(params)[name])


PRECISIONS = choices(PriceGetParams, "precision")
ORDERS = choices(MarketGetParams, "order")
INTERVALS = choices(MarketChartGetParams, "interval")


class Server:
    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server on the simulator, its log kept (INFO: access lines) to look for keys."""
    with simulator(seed=3) as sim:
        data: Path = tmp_path_factory.mktemp("data")
        port = free_port()
        env = server_env(data, port, {"UPSTREAM_BASE_URL": sim, "LOG_LEVEL": "INFO"})
        proc, log = spawn(["serve"], env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url + "/health", proc, log)
            yield Server(url, log)
        finally:
            stop(proc)
            log.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def gecko(api: Server) -> Iterator[Coingecko]:
    client = Coingecko(
        demo_api_key=DEMO_KEY,
        environment="demo",
        base_url=f"{api.url}/api/v3",
        _strict_response_validation=True,
        max_retries=0,
        timeout=60,
    )
    with client:
        yield client


def test_the_sdk_offers_what_we_serve() -> None:
    assert PRECISIONS[0] == "full" and PRECISIONS[1:] == tuple(str(n) for n in range(19))
    assert set(ORDERS) == {
        "market_cap_asc",
        "market_cap_desc",
        "volume_asc",
        "volume_desc",
        "id_asc",
        "id_desc",
    }
    assert INTERVALS == ("1m", "5m", "hourly", "daily")


def test_ping(gecko: Coingecko) -> None:
    assert gecko.ping.get().gecko_says == "(V3) To the Moon!"


def test_simple_price_by_ids_names_and_symbols(gecko: Coingecko) -> None:
    by_id = gecko.simple.price.get(ids="bitcoin,ethereum", vs_currencies="usd")
    by_name = gecko.simple.price.get(names="Bitcoin,ethereum", vs_currencies="usd")
    by_symbol = gecko.simple.price.get(symbols="btc,eth", vs_currencies="usd")
    assert sorted(by_id) == ["bitcoin", "ethereum"]
    assert sorted(by_name) == ["Bitcoin", "ethereum"]  # keyed as asked
    assert sorted(by_symbol) == ["btc", "eth"]
    # the same cached consensus, whichever way the coins are named
    assert by_id["bitcoin"].usd == by_name["Bitcoin"].usd == by_symbol["btc"].usd
    assert by_id["ethereum"].usd == by_name["ethereum"].usd == by_symbol["eth"].usd
    assert by_id["bitcoin"].usd is not None and by_id["bitcoin"].usd > 0


FLAGS = ("include_market_cap", "include_24hr_vol", "include_24hr_change", "include_last_updated_at")
FIELDS = {
    "include_market_cap": "usd_market_cap",
    "include_24hr_vol": "usd_24h_vol",
    "include_24hr_change": "usd_24h_change",
    "include_last_updated_at": "last_updated_at",
}


def test_simple_price_with_every_include_flag(gecko: Coingecko) -> None:
    every = gecko.simple.price.get(
        ids="bitcoin,solana", vs_currencies="usd", **dict.fromkeys(FLAGS, True)
    )
    for coin in every.values():
        assert None not in (coin.usd, *(getattr(coin, f) for f in FIELDS.values()))
    for flag in FLAGS:
        one = gecko.simple.price.get(ids="bitcoin", vs_currencies="usd", **{flag: True})
        sent = one["bitcoin"].model_dump(exclude_unset=True)
        assert set(sent) == {"usd", FIELDS[flag]}, flag


def test_simple_price_with_every_precision(gecko: Coingecko) -> None:
    flags = dict.fromkeys(("include_market_cap", "include_24hr_vol"), True)
    full = gecko.simple.price.get(ids="bitcoin", vs_currencies="usd", **flags)["bitcoin"]
    for precision in PRECISIONS:
        got = gecko.simple.price.get(
            ids="bitcoin", vs_currencies="usd", precision=precision, **flags
        )["bitcoin"]
        if precision == "full":
            assert got.usd == full.usd
            continue
        places = int(precision)
        for value, exact in ((got.usd, full.usd), (got.usd_market_cap, full.usd_market_cap)):
            assert value is not None and exact is not None
            assert value == round(value, places)
            assert abs(value - exact) <= 10**-places / 2 * (1 + 1e-9) + abs(exact) * 1e-15


def test_coins_markets_pages_and_orders(gecko: Coingecko) -> None:
    everything = gecko.coins.markets.get(vs_currency="usd", per_page=250)
    assert len(everything) == 56
    assert all(row.image for row in everything)
    pages = [gecko.coins.markets.get(vs_currency="usd", per_page=20, page=p) for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [20, 20, 16]
    assert [r.id for p in pages for r in p] == [r.id for r in everything]
    assert gecko.coins.markets.get(vs_currency="usd", per_page=20, page=4) == []
    for order in ORDERS:
        rows = gecko.coins.markets.get(vs_currency="usd", order=order, per_page=250)
        assert len(rows) == 56, order
        if order.startswith("id_"):
            ids = [r.id for r in rows]
            assert ids == sorted(ids, reverse=order == "id_desc")
        else:
            figure = "market_cap_rank" if order.startswith("market_cap") else "total_volume"
            known = [getattr(r, figure) for r in rows if getattr(r, figure) is not None]
            descending = (order == "volume_desc") or (order == "market_cap_asc")
            assert known == sorted(known, reverse=descending), order


def test_coins_markets_with_every_option(gecko: Coingecko) -> None:
    rows = gecko.coins.markets.get(
        vs_currency="usd",
        per_page=5,
        sparkline=True,
        price_change_percentage="1h,24h,7d,14d,30d,200d,1y",
        precision="2",
        locale="en",
        include_rehypothecated=True,
    )
    assert len(rows) == 5
    for row in rows:
        assert row.current_price == round(row.current_price or 0, 2)
        assert row.price_change_percentage_24h_in_currency == row.price_change_percentage_24h
    by_name = gecko.coins.markets.get(vs_currency="usd", names="Bitcoin,Ethereum")
    by_symbol = gecko.coins.markets.get(vs_currency="usd", symbols="btc,eth", include_tokens="top")
    by_id = gecko.coins.markets.get(vs_currency="usd", ids="ethereum,bitcoin")
    assert [r.id for r in by_name] == [r.id for r in by_symbol] == [r.id for r in by_id]
    assert [r.id for r in by_id] == ["bitcoin", "ethereum"]


def test_search_trending(gecko: Coingecko) -> None:
    trending = gecko.search.trending.get()
    assert len(trending.coins) == 7
    assert [c.item.score for c in trending.coins] == list(range(7))
    for coin in trending.coins:
        item = coin.item
        assert item.coin_id > 0 and item.slug == item.id
        assert item.data.price > 0 and float(item.data.price_btc) > 0
        assert set(item.data.price_change_percentage_24h) == {"btc", "usd"}
        assert item.data.market_cap.startswith("$")


@pytest.mark.parametrize("days", ["1", "30", "365", "max"])
@pytest.mark.parametrize("interval", [None, *INTERVALS])
def test_market_chart(gecko: Coingecko, days: str, interval: str | None) -> None:
    options: dict[str, Any] = {"interval": interval} if interval else {}
    raw = gecko.coins.market_chart.with_raw_response.get(
        "bitcoin", vs_currency="usd", days=days, **options
    )
    chart = raw.parse()  # validated against CoinGecko's model
    assert raw.headers["x-data-partial"] in ("true", "false")
    times = [int(t) for t, _ in chart.prices]
    assert len(times) > 0 and times == sorted(set(times))
    auto = {"1": 300_000, "30": 3_600_000}.get(days, 86_400_000)
    step = {"1m": 60_000, "5m": 300_000, "hourly": 3_600_000, "daily": 86_400_000}.get(
        interval or "", auto
    )
    gaps = {b - a for a, b in pairwise(times)}
    assert all(gap % step == 0 for gap in gaps), gaps
    if raw.headers["x-data-partial"] == "false":
        assert gaps <= {step}
    assert {int(t) for t, _ in chart.market_caps} <= set(times)
    assert {int(t) for t, _ in chart.total_volumes} <= set(times)


def test_market_chart_precision_rounds_every_series(gecko: Coingecko) -> None:
    for precision in ("0", "3", "full"):
        chart = gecko.coins.market_chart.get(
            "ethereum", vs_currency="usd", days="2", precision=precision
        )
        for series in (chart.prices, chart.market_caps, chart.total_volumes):
            assert series
            if precision != "full":
                assert all(v == round(v, int(precision)) for _, v in series)


def test_errors_are_the_sdks_exceptions_with_coingeckos_body(gecko: Coingecko) -> None:
    with pytest.raises(NotFoundError) as unknown:
        gecko.coins.market_chart.get("not-a-coin", vs_currency="usd", days="1")
    assert unknown.value.body == {"error": "coin not found"}
    with pytest.raises(UnprocessableEntityError) as weekly:
        gecko.coins.market_chart.get(
            "bitcoin",
            vs_currency="usd",
            days="1",
            interval="weekly",  # type: ignore[arg-type]
        )
    assert weekly.value.body == {
        "error": "interval must be 1m, 5m, hourly or daily (or empty for auto)"
    }


def test_the_keys_are_accepted_and_never_logged(gecko: Coingecko, api: Server) -> None:
    with Coingecko(
        pro_api_key=PRO_KEY,
        environment="pro",
        base_url=f"{api.url}/api/v3",
        _strict_response_validation=True,
        max_retries=0,
    ) as pro:
        assert pro.ping.get().gecko_says == "(V3) To the Moon!"
        prices = pro.simple.price.get(
            ids="bitcoin",
            vs_currencies="usd",
            extra_query={"x_cg_pro_api_key": PARAM_KEY, "x_cg_demo_api_key": PARAM_KEY},
        )
    assert (
        prices["bitcoin"].usd
        == gecko.simple.price.get(ids="bitcoin", vs_currencies="usd")["bitcoin"].usd
    )
    logged = api.log.read_text(errors="replace")
    assert "GET /api/v3/simple/price?" in logged  # the access log is on
    for key in (DEMO_KEY, PRO_KEY, PARAM_KEY):
        assert key not in logged


def test_every_raw_body_conforms_to_the_kept_schema(api: Server) -> None:
    problems = {}
    with httpx.Client(base_url=api.url, timeout=60) as client:
        for endpoint, path, query in CALLS:
            response = client.get(path, params=query, headers={"x-cg-demo-api-key": DEMO_KEY})
            assert response.status_code == 200, (path, query, response.text)
            found = schema_problems(endpoint, response.json())
            if found:
                problems[f"{path}?{query}"] = found[:5]
    assert problems == {}


MISSING = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$")


def _chart(url: str, coin: str, **params: str) -> httpx.Response:
    response = httpx.get(
        f"{url}/api/v3/coins/{coin}/market_chart",
        params={"vs_currency": "usd", **params},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response


def test_a_long_chart_says_what_it_lacks_and_never_changes_its_history(api: Server) -> None:
    """With the default HISTORY_BACKFILL_CALLS (3), `days=max` cannot be filled in one
    request: each answer says what is missing, and no answer contradicts another."""
    answers = [_chart(api.url, "ethereum", days="max") for _ in range(4)]
    first, last = answers[0], answers[-1]
    assert first.headers["x-data-partial"] == "true"
    counts = dict(part.split("=") for part in first.headers["x-data-missing-points"].split(", "))
    prices = first.json()["prices"]
    # the missing range is named, and the prices served start right after it
    missing = MISSING.match(first.headers["x-data-missing"])
    assert missing is not None
    assert missing.group(1) == "2013-04-29T00:00:00Z"
    ends = datetime.strptime(missing.group(2), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert prices[0][0] == ends.timestamp() * 1000 + 86_400_000
    assert int(counts["prices"]) == (ends - datetime(2013, 4, 28, tzinfo=UTC)).days
    # later answers fill the rest; the history floor (the simulator's first day) ends it
    assert last.headers["x-data-partial"] == "false"
    assert "x-data-missing" not in last.headers
    final = dict(map(tuple, last.json()["prices"]))
    assert len(final) > len(prices)
    for answer in answers:
        served = answer.json()["prices"]
        assert all(final.get(t) == v for t, v in served if t in final)
        # every point served is in the complete history, except a day closed since
        assert len([t for t, _ in served if t not in final]) <= 1


def test_a_long_chart_within_its_calls_is_whole_at_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with simulator(seed=3) as sim:
        data: Path = tmp_path_factory.mktemp("data")
        env = {"UPSTREAM_BASE_URL": sim, "HISTORY_BACKFILL_CALLS": "20"}
        with server(data, env) as url:
            first = _chart(url, "bitcoin", days="max")
            second = _chart(url, "bitcoin", days="max")
            hourly = _chart(url, "bitcoin", days="365", interval="hourly")
    assert first.headers["x-data-partial"] == second.headers["x-data-partial"] == "false"
    a, b = first.json()["prices"], second.json()["prices"]
    assert a[0] == b[0] and len(a) > 3000 and b[: len(a)] == a
    # hourly covers the last 100 days, as CoinGecko's interval=hourly does
    assert len(hourly.json()["prices"]) == 100 * 24
    assert hourly.headers["x-data-partial"] == "false"
