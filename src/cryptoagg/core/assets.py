"""The asset registry: canonical ids, per-provider symbols, aliases and symbol resolution.

The canonical id of an asset is its CoinGecko id (`bitcoin`). Each asset records the native
id or base symbol every provider uses for it (`kraken: XBT`, `coinpaprika: btc-bitcoin`); a
provider without an entry does not list the asset. Resolution never guesses: a ticker that
names several *tracked* assets, or several listed ones when none is tracked, is refused with
the candidates (`AmbiguousSymbol`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptoagg.core.errors import AmbiguousSymbol, UnknownAsset
from cryptoagg.core.models import ListedAsset

#: provider symbols that differ from the common ticker, mapped to it
ALIASES: Mapping[str, str] = {"XBT": "BTC", "XDG": "DOGE"}

STABLECOINS_USD: frozenset[str] = frozenset({"USDT", "USDC"})


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    symbol: str
    name: str
    rank: int | None = None
    tracked: bool = True
    provider_ids: Mapping[str, str] = field(default_factory=dict)

    def native_id(self, provider: str) -> str | None:
        return self.provider_ids.get(provider)


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a query was resolved, for `/api/resolve`."""

    query: str
    asset: Asset
    matched_by: str  # "id" | "symbol" | "alias" | "name"


def normalise_symbol(symbol: str) -> str:
    upper = symbol.strip().upper()
    return ALIASES.get(upper, upper)


class AssetRegistry:
    """In-memory registry. Built once at start-up; `merge_listing` adds listed assets."""

    def __init__(self, assets: Iterable[Asset] = ()) -> None:
        self._by_id: dict[str, Asset] = {}
        self._by_native: dict[tuple[str, str], str] = {}
        self._by_name: dict[str, set[str]] = {}
        for asset in assets:
            self.add(asset)

    # -- building --------------------------------------------------------------------------

    def add(self, asset: Asset) -> None:
        before = self._by_id.get(asset.id)
        if before is not None:
            self._by_name.get(before.name.lower(), set()).discard(asset.id)
        self._by_id[asset.id] = asset
        self._by_name.setdefault(asset.name.lower(), set()).add(asset.id)
        for provider, native in asset.provider_ids.items():
            self._by_native[(provider, native.lower())] = asset.id

    def merge_listing(self, listing: Iterable[ListedAsset]) -> int:
        """Add untracked assets and provider ids from a listing; returns how many were new."""
        added = 0
        for row in listing:
            asset_id = row.asset_id or self._by_native.get((row.provider, row.native_id.lower()))
            existing = self._by_id.get(asset_id) if asset_id else None
            if existing is None and asset_id:
                self.add(
                    Asset(
                        id=asset_id,
                        symbol=row.symbol.upper(),
                        name=row.name or row.symbol.upper(),
                        tracked=False,
                        provider_ids={row.provider: row.native_id},
                    )
                )
                added += 1
            elif existing is not None and row.provider not in existing.provider_ids:
                ids = {**existing.provider_ids, row.provider: row.native_id}
                self.add(
                    Asset(
                        existing.id,
                        existing.symbol,
                        existing.name,
                        existing.rank,
                        existing.tracked,
                        ids,
                    )
                )
        return added

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, asset_id: object) -> bool:
        return asset_id in self._by_id

    def get(self, asset_id: str) -> Asset:
        try:
            return self._by_id[asset_id]
        except KeyError:
            raise UnknownAsset(asset_id) from None

    def tracked(self) -> list[Asset]:
        """Tracked assets by rank (unranked last)."""
        rows = [a for a in self._by_id.values() if a.tracked]
        return sorted(rows, key=lambda a: (a.rank is None, a.rank or 0, a.id))

    def named(self, name: str) -> list[Asset]:
        """The assets called `name` (any case), by id."""
        ids = self._by_name.get(name.strip().lower(), set())
        return [self._by_id[i] for i in sorted(ids)]

    def by_native(self, provider: str, native_id: str) -> Asset | None:
        asset_id = self._by_native.get((provider, native_id.lower()))
        return self._by_id.get(asset_id) if asset_id else None

    def search(self, text: str, limit: int = 20) -> list[Asset]:
        needle = text.strip().lower()
        hits = [
            a
            for a in self._by_id.values()
            if needle in a.id or needle in a.name.lower() or needle == a.symbol.lower()
        ]
        return sorted(hits, key=lambda a: (not a.tracked, a.rank or 10**9, a.id))[:limit]

    def asset_id_of(self, query: str) -> str | None:
        """The id `query` resolves to, or None when it names no asset or several."""
        try:
            return self.resolve(query).asset.id
        except (UnknownAsset, AmbiguousSymbol):
            return None

    def resolve(self, query: str) -> Resolution:
        """Resolve an id, ticker, alias or name to one asset, or raise."""
        text = query.strip()
        if not text:
            raise UnknownAsset(query)
        if text.lower() in self._by_id:
            return Resolution(query, self._by_id[text.lower()], "id")
        symbol = normalise_symbol(text)
        matched_by = "alias" if symbol != text.strip().upper() else "symbol"
        candidates = [a for a in self._by_id.values() if a.symbol.upper() == symbol]
        tracked = [a for a in candidates if a.tracked]
        pool = tracked or candidates
        if len(pool) == 1:
            return Resolution(query, pool[0], matched_by)
        if len(pool) > 1:
            raise AmbiguousSymbol(query, sorted(a.id for a in pool))
        by_name = [a for a in self._by_id.values() if a.name.lower() == text.lower()]
        if len(by_name) == 1:
            return Resolution(query, by_name[0], "name")
        if len(by_name) > 1:
            raise AmbiguousSymbol(query, sorted(a.id for a in by_name))
        raise UnknownAsset(query)
