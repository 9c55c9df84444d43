"""The asset registry as a use case: resolution and refresh from providers' listings."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from cryptoagg.core.asset_changes import ListingTracker
from cryptoagg.core.assets import Asset, Resolution
from cryptoagg.core.models import Capability
from cryptoagg.services.asset_changes import AssetChangeLog
from cryptoagg.services.context import ServiceContext

log = structlog.get_logger("cryptoagg.assets")


@dataclass(frozen=True, slots=True)
class RefreshReport:
    added: int
    providers: list[str]
    failures: dict[str, str]
    #: listing changes recorded (see `services/asset_changes.py`)
    changes: int = 0


class AssetService:
    def __init__(self, ctx: ServiceContext, changes: AssetChangeLog | None = None) -> None:
        self.ctx = ctx
        self.changes = changes if changes is not None else AssetChangeLog(None, ctx.clock)
        self.tracker = ListingTracker()

    def resolve(self, query: str) -> Resolution:
        return self.ctx.registry.resolve(query)

    def search(self, text: str, limit: int) -> list[Asset]:
        """Assets whose id or name contains `text` or whose ticker is `text`; tracked first,
        then by rank."""
        return self.ctx.registry.search(text, limit)

    async def refresh(self) -> RefreshReport:
        """Merge every listing provider's assets into the registry (auto-discovery)."""
        gathered = await self.ctx.pool(Capability.LISTING).gather(lambda p: p.listing())
        # the canonical provider first, so others' rows find the assets it created
        answers = sorted(gathered.answers, key=lambda a: a.provider != "coingecko")
        merged = [self.tracker.merge(self.ctx.registry, a.value) for a in answers]
        added = sum(m.added for m in merged)
        logged = await self.changes.record([c for m in merged for c in m.changes])
        report = RefreshReport(
            added, [a.provider for a in answers], gathered.reasons, changes=len(logged)
        )
        log.info(
            "assets_refreshed",
            added=added,
            providers=report.providers,
            total=len(self.ctx.registry),
        )
        return report
