"""The parts of the shared budgets that need no Redis: which GCRA cells a call checks, and
the ledger's local view (Redis's totals plus what Redis does not have yet)."""

from __future__ import annotations

from cryptoagg.core.limits import Limits, Priority
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.quota import MemoryQuotaStore
from cryptoagg.resilience.shared_budget import cells
from cryptoagg.resilience.shared_ledger import SharedLedger
from tests.support import FakeClock

MONTH = "2026-03"


def test_the_cells_a_call_checks_mirror_the_local_budget() -> None:
    clock = FakeClock()
    guards = Guards(clock, clock.wall, SharedLedger(MemoryQuotaStore()))
    budget = guards.add("p", Limits(per_second=4, per_minute=60)).budget

    def rounded(priority: Priority) -> list[tuple[str, float, float]]:
        return [(name, round(i, 3), round(t, 3)) for name, i, t in cells(budget, priority)]

    # clients: the full bursts (4 and 10); background leaves 1 and 2 of them to clients and
    # is held to 75 % of each rate by cells of its own (bursts 3 and 8)
    assert rounded(Priority.CLIENT) == [("rate:1s", 250.0, 750.0), ("rate:60s", 1000.0, 9000.0)]
    assert rounded(Priority.COLLECTOR) == [
        ("rate:1s", 250.0, 500.0),
        ("rate:60s", 1000.0, 7000.0),
        ("bg:1s", 333.333, 666.667),
        ("bg:60s", 1333.333, 9333.333),
    ]


def test_the_local_view_is_redis_totals_plus_what_redis_does_not_have_yet() -> None:
    ledger = SharedLedger(MemoryQuotaStore())
    ledger.apply("p", MONTH, {"client": 10})
    ledger.add("p", MONTH, "client")  # Redis away: counted here
    ledger.add("p", MONTH, "prices", FakeClock().wall())
    assert ledger.by_purpose("p", MONTH) == {"client": 11, "prices": 1}
    batch = ledger.take_batch()
    assert batch is not None and dict(batch.deltas) == {
        ("p", MONTH, "client"): 1,
        ("p", MONTH, "prices"): 1,
    }
    assert ledger.take_batch() is batch  # until Redis confirms it, the same batch
    # Redis's totals (another replica spent 5) arrive before the batch is confirmed
    ledger.apply("p", MONTH, {"client": 15})
    assert ledger.by_purpose("p", MONTH) == {"client": 16, "prices": 1}
    assert ledger.seen("p", MONTH) == {"client": 15, "prices": 0}
    ledger.applied(batch)
    ledger.apply("p", MONTH, {"client": 16, "prices": 1})
    assert ledger.by_purpose("p", MONTH) == {"client": 16, "prices": 1}
    assert ledger.take_batch() is None
    assert ledger.store.load().counts == {"p": {MONTH: {"client": 16, "prices": 1}}}
