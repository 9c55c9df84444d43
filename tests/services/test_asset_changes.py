"""The listing-change log: recorded by AssetService.refresh, bounded, persisted in
`configuration` (SQLite and PostgreSQL) and read back after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cryptoagg.core.asset_changes import AssetChange
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.models import Capability, ListedAsset
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.services import asset_listings
from cryptoagg.services.asset_changes import CONFIG_KEY, AssetChangeLog
from cryptoagg.services.assets import AssetService
from cryptoagg.services.context import ServiceContext, Ttls
from cryptoagg.storage.configuration import ConfigurationRepository
from tests.support import FakeClock, fake_pool

T0 = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


class FakeListing:
    requires_key = False
    capabilities = frozenset({Capability.LISTING})
    disabled_reason: str | None = None

    def __init__(self, name: str, rows: list[ListedAsset]) -> None:
        self.name = name
        self.rows = rows

    async def listing(self) -> list[ListedAsset]:
        return self.rows


def coingecko_rows(*extra: tuple[str, str, str]) -> list[ListedAsset]:
    rows = [("bitcoin", "btc", "Bitcoin"), ("ethereum", "eth", "Ethereum"), *extra]
    return [
        ListedAsset(provider="coingecko", native_id=i, symbol=s.upper(), name=n, asset_id=i)
        for i, s, n in rows
    ]


def asset_service(engine: Engine, clock: FakeClock, provider: FakeListing) -> AssetService:
    pool = fake_pool(provider, capability=Capability.LISTING, clock=clock)
    wall = clock.wall
    ctx = ServiceContext(seeded_registry(), {Capability.LISTING: pool}, TTLCache(), Ttls(), wall)
    store = ConfigurationRepository(engine, wall)
    changes = AssetChangeLog(store, wall)
    changes.load()
    return AssetService(ctx, changes, store)


async def test_refresh_records_changes_that_survive_a_restart(migrated: Engine) -> None:
    clock = FakeClock(T0)
    provider = FakeListing("coingecko", coingecko_rows(("frogcoin", "frog", "Frog Coin")))
    assets = asset_service(migrated, clock, provider)

    first = await assets.refresh()
    assert (first.added, first.changes) == (1, 1)
    clock.now = T0 + timedelta(hours=6)
    provider.rows = coingecko_rows(
        ("frogcoin", "frog2", "Frog Coin"), ("hatcoin", "hat", "Hat Coin")
    )
    second = await assets.refresh()
    assert (second.added, second.changes) == (1, 2)
    assert assets.resolve("FROG2").asset.id == "frogcoin"

    restarted = asset_service(migrated, clock, provider)
    entries = restarted.changes.recent(10)
    assert [(e.at, e.change) for e in entries] == [
        (T0 + timedelta(hours=6), AssetChange("listed", "coingecko", "hatcoin", "hatcoin")),
        (
            T0 + timedelta(hours=6),
            AssetChange("symbol_changed", "coingecko", "frogcoin", "frogcoin", "FROG", "FROG2"),
        ),
        (
            T0,
            AssetChange(
                "baseline",
                "coingecko",
                after="3 listed: 1 new to the registry, 0 known assets linked",
            ),
        ),
    ]
    assert [e.change.kind for e in restarted.changes.recent(10, kind="listed")] == ["listed"]
    assert len(restarted.changes.recent(10, since=T0 + timedelta(hours=1))) == 2
    assert restarted.changes.recent(10, provider="kraken") == []
    assert len(restarted.changes.recent(1)) == 1


async def test_the_log_keeps_the_newest_entries_and_skips_unreadable_ones(
    migrated: Engine,
) -> None:
    clock = FakeClock(T0)
    store = ConfigurationRepository(migrated, clock.wall)
    log = AssetChangeLog(store, clock.wall, max_entries=3)
    for i in range(5):
        clock.now = T0 + timedelta(minutes=i)
        await log.record([AssetChange("listed", "coingecko", f"coin-{i}", f"coin-{i}")])
    assert [e.change.asset_id for e in log.recent(10)] == ["coin-4", "coin-3", "coin-2"]
    stored = store.get(CONFIG_KEY)
    assert len(stored) == 3
    store.set(CONFIG_KEY, [*stored, {"kind": "exploded"}, "not an entry", {"at": "never"}])
    again = AssetChangeLog(store, clock.wall, max_entries=3)
    assert again.load() == 3
    assert [e.change.asset_id for e in again.recent(10)] == ["coin-4", "coin-3", "coin-2"]
    assert await again.record([]) == []


async def test_listings_are_stored_once_and_read_back_skipping_unreadable_rows(
    migrated: Engine,
) -> None:
    clock = FakeClock(T0)
    provider = FakeListing("coingecko", coingecko_rows(("frogcoin", "frog", "Frog Coin")))
    store = ConfigurationRepository(migrated, clock.wall)
    assets = asset_service(migrated, clock, provider)
    await assets.refresh()
    stored = store.get(asset_listings.CONFIG_KEY)
    assert stored["providers"]["coingecko"][-1] == ["frogcoin", "FROG", "Frog Coin", "frogcoin"]
    written = store.updated_at([asset_listings.CONFIG_KEY])
    clock.now = T0 + timedelta(hours=1)
    assert (await assets.refresh()).changes == 0
    assert store.updated_at([asset_listings.CONFIG_KEY]) == written  # unchanged: not rewritten

    stored["providers"]["coingecko"] += [["bad"], ["x", None, None, None], "not a row"]
    stored["providers"]["kraken"] = "not rows"
    assert len(asset_listings.decode(stored)["coingecko"]) == 3
    assert "kraken" not in asset_listings.decode(stored)
    assert asset_listings.decode({"version": 99, "providers": {}}) == {}
    assert asset_listings.decode("garbage") == {}
