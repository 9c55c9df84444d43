from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cryptoagg.storage.monitoring import (
    CheckRecord,
    CheckState,
    ResponseTimeRecord,
    ResponseTimeRepository,
    StatusLogRepository,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_status_log_lists_failed_checks_newest_first_with_filters(migrated: Engine) -> None:
    repo = StatusLogRepository(migrated)
    written = repo.add_many(
        [
            CheckRecord(at(0), "kraken", False, CheckState.DOWN, "unavailable: HTTP 500", 12.5),
            CheckRecord(at(1), "kraken", True, CheckState.UP, None, 8.0),
            CheckRecord(at(2), "binance", False, CheckState.SKIPPED, "budget_exhausted: rate"),
            CheckRecord(at(3), "binance", False, CheckState.HELD_BACK, "circuit_open: 20s"),
            CheckRecord(at(4), "kraken", False, CheckState.DOWN, "timeout: timed out", 1000.0),
        ]
    )
    assert written == 5
    assert repo.add_many([]) == 0

    errors = repo.errors()
    assert [(e.provider, e.at) for e in errors] == [
        ("kraken", at(4)),
        ("binance", at(3)),
        ("kraken", at(0)),
    ]
    assert errors[0].state is CheckState.DOWN
    assert errors[0].reason == "timeout: timed out"
    assert errors[0].latency_ms == 1000.0
    assert errors[0].ok is False
    assert errors[0].at.tzinfo is UTC
    assert errors[1].state is CheckState.HELD_BACK and errors[1].latency_ms is None

    assert [e.at for e in repo.errors(provider="kraken")] == [at(4), at(0)]
    assert [e.at for e in repo.errors(since=at(1))] == [at(4), at(3)]
    assert [e.at for e in repo.errors(limit=1)] == [at(4)]
    assert repo.errors(provider="coinbase") == []


def test_response_times_recent_per_provider(migrated: Engine) -> None:
    repo = ResponseTimeRepository(migrated)
    repo.add_many(
        [
            ResponseTimeRecord(
                at(i), "kraken" if i % 2 else "binance", "spot_price", i * 10.0, i != 3
            )
            for i in range(6)
        ]
    )
    recent = repo.recent("kraken", limit=2)
    assert [(r.at, r.latency_ms, r.ok) for r in recent] == [
        (at(5), 50.0, True),
        (at(3), 30.0, False),
    ]
    assert recent[0].endpoint == "spot_price"
    assert len(repo.recent("binance")) == 3
    assert repo.recent("coinbase") == []
