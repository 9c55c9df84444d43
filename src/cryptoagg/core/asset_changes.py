"""What changed in providers' listings between refreshes (auto-discovery).

`ListingTracker.merge` merges one provider's listing into the registry, like
`AssetRegistry.merge_listing`, and compares it with the same provider's previous listing:

- `listed`: an asset new to the registry;
- `provider_added`: a known asset that the provider did not list last time;
- `symbol_changed` / `name_changed`: the provider shows a listed id under another ticker or
  name than last time (`before` → `after`);
- `delisted`: an id the provider listed last time is missing now.

The first listing of a provider is the baseline: its additions are summarised in one
`baseline` change. Each provider's last listing is kept (`listings`) so that it can be stored
and given back to another process or after a restart (`restore`): the registry then holds the
assets it added again, and the next listing is compared with it, not taken as a new baseline.
The canonical provider (CoinGecko, whose ids are ours) renaming
an untracked asset renames it in the registry too, as a restart would; tracked assets keep the
curated seed's ticker and name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.models import ListedAsset

CANONICAL_PROVIDER = "coingecko"

ChangeKind = Literal[
    "baseline", "listed", "provider_added", "symbol_changed", "name_changed", "delisted"
]


@dataclass(frozen=True, slots=True)
class AssetChange:
    kind: ChangeKind
    provider: str
    asset_id: str | None = None
    native_id: str | None = None
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True, slots=True)
class MergeResult:
    added: int
    changes: list[AssetChange]


@dataclass(frozen=True, slots=True)
class _Seen:
    native_id: str
    symbol: str
    name: str | None
    #: the asset id the listing itself gave (None: matched through the provider's id)
    asset_id: str | None = None


class ListingTracker:
    """The last listing each provider gave (native id → ticker, name and asset id)."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, _Seen]] = {}
        #: providers whose last listing differs from the one last stored or restored
        self.unsaved: set[str] = set()

    def listings(self) -> dict[str, list[ListedAsset]]:
        """Each provider's last listing, one row per native id."""
        return {
            provider: [
                ListedAsset(
                    provider=provider,
                    native_id=s.native_id,
                    symbol=s.symbol,
                    name=s.name,
                    asset_id=s.asset_id,
                )
                for s in seen.values()
            ]
            for provider, seen in self._seen.items()
        }

    def restore(
        self, registry: AssetRegistry, listings: Mapping[str, Sequence[ListedAsset]]
    ) -> int:
        """Take `listings` (stored by `listings()` here or in another process) as each
        provider's last listing: merged into `registry` as they were then, no change recorded;
        the next `merge` compares with them. Returns how many assets were new to `registry`."""
        added = 0
        # the canonical provider first, so others' rows find the assets it created
        for provider in sorted(listings, key=lambda p: p != CANONICAL_PROVIDER):
            keyed = _keyed(listings[provider])
            rows = list(keyed.values())
            added += registry.merge_listing(rows)
            if provider == CANONICAL_PROVIDER:
                for row in rows:
                    asset_id = _asset_id(registry, row)
                    if asset_id is not None and asset_id in registry:
                        _follow_canonical(registry, asset_id, row)
            self._seen[provider] = {key: _seen(row) for key, row in keyed.items()}
            self.unsaved.discard(provider)
        return added

    def merge(self, registry: AssetRegistry, listing: Iterable[ListedAsset]) -> MergeResult:
        """Merge `listing` (any providers) into `registry`; what was added and changed."""
        by_provider: dict[str, list[ListedAsset]] = {}
        for row in listing:
            by_provider.setdefault(row.provider, []).append(row)
        added, changes = 0, []
        for provider, rows in by_provider.items():
            result = self._merge_one(registry, provider, rows)
            added += result.added
            changes.extend(result.changes)
        return MergeResult(added, changes)

    def _merge_one(
        self, registry: AssetRegistry, provider: str, rows: Sequence[ListedAsset]
    ) -> MergeResult:
        # one row per native id (a provider may list an id under several pairs)
        rows = list(_keyed(rows).values())
        before = {row.native_id.lower(): _asset_id(registry, row) for row in rows}
        had_provider = {
            key: asset_id is not None
            and asset_id in registry
            and registry.get(asset_id).native_id(provider) is not None
            for key, asset_id in before.items()
        }
        known = {key for key, asset_id in before.items() if asset_id and asset_id in registry}
        added = registry.merge_listing(rows)
        previous = self._seen.get(provider)
        current = {row.native_id.lower(): _seen(row) for row in rows}
        changes: list[AssetChange] = []
        for row in rows:
            key = row.native_id.lower()
            asset_id = _asset_id(registry, row)
            if asset_id is None:
                continue  # a provider-only ticker no registry asset matches
            if key not in known:
                changes.append(AssetChange("listed", provider, asset_id, row.native_id))
            elif (key not in previous) if previous is not None else not had_provider[key]:
                # after the baseline: not in the provider's last listing; in it: not linked
                changes.append(AssetChange("provider_added", provider, asset_id, row.native_id))
            seen = previous.get(key) if previous else None
            if seen is not None:
                changes.extend(_renames(provider, asset_id, seen, row))
            if provider == CANONICAL_PROVIDER:
                _follow_canonical(registry, asset_id, row)
        if previous is not None:
            for key in sorted(previous.keys() - current.keys()):
                gone = previous[key]
                asset = registry.by_native(provider, gone.native_id)
                changes.append(
                    AssetChange("delisted", provider, asset.id if asset else None, gone.native_id)
                )
        if current != previous:
            self.unsaved.add(provider)
        self._seen[provider] = current
        if previous is None:
            changes = _baseline(provider, len(rows), changes)
        return MergeResult(added, changes)


def _keyed(rows: Iterable[ListedAsset]) -> dict[str, ListedAsset]:
    return {row.native_id.lower(): row for row in rows}


def _seen(row: ListedAsset) -> _Seen:
    return _Seen(row.native_id, row.symbol, row.name, row.asset_id)


def _asset_id(registry: AssetRegistry, row: ListedAsset) -> str | None:
    if row.asset_id:
        return row.asset_id
    asset = registry.by_native(row.provider, row.native_id)
    return asset.id if asset else None


def _renames(provider: str, asset_id: str, seen: _Seen, row: ListedAsset) -> list[AssetChange]:
    out = []
    if seen.symbol != row.symbol:
        out.append(
            AssetChange(
                "symbol_changed", provider, asset_id, row.native_id, seen.symbol, row.symbol
            )
        )
    if seen.name is not None and row.name is not None and seen.name != row.name:
        out.append(
            AssetChange("name_changed", provider, asset_id, row.native_id, seen.name, row.name)
        )
    return out


def _follow_canonical(registry: AssetRegistry, asset_id: str, row: ListedAsset) -> None:
    asset = registry.get(asset_id)
    symbol, name = row.symbol.upper(), row.name or asset.name
    if not asset.tracked and (asset.symbol, asset.name) != (symbol, name):
        registry.add(replace(asset, symbol=symbol, name=name))


def _baseline(provider: str, listed: int, changes: list[AssetChange]) -> list[AssetChange]:
    new = sum(1 for c in changes if c.kind == "listed")
    linked = sum(1 for c in changes if c.kind == "provider_added")
    summary = AssetChange(
        "baseline",
        provider,
        after=f"{listed} listed: {new} new to the registry, {linked} known assets linked",
    )
    return [summary]
