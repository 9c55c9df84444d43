"""Rate budgets and the monthly ledger shared by every replica (REDIS_URL set).

Each request about to leave runs one script (`shared_scripts.GATE`): the provider's shared
cool-down, its monthly cap (and, for background work, the plan's ceiling), then its GCRA
cells, and spends all of them at once, so the sum over replicas stays within each limit.
The local `Budget` keeps its own cells too (they mirror what this replica spent, and are
what it falls back to).

Redis away: `take` answers None and the budget spends locally; each such spend is kept
(its time, for the rate cells; its count, in `SharedLedger`) and added to the shared state
once when Redis is back (`reconcile`, a `RedisLink.on_rejoin` callback). Rate spends are
added as the backlog they would have left in a GCRA cell of their own, so what passed long
ago costs nothing and a burst just before the rejoin still counts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

from redis.asyncio import Redis

from cryptoagg.core.errors import BudgetExhausted, CircuitOpen, QuotaExhausted
from cryptoagg.core.limits import Priority
from cryptoagg.resilience.budget import Budget
from cryptoagg.resilience.quota import month_key
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.resilience.shared_ledger import Batch, SharedLedger
from cryptoagg.resilience.shared_scripts import GATE, RECONCILE

T = TypeVar("T")

#: how long a month's counts stay in Redis after their last change
COUNTS_TTL_S = 100 * 86400
#: how long Redis remembers that a reconcile batch was applied (a retried batch is skipped)
BATCH_TTL_S = 86400
#: local spends older than this leave no rate backlog (the longest rate period is a minute)
STAMPS_KEPT_S = 120.0

#: (cell name, interval ms, tolerance ms)
Cell = tuple[str, float, float]
#: a provider's shared cool-down learnt here: (provider, seconds left, reason)
OnCool = Callable[[str, float, str], None]


def cells(budget: Budget, priority: Priority) -> list[Cell]:
    """The GCRA cells a call of `priority` checks and spends (as `Budget.wait_s` does)."""
    background = priority is not Priority.CLIENT
    out: list[Cell] = []
    for rate in budget.rates:
        keep = budget.kept(rate.burst) if background else 0
        ms = rate.interval * 1000
        out.append((f"rate:{rate.period_s:g}s", ms, ms * (rate.burst - 1 - keep)))
    if background:
        for rate in budget.background:
            ms = rate.interval * 1000
            out.append((f"bg:{rate.period_s:g}s", ms, ms * (rate.burst - 1)))
    return out


class SharedBudgets:
    """The `SendGate` of every budget of one process, and their reconciliation."""

    def __init__(
        self,
        link: RedisLink,
        ledger: SharedLedger,
        *,
        mode: str,
        wall: Callable[[], datetime],
        clock: Callable[[], float],
        ceiling_share: float,
        on_cool: OnCool,
    ) -> None:
        self.link = link
        self.ledger = ledger
        self.mode = mode
        self.wall = wall
        self.clock = clock
        self.ceiling_share = ceiling_share
        self.on_cool = on_cool
        self.budgets: dict[str, Budget] = {}
        #: provider -> (monotonic time, background?) of each call spent locally
        self._stamps: dict[str, deque[tuple[float, bool]]] = {}
        self._gate = link.script(GATE)
        self._reconcile = link.script(RECONCILE)

    def key(self, provider: str, *parts: str) -> str:
        """Keys per mode (live and mock never share a ledger) and per provider (one hash
        slot per provider: each script touches one)."""
        return self.link.key(self.mode, "{" + provider + "}", *parts)

    # -- the gate -------------------------------------------------------------------------

    async def take(self, budget: Budget, priority: Priority, purpose: str) -> float | None:
        """Spend one call of `budget` in the shared state: 0.0 when spent, the seconds until
        the shared cells allow it, or None when Redis is away (spend locally). Raises when
        the provider is cooling down or its month's quota (or ceiling) is used."""
        provider = budget.provider
        wall = self.wall()
        month = month_key(wall)
        chosen = cells(budget, priority)
        monthly = budget.limits.monthly
        background = priority is not Priority.CLIENT
        keys = [
            self.key(provider, "cool"),
            self.key(provider, "quota", month),
            self.key(provider, "runs"),
            *(self.key(provider, "gcra", name) for name, _, _ in chosen),
        ]
        args: list[str | float] = [
            purpose,
            -1 if monthly is None else monthly,
            -1 if monthly is None or not background else self.ceiling_share * monthly,
            wall.isoformat() if background else "",
            COUNTS_TTL_S,
        ]
        for _, interval, tolerance in chosen:
            args += [f"{interval:.3f}", f"{tolerance:.3f}"]

        async def op(client: Redis) -> list[bytes]:
            reply: list[bytes] = await self._gate(keys=keys, args=args, client=client)
            return reply

        reply = await self.link.run(op, _degraded)
        if reply is None:
            return None
        status, wait_ms, reason = (part.decode() for part in reply[:3])
        if status in ("ok", "quota", "ceiling"):
            self.ledger.apply(provider, month, _counts(reply[3:]))
        if status == "ok":
            if background:
                self.ledger.apply_runs(provider, {purpose: wall.isoformat()})
            return 0.0
        if status == "rate":
            return max(float(wait_ms) / 1000, 0.001)
        if status == "cool":
            seconds = float(wait_ms) / 1000
            self.on_cool(provider, seconds, reason)
            raise CircuitOpen(provider, f"{reason} (shared), next probe in {seconds:.0f}s", seconds)
        if status == "quota":
            raise QuotaExhausted(provider, "monthly quota used")
        raise BudgetExhausted(provider, "the rest of this month's quota is kept for clients")

    def spent_locally(self, provider: str, priority: Priority, now: float) -> None:
        """A call went out on local budgets alone (Redis away): keep it for `reconcile`."""
        stamps = self._stamps.setdefault(provider, deque())
        stamps.append((now, priority is not Priority.CLIENT))
        while stamps and stamps[0][0] < now - STAMPS_KEPT_S:
            stamps.popleft()

    # -- rejoining ------------------------------------------------------------------------

    async def reconcile(self, client: Redis, *, seed: bool) -> None:
        """Add what was counted locally to the shared state, once. `seed`: also offer this
        replica's view of the month of every provider, which raises a count only where Redis
        has less (it lost its data). Raises on a connection error (the batch stays)."""
        fresh = self.ledger.inflight is None
        batch = self.ledger.take_batch()
        if batch is not None and fresh:
            batch.backlogs = self._take_backlogs()
        providers = set(self.budgets) if seed else set()
        if batch is not None:
            providers |= batch.providers() & set(self.budgets)
        batch_id = batch.id if batch is not None else "none"
        month = month_key(self.wall())
        for provider in sorted(providers):
            await self._reconcile_one(client, batch_id, provider, batch, month if seed else None)
        if batch is not None:
            self.ledger.applied(batch)

    async def _reconcile_one(
        self, client: Redis, batch_id: str, provider: str, batch: Batch | None, month: str | None
    ) -> None:
        deltas: dict[str, dict[str, int]] = {} if month is None else {month: {}}
        runs: Mapping[str, str] = {}
        backlogs: Mapping[str, float] = {}
        if batch is not None:
            for (p, m, purpose), delta in batch.deltas.items():
                if p == provider:
                    deltas.setdefault(m, {})[purpose] = delta
            runs = batch.runs.get(provider, {})
            backlogs = {c: ms for c, ms in batch.backlogs.get(provider, {}).items() if ms > 0}
        keys = [self.key(provider, "batch", batch_id), self.key(provider, "runs")]
        marker_s = BATCH_TTL_S if batch is not None else 0
        args: list[str | int | float] = [marker_s, COUNTS_TTL_S, len(deltas), len(backlogs)]
        for m, by_purpose in deltas.items():
            keys.append(self.key(provider, "quota", m))
            seen = self.ledger.seen(provider, m)
            fields = sorted(set(seen) | set(by_purpose))
            args.append(len(fields))
            for purpose in fields:
                args += [purpose, by_purpose.get(purpose, 0), seen.get(purpose, 0)]
        for job, when in runs.items():
            args += [job, when]
        for name, ms in backlogs.items():
            keys.append(self.key(provider, "gcra", name))
            args.append(f"{ms:.3f}")
        await self._reconcile(keys=keys, args=args, client=client)

    def _take_backlogs(self) -> dict[str, dict[str, float]]:
        """Per provider and cell, the backlog (ms) its local spends leave now; forgets them."""
        now = self.clock()
        out: dict[str, dict[str, float]] = {}
        for provider, stamps in self._stamps.items():
            budget = self.budgets.get(provider)
            if budget is None or not stamps:
                continue
            for name, interval, _ in cells(budget, Priority.COLLECTOR):
                background_only = name.startswith("bg:")
                tat = 0.0
                for at, background in stamps:
                    if background or not background_only:
                        tat = max(tat, at * 1000) + interval
                out.setdefault(provider, {})[name] = max(0.0, tat - now * 1000)
        self._stamps.clear()
        return out

    # -- the periodic sync ------------------------------------------------------------------

    async def refresh(self, client: Redis) -> None:
        """Every provider's counts this month and its jobs' last runs, from Redis."""
        month = month_key(self.wall())
        names = sorted(self.budgets)
        async with client.pipeline(transaction=False) as pipe:
            for provider in names:
                pipe.hgetall(self.key(provider, "quota", month))
                pipe.hgetall(self.key(provider, "runs"))
            replies = await pipe.execute()
        changed = False
        for index, provider in enumerate(names):
            counts, runs = replies[2 * index], replies[2 * index + 1]
            changed |= self.ledger.apply(provider, month, _decode(counts, int), save=False)
            changed |= self.ledger.apply_runs(provider, _decode(runs, str))
        if changed:  # the local file is this replica's view for a start without Redis
            self.ledger.save()


def _degraded() -> list[bytes] | None:
    return None


def _counts(flat: list[bytes]) -> dict[str, int]:
    return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def _decode(raw: Mapping[bytes, bytes], kind: Callable[[str], T]) -> dict[str, T]:
    return {k.decode(): kind(v.decode()) for k, v in raw.items()}
