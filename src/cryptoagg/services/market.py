"""Market listings, trending coins, Fear & Greed, DeFi: one provider answers, others stand by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptoagg.core.models import (
    Capability,
    DefiOverview,
    FearGreed,
    MarketEntry,
    TrendingCoin,
)
from cryptoagg.resilience.cache import Cached
from cryptoagg.resilience.pool import Answer
from cryptoagg.services.context import ServiceContext

MARKETS_PAGE = 250  # one upstream page serves every limit up to this


@dataclass(frozen=True, slots=True)
class MarketReport:
    provider: str
    entries: list[MarketEntry]
    stale: bool
    age_s: float
    #: when the listing was cached: its version
    stored_at: float


class MarketService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def market(self, symbols: Sequence[str] = (), limit: int = 100) -> MarketReport:
        wanted = [self.ctx.registry.resolve(s).asset.id for s in symbols]
        cached: Cached[Answer[list[MarketEntry]]] = await self.ctx.cached(
            "markets", self.ctx.ttls.markets_s, self._load_markets
        )
        answer = cached.value
        entries = answer.value
        if wanted:
            order = {asset_id: i for i, asset_id in enumerate(wanted)}
            entries = sorted(
                (e for e in entries if e.asset_id in order), key=lambda e: order[e.asset_id]
            )
        return MarketReport(
            answer.provider, entries[:limit], cached.stale, cached.age_s, cached.stored_at
        )

    async def _load_markets(self) -> Answer[list[MarketEntry]]:
        pool = self.ctx.pool(Capability.MARKETS)
        return await pool.first(lambda p: p.markets(MARKETS_PAGE))

    async def trending(self) -> Cached[Answer[list[TrendingCoin]]]:
        pool = self.ctx.pool(Capability.TRENDING)
        return await self.ctx.cached(
            "trending", self.ctx.ttls.slow_s, lambda: pool.first(lambda p: p.trending())
        )

    async def fear_greed(self) -> Cached[Answer[FearGreed]]:
        pool = self.ctx.pool(Capability.FEAR_GREED)
        return await self.ctx.cached(
            "fear_greed", self.ctx.ttls.slow_s, lambda: pool.first(lambda p: p.fear_greed())
        )

    async def defi(self) -> Cached[Answer[DefiOverview]]:
        pool = self.ctx.pool(Capability.TVL)
        return await self.ctx.cached(
            "defi", self.ctx.ttls.slow_s, lambda: pool.first(lambda p: p.defi())
        )
