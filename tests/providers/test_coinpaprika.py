from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import BadResponse, NotSupported, UpstreamNotFound
from cryptoagg.providers.coinpaprika import (
    CoinPaprikaProvider,
    canonical_id,
    parse_coins,
    parse_markets,
    parse_tickers,
)
from tests.providers.support import Recorder, fixture_bytes, make, replay, respond

BSV = Asset("bitcoin-cash-sv", "BSV", "Bitcoin SV", provider_ids={"coinpaprika": "bsv-bitcoin-sv"})


def load(name: str) -> object:
    return orjson.loads(fixture_bytes(f"coinpaprika/{name}"))


def load_list(name: str) -> list[dict[str, object]]:
    value = load(name)
    assert isinstance(value, list)
    return value


async def test_spot_prices_read_all_tickers_and_keep_the_requested_ones() -> None:
    rec = Recorder(replay("coinpaprika/tickers.json"))
    provider = make(CoinPaprikaProvider, rec)
    registry = provider.ctx.registry
    quotes = await provider.spot_prices([registry.get("bitcoin"), registry.get("ethereum")])
    by_asset = {q.asset_id: q for q in quotes}
    assert sorted(by_asset) == ["bitcoin", "ethereum"]  # tether is in the body, not asked for
    btc = by_asset["bitcoin"]
    assert btc.provider == "coinpaprika"
    assert btc.price == Decimal("61045.7373319069")
    assert btc.volume_24h == Decimal("19017290417.844")
    assert btc.change_24h_pct == Decimal("-0.31")
    assert btc.market_cap == Decimal(1203719139164)
    assert btc.as_of == datetime(2024, 6, 29, 13, 27, 36, tzinfo=UTC)
    assert by_asset["ethereum"].price == Decimal("3393.2222475678")
    assert by_asset["ethereum"].change_24h_pct == Decimal("-1.3")
    [request] = rec.requests
    assert request.url.host == "api.coinpaprika.com"
    assert request.url.path == "/v1/tickers"
    assert dict(request.url.params) == {"quotes": "USD"}


def test_parse_tickers_accepts_the_single_ticker_body() -> None:
    by_id = {"btc-bitcoin": seeded_registry().get("bitcoin")}
    [quote] = parse_tickers(load("tickers_btc-bitcoin.json"), by_id)
    assert quote.asset_id == "bitcoin"
    assert quote.price == Decimal("71370.71020525187")
    assert quote.volume_24h == Decimal("37555698753.88742")
    assert quote.change_24h_pct == Decimal("4.13")
    assert quote.market_cap == Decimal(1426427932261)
    assert quote.as_of == datetime(2026, 2, 8, 13, 52, 28, tzinfo=UTC)


def test_parse_tickers_accepts_the_2020_schema() -> None:
    [quote] = parse_tickers(load("tickers_bsv-bitcoin-sv_2020.json"), {"bsv-bitcoin-sv": BSV})
    assert quote.asset_id == "bitcoin-cash-sv"
    assert quote.price == Decimal("159.190332")
    assert quote.volume_24h == Decimal("790903664.43817")
    assert quote.change_24h_pct == Decimal("-0.65")
    assert quote.market_cap == Decimal(2936580074)
    assert quote.as_of == datetime(2020, 6, 29, 16, 3, 48, tzinfo=UTC)


def test_markets_keep_the_circulating_supply_of_the_2020_schema() -> None:
    [entry] = parse_markets([load("tickers_bsv-bitcoin-sv_2020.json")], seeded_registry(), 1)
    assert entry.circulating_supply == Decimal(18446975)
    assert entry.market_cap == Decimal(2936580074)


async def test_markets_are_ranked_and_limited() -> None:
    rec = Recorder(replay("coinpaprika/tickers.json"))
    entries = await make(CoinPaprikaProvider, rec).markets(2)
    assert [(e.asset_id, e.symbol, e.rank) for e in entries] == [
        ("bitcoin", "BTC", 1),
        ("ethereum", "ETH", 2),
    ]
    assert entries[1].market_cap == Decimal(407813462328)
    assert entries[1].volume_24h == Decimal("8805945104.18832")
    assert entries[0].as_of == datetime(2024, 6, 29, 13, 27, 36, tzinfo=UTC)
    assert entries[0].circulating_supply is None  # the current schema does not send it
    [request] = rec.requests
    assert request.url.path == "/v1/tickers"
    assert dict(request.url.params) == {"quotes": "USD"}


def test_markets_sort_by_rank_and_strip_the_prefix_of_unknown_ids() -> None:
    # two recordings merged, the rank-6 one first, to check the sorting
    payload = [load("tickers_bsv-bitcoin-sv_2020.json"), *load_list("tickers.json")]
    entries = parse_markets(payload, seeded_registry(), 10)
    assert [(e.asset_id, e.rank) for e in entries] == [
        ("bitcoin", 1),
        ("ethereum", 2),
        ("tether", 3),
        ("bitcoin-sv", 6),  # not in the registry: "bsv-" removed
    ]
    assert entries[3].price == Decimal("159.190332")


def test_unranked_tickers_come_last() -> None:
    btc, eth, usdt = load_list("tickers.json")
    unranked = {**eth, "rank": 0}
    no_rank = {**usdt, "rank": None}
    entries = parse_markets([no_rank, unranked, btc], seeded_registry(), 3)
    assert (entries[0].asset_id, entries[0].rank) == ("bitcoin", 1)
    assert {e.asset_id for e in entries[1:]} == {"ethereum", "tether"}
    assert all(e.rank is None for e in entries[1:])


def test_canonical_id_prefers_the_registry() -> None:
    registry = seeded_registry()
    assert canonical_id("aave-new", "AAVE", registry) == "aave"
    assert canonical_id("avax-avalanche", "AVAX", registry) == "avalanche-2"
    assert canonical_id("qnt-quant", "QNT", registry) == "quant"
    assert canonical_id("luna-terra", "LUNC", registry) == "luna-terra"


async def test_listing_maps_known_ids() -> None:
    rec = Recorder(replay("coinpaprika/coins.json"))
    rows = await make(CoinPaprikaProvider, rec).listing()
    assert len(rows) == 50
    first = rows[0]
    assert (first.provider, first.native_id, first.symbol, first.name) == (
        "coinpaprika",
        "btc-bitcoin",
        "BTC",
        "Bitcoin",
    )
    assert first.asset_id == "bitcoin" and first.active is True
    by_native = {r.native_id: r for r in rows}
    assert by_native["avax-avalanche"].asset_id == "avalanche-2"
    assert by_native["toncoin-the-open-network"].symbol == "TONCOIN"
    assert by_native["busd-binance-usd"].asset_id is None
    assert by_native["luna-terra"].name == "Terra Classic"
    assert rec.requests[0].url.path == "/v1/coins"


def test_parse_coins_reads_is_active() -> None:
    [row] = parse_coins([{**load_list("coins.json")[0], "is_active": False}], seeded_registry())
    assert row.active is False


async def test_unknown_id_404_is_upstream_not_found() -> None:
    provider = make(CoinPaprikaProvider, replay("coinpaprika/error_404_id_not_found.json", 404))
    with pytest.raises(UpstreamNotFound):
        await provider.spot_prices([provider.ctx.registry.get("bitcoin")])


async def test_a_body_of_the_wrong_shape_is_a_bad_response() -> None:
    provider = make(CoinPaprikaProvider, replay("coinpaprika/error_404_id_not_found.json"))
    with pytest.raises(BadResponse):
        await provider.markets(10)


async def test_assets_without_a_paprika_id_are_not_supported() -> None:
    rec = Recorder(respond(b"[]"))
    provider = make(CoinPaprikaProvider, rec)
    with pytest.raises(NotSupported):
        await provider.spot_prices([Asset("nowhere", "NOW", "Nowhere")])
    assert rec.requests == []
