"""The monthly ledger of a replica that shares it through Redis.

The budgets, the plan and /api/providers read the ledger synchronously, so each replica keeps
a local view: Redis's totals (taken from every shared spend's answer and from the periodic
sync) plus what this replica counted that Redis does not have yet. A call counted locally
(`add`, `remove`: Redis was away, or a refund) is also kept as a pending delta; `take_batch`
hands the deltas out once, under an id the reconcile script remembers, so they are added
to the shared ledger exactly once even when a reply is lost and the batch is sent again;
`seen` is what Redis last said, which the script uses when Redis lost its data.
The local file (`FileQuotaStore`) keeps the last view, for a restart without Redis.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from cryptoagg.resilience.quota import QuotaLedger, QuotaStore

#: (provider, month, purpose)
Cell = tuple[str, str, str]


@dataclass(slots=True)
class Batch:
    """Deltas handed to the shared ledger under one id (retried as they are until applied)."""

    id: str
    deltas: Counter[Cell] = field(default_factory=Counter)
    #: provider -> job -> ISO time of its last background call
    runs: dict[str, dict[str, str]] = field(default_factory=dict)
    #: provider -> GCRA cell -> ms of backlog its local spends left (`SharedBudgets`)
    backlogs: dict[str, dict[str, float]] = field(default_factory=dict)

    def providers(self) -> set[str]:
        return {p for p, _, _ in self.deltas} | set(self.runs) | set(self.backlogs)


class SharedLedger(QuotaLedger):
    """A `QuotaLedger` whose counts are Redis's totals plus this replica's pending deltas."""

    def __init__(self, store: QuotaStore) -> None:
        super().__init__(store)
        self.pending: Counter[Cell] = Counter()
        self.pending_runs: dict[str, dict[str, str]] = {}
        self.inflight: Batch | None = None

    # -- counted here (Redis away, or a refund) -------------------------------------------

    def add(self, provider: str, month: str, purpose: str, at: datetime | None = None) -> None:
        super().add(provider, month, purpose, at)
        self.pending[(provider, month, purpose)] += 1
        if at is not None:
            self.pending_runs.setdefault(provider, {})[purpose] = at.isoformat()

    def remove(self, provider: str, month: str, purpose: str) -> None:
        if self.get(provider, month, purpose) > 0:
            super().remove(provider, month, purpose)
            self.pending[(provider, month, purpose)] -= 1

    # -- Redis's answers ------------------------------------------------------------------

    def apply(
        self, provider: str, month: str, totals: dict[str, int], *, save: bool = True
    ) -> bool:
        """Redis's counts of `provider` for `month`; what is still pending stays on top.
        True when the view changed (only then is it saved)."""
        view = dict(totals)
        for (p, m, purpose), delta in self._unsent().items():
            if p == provider and m == month:
                view[purpose] = max(0, view.get(purpose, 0) + delta)
        months = self.data.counts.setdefault(provider, {})
        if months.get(month) == view:
            return False
        months[month] = view
        if save:
            self.store.save(self.data)
        return True

    def apply_runs(self, provider: str, runs: dict[str, str]) -> bool:
        """Redis's last background runs of `provider` (the newer of two times wins).
        True when one was newer."""
        mine = self.data.last_runs.setdefault(provider, {})
        changed = False
        for job, when in runs.items():
            if when > mine.get(job, ""):
                mine[job] = when
                changed = True
        return changed

    def save(self) -> None:
        self.store.save(self.data)

    # -- reconciling ----------------------------------------------------------------------

    def take_batch(self) -> Batch | None:
        """The deltas to add to Redis: the batch in flight (not yet confirmed) or, when there
        is none, a new one with everything pending. None: nothing to add."""
        if self.inflight is None and (any(self.pending.values()) or self.pending_runs):
            deltas = Counter({cell: n for cell, n in self.pending.items() if n != 0})
            self.inflight = Batch(uuid.uuid4().hex, deltas, self.pending_runs)
            self.pending = Counter()
            self.pending_runs = {}
        return self.inflight

    def applied(self, batch: Batch) -> None:
        """Redis has `batch`: its deltas are part of the totals from now on."""
        if self.inflight is batch:
            self.inflight = None

    def seen(self, provider: str, month: str) -> dict[str, int]:
        """The counts of `provider` for `month` as Redis last told them (the view without
        what is not in Redis yet)."""
        view = dict(self.data.counts.get(provider, {}).get(month, {}))
        for (p, m, purpose), delta in self._unsent().items():
            if p == provider and m == month and purpose in view:
                view[purpose] = max(0, view[purpose] - delta)
        return view

    def _unsent(self) -> Counter[Cell]:
        unsent = Counter(self.pending)
        if self.inflight is not None:
            unsent.update(self.inflight.deltas)
        return unsent
