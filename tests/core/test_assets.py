from __future__ import annotations

import pytest

from cryptoagg.core.asset_seed import SEED, seeded_registry
from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.errors import AmbiguousSymbol, UnknownAsset
from cryptoagg.core.models import ListedAsset


def test_seed_has_top_50_with_unique_ids_and_tickers() -> None:
    registry = seeded_registry()
    tracked = registry.tracked()
    assert len(tracked) >= 50
    assert [a.rank for a in tracked[:3]] == [1, 2, 3]
    assert len({a.symbol for a in tracked}) == len(tracked)
    assert len({row[0] for row in SEED}) == len(SEED)


def test_every_seeded_asset_maps_to_coingecko_and_paprika() -> None:
    for asset in seeded_registry().tracked():
        assert asset.native_id("coingecko") == asset.id
        assert asset.native_id("coinpaprika")


@pytest.mark.parametrize(
    ("query", "asset_id", "matched_by"),
    [
        ("bitcoin", "bitcoin", "id"),
        ("BTC", "bitcoin", "symbol"),
        ("btc", "bitcoin", "symbol"),
        ("XBT", "bitcoin", "alias"),
        ("xdg", "dogecoin", "alias"),
        ("Ethereum", "ethereum", "id"),
        ("Cosmos Hub", "cosmos", "name"),
    ],
)
def test_resolve(query: str, asset_id: str, matched_by: str) -> None:
    resolution = seeded_registry().resolve(query)
    assert resolution.asset.id == asset_id
    assert resolution.matched_by == matched_by


def test_kraken_and_exchange_symbols() -> None:
    registry = seeded_registry()
    assert registry.get("bitcoin").native_id("kraken") == "XBT"
    assert registry.get("dogecoin").native_id("kraken") == "XDG"
    assert registry.get("bitcoin").native_id("binance") == "BTC"
    assert registry.get("binancecoin").native_id("coinbase") is None
    assert registry.by_native("coinpaprika", "BTC-BITCOIN") == registry.get("bitcoin")


def test_unknown_asset() -> None:
    with pytest.raises(UnknownAsset):
        seeded_registry().resolve("NOPE-COIN")
    with pytest.raises(UnknownAsset):
        seeded_registry().resolve("   ")


def test_ambiguous_ticker_lists_candidates() -> None:
    registry = AssetRegistry(
        [
            Asset("holotoken", "HOT", "Holo", 90),
            Asset("hydro-protocol", "HOT", "Hydro Protocol", 900),
        ]
    )
    with pytest.raises(AmbiguousSymbol) as info:
        registry.resolve("hot")
    assert info.value.candidates == ["holotoken", "hydro-protocol"]


def test_tracked_asset_wins_over_listed_namesakes() -> None:
    registry = seeded_registry()
    added = registry.merge_listing(
        [ListedAsset(provider="coingecko", native_id="batcat", symbol="BTC", asset_id="batcat")]
    )
    assert added == 1
    assert registry.resolve("BTC").asset.id == "bitcoin"
    assert not registry.get("batcat").tracked


def test_listed_only_collisions_are_refused() -> None:
    registry = AssetRegistry()
    registry.merge_listing(
        [
            ListedAsset(provider="coingecko", native_id="a", symbol="ausdc", asset_id="a"),
            ListedAsset(provider="coingecko", native_id="b", symbol="ausdc", asset_id="b"),
        ]
    )
    with pytest.raises(AmbiguousSymbol) as info:
        registry.resolve("AUSDC")
    assert info.value.candidates == ["a", "b"]


def test_merge_listing_adds_provider_ids_to_known_assets() -> None:
    registry = AssetRegistry(
        [Asset("bitcoin", "BTC", "Bitcoin", 1, True, {"coingecko": "bitcoin"})]
    )
    registry.merge_listing(
        [ListedAsset(provider="coincap", native_id="bitcoin", symbol="BTC", asset_id="bitcoin")]
    )
    assert registry.get("bitcoin").native_id("coincap") == "bitcoin"
    assert registry.get("bitcoin").tracked


def test_assets_are_found_by_name_in_any_case() -> None:
    registry = seeded_registry()
    assert [a.id for a in registry.named("bitcoin")] == ["bitcoin"]
    assert [a.id for a in registry.named(" Ethereum ")] == ["ethereum"]
    assert registry.named("Not A Coin") == []
    registry.add(Asset("bitcoin-2", "BTC2", "Bitcoin", tracked=False))
    assert [a.id for a in registry.named("BITCOIN")] == ["bitcoin", "bitcoin-2"]
    # a renamed asset is found under its new name only
    registry.add(Asset("bitcoin-2", "BTC2", "Bitcoin Two", tracked=False))
    assert [a.id for a in registry.named("Bitcoin")] == ["bitcoin"]
    assert [a.id for a in registry.named("bitcoin two")] == ["bitcoin-2"]
