"""Upstream budgets: per-second/per-minute rates (GCRA) and monthly quotas that survive restarts.

GCRA (the generic cell rate algorithm, as in `limits` and `redis-cell`) keeps one number per
limit — the theoretical arrival time — so checking and spending are O(1) and exact with an
injected clock. We keep our own few lines instead of a library because the same state must
later live in Redis for several replicas, and tests need the clock injected.
Monthly counters are persisted through a `QuotaStore` on every spend.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cryptoagg.core.limits import Limits

Clock = Callable[[], float]
WallClock = Callable[[], datetime]


@dataclass(slots=True)
class Gcra:
    """`rate` calls per `period_s`, with bursts up to `burst` calls."""

    rate: float
    period_s: float
    burst: int = 1
    tat: float = 0.0

    @property
    def interval(self) -> float:
        return self.period_s / self.rate

    def wait_s(self, now: float) -> float:
        """Seconds until one more call conforms (0 when it may go now)."""
        tolerance = self.interval * (self.burst - 1)
        return max(0.0, max(self.tat, now) - tolerance - now)

    def spend(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval


class QuotaStore(Protocol):
    def load(self) -> dict[str, dict[str, int]]: ...

    def save(self, counts: dict[str, dict[str, int]]) -> None: ...


class MemoryQuotaStore:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, int]] = {}

    def load(self) -> dict[str, dict[str, int]]:
        return {k: dict(v) for k, v in self.data.items()}

    def save(self, counts: dict[str, dict[str, int]]) -> None:
        self.data = {k: dict(v) for k, v in counts.items()}


class FileQuotaStore:
    """Monthly counters in a JSON file, replaced atomically (a crash never leaves half a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[str, int]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(raw, dict):
            return {}
        return {
            str(p): {str(m): int(n) for m, n in months.items()}
            for p, months in raw.items()
            if isinstance(months, dict)
        }

    def save(self, counts: dict[str, dict[str, int]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".quota-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(counts, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


def month_key(when: datetime) -> str:
    return when.strftime("%Y-%m")


@dataclass(slots=True)
class Budget:
    provider: str
    limits: Limits
    clock: Clock
    wall: WallClock
    ledger: QuotaLedger
    rates: list[Gcra] = field(default_factory=list)
    minute_calls: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.limits.per_second:
            burst = max(1, int(self.limits.per_second))
            self.rates.append(Gcra(self.limits.per_second, 1.0, burst))
        if self.limits.per_minute:
            burst = max(1, int(self.limits.per_minute // 6))
            self.rates.append(Gcra(self.limits.per_minute, 60.0, burst))

    def refusal(self) -> str | None:
        """Why a call may not go out now, or None."""
        monthly = self.limits.monthly
        if monthly is not None and self.used_this_month() >= monthly:
            return "monthly quota used"
        now = self.clock()
        wait = max((r.wait_s(now) for r in self.rates), default=0.0)
        if wait > 0:
            return f"rate limit, next call in {wait:.1f}s"
        return None

    def spend(self) -> None:
        now = self.clock()
        for rate in self.rates:
            rate.spend(now)
        self.minute_calls = [t for t in self.minute_calls if t > now - 60] + [now]
        self.ledger.add(self.provider, month_key(self.wall()))

    def used_this_month(self) -> int:
        return self.ledger.get(self.provider, month_key(self.wall()))

    def calls_this_minute(self) -> int:
        now = self.clock()
        return sum(1 for t in self.minute_calls if t > now - 60)

    def quota_left(self) -> int | None:
        monthly = self.limits.monthly
        return None if monthly is None else max(0, monthly - self.used_this_month())

    @property
    def near_limit(self) -> bool:
        monthly = self.limits.monthly
        return monthly is not None and self.used_this_month() >= monthly * self.limits.near_fraction


class QuotaLedger:
    """Monthly call counts of every provider, written through to a store."""

    def __init__(self, store: QuotaStore) -> None:
        self.store = store
        self.counts = store.load()

    def get(self, provider: str, month: str) -> int:
        return self.counts.get(provider, {}).get(month, 0)

    def add(self, provider: str, month: str) -> None:
        months = self.counts.setdefault(provider, {})
        months[month] = months.get(month, 0) + 1
        self.store.save(self.counts)
