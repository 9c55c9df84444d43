"""Upstream budgets: per-second/per-minute rates (GCRA) and monthly quotas that survive restarts.

GCRA (the generic cell rate algorithm, as in `limits` and `redis-cell`) keeps one number per
limit — the theoretical arrival time — so checking and spending are O(1) and exact with an
injected clock. We keep our own few lines instead of a library because the same state must
later live in Redis for several replicas, and tests need the clock injected.

A budget is spent only when a request leaves (`acquire`, called from `Guards.before_send`).
Calls are served by priority, first come first served within one: a client request waits for
the next slot when it falls within its deadline; background work (collectors, probes) waits
behind every client, never takes the last `reserve_share` of a rate's burst, and is held to
`1 - reserve_share` of each rate by a cell of its own, so clients always find room.
Monthly counters (per purpose: client or the job's name) are persisted through a `QuotaStore`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import tempfile
from bisect import insort
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptoagg.core.errors import BudgetExhausted, QuotaExhausted
from cryptoagg.core.limits import Limits, Priority

Clock = Callable[[], float]
WallClock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

#: default share of each rate budget kept for client requests
RATE_RESERVE_SHARE = 0.25
#: client waits kept per provider (for the wait percentiles shown in /api/providers)
WAITS_KEPT = 1000
#: a call waits for its slot only if this much of its deadline is still left after the wait
#: (for the request itself to go out and come back)
SEND_MARGIN_S = 0.1


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

    def wait_s(self, now: float, keep: int = 0) -> float:
        """Seconds until one more call conforms while leaving `keep` burst slots unused
        (0 when it may go now)."""
        tolerance = self.interval * (self.burst - 1 - keep)
        return max(0.0, max(self.tat, now) - tolerance - now)

    def spend(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval


# -- the monthly ledger ----------------------------------------------------------------------

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


# -- one provider's budget -------------------------------------------------------------------


@dataclass(order=True, slots=True)
class _Ticket:
    priority: int
    seq: int


@dataclass(slots=True)
class Budget:
    provider: str
    limits: Limits
    clock: Clock
    wall: WallClock
    ledger: QuotaLedger
    reserve_share: float = RATE_RESERVE_SHARE
    rates: list[Gcra] = field(default_factory=list)
    #: cells only background calls spend, at `1 - reserve_share` of each rate
    background: list[Gcra] = field(default_factory=list)
    minute_calls: list[float] = field(default_factory=list)
    #: seconds each of the latest client calls waited for its slot (0.0: none)
    client_waits: deque[float] = field(default_factory=lambda: deque(maxlen=WAITS_KEPT))
    _queue: list[_Ticket] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _changed: asyncio.Event | None = None

    def __post_init__(self) -> None:
        if self.limits.per_second:
            self._add_rate(self.limits.per_second, 1.0, max(1, int(self.limits.per_second)))
        if self.limits.per_minute:
            self._add_rate(self.limits.per_minute, 60.0, max(1, int(self.limits.per_minute // 6)))

    def _add_rate(self, rate: float, period_s: float, burst: int) -> None:
        self.rates.append(Gcra(rate, period_s, burst))
        if self.reserve_share > 0:
            share = 1.0 - self.reserve_share
            kept = self._kept(burst)
            self.background.append(Gcra(rate * share, period_s, max(1, burst - kept)))

    def _kept(self, burst: int) -> int:
        """Burst slots background calls leave to clients."""
        return min(burst - 1, math.floor(burst * self.reserve_share))

    # -- checks ------------------------------------------------------------------------------

    def wait_s(self, priority: Priority = Priority.CLIENT, now: float | None = None) -> float:
        """Seconds until a call of this priority conforms to every rate (0: now)."""
        now = self.clock() if now is None else now
        if priority is Priority.CLIENT:
            return max((r.wait_s(now) for r in self.rates), default=0.0)
        waits = [r.wait_s(now, self._kept(r.burst)) for r in self.rates]
        waits += [r.wait_s(now) for r in self.background]
        return max(waits, default=0.0)

    def _estimate(self, position: int, priority: Priority, now: float) -> float:
        """When the call at `position` in the queue could go: after those ahead of it."""
        step = max((r.interval for r in self.rates), default=0.0)
        return self.wait_s(priority, now) + position * step

    def quota_used_up(self) -> bool:
        monthly = self.limits.monthly
        return monthly is not None and self.used_this_month() >= monthly

    def refusal(self, priority: Priority = Priority.CLIENT) -> BudgetExhausted | None:
        """Why a call of this priority may not go out right now, or None."""
        if self.quota_used_up():
            return QuotaExhausted(self.provider, "monthly quota used")
        wait = self.wait_s(priority)
        if wait > 0 or self._queue:
            wait = max(wait, self._estimate(len(self._queue), priority, self.clock()))
            return self._rate_refusal(wait)
        return None

    def _rate_refusal(self, wait: float) -> BudgetExhausted:
        return BudgetExhausted(
            self.provider, f"rate limit, next call in {wait:.1f}s", retry_after_s=wait
        )

    # -- spending ----------------------------------------------------------------------------

    async def acquire(
        self, priority: Priority, purpose: str, remaining_s: float | None = None
    ) -> None:
        """Take one call's slot for a request about to leave: at once, after waiting in line
        when the slot comes within `remaining_s` (None: no deadline), or `BudgetExhausted`."""
        if self.quota_used_up():
            raise QuotaExhausted(self.provider, "monthly quota used")
        if not self._queue and self.wait_s(priority) <= 0:
            self.spend(priority, purpose)
            self._waited(priority, 0.0)
            return
        ticket = _Ticket(int(priority), next(self._seq))
        insort(self._queue, ticket)
        started = self.clock()
        try:
            while True:
                now = self.clock()
                position = self._queue.index(ticket)
                if position == 0 and self.wait_s(priority, now) <= 0:
                    if self.quota_used_up():
                        raise QuotaExhausted(self.provider, "monthly quota used")
                    self.spend(priority, purpose)
                    self._waited(priority, now - started)
                    return
                wait = self._estimate(position, priority, now)
                if remaining_s is not None and wait + SEND_MARGIN_S > remaining_s - (now - started):
                    raise self._rate_refusal(wait)
                await self._nap(wait if position == 0 else None)
        finally:
            self._queue.remove(ticket)
            self._notify()

    def _waited(self, priority: Priority, seconds: float) -> None:
        if priority is Priority.CLIENT:
            self.client_waits.append(seconds)

    async def _nap(self, for_s: float | None) -> None:
        """Until the queue changes or `for_s` seconds pass."""
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        try:
            async with asyncio.timeout(for_s):
                await changed.wait()
        except TimeoutError:
            pass

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def spend(self, priority: Priority = Priority.CLIENT, purpose: str = "client") -> None:
        now = self.clock()
        for rate in self.rates:
            rate.spend(now)
        if priority is not Priority.CLIENT:
            for rate in self.background:
                rate.spend(now)
        self.minute_calls = [t for t in self.minute_calls if t > now - 60] + [now]
        wall = self.wall()
        background_at = wall if priority is not Priority.CLIENT else None
        self.ledger.add(self.provider, month_key(wall), purpose, background_at)
        self._notify()

    def refund(self, purpose: str) -> None:
        """A spent call never reached the provider: off the monthly count (not the rates)."""
        self.ledger.remove(self.provider, month_key(self.wall()), purpose)

    # -- reading -----------------------------------------------------------------------------

    def used_this_month(self, purpose: str | None = None) -> int:
        return self.ledger.get(self.provider, month_key(self.wall()), purpose)

    def calls_this_minute(self) -> int:
        now = self.clock()
        return sum(1 for t in self.minute_calls if t > now - 60)

    def quota_left(self) -> int | None:
        monthly = self.limits.monthly
        return None if monthly is None else max(0, monthly - self.used_this_month())

    def client_wait_ms(self, q: float) -> float | None:
        """The q-quantile of the latest client calls' waits for a slot, in ms."""
        waits = sorted(self.client_waits)
        if not waits:
            return None
        return round(waits[min(len(waits) - 1, int(q * len(waits)))] * 1000, 1)

    @property
    def near_limit(self) -> bool:
        monthly = self.limits.monthly
        return monthly is not None and self.used_this_month() >= monthly * self.limits.near_fraction
