from __future__ import annotations

import pytest

from cryptoagg.core.errors import Unavailable, UpstreamNotFound
from cryptoagg.resilience.health import HealthBook
from tests.support import FakeClock


def test_percentiles_and_success_rates() -> None:
    clock = FakeClock()
    book = HealthBook(clock=clock.wall)
    for ms in range(1, 101):
        book.success("p", float(ms))
    book.failure("p", Unavailable("p", "HTTP 500"))
    book.failure("p", UpstreamNotFound("p", "HTTP 404"))  # not the provider's fault
    health = book.get("p")
    assert health.percentile_ms(0.5) == 50.5
    assert health.percentile_ms(0.95) == pytest.approx(95.05, abs=0.06)
    assert health.success_rate(book.minute(), 60) == round(100 / 101, 4)
    clock.advance(2 * 3600)
    book.success("p", 5.0)
    assert health.success_rate(book.minute(), 60) == 1.0
    assert health.success_rate(book.minute(), 1440) == round(101 / 102, 4)
    assert health.last_error_reason == "unavailable"


def test_a_day_of_minutes_is_kept_and_older_ones_go() -> None:
    clock = FakeClock()
    book = HealthBook(clock=clock.wall)
    for _ in range(3 * 1440):  # three days, a call a minute
        book.success("p", 1.0)
        clock.advance(60)
    health = book.get("p")
    assert len(health.minutes) == 1440
    assert min(health.minutes) == book.minute() - 1440  # the last call's minute is the newest
    assert health.success_rate(book.minute(), 1440) == 1.0
    clock.advance(-3600)  # the wall clock steps back an hour: counted, and pruned later
    book.failure("p", Unavailable("p", "HTTP 500"))
    assert len(health.minutes) == 1440 and health.success_rate(book.minute(), 60) < 1.0
