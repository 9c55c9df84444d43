from __future__ import annotations

from pathlib import Path

from cryptoagg.core.limits import Limits
from cryptoagg.resilience.budget import (
    Budget,
    FileQuotaStore,
    Gcra,
    MemoryQuotaStore,
    QuotaLedger,
)
from tests.resilience.support import FakeClock


def test_gcra_allows_burst_then_paces() -> None:
    rate = Gcra(rate=60, period_s=60, burst=3)
    now = 0.0
    for _ in range(3):
        assert rate.wait_s(now) == 0
        rate.spend(now)
    assert rate.wait_s(now) == 1.0
    assert rate.wait_s(now + 1.0) == 0


def test_rate_refusal_names_the_wait() -> None:
    clock = FakeClock()
    budget = Budget("p", Limits(per_second=2), clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
    budget.spend()
    budget.spend()
    assert budget.refusal() == "rate limit, next call in 0.5s"
    clock.advance(0.5)
    assert budget.refusal() is None


def test_monthly_quota_is_refused_and_resets_next_month() -> None:
    clock = FakeClock()
    budget = Budget("p", Limits(monthly=3), clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
    for _ in range(3):
        assert budget.refusal() is None
        budget.spend()
    assert budget.refusal() == "monthly quota used"
    assert budget.quota_left() == 0
    clock.advance(31 * 86400)  # March -> April
    assert budget.refusal() is None
    assert budget.quota_left() == 3


def test_monthly_counts_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "quota.json"
    first = Budget("cg", Limits(monthly=10), clock, clock.wall, QuotaLedger(FileQuotaStore(path)))
    for _ in range(4):
        first.spend()
    # a new process: fresh objects, same file
    again = Budget("cg", Limits(monthly=10), clock, clock.wall, QuotaLedger(FileQuotaStore(path)))
    assert again.used_this_month() == 4
    assert again.quota_left() == 6


def test_corrupt_quota_file_starts_from_zero(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    path.write_text("{not json")
    assert FileQuotaStore(path).load() == {}


def test_calls_this_minute() -> None:
    clock = FakeClock()
    budget = Budget("p", Limits(), clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
    budget.spend()
    clock.advance(30)
    budget.spend()
    assert budget.calls_this_minute() == 2
    clock.advance(31)
    assert budget.calls_this_minute() == 1
