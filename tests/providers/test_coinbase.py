from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from cryptoagg.core.errors import (
    BadResponse,
    NotSupported,
    RateLimited,
    Unavailable,
    UpstreamNotFound,
)
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.coinbase import CoinbaseProvider, parse_products
from tests.providers.support import (
    NOW,
    Handler,
    Recorder,
    fixture_bytes,
    make,
    replay,
    respond,
)

EXCHANGE = "api.exchange.coinbase.com"
APP = "api.coinbase.com"


def route(table: dict[tuple[str, str], Handler]) -> Handler:
    """Answer by (host, path); anything else is a 404."""

    def handler(request: httpx.Request) -> httpx.Response:
        found = table.get((request.url.host, request.url.path))
        return found(request) if found else httpx.Response(404, json={"message": "NotFound"})

    return handler


def provider_with(rec: Recorder) -> HttpProvider:
    return make(CoinbaseProvider, rec)


def seen(rec: Recorder) -> list[tuple[str, str]]:
    return sorted((r.url.host, r.url.path) for r in rec.requests)


async def test_exchange_ticker_gives_price_volume_and_trade_time() -> None:
    rec = Recorder(replay("coinbase/exchange_product_ticker.json"))
    provider = provider_with(rec)
    [q] = await provider.spot_prices([provider.ctx.registry.get("bitcoin")])

    assert seen(rec) == [(EXCHANGE, "/products/BTC-USD/ticker")]
    assert rec.requests[0].url.params == httpx.QueryParams()
    assert (q.asset_id, q.provider, q.quote_currency) == ("bitcoin", "coinbase", "USD")
    assert q.price == Decimal("6268.48")
    assert q.volume_24h == Decimal("53602.03940154") * Decimal("6268.48")  # base volume * price
    assert q.volume_24h == Decimal("336003311.9477654592")
    assert q.as_of == datetime(2020, 3, 20, 0, 22, 57, 833000, tzinfo=UTC)
    assert q.time_source == "provider"


async def test_live_capture_with_nanosecond_time() -> None:
    provider = provider_with(Recorder(replay("coinbase/exchange_product_ticker_live_capture.json")))
    [q] = await provider.spot_prices([provider.ctx.registry.get("bitcoin")])
    assert q.price == Decimal("63212.97")
    assert q.volume_24h == Decimal("310814884.7694942612")
    assert q.as_of == datetime(2026, 6, 19, 16, 43, 33, 16274, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fixture", "asset_id", "pair", "price"),
    [
        ("v2_prices_spot.json", "bitcoin", "BTC-USD", "755.96"),
        ("v2_prices_spot_eth_recent.json", "ethereum", "ETH-USD", "2723.905"),
    ],
)
async def test_exchange_404_falls_back_to_app_spot_price(
    fixture: str, asset_id: str, pair: str, price: str
) -> None:
    rec = Recorder(route({(APP, f"/v2/prices/{pair}/spot"): replay(f"coinbase/{fixture}")}))
    provider = provider_with(rec)
    [q] = await provider.spot_prices([provider.ctx.registry.get(asset_id)])

    assert seen(rec) == [(APP, f"/v2/prices/{pair}/spot"), (EXCHANGE, f"/products/{pair}/ticker")]
    assert (q.asset_id, q.price, q.quote_currency) == (asset_id, Decimal(price), "USD")
    assert q.as_of == NOW  # the spot price has no time
    assert q.time_source == "received"  # and the quote says so
    assert q.volume_24h is None


async def test_mixed_sources_and_not_found_assets_are_skipped() -> None:
    rec = Recorder(
        route(
            {
                (EXCHANGE, "/products/BTC-USD/ticker"): replay(
                    "coinbase/exchange_product_ticker_live_capture.json"
                ),
                (APP, "/v2/prices/ETH-USD/spot"): replay("coinbase/v2_prices_spot_eth_recent.json"),
            }
        )
    )
    provider = provider_with(rec)
    registry = provider.ctx.registry
    assets = [registry.get(a) for a in ("bitcoin", "ethereum", "solana", "binancecoin")]
    quotes = await provider.spot_prices(assets)

    assert [(q.asset_id, q.price) for q in quotes] == [
        ("bitcoin", Decimal("63212.97")),
        ("ethereum", Decimal("2723.905")),
    ]
    # binancecoin has no Coinbase id: never asked; solana is unknown on both APIs: skipped
    assert seen(rec) == [
        (APP, "/v2/prices/ETH-USD/spot"),
        (APP, "/v2/prices/SOL-USD/spot"),
        (EXCHANGE, "/products/BTC-USD/ticker"),
        (EXCHANGE, "/products/ETH-USD/ticker"),
        (EXCHANGE, "/products/SOL-USD/ticker"),
    ]


async def test_per_asset_calls_run_concurrently() -> None:
    both_in_flight = asyncio.Event()
    arrived: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append(request.url.path)
        if len(arrived) == 2:
            both_in_flight.set()
        # a sequential adapter would never send the second request: this times out
        await asyncio.wait_for(both_in_flight.wait(), timeout=2)
        return httpx.Response(200, content=fixture_bytes("coinbase/exchange_product_ticker.json"))

    provider = make(CoinbaseProvider, handler)  # type: ignore[arg-type]
    registry = provider.ctx.registry
    quotes = await provider.spot_prices([registry.get("bitcoin"), registry.get("ethereum")])
    assert [q.asset_id for q in quotes] == ["bitcoin", "ethereum"]
    assert sorted(arrived) == ["/products/BTC-USD/ticker", "/products/ETH-USD/ticker"]


async def test_every_asset_not_found_raises_the_first_error() -> None:
    provider = provider_with(Recorder(route({})))
    registry = provider.ctx.registry
    with pytest.raises(UpstreamNotFound):
        await provider.spot_prices([registry.get("bitcoin"), registry.get("ethereum")])


async def test_a_failure_other_than_not_found_is_raised() -> None:
    rec = Recorder(
        route(
            {
                (EXCHANGE, "/products/BTC-USD/ticker"): replay(
                    "coinbase/exchange_product_ticker.json"
                ),
                (EXCHANGE, "/products/ETH-USD/ticker"): replay(
                    "coinbase/exchange_product_ticker.json", 502
                ),
            }
        )
    )
    provider = provider_with(rec)
    registry = provider.ctx.registry
    with pytest.raises(Unavailable):
        await provider.spot_prices([registry.get("bitcoin"), registry.get("ethereum")])


async def test_spot_prices_without_coinbase_ids_is_not_supported() -> None:
    rec = Recorder(route({}))
    provider = provider_with(rec)
    with pytest.raises(NotSupported):
        await provider.spot_prices([provider.ctx.registry.get("binancecoin")])
    assert rec.requests == []


async def test_app_api_429_is_rate_limited_with_retry_after() -> None:
    rec = Recorder(
        route(
            {
                (APP, "/v2/prices/BTC-USD/spot"): replay(
                    "coinbase/app_api_error_429.json", 429, {"Retry-After": "30"}
                )
            }
        )
    )
    provider = provider_with(rec)
    with pytest.raises(RateLimited) as info:
        await provider.spot_prices([provider.ctx.registry.get("bitcoin")])
    assert info.value.retry_after_s == 30.0
    assert info.value.provider == "coinbase"


async def test_exchange_429_is_rate_limited_with_retry_after() -> None:
    provider = provider_with(
        Recorder(replay("coinbase/app_api_error_429.json", 429, {"Retry-After": "7"}))
    )
    with pytest.raises(RateLimited) as info:
        await provider.listing()
    assert info.value.retry_after_s == 7.0


async def test_spot_price_in_another_currency_is_a_bad_response() -> None:
    body = fixture_bytes("coinbase/v2_prices_spot.json").replace(b'"USD"', b'"EUR"')
    provider = provider_with(Recorder(route({(APP, "/v2/prices/BTC-USD/spot"): respond(body)})))
    with pytest.raises(BadResponse):
        await provider.spot_prices([provider.ctx.registry.get("bitcoin")])


async def test_listing_keeps_usd_products() -> None:
    rec = Recorder(replay("coinbase/exchange_products_sandbox.json"))
    rows = await provider_with(rec).listing()
    assert seen(rec) == [(EXCHANGE, "/products")]
    assert [(r.provider, r.native_id, r.symbol, r.active) for r in rows] == [
        ("coinbase", "BTC", "BTC", True),
        ("coinbase", "LINK", "LINK", True),
    ]


def test_listing_marks_delisted_or_disabled_products_inactive() -> None:
    products = json.loads(fixture_bytes("coinbase/exchange_products_sandbox.json"))
    # the recording's delisted product is GBP-quoted; relabel it to USD
    xrp = next(p for p in products if p["id"] == "XRP-GBP")
    xrp["quote_currency"] = "USD"
    # the production schema (live capture of one product) parses the same way
    live = json.loads(fixture_bytes("coinbase/exchange_product_btc-usd_live_capture.json"))
    live["trading_disabled"] = True
    rows = [(r.native_id, r.active) for r in parse_products([*products, live])]
    assert rows == [("BTC", True), ("LINK", True), ("XRP", False), ("BTC", False)]
