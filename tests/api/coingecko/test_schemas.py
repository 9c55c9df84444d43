"""Contract of `/api/v3` with CoinGecko's own response schemas (the official SDK's models,
kept in `tests/fixtures/coingecko_schemas/`), in mock mode: every endpoint, with every
parameter a CoinGecko SDK sends. The same check runs against a real server on the simulator
in `tests/e2e/test_coingecko_sdk.py`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.coingecko import cg_schemas
from tests.api.coingecko.cg_schemas import schema_problems
from tests.api.conftest import AppClient

ALL_INCLUDES = {
    "include_market_cap": "true",
    "include_24hr_vol": "true",
    "include_24hr_change": "true",
    "include_last_updated_at": "true",
}
ORDERS = ("market_cap_desc", "market_cap_asc", "volume_desc", "volume_asc", "id_asc", "id_desc")
PRECISIONS = ("full", "0", "2", "18")

#: (endpoint, path, query) for every variant checked
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("ping", "/api/v3/ping", {}),
    *(
        ("simple/price", "/api/v3/simple/price", {lookup: coins, "vs_currencies": "usd"})
        for lookup, coins in (
            ("ids", "bitcoin,ethereum,not-a-coin"),
            ("names", "Bitcoin,ethereum,Not A Coin"),
            ("symbols", "btc,eth,nope"),
        )
    ),
    *(
        (
            "simple/price",
            "/api/v3/simple/price",
            {"ids": "bitcoin,solana", "vs_currencies": "usd,eur", **ALL_INCLUDES, "precision": p},
        )
        for p in PRECISIONS
    ),
    ("simple/price", "/api/v3/simple/price", {"ids": "bitcoin", "vs_currencies": "eur"}),
    *(
        ("coins/markets", "/api/v3/coins/markets", {"vs_currency": "usd", "order": o, "page": p})
        for o in ORDERS
        for p in (1, 2)
    ),
    (
        "coins/markets",
        "/api/v3/coins/markets",
        {
            "vs_currency": "usd",
            "per_page": 250,
            "sparkline": "true",
            "price_change_percentage": "1h,24h,7d,14d,30d,200d,1y",
            "precision": "2",
            "locale": "de",
            "include_rehypothecated": "true",
        },
    ),
    ("coins/markets", "/api/v3/coins/markets", {"vs_currency": "usd", "names": "Bitcoin"}),
    ("coins/markets", "/api/v3/coins/markets", {"vs_currency": "usd", "page": 99}),
    ("search/trending", "/api/v3/search/trending", {}),
    *(
        (
            "coins/{id}/market_chart",
            "/api/v3/coins/bitcoin/market_chart",
            {"vs_currency": "usd", "days": days, **({"interval": i} if i else {})},
        )
        for days, i in (
            ("1", None),
            ("30", None),
            ("365", None),
            ("max", None),
            ("1", "1m"),
            ("1", "5m"),
            ("2", "hourly"),
            ("30", "daily"),
        )
    ),
    (
        "coins/{id}/market_chart",
        "/api/v3/coins/ethereum/market_chart",
        {"vs_currency": "usd", "days": "30", "precision": "0"},
    ),
]


async def test_every_answer_conforms_to_coingeckos_schema(app_client: AppClient) -> None:
    problems = {}
    async with app_client(history_backfill_calls=20) as client:
        for endpoint, path, query in CALLS:
            response = await client.get(path, params=query)
            assert response.status_code == 200, (path, query, response.text)
            found = schema_problems(endpoint, response.json())
            if found:
                problems[f"{path}?{query}"] = found[:5]
    assert problems == {}


async def test_the_answers_checked_are_not_empty(app_client: AppClient) -> None:
    """A schema passes an empty list or map: make sure the checked answers hold data."""
    async with app_client(history_backfill_calls=20) as client:
        markets = (await client.get("/api/v3/coins/markets", params={"vs_currency": "usd"})).json()
        trending = (await client.get("/api/v3/search/trending")).json()
        chart = await client.get(
            "/api/v3/coins/bitcoin/market_chart", params={"vs_currency": "usd", "days": "30"}
        )
    assert len(markets) == 56 and all(isinstance(r["image"], str) for r in markets)
    assert len(trending["coins"]) == 7
    body = chart.json()
    assert len(body["prices"]) == 30 * 24
    assert len(body["total_volumes"]) == len(body["market_caps"]) == len(body["prices"])


def test_the_kept_schemas_are_the_installed_sdks() -> None:
    generated = cg_schemas.generated()
    assert set(generated) == set(cg_schemas.ENDPOINTS)
    for name, schema in generated.items():
        assert cg_schemas.kept(name) == schema, name


@pytest.mark.parametrize(
    ("endpoint", "body", "where"),
    [
        ("ping", {}, "gecko_says"),
        ("simple/price", {"bitcoin": {"usd": "1"}}, "'usd'"),
        (
            "coins/markets",
            [
                {
                    "id": "bitcoin",
                    "symbol": "btc",
                    "name": "Bitcoin",
                    "image": None,
                    "last_updated": "2026-01-01T00:00:00.000Z",
                }
            ],
            "'image'",
        ),
        (
            "coins/markets",
            [
                {
                    "id": "bitcoin",
                    "symbol": "btc",
                    "name": "Bitcoin",
                    "image": "/x",
                    "last_updated": "yesterday",
                }
            ],
            "'last_updated'",
        ),
        (
            "coins/{id}/market_chart",
            {"prices": [[1, 2]], "market_caps": [], "total_volumes": [[1, None]]},
            "'total_volumes'",
        ),
        (
            "search/trending",
            {"coins": [{"item": {"id": "x"}}], "nfts": [], "categories": []},
            "coin_id",
        ),
    ],
)
def test_the_kept_schemas_refuse_what_the_sdk_refuses(endpoint: str, body: Any, where: str) -> None:
    problems = schema_problems(endpoint, body)
    assert problems and any(where in p for p in problems), problems
