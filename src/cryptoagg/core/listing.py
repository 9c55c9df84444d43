"""One market listing from every listing provider, its prices checked against the consensus.

Each asset's row takes the figures of every provider that listed it. Its price is the spot
consensus (`core/consensus.py`) when one is known for the asset, else the consensus of the
listings' own prices (median, outliers dropped, which needs three listings to tell an
outlier; two that disagree are `disputed`, and the caller fetches a spot consensus for
them). A listing whose price lies outside the consensus band (widened by the rules'
`min_rel_dev`) is replaced: its figures are left out of the row and reported in `replaced`,
never served. Market cap, volume, 24 h change and supply are the medians over the listings
kept (none when every listing was replaced: then only the consensus price is served); ranks
follow the resulting market caps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Literal

from cryptoagg.core.consensus import MIN_TO_TELL, Agreement, Consensus, ConsensusRules, consensus
from cryptoagg.core.models import MarketEntry, Quote

PriceBasis = Literal["consensus", "listing"]
#: a listing's own timestamps are not a freshness test here (the caller's cache is)
_ANY_AGE = timedelta(days=3650)


@dataclass(frozen=True, slots=True)
class Replaced:
    """A listing left out of a row because its price disagreed with the consensus."""

    provider: str
    price: Decimal
    reason: str = "outlier"


class ListingRow(MarketEntry):
    """One asset of the assembled listing. `provider` is the first of `sources`."""

    #: the listing providers whose figures the row uses
    sources: tuple[str, ...]
    #: where the price comes from: the spot consensus's providers, or the kept listings
    price_sources: tuple[str, ...]
    price_basis: PriceBasis
    replaced: tuple[Replaced, ...] = ()


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[ListingRow]
    agreement: Agreement


def _median(values: Sequence[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return Decimal(median(present)) if present else None


def _quote(entry: MarketEntry) -> Quote:
    return Quote(
        asset_id=entry.asset_id, provider=entry.provider, price=entry.price, as_of=entry.as_of
    )


@dataclass(frozen=True, slots=True)
class _Priced:
    price: Decimal
    as_of: datetime
    sources: tuple[str, ...]
    basis: PriceBasis
    kept: list[MarketEntry]
    #: whether the listings could be told apart (a spot consensus, or three listings)
    checked: bool


def _price(
    entries: list[MarketEntry], spot: Consensus | None, now: datetime, rules: ConsensusRules
) -> _Priced | None:
    if spot is not None:
        slack = rules.min_rel_dev * spot.price
        kept = [e for e in entries if spot.low - slack <= e.price <= spot.high + slack]
        return _Priced(spot.price, spot.as_of, tuple(spot.sources), "consensus", kept, checked=True)
    agreed = consensus(entries[0].asset_id, [_quote(e) for e in entries], now, rules)
    if agreed is None:
        return None
    used = set(agreed.sources)
    kept = [e for e in entries if e.provider in used]
    return _Priced(
        agreed.price,
        agreed.as_of,
        tuple(agreed.sources),
        "listing",
        kept,
        checked=len(entries) >= MIN_TO_TELL,
    )


def _row(entries: list[MarketEntry], priced: _Priced) -> ListingRow:
    kept = priced.kept
    kept_names = {e.provider for e in kept}
    first = entries[0]
    sources = tuple(sorted(e.provider for e in kept))
    return ListingRow(
        asset_id=first.asset_id,
        symbol=first.symbol,
        name=first.name,
        rank=None,
        price=priced.price,
        as_of=priced.as_of,
        provider=sources[0] if sources else priced.sources[0],
        change_24h_pct=_median([e.change_24h_pct for e in kept]),
        market_cap=_median([e.market_cap for e in kept]),
        volume_24h=_median([e.volume_24h for e in kept]),
        circulating_supply=_median([e.circulating_supply for e in kept]),
        sources=sources,
        price_sources=priced.sources,
        price_basis=priced.basis,
        replaced=tuple(
            Replaced(provider=e.provider, price=e.price)
            for e in entries
            if e.provider not in kept_names
        ),
    )


def _order_key(row: ListingRow, listed_rank: int) -> tuple[int, Decimal, int]:
    cap = row.market_cap
    return (0 if cap is not None else 1, -(cap or Decimal(0)), listed_rank)


#: each listing provider's name and rows, in preference order
Listings = Sequence[tuple[str, Sequence[MarketEntry]]]


def _by_asset(listings: Listings) -> dict[str, list[MarketEntry]]:
    by_asset: dict[str, list[MarketEntry]] = {}
    for _provider, entries in listings:
        for entry in entries:
            by_asset.setdefault(entry.asset_id, []).append(entry)
    return by_asset


def disputed(
    listings: Listings,
    spot: Mapping[str, Consensus],
    rules: ConsensusRules | None = None,
) -> list[str]:
    """Assets with no spot consensus whose listings disagree (by more than `min_rel_dev`) but
    are too few to tell which is off: they need a consensus to be priced honestly."""
    limit = (rules or ConsensusRules()).min_rel_dev
    found = []
    for asset_id, entries in _by_asset(listings).items():
        if asset_id in spot or not 2 <= len(entries) < MIN_TO_TELL:
            continue
        prices = [e.price for e in entries]
        if max(prices) - min(prices) > limit * min(prices):
            found.append(asset_id)
    return found


def assemble(
    listings: Listings,
    spot: Mapping[str, Consensus],
    now: datetime,
    rules: ConsensusRules | None = None,
    limit: int | None = None,
) -> Listing:
    """The listing of `listings` (provider name and rows, in preference order), priced by
    `spot` consensus where it has the asset."""
    rules = ConsensusRules(
        k=(rules or ConsensusRules()).k,
        min_rel_dev=(rules or ConsensusRules()).min_rel_dev,
        max_age=_ANY_AGE,
    )
    by_asset = _by_asset(listings)
    best_rank = {
        asset_id: min(e.rank if e.rank is not None else 1_000_000 for e in entries)
        for asset_id, entries in by_asset.items()
    }
    agreement = Agreement()
    rows = []
    for asset_id, entries in by_asset.items():
        priced = _price(entries, spot.get(asset_id), now, rules)
        if priced is None:
            continue
        row = _row(entries, priced)
        if priced.checked:
            agreement.checked.update(e.provider for e in entries)
            agreement.replaced.update(r.provider for r in row.replaced)
        rows.append(row)
    rows.sort(key=lambda r: _order_key(r, best_rank[r.asset_id]))
    ranked = [r.model_copy(update={"rank": i}) for i, r in enumerate(rows, start=1)]
    return Listing(ranked[:limit] if limit is not None else ranked, agreement)
