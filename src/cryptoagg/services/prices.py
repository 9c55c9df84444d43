"""Consensus prices: every spot-price provider at once, USDT/USDC converted, outliers dropped.

A stablecoin's USD rate is measured (the median of its USD quotes) when some provider quoted
it in USD; otherwise it is assumed to be 1, and both the report's `conversions` and every
quote converted through it say so (the consensus then widens its band, `core/consensus.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from cryptoagg.core.assets import STABLECOINS_USD, Asset
from cryptoagg.core.consensus import MIN_TO_TELL, Agreement, Consensus, ConsensusRules, consensus
from cryptoagg.core.errors import NoProviderAvailable
from cryptoagg.core.models import Capability, Quote
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.cache import Cached
from cryptoagg.resilience.pool import ProviderPool, Skip
from cryptoagg.services.context import Served, ServiceContext
from cryptoagg.services.outliers import mark_outliers

STABLE_IDS = {"USDT": "tether", "USDC": "usd-coin"}


def _per_asset(provider: Provider) -> str | None:
    if getattr(provider, "per_asset_quotes", False):
        return "one request per asset (collected from multi-asset providers)"
    return None


@dataclass(frozen=True, slots=True)
class StableRate:
    """The USD value of a USD stablecoin: measured from `sources`' USD quotes, or assumed
    (1, no source) when none quoted it."""

    rate: Decimal
    sources: tuple[str, ...] = ()

    @property
    def assumed(self) -> bool:
        return not self.sources

    def as_data(self) -> dict[str, object]:
        """As `/api/price` and the `prices:<asset>` topic give it."""
        return {"rate": self.rate, "assumed": self.assumed, "sources": list(self.sources)}


ASSUMED = StableRate(Decimal(1))


@dataclass(frozen=True, slots=True)
class PriceReport:
    asset: Asset
    consensus: Consensus
    failures: dict[str, str]
    #: the stablecoin rates the consensus's quotes were converted at, by currency code
    conversions: dict[str, StableRate]

    def assumed_rate_sources(self) -> list[str]:
        """The sources whose quote was converted at an assumed stablecoin rate, sorted."""
        assumed = {code for code, rate in self.conversions.items() if rate.assumed}
        return sorted({q.provider for q in self.consensus.used if q.converted_from in assumed})

    def received_sources(self) -> list[str]:
        """The sources whose quote time is when it was received (no provider stamp), sorted."""
        return sorted({q.provider for q in self.consensus.used if q.time_source == "received"})


def stable_rates(quotes: Sequence[Quote]) -> dict[str, StableRate]:
    """USD value of each USD stablecoin, as the median of its USD-quoted quotes; assumed to
    be 1 when no provider quoted it in USD."""
    rates = {}
    for code, asset_id in STABLE_IDS.items():
        usd = [q for q in quotes if q.asset_id == asset_id and q.quote_currency == "USD"]
        if not usd:
            rates[code] = ASSUMED
            continue
        sources = tuple(sorted({q.provider for q in usd}))
        rates[code] = StableRate(Decimal(median(q.price for q in usd)), sources)
    return rates


def to_usd(quotes: Sequence[Quote], rates: dict[str, StableRate]) -> list[Quote]:
    """Convert stablecoin-quoted prices to USD, keeping the original currency in the quote
    and marking it when the rate was assumed."""
    out = []
    for q in quotes:
        if q.quote_currency in STABLECOINS_USD:
            stable = rates.get(q.quote_currency, ASSUMED)
            rate = stable.rate
            volume = q.volume_24h * rate if q.volume_24h is not None else None
            converted = q.model_copy(
                update={
                    "price": q.price * rate,
                    "volume_24h": volume,
                    "quote_currency": "USD",
                    "converted_from": q.quote_currency,
                    "rate_assumed": stable.assumed,
                }
            )
            out.append(converted)
        else:
            out.append(q)
    return out


@dataclass(frozen=True, slots=True)
class PriceBatch:
    reports: list[PriceReport]
    #: assets no provider had a fresh quote for
    missing: list[str]
    failures: dict[str, str]


@dataclass(frozen=True, slots=True)
class Prices:
    """Several assets' answers, each with its own freshness."""

    reports: list[Served[PriceReport]]
    missing: list[str]


class PriceService:
    def __init__(self, ctx: ServiceContext, rules: ConsensusRules | None = None) -> None:
        self.ctx = ctx
        self.rules = rules or ConsensusRules(max_age=timedelta(seconds=ctx.ttls.quote_max_age_s))
        #: the latest consensus of every asset, however it was asked for
        self._latest: dict[str, Consensus] = {}

    def recent(self, max_age_s: float) -> dict[str, Consensus]:
        """The latest consensus of each asset whose quotes are at most `max_age_s` old (no
        upstream call: what clients and collectors were last answered)."""
        now = self.ctx.clock()
        return {
            asset_id: c
            for asset_id, c in self._latest.items()
            if (now - c.as_of).total_seconds() <= max_age_s
        }

    def _answer(self, cached: Cached[Any], report: PriceReport) -> Served[PriceReport]:
        return self.ctx.served(
            replace(cached, value=report),
            self.ctx.ttls.price_s,
            report.consensus.as_of,
            report.failures,
        )

    async def price(self, query: str) -> Served[PriceReport]:
        """One asset's consensus, from the cache entry `prices` keeps for that asset alone:
        `/api/price/bitcoin` and `/api/v3/simple/price?ids=bitcoin` cost one upstream load."""
        asset = self.ctx.registry.resolve(query).asset
        cached = await self.ctx.cached(
            _key([asset]), self.ctx.ttls.price_s, lambda: self._load([asset])
        )
        [report] = cached.value.reports  # a load with no report raises
        return self._answer(cached, report)

    async def prices(self, queries: Sequence[str]) -> Served[Prices]:
        """Consensus for several assets from one multi-asset call per provider. The cache key
        is the sorted set of asset ids, so `BTC,eth` and `ethereum,bitcoin` share an entry.
        The whole answer is stale when any of its prices is."""
        assets = list(
            {a.id: a for a in (self.ctx.registry.resolve(q).asset for q in queries)}.values()
        )
        cached = await self.ctx.cached(
            _key(assets), self.ctx.ttls.price_s, lambda: self._load(assets)
        )
        rank = {a.id: i for i, a in enumerate(assets)}
        batch = cached.value
        ordered = sorted(batch.reports, key=lambda r: rank[r.asset.id])
        answers = [self._answer(cached, r) for r in ordered]
        served = self.ctx.served(cached, self.ctx.ttls.price_s, None, batch.failures)
        stale = served.stale or any(a.stale for a in answers)
        whole = replace(served, stale=stale, version=(*served.version, stale))
        return whole.map(Prices(answers, batch.missing))

    async def collect(self, queries: Sequence[str]) -> PriceBatch:
        """Consensus for a collector run: from the providers that quote many assets in one
        call (a per-asset provider would cost one request per asset every run), and not
        from or into the clients' cache."""
        assets = [self.ctx.registry.resolve(q).asset for q in queries]
        return await self._load(assets, skip=_per_asset)

    async def consensus_of(self, asset_ids: Sequence[str]) -> dict[str, Consensus]:
        """A fresh consensus of each of these assets that has one, from the multi-asset
        providers (one call each), or none when they all fail: to settle a listing's
        disputed prices."""
        assets = [self.ctx.registry.get(i) for i in asset_ids if i in self.ctx.registry]
        if not assets:
            return {}
        try:
            batch = await self._load(assets, skip=_per_asset)
        except NoProviderAvailable:
            return {}
        return {r.asset.id: r.consensus for r in batch.reports}

    @staticmethod
    def _check(pool: ProviderPool, reports: Sequence[PriceReport]) -> None:
        """Mark the providers whose quotes the consensus dropped as outliers (where there
        were enough quotes to tell)."""
        agreement = Agreement()
        for report in reports:
            c = report.consensus
            outliers = [d.quote.provider for d in c.dropped if d.reason == "outlier"]
            if len(c.used) + len(outliers) >= MIN_TO_TELL:
                agreement.checked.update(q.provider for q in c.used)
                agreement.checked.update(outliers)
                agreement.replaced.update(outliers)
        mark_outliers(pool, agreement, "price")

    async def _load(self, assets: Sequence[Asset], skip: Skip | None = None) -> PriceBatch:
        ids = {a.id for a in assets}
        wanted = list(assets) + [
            self.ctx.registry.get(stable_id)
            for stable_id in STABLE_IDS.values()
            if stable_id not in ids and stable_id in self.ctx.registry
        ]
        pool = self.ctx.pool(Capability.SPOT_PRICE)
        gathered = await pool.gather(lambda p: p.spot_prices(wanted), skip)
        quotes = [q for answer in gathered.answers for q in answer.value]
        rates = stable_rates(quotes)
        usd_quotes = to_usd(quotes, rates)
        now = self.ctx.clock()
        reports, missing = [], []
        for asset in assets:
            result = consensus(asset.id, usd_quotes, now, self.rules)
            if result is None:
                missing.append(asset.id)
                continue
            used = {q.converted_from for q in result.used if q.converted_from}
            conversions = {code: rates[code] for code in sorted(used)}
            reports.append(PriceReport(asset, result, dict(gathered.reasons), conversions))
            self._latest[asset.id] = result
        self._check(pool, reports)
        failures = dict(gathered.reasons)
        if missing:
            for answer in gathered.answers:
                failures.setdefault(answer.provider, "no fresh quote for this asset")
        if not reports:
            raise NoProviderAvailable(Capability.SPOT_PRICE.value, failures, gathered.retry_after_s)
        return PriceBatch(reports, missing, failures)


def _key(assets: Sequence[Asset]) -> str:
    """The cache key of a set of assets' prices: their sorted ids."""
    return "prices:" + ",".join(sorted(a.id for a in assets))
