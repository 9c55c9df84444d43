"""The monthly quota ledger: calls per provider, month and purpose, persisted across restarts.

Each call a budget lets out is counted here under its purpose (`client`, or the background
job's name), and a background job's last call to each provider is remembered (the plan reads
it to pace jobs). The ledger is written through to a `QuotaStore` on every change: a JSON file
replaced atomically in service, memory in tests. Version 1 files (one total per month) still
load.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

#: provider -> month ("2026-12") -> purpose ("client", "prices", "health", …) -> calls
Counts = dict[str, dict[str, dict[str, int]]]
#: provider -> job -> wall time (ISO) a background job last sent it a request
LastRuns = dict[str, dict[str, str]]


@dataclass(slots=True)
class LedgerData:
    counts: Counts = field(default_factory=dict)
    last_runs: LastRuns = field(default_factory=dict)

    def copy(self) -> LedgerData:
        return LedgerData(
            {p: {m: dict(c) for m, c in months.items()} for p, months in self.counts.items()},
            {p: dict(j) for p, j in self.last_runs.items()},
        )


class QuotaStore(Protocol):
    def load(self) -> LedgerData: ...

    def save(self, data: LedgerData) -> None: ...


class MemoryQuotaStore:
    def __init__(self) -> None:
        self.data = LedgerData()

    def load(self) -> LedgerData:
        return self.data.copy()

    def save(self, data: LedgerData) -> None:
        self.data = data.copy()


def _ints(raw: object) -> dict[str, int]:
    if isinstance(raw, int):  # version 1: one total per month
        return {"unknown": raw}
    if not isinstance(raw, dict):
        return {}
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int)}


def decode_ledger(raw: Any) -> LedgerData:
    """Version 2 (`{"counts": …, "last_runs": …}`) or version 1 (provider -> month -> n)."""
    if not isinstance(raw, dict):
        return LedgerData()
    counts_raw = raw.get("counts", raw) if "version" in raw else raw
    counts: Counts = {}
    if isinstance(counts_raw, dict):
        for provider, months in counts_raw.items():
            if isinstance(months, dict):
                counts[str(provider)] = {str(m): _ints(n) for m, n in months.items()}
    last: LastRuns = {}
    last_raw = raw.get("last_runs", {}) if "version" in raw else {}
    if isinstance(last_raw, dict):
        for provider, jobs in last_raw.items():
            if isinstance(jobs, dict):
                last[str(provider)] = {str(j): str(t) for j, t in jobs.items()}
    return LedgerData(counts, last)


class FileQuotaStore:
    """The ledger in a JSON file, replaced atomically (a crash never leaves half a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> LedgerData:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return LedgerData()
        return decode_ledger(raw)

    def save(self, data: LedgerData) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".quota-", suffix=".json")
        body = {"version": 2, "counts": data.counts, "last_runs": data.last_runs}
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


def month_key(when: datetime) -> str:
    return when.strftime("%Y-%m")


class QuotaLedger:
    """Monthly call counts of every provider by purpose, and when each background job last
    called each provider, written through to a store."""

    def __init__(self, store: QuotaStore) -> None:
        self.store = store
        self.data = store.load()

    def get(self, provider: str, month: str, purpose: str | None = None) -> int:
        by_purpose = self.data.counts.get(provider, {}).get(month, {})
        if purpose is not None:
            return by_purpose.get(purpose, 0)
        return sum(by_purpose.values())

    def by_purpose(self, provider: str, month: str) -> dict[str, int]:
        return dict(self.data.counts.get(provider, {}).get(month, {}))

    def add(self, provider: str, month: str, purpose: str, at: datetime | None = None) -> None:
        by_purpose = self.data.counts.setdefault(provider, {}).setdefault(month, {})
        by_purpose[purpose] = by_purpose.get(purpose, 0) + 1
        if at is not None:
            self.data.last_runs.setdefault(provider, {})[purpose] = at.isoformat()
        self.store.save(self.data)

    def remove(self, provider: str, month: str, purpose: str) -> None:
        by_purpose = self.data.counts.get(provider, {}).get(month, {})
        if by_purpose.get(purpose, 0) > 0:
            by_purpose[purpose] -= 1
            self.store.save(self.data)

    def last_run(self, provider: str, job: str) -> datetime | None:
        text = self.data.last_runs.get(provider, {}).get(job)
        try:
            return datetime.fromisoformat(text) if text else None
        except ValueError:
            return None
