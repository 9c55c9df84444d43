"""The log of listing changes seen by auto-discovery: bounded, timestamped, persisted.

The newest `max_entries` changes are kept in memory and, when a store is given, as one JSON
value in the `configuration` table (key `asset_changes`), rewritten after every refresh that
changed something and read back at start-up and whenever another process (a replica's
discovery, `cryptoagg assets refresh`) wrote it, so the log survives restarts. Replicas that
all run discovery write the same key; the last writer's log wins.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

import structlog

from cryptoagg.core.asset_changes import AssetChange, ChangeKind
from cryptoagg.core.models import utc
from cryptoagg.storage.configuration import ConfigurationRepository

log = structlog.get_logger("cryptoagg.assets")

CONFIG_KEY = "asset_changes"
MAX_CHANGES = 500
KINDS: frozenset[str] = frozenset(get_args(ChangeKind))


@dataclass(frozen=True, slots=True)
class LoggedChange:
    at: datetime
    change: AssetChange


def change_fields(c: AssetChange) -> dict[str, Any]:
    """A change as JSON fields (stored in the log, printed by `assets refresh --json`)."""
    return {
        "kind": c.kind,
        "provider": c.provider,
        "asset_id": c.asset_id,
        "native_id": c.native_id,
        "before": c.before,
        "after": c.after,
    }


def _encode(entry: LoggedChange) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), **change_fields(entry.change)}


def _decode(raw: Any) -> LoggedChange | None:
    """One stored entry, or None when it is not one (an older or hand-edited value)."""
    try:
        kind = raw["kind"]
        if kind not in KINDS:
            return None
        change = AssetChange(
            kind,
            str(raw["provider"]),
            raw.get("asset_id"),
            raw.get("native_id"),
            raw.get("before"),
            raw.get("after"),
        )
        return LoggedChange(utc(datetime.fromisoformat(raw["at"])), change)
    except (KeyError, TypeError, ValueError):
        return None


class AssetChangeLog:
    def __init__(
        self,
        store: ConfigurationRepository | None,
        clock: Callable[[], datetime],
        max_entries: int = MAX_CHANGES,
    ) -> None:
        self.store = store
        self.clock = clock
        self._entries: deque[LoggedChange] = deque(maxlen=max_entries)

    def __len__(self) -> int:
        return len(self._entries)

    def load(self) -> int:
        """Read the persisted log (start-up); returns how many entries were read."""
        return self.replace(self.read())

    def read(self) -> list[LoggedChange]:
        """The persisted log, oldest first (a blocking read: call it in a thread)."""
        if self.store is None:
            return []
        raw = self.store.get(CONFIG_KEY)
        entries = [e for e in map(_decode, raw if isinstance(raw, list) else []) if e]
        return sorted(entries, key=lambda e: e.at)

    def replace(self, entries: Sequence[LoggedChange]) -> int:
        """Hold `entries` (as `read` them, here or after another process wrote the log)."""
        self._entries.clear()
        self._entries.extend(entries)
        return len(self._entries)

    async def record(self, changes: Sequence[AssetChange]) -> list[LoggedChange]:
        """Stamp `changes` with the current time, keep them and persist the log."""
        if not changes:
            return []
        now = self.clock()
        logged = [LoggedChange(now, change) for change in changes]
        self._entries.extend(logged)
        if self.store is not None:
            snapshot = [_encode(e) for e in self._entries]
            await asyncio.to_thread(self.store.set, CONFIG_KEY, snapshot)
        log.info("asset_changes", count=len(logged), kinds=sorted({c.kind for c in changes}))
        return logged

    def recent(
        self,
        limit: int,
        *,
        kind: str | None = None,
        provider: str | None = None,
        since: datetime | None = None,
    ) -> list[LoggedChange]:
        """Newest first, optionally only one kind, one provider, or from `since` on."""
        out = []
        for entry in reversed(self._entries):
            if since is not None and entry.at < since:
                break
            if kind is not None and entry.change.kind != kind:
                continue
            if provider is not None and entry.change.provider != provider:
                continue
            out.append(entry)
            if len(out) >= limit:
                break
        return out
