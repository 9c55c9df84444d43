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
Monthly counters (per purpose: client or the job's name) are kept by the `QuotaLedger`
(`resilience/quota.py`), which persists them.

With several replicas (REDIS_URL) a budget has a `SendGate` (`resilience/shared_budget.py`):
a call this budget lets go is spent in the shared state too, and waits when the replicas
together used the limit; the local cells keep mirroring this replica's calls, and spend alone
while Redis is away.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from bisect import insort
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cryptoagg.core.errors import BudgetExhausted, QuotaExhausted
from cryptoagg.core.limits import Limits, Priority
from cryptoagg.resilience.quota import QuotaLedger, month_key

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


class SendGate(Protocol):
    """The shared side of the budgets (several replicas), asked before a call leaves."""

    async def take(self, budget: Budget, priority: Priority, purpose: str) -> float | None:
        """0.0: spent in the shared state; > 0: seconds until the shared limits allow the
        call; None: shared state unreachable (spend locally). Raises a `ProviderError` when
        the call may not go (quota, a shared cool-down)."""

    def spent_locally(self, provider: str, priority: Priority, now: float) -> None:
        """A call was spent on local budgets alone (kept to reconcile later)."""


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
    #: the shared state of several replicas (None: this process alone)
    gate: SendGate | None = None
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
            kept = self.kept(burst)
            self.background.append(Gcra(rate * share, period_s, max(1, burst - kept)))

    def kept(self, burst: int) -> int:
        """Burst slots background calls leave to clients."""
        return min(burst - 1, math.floor(burst * self.reserve_share))

    # -- checks ------------------------------------------------------------------------------

    def wait_s(self, priority: Priority = Priority.CLIENT, now: float | None = None) -> float:
        """Seconds until a call of this priority conforms to every rate (0: now)."""
        now = self.clock() if now is None else now
        if priority is Priority.CLIENT:
            return max((r.wait_s(now) for r in self.rates), default=0.0)
        waits = [r.wait_s(now, self.kept(r.burst)) for r in self.rates]
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
        started = self.clock()
        shared_wait: float | None = None
        if not self._queue and self.wait_s(priority) <= 0:
            if self.gate is None:  # one process: the local cells decide alone
                self.spend(priority, purpose)
                self._waited(priority, 0.0)
                return
            shared_wait = await self._take(priority, purpose)
            if shared_wait <= 0:
                self._waited(priority, self.clock() - started)
                return
        ticket = _Ticket(int(priority), next(self._seq))
        insort(self._queue, ticket)
        try:
            while True:
                now = self.clock()
                position = self._queue.index(ticket)
                if position == 0 and shared_wait is None and self.wait_s(priority, now) <= 0:
                    if self.quota_used_up():
                        raise QuotaExhausted(self.provider, "monthly quota used")
                    shared_wait = await self._take(priority, purpose)
                    if shared_wait <= 0:
                        self._waited(priority, self.clock() - started)
                        return
                    now = self.clock()
                if position == 0 and shared_wait is not None:
                    # free here, but the replicas together are at the limit
                    wait, shared_wait = shared_wait, None
                else:
                    shared_wait = None
                    wait = self._estimate(position, priority, now)
                if remaining_s is not None and wait + SEND_MARGIN_S > remaining_s - (now - started):
                    raise self._rate_refusal(wait)
                await self._nap(wait if position == 0 else None)
        finally:
            self._queue.remove(ticket)
            self._notify()

    async def _take(self, priority: Priority, purpose: str) -> float:
        """Spend one call: in the shared state when there is one (else the seconds until the
        replicas together may send again), and on the local cells."""
        if self.gate is not None:
            wait = await self.gate.take(self, priority, purpose)
            if wait is not None:
                if wait <= 0:
                    self._spend_rates(priority, self.clock())
                    self._notify()
                return wait
        self.spend(priority, purpose)
        return 0.0

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
        """One call on the local cells and ledger (with a gate: Redis is away, so it is also
        kept to be added to the shared state when Redis is back)."""
        now = self.clock()
        self._spend_rates(priority, now)
        if self.gate is not None:
            self.gate.spent_locally(self.provider, priority, now)
        wall = self.wall()
        background_at = wall if priority is not Priority.CLIENT else None
        self.ledger.add(self.provider, month_key(wall), purpose, background_at)
        self._notify()

    def _spend_rates(self, priority: Priority, now: float) -> None:
        for rate in self.rates:
            rate.spend(now)
        if priority is not Priority.CLIENT:
            for rate in self.background:
                rate.spend(now)
        self.minute_calls = [t for t in self.minute_calls if t > now - 60] + [now]

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
