"""The providers' last listings as stored: what auto-discovery found, for every process.

One JSON value in the `configuration` table (key `asset_listings`), like the change log
(`services/asset_changes.py`): each provider's last listing as rows of native id, ticker, name
and the asset id the listing gave. It is written after a refresh that changed a listing (by
`serve`'s discovery or `cryptoagg assets refresh`) and read at start-up and whenever another
process wrote it (`AssetService.sync`): the registry then holds the assets discovery added, and
the next refresh compares with the stored listings instead of starting a new baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from cryptoagg.core.models import ListedAsset

CONFIG_KEY = "asset_listings"
VERSION = 1


def encode(listings: Mapping[str, Sequence[ListedAsset]]) -> dict[str, Any]:
    """Compact rows (`[native_id, symbol, name, asset_id]`): a full listing has ~20k."""
    return {
        "version": VERSION,
        "providers": {
            provider: [[r.native_id, r.symbol, r.name, r.asset_id] for r in rows]
            for provider, rows in sorted(listings.items())
        },
    }


def decode(raw: Any) -> dict[str, list[ListedAsset]]:
    """The stored listings; an unreadable value or row (hand-edited, another version) is
    skipped, never fatal: the next refresh stores a whole listing again."""
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        return {}
    providers = raw.get("providers")
    if not isinstance(providers, dict):
        return {}
    out: dict[str, list[ListedAsset]] = {}
    for provider, rows in providers.items():
        if not isinstance(rows, list):
            continue
        out[str(provider)] = [row for row in (_row(str(provider), r) for r in rows) if row]
    return out


def _row(provider: str, raw: Any) -> ListedAsset | None:
    if not isinstance(raw, list) or len(raw) != 4:
        return None
    native_id, symbol, name, asset_id = raw
    try:
        return ListedAsset(
            provider=provider, native_id=native_id, symbol=symbol, name=name, asset_id=asset_id
        )
    except ValidationError:
        return None
