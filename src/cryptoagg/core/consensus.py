"""Consensus price: the median of fresh quotes after dropping outliers.

Outliers are found with the median absolute deviation (MAD): a quote is dropped when it lies
further from the median than `k` scaled MADs *and* further than `min_rel_dev` of the median
(the second bound keeps a near-zero MAD, e.g. three identical quotes, from condemning honest
quotes a hair away). The confidence band is the range of the kept quotes, with its width in
basis points, so a client can see how well the sources agree.

A quote converted from a USD stablecoin at an *assumed* rate (1 USD: no provider measured the
rate) is only known to within the stablecoin's usual distance from its peg, so it spans
±`assumed_rate_allowance` (0.5%) of its price in the band: a single such quote never yields a
zero-width band. The allowance covers ordinary peg drift, not a de-peg.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from cryptoagg.core.models import Quote

#: quotes of one asset needed to tell an outlier from an honest disagreement (with two, the
#: median sits halfway and neither is further off than the other)
MIN_TO_TELL = 3
MAD_SCALE = Decimal("1.4826")  # makes the MAD a consistent estimator of sigma for normal data


@dataclass(frozen=True, slots=True)
class ConsensusRules:
    k: Decimal = Decimal(3)
    min_rel_dev: Decimal = Decimal("0.01")
    max_age: timedelta = timedelta(minutes=5)
    min_sources: int = 1
    #: how far a quote converted at an assumed stablecoin rate may be off, either way
    assumed_rate_allowance: Decimal = Decimal("0.005")


@dataclass(frozen=True, slots=True)
class Dropped:
    quote: Quote
    reason: str  # "outlier" | "stale"


@dataclass(frozen=True, slots=True)
class Consensus:
    asset_id: str
    price: Decimal
    low: Decimal
    high: Decimal
    spread_bps: Decimal
    mad: Decimal
    as_of: datetime
    used: tuple[Quote, ...]
    dropped: tuple[Dropped, ...]

    @property
    def sources(self) -> list[str]:
        return [q.provider for q in self.used]


def _median(values: Sequence[Decimal]) -> Decimal:
    return Decimal(median(values))


def _bounds(quote: Quote, rules: ConsensusRules) -> tuple[Decimal, Decimal]:
    """The prices `quote` stands for: its own, or ± the allowance if its rate was assumed."""
    if quote.rate_assumed:
        allowance = quote.price * rules.assumed_rate_allowance
        return quote.price - allowance, quote.price + allowance
    return quote.price, quote.price


def consensus(
    asset_id: str,
    quotes: Sequence[Quote],
    now: datetime,
    rules: ConsensusRules | None = None,
) -> Consensus | None:
    """Return the consensus of `quotes` for one asset, or None when no fresh quote remains."""
    rules = rules or ConsensusRules()
    mine = [q for q in quotes if q.asset_id == asset_id and q.price > 0]
    fresh = [q for q in mine if now - q.as_of <= rules.max_age]
    dropped = [Dropped(q, "stale") for q in mine if q not in fresh]
    if len(fresh) < rules.min_sources or not fresh:
        return None
    mid = _median([q.price for q in fresh])
    mad = _median([abs(q.price - mid) for q in fresh])
    limit = max(rules.k * MAD_SCALE * mad, rules.min_rel_dev * mid)
    kept = [q for q in fresh if abs(q.price - mid) <= limit]
    dropped += [Dropped(q, "outlier") for q in fresh if q not in kept]
    price = _median([q.price for q in kept])
    bounds = [_bounds(q, rules) for q in kept]
    low = min(lo for lo, _ in bounds)
    high = max(hi for _, hi in bounds)
    spread = ((high - low) / price * 10_000).quantize(Decimal("0.01")) if price else Decimal(0)
    return Consensus(
        asset_id=asset_id,
        price=price,
        low=low,
        high=high,
        spread_bps=spread,
        mad=mad,
        as_of=max(q.as_of for q in kept),
        used=tuple(sorted(kept, key=lambda q: q.provider)),
        dropped=tuple(dropped),
    )


@dataclass(slots=True)
class Agreement:
    """Per provider: how many of its prices could be checked against a consensus, and how
    many disagreed with it (dropped or replaced as outliers)."""

    checked: Counter[str] = field(default_factory=Counter)
    replaced: Counter[str] = field(default_factory=Counter)

    def outliers(self, share: float, what: str) -> dict[str, str]:
        """Providers with at least `share` of their checked prices off, and why."""
        marked = {}
        for provider, bad in sorted(self.replaced.items()):
            checked = self.checked[provider]
            if bad and bad >= share * checked:
                marked[provider] = f"{what} off the consensus for {bad} of {checked} assets"
        return marked
