"""The parameters CoinGecko's SDKs send to `/api/v3`: `names`, `precision`, `interval`, and
their API keys (accepted and ignored)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from tests.api.coingecko.cg_shape import unmock
from tests.api.conftest import AppClient

PRICE = "/api/v3/simple/price"
CHART = "/api/v3/coins/{}/market_chart"


async def test_simple_price_looks_coins_up_by_ids_then_names_then_symbols(
    app_client: AppClient,
) -> None:
    async with app_client() as client:

        async def price(**params: str) -> Any:
            response = await client.get(PRICE, params={"vs_currencies": "usd", **params})
            assert response.status_code == 200, response.text
            return unmock(response.json())

        by_name = await price(names="Bitcoin,ETHEREUM,Not A Coin")
        by_id = await price(ids="bitcoin,ethereum")
        ids_first = await price(ids="solana", names="Bitcoin", symbols="eth")
        names_first = await price(names="Bitcoin", symbols="eth")
        spaced = await price(names="  Bitcoin ,")
    # keyed by the name as asked; an unknown name is left out, as an unknown id is
    assert by_name == {"Bitcoin": by_id["bitcoin"], "ETHEREUM": by_id["ethereum"]}
    assert list(ids_first) == ["solana"]
    assert list(names_first) == ["Bitcoin"]
    assert list(spaced) == ["Bitcoin"]  # blanks around a name are dropped


async def test_precision_rounds_every_amount_and_refuses_other_values(
    app_client: AppClient,
) -> None:
    includes = {"include_market_cap": "true", "include_24hr_change": "true"}
    async with app_client() as client:

        async def get(path: str, **params: str) -> Any:
            response = await client.get(path, params=params)
            return response.status_code, unmock(response.json())

        _, full = await get(PRICE, ids="bitcoin", vs_currencies="usd", **includes)
        _, two = await get(PRICE, ids="bitcoin", vs_currencies="usd", precision="2", **includes)
        _, zero = await get(PRICE, ids="bitcoin", vs_currencies="usd", precision="0")
        _, rows = await get("/api/v3/coins/markets", vs_currency="usd", precision="1")
        _, chart = await get(CHART.format("bitcoin"), vs_currency="usd", days="2", precision="1")
        refused = [
            await get(PRICE, ids="bitcoin", vs_currencies="usd", precision="19"),
            await get("/api/v3/coins/markets", vs_currency="usd", precision="two"),
        ]
    price, cap = full["bitcoin"]["usd"], full["bitcoin"]["usd_market_cap"]
    assert two["bitcoin"]["usd"] == round(price, 2) != price
    assert two["bitcoin"]["usd_market_cap"] == round(cap, 2)
    # a per cent change is not an amount: not rounded
    assert two["bitcoin"]["usd_24h_change"] == full["bitcoin"]["usd_24h_change"]
    assert zero["bitcoin"]["usd"] == round(price) and isinstance(zero["bitcoin"]["usd"], int)
    for row in rows:
        for field in ("current_price", "market_cap", "total_volume", "price_change_24h"):
            assert row[field] == round(row[field], 1), field
    for series in ("prices", "market_caps", "total_volumes"):
        assert chart[series] and all(v == round(v, 1) for _, v in chart[series]), series
    assert refused == [(422, {"error": "precision must be full or 0 to 18"})] * 2


async def test_every_interval_the_sdks_offer_is_served(app_client: AppClient) -> None:
    async with app_client(history_backfill_calls=20) as client:

        async def times(**params: str) -> list[int]:
            response = await client.get(
                CHART.format("ethereum"), params={"vs_currency": "usd", **params}
            )
            assert response.status_code == 200, response.text
            assert response.headers["x-data-partial"] == "false", response.headers
            return [t for t, _ in unmock(response.json())["prices"]]

        minutely = await times(days="1", interval="1m")
        five = await times(days="1", interval="5m")
        hourly = await times(days="365", interval="hourly")
        daily = await times(days="3", interval="daily")
    assert len(minutely) == 1440 and {b - a for a, b in pairwise(minutely)} == {60_000}
    assert len(five) == 288 and set(five) <= set(minutely)
    assert len(hourly) == 100 * 24  # cut to the last 100 days, as CoinGecko does
    assert len(daily) == 3


async def test_the_sdks_keys_are_accepted_and_ignored(app_client: AppClient) -> None:
    params = {"ids": "bitcoin", "vs_currencies": "usd"}
    async with app_client() as client:
        plain = await client.get(PRICE, params=params)
        keyed = [
            await client.get(PRICE, params=params, headers={"x-cg-demo-api-key": "CG-any"}),
            await client.get(PRICE, params=params, headers={"x-cg-pro-api-key": "CG-any"}),
            await client.get(PRICE, params={**params, "x_cg_demo_api_key": "CG-any"}),
            await client.get(PRICE, params={**params, "x_cg_pro_api_key": "CG-any"}),
        ]
    assert plain.status_code == 200
    assert [(r.status_code, r.json()) for r in keyed] == [(200, plain.json())] * 4
