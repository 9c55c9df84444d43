"""Listing changes between refreshes: what is recorded, and what the registry follows."""

from __future__ import annotations

from cryptoagg.core.asset_changes import AssetChange, ListingTracker
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.models import ListedAsset


def cg(asset_id: str, symbol: str, name: str) -> ListedAsset:
    return ListedAsset(
        provider="coingecko", native_id=asset_id, symbol=symbol, name=name, asset_id=asset_id
    )


def kraken(code: str, symbol: str | None = None) -> ListedAsset:
    return ListedAsset(provider="kraken", native_id=code, symbol=symbol or code)


def test_the_first_listing_of_a_provider_is_one_baseline_entry() -> None:
    registry, tracker = seeded_registry(), ListingTracker()
    result = tracker.merge(
        registry,
        [cg("bitcoin", "BTC", "Bitcoin"), cg("batcat", "BTC", "Batcat"), cg("newcoin", "NEW", "N")],
    )
    assert result.added == 2
    assert result.changes == [
        AssetChange(
            "baseline",
            "coingecko",
            after="3 listed: 2 new to the registry, 0 known assets linked",
        )
    ]
    assert not registry.get("newcoin").tracked


def test_later_listings_record_each_change() -> None:
    registry, tracker = seeded_registry(), ListingTracker()
    tracker.merge(registry, [cg("bitcoin", "BTC", "Bitcoin"), cg("oldcoin", "OLD", "Old Coin")])
    result = tracker.merge(
        registry,
        [
            cg("bitcoin", "BTC", "Bitcoin"),
            cg("oldcoin", "OLDX", "Old Coin Reborn"),
            cg("freshcoin", "FRSH", "Fresh"),
        ],
    )
    assert result.added == 1
    assert result.changes == [
        AssetChange("symbol_changed", "coingecko", "oldcoin", "oldcoin", "OLD", "OLDX"),
        AssetChange(
            "name_changed", "coingecko", "oldcoin", "oldcoin", "Old Coin", "Old Coin Reborn"
        ),
        AssetChange("listed", "coingecko", "freshcoin", "freshcoin"),
    ]
    # the canonical provider renamed an untracked asset: the registry follows, as a restart
    # would; the old ticker no longer resolves to it
    assert registry.resolve("OLDX").asset.name == "Old Coin Reborn"
    assert registry.resolve("oldcoin").asset.symbol == "OLDX"


def test_tracked_assets_keep_the_seeds_ticker_but_the_change_is_recorded() -> None:
    registry, tracker = seeded_registry(), ListingTracker()
    tracker.merge(registry, [cg("bitcoin", "BTC", "Bitcoin")])
    result = tracker.merge(registry, [cg("bitcoin", "XBTC", "Bitcoin")])
    assert result.changes == [
        AssetChange("symbol_changed", "coingecko", "bitcoin", "bitcoin", "BTC", "XBTC")
    ]
    assert registry.get("bitcoin").symbol == "BTC"


def test_delistings_and_provider_links() -> None:
    registry = AssetRegistry(
        [
            Asset("bitcoin", "BTC", "Bitcoin", 1, True, {"kraken": "XBT"}),
            Asset("dogecoin", "DOGE", "Dogecoin", 8, True, {"kraken": "XDG"}),
            Asset("solana", "SOL", "Solana", 6, True, {"coinpaprika": "sol-solana"}),
        ]
    )
    tracker = ListingTracker()
    first = tracker.merge(registry, [kraken("XBT", "BTC"), kraken("XDG", "DOGE"), kraken("ZZZ")])
    assert first.changes[0].kind == "baseline"
    assert first.changes[0].after == "3 listed: 0 new to the registry, 0 known assets linked"
    paprika = ListedAsset(
        provider="coinpaprika", native_id="btc-bitcoin", symbol="BTC", asset_id="bitcoin"
    )
    tracker.merge(registry, [paprika])
    result = tracker.merge(registry, [kraken("XBT", "BTC"), kraken("XBT", "BTC")])
    # XDG is gone from Kraken's listing; ZZZ too, but it never named a registry asset
    assert result.changes == [
        AssetChange("delisted", "kraken", "dogecoin", "XDG"),
        AssetChange("delisted", "kraken", None, "ZZZ"),
    ]
    # known assets the provider did not list last time: one it already had an id for in
    # the registry, and one it is linked to now
    sol = ListedAsset(provider="coinpaprika", native_id="sol-solana", symbol="SOL")
    new_link = ListedAsset(
        provider="coinpaprika", native_id="doge-dogecoin", symbol="DOGE", asset_id="dogecoin"
    )
    linked = tracker.merge(registry, [paprika, sol, new_link])
    assert linked.changes == [
        AssetChange("provider_added", "coinpaprika", "solana", "sol-solana"),
        AssetChange("provider_added", "coinpaprika", "dogecoin", "doge-dogecoin"),
    ]
    assert registry.get("dogecoin").native_id("coinpaprika") == "doge-dogecoin"


def test_a_restored_listing_is_the_previous_one_not_a_new_baseline() -> None:
    registry, tracker = seeded_registry(), ListingTracker()
    tracker.merge(registry, [cg("bitcoin", "BTC", "Bitcoin"), cg("frogcoin", "FROG", "Frog")])
    tracker.merge(registry, [kraken("XBT", "BTC"), kraken("ZZZ")])
    assert tracker.unsaved == {"coingecko", "kraken"}
    stored = tracker.listings()
    assert sorted((r.native_id, r.asset_id) for r in stored["coingecko"]) == [
        ("bitcoin", "bitcoin"),
        ("frogcoin", "frogcoin"),
    ]

    # another process (or a restart): a registry from the seed, the stored listings
    fresh, restored = seeded_registry(), ListingTracker()
    assert restored.restore(fresh, stored) == 1
    assert fresh.get("frogcoin").symbol == "FROG" and not fresh.get("frogcoin").tracked
    assert restored.unsaved == set()
    same = restored.merge(fresh, [cg("bitcoin", "BTC", "Bitcoin"), cg("frogcoin", "FROG", "Frog")])
    assert (same.added, same.changes) == (0, [])
    assert restored.unsaved == set()  # nothing to store again
    changed = restored.merge(fresh, [kraken("XBT", "BTC")])
    assert changed.changes == [AssetChange("delisted", "kraken", None, "ZZZ")]
    assert restored.unsaved == {"kraken"}


def test_a_restored_canonical_listing_renames_an_untracked_asset() -> None:
    registry, tracker = seeded_registry(), ListingTracker()
    tracker.merge(registry, [cg("oldcoin", "OLD", "Old Coin")])
    tracker.merge(registry, [cg("oldcoin", "OLDX", "Old Coin Reborn")])
    fresh = seeded_registry()
    # an older process registered the old name from another provider's listing first
    fresh.merge_listing([cg("oldcoin", "OLD", "Old Coin")])
    ListingTracker().restore(fresh, tracker.listings())
    assert fresh.resolve("OLDX").asset.name == "Old Coin Reborn"
