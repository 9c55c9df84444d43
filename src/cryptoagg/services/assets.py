"""The asset registry as a use case: resolution and refresh from providers' listings."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from cryptoagg.core.assets import Resolution
from cryptoagg.core.models import Capability
from cryptoagg.services.context import ServiceContext

log = structlog.get_logger("cryptoagg.assets")


@dataclass(frozen=True, slots=True)
class RefreshReport:
    added: int
    providers: list[str]
    failures: dict[str, str]


class AssetService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def resolve(self, query: str) -> Resolution:
        return self.ctx.registry.resolve(query)

    async def refresh(self) -> RefreshReport:
        """Merge every listing provider's assets into the registry (auto-discovery)."""
        gathered = await self.ctx.pool(Capability.LISTING).gather(lambda p: p.listing())
        # the canonical provider first, so others' rows find the assets it created
        answers = sorted(gathered.answers, key=lambda a: a.provider != "coingecko")
        added = sum(self.ctx.registry.merge_listing(a.value) for a in answers)
        report = RefreshReport(added, [a.provider for a in answers], gathered.reasons)
        log.info(
            "assets_refreshed",
            added=added,
            providers=report.providers,
            total=len(self.ctx.registry),
        )
        return report
