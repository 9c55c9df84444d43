"""The asset registry as a use case: resolution and refresh from providers' listings.

What a refresh finds is stored (`services/asset_listings.py`, the change log in
`services/asset_changes.py`), so the registry of every process holds it: read at start-up and
taken over by `sync` whenever another process (`cryptoagg assets refresh`, a replica's
discovery) stored something newer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from cryptoagg.core.asset_changes import AssetChange, ListingTracker
from cryptoagg.core.assets import Asset, AssetRegistry, Resolution
from cryptoagg.core.models import Capability
from cryptoagg.services import asset_changes, asset_listings
from cryptoagg.services.asset_changes import AssetChangeLog
from cryptoagg.services.context import ServiceContext
from cryptoagg.storage.configuration import ConfigurationRepository

log = structlog.get_logger("cryptoagg.assets")

#: the stored values `sync` watches
STORED_KEYS = (asset_listings.CONFIG_KEY, asset_changes.CONFIG_KEY)


@dataclass(frozen=True, slots=True)
class RefreshReport:
    added: int
    providers: list[str]
    failures: dict[str, str]
    #: listing changes recorded (see `services/asset_changes.py`)
    changes: int = 0
    #: the changes themselves, in the order recorded
    recorded: list[AssetChange] = field(default_factory=list)


class AssetService:
    def __init__(
        self,
        ctx: ServiceContext,
        changes: AssetChangeLog | None = None,
        store: ConfigurationRepository | None = None,
    ) -> None:
        self.ctx = ctx
        self.changes = changes if changes is not None else AssetChangeLog(None, ctx.clock)
        self.store = store
        self.tracker = ListingTracker()
        #: when the stored values were written, as last read
        self._versions: dict[str, datetime] = {}
        # a refresh and a sync never interleave: a sync taking an older stored listing in the
        # middle of a refresh would make its changes look new again
        self._lock = asyncio.Lock()

    @property
    def registry(self) -> AssetRegistry:
        """The registry itself, for answers that look many assets up by id (the
        CoinGecko-compatible face); resolution of what a client typed goes through `resolve`."""
        return self.ctx.registry

    def count(self) -> int:
        """How many assets the registry holds."""
        return len(self.ctx.registry)

    def resolve(self, query: str) -> Resolution:
        return self.ctx.registry.resolve(query)

    def find(self, asset_id: str) -> Asset | None:
        """The asset with this canonical id, if the registry holds it."""
        registry = self.ctx.registry
        return registry.get(asset_id) if asset_id in registry else None

    def namesakes(self, asset: Asset) -> list[str]:
        """The ids of the other assets sharing `asset`'s ticker, sorted."""
        registry = self.ctx.registry
        same = registry.search(asset.symbol, limit=len(registry))
        ticker = asset.symbol.upper()
        return sorted(a.id for a in same if a.symbol.upper() == ticker and a.id != asset.id)

    def search(self, text: str, limit: int) -> list[Asset]:
        """Assets whose id or name contains `text` or whose ticker is `text`; tracked first,
        then by rank."""
        return self.ctx.registry.search(text, limit)

    async def sync(self) -> int:
        """Take over what was stored since the last look (at start-up: everything): the
        listings into the registry, the change log. Returns how many assets were added."""
        async with self._lock:
            return await self._sync()

    async def _sync(self) -> int:
        store = self.store
        if store is None:
            return 0
        versions = await asyncio.to_thread(store.updated_at, STORED_KEYS)
        added = 0
        key = asset_listings.CONFIG_KEY
        if key in versions and versions[key] != self._versions.get(key):
            stored = asset_listings.decode(await asyncio.to_thread(store.get, key))
            added = self.tracker.restore(self.ctx.registry, stored)
            log.info("asset_listings_loaded", providers=sorted(stored), added=added)
        key = asset_changes.CONFIG_KEY
        if key in versions and versions[key] != self._versions.get(key):
            self.changes.replace(await asyncio.to_thread(self.changes.read))
        self._versions = versions
        return added

    async def refresh(self) -> RefreshReport:
        """Merge every listing provider's assets into the registry (auto-discovery), record
        what changed since the stored listings and store the new ones."""
        async with self._lock:
            await self._sync()  # compare with what any process stored last
            gathered = await self.ctx.pool(Capability.LISTING).gather(lambda p: p.listing())
            # the canonical provider first, so others' rows find the assets it created
            answers = sorted(gathered.answers, key=lambda a: a.provider != "coingecko")
            merged = [self.tracker.merge(self.ctx.registry, a.value) for a in answers]
            added = sum(m.added for m in merged)
            logged = await self.changes.record([c for m in merged for c in m.changes])
            await self._save(changes_written=bool(logged))
        report = RefreshReport(
            added,
            [a.provider for a in answers],
            gathered.reasons,
            changes=len(logged),
            recorded=[e.change for e in logged],
        )
        log.info(
            "assets_refreshed",
            added=added,
            providers=report.providers,
            total=len(self.ctx.registry),
        )
        return report

    async def _save(self, *, changes_written: bool) -> None:
        """Store the listings when one changed since they were last stored or read."""
        store = self.store
        if store is None:
            return
        written = [asset_changes.CONFIG_KEY] if changes_written else []
        if self.tracker.unsaved:
            value = asset_listings.encode(self.tracker.listings())
            await asyncio.to_thread(store.set, asset_listings.CONFIG_KEY, value)
            self.tracker.unsaved.clear()
            written.append(asset_listings.CONFIG_KEY)
        if written:  # our own writes are not news to `sync`
            self._versions |= await asyncio.to_thread(store.updated_at, written)
