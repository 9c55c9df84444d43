"""Market listings (every listing provider at once, priced by the consensus), trending coins,
Fear & Greed and DeFi (one provider answers, others stand by). The coin images the listings
and trending answers name are handed to the image service (`services/images.py`), which
serves them from our own origin."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from cryptoagg.core.consensus import ConsensusRules
from cryptoagg.core.errors import NoProviderAvailable
from cryptoagg.core.listing import ListingRow, assemble, disputed
from cryptoagg.core.models import (
    Capability,
    DefiOverview,
    FearGreed,
    MarketEntry,
    TrendingCoin,
)
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.cache import Cached
from cryptoagg.resilience.pool import Answer, Call
from cryptoagg.services.context import Served, ServiceContext
from cryptoagg.services.images import ImageService
from cryptoagg.services.outliers import mark_outliers
from cryptoagg.services.prices import PriceService

T = TypeVar("T")

MARKETS_PAGE = 250  # one upstream page serves every limit up to this


@dataclass(frozen=True, slots=True)
class Listed:
    """The assembled listing as cached: its rows, the providers that answered and those
    that failed."""

    rows: list[ListingRow]
    providers: tuple[str, ...]
    failures: dict[str, str]
    assembled_at: datetime


@dataclass(frozen=True, slots=True)
class MarketRow:
    row: ListingRow
    age_s: float
    stale: bool


@dataclass(frozen=True, slots=True)
class MarketReport:
    rows: list[MarketRow]
    #: the listing providers whose answers the listing was assembled from
    providers: tuple[str, ...]
    assembled_at: datetime

    @property
    def entries(self) -> list[ListingRow]:
        return [r.row for r in self.rows]


class MarketService:
    def __init__(
        self,
        ctx: ServiceContext,
        prices: PriceService | None = None,
        rules: ConsensusRules | None = None,
        *,
        images: ImageService | None = None,
    ) -> None:
        self.ctx = ctx
        self.prices = prices
        self.rules = rules or ConsensusRules()
        self.images = images

    async def market(self, symbols: Sequence[str] = (), limit: int = 100) -> Served[MarketReport]:
        """The listing (or the rows of `symbols`, in that order), each row with its age and
        whether it is stale."""
        wanted = [self.ctx.registry.resolve(s).asset.id for s in symbols]
        ttl = self.ctx.ttls.markets_s
        cached: Cached[Listed] = await self.ctx.cached("markets", ttl, self._load_markets)
        listed = cached.value
        rows = listed.rows
        if wanted:
            order = {asset_id: i for i, asset_id in enumerate(wanted)}
            rows = sorted((r for r in rows if r.asset_id in order), key=lambda r: order[r.asset_id])
        served = self.ctx.served(cached, ttl, None, listed.failures)
        report = MarketReport(
            [
                MarketRow(r, self.ctx.age_s(r.as_of), served.stale or self.ctx.is_stale(r.as_of))
                for r in rows[:limit]
            ],
            listed.providers,
            listed.assembled_at,
        )
        return served.map(report)

    async def _load_markets(self) -> Listed:
        pool = self.ctx.pool(Capability.MARKETS)
        gathered = await pool.gather(lambda p: p.markets(MARKETS_PAGE))
        if not gathered.answers:
            raise NoProviderAvailable(pool.id, gathered.reasons, gathered.retry_after_s)
        listings: list[tuple[str, Sequence[MarketEntry]]] = [
            (a.provider, a.value) for a in gathered.answers
        ]
        if self.images is not None:
            for _, entries in listings:
                for entry in entries:
                    if entry.image:
                        self.images.learn(entry.asset_id, entry.symbol, entry.image)
        spot = {}
        if self.prices is not None:
            spot = self.prices.recent(self.ctx.ttls.markets_s)
            unsettled = disputed(listings, spot, self.rules)
            if unsettled:
                spot |= await self.prices.consensus_of(unsettled)
        now = self.ctx.clock()
        listing = assemble(listings, spot, now, self.rules, MARKETS_PAGE)
        mark_outliers(pool, listing.agreement, "listing price")
        answered = tuple(a.provider for a in gathered.answers)
        return Listed(listing.rows, answered, dict(gathered.reasons), now)

    async def _first(
        self,
        capability: Capability,
        call: Call[T],
        as_of: Callable[[Answer[T]], datetime],
        max_age_s: float,
    ) -> Served[Answer[T]]:
        """The first provider's answer, cached for the slow TTL; stale past `max_age_s`."""
        pool = self.ctx.pool(capability)
        ttl = self.ctx.ttls.slow_s
        cached = await self.ctx.cached(capability.value, ttl, lambda: pool.first(call))
        return self.ctx.served(cached, ttl, as_of(cached.value), max_age_s=max_age_s)

    async def trending(self) -> Served[Answer[list[TrendingCoin]]]:
        return await self._first(
            Capability.TRENDING,
            self._trending_of,
            lambda a: a.fetched_at,
            self.ctx.ttls.slow_s * 2,
        )

    async def _trending_of(self, provider: Provider) -> list[TrendingCoin]:
        coins = await provider.trending()
        if self.images is not None:
            for coin in coins:
                self.images.learn(coin.asset_id, coin.symbol, coin.thumb)
        return coins

    async def fear_greed(self) -> Served[Answer[FearGreed]]:
        # the index is published daily
        return await self._first(
            Capability.FEAR_GREED, lambda p: p.fear_greed(), lambda a: a.value.as_of, 2 * 86400
        )

    async def defi(self) -> Served[Answer[DefiOverview]]:
        return await self._first(
            Capability.TVL, lambda p: p.defi(), lambda a: a.value.as_of, self.ctx.ttls.slow_s * 2
        )
