"""`market_analysis` on SQLite and PostgreSQL: store, find the newest, prune."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cryptoagg.core.models import Interval
from cryptoagg.storage.analysis import AnalysisRepository, StoredAnalysis

AT = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def record(
    computed_at: datetime = AT,
    *,
    asset_id: str = "bitcoin",
    interval: Interval = Interval.D1,
    window: int = 200,
    method: str = "indicators-v1",
    close: float = 67012.5,
) -> StoredAnalysis:
    result = {
        "close": close,
        "indicators": {"sma": {"20": 66120.25, "200": None}, "rsi": {"value": 58.3125}},
        "trend": {"label": "uptrend", "score": 3},
    }
    return StoredAnalysis(asset_id, interval, window, computed_at, method, result)


def test_the_newest_matching_analysis_round_trips(migrated: Engine) -> None:
    repo = AnalysisRepository(migrated)
    repo.add(record(AT - timedelta(hours=2), close=1.0))
    repo.add(record(AT, close=2.0))
    repo.add(record(AT + timedelta(hours=1), window=100, close=3.0))
    repo.add(record(AT + timedelta(hours=1), interval=Interval.H1, close=4.0))
    repo.add(record(AT + timedelta(hours=1), asset_id="ethereum", close=5.0))
    repo.add(record(AT + timedelta(hours=1), method="indicators-v0", close=6.0))
    found = repo.latest("bitcoin", Interval.D1, 200, "indicators-v1")
    assert found == record(AT, close=2.0)
    assert found is not None and found.computed_at.tzinfo is not None
    assert found.result["indicators"]["sma"] == {"20": 66120.25, "200": None}
    assert repo.latest("bitcoin", Interval.H1, 200, "indicators-v1") == record(
        AT + timedelta(hours=1), interval=Interval.H1, close=4.0
    )
    assert repo.latest("solana", Interval.D1, 200, "indicators-v1") is None
    assert repo.count() == 6 and repo.count("bitcoin") == 5


def test_delete_before_keeps_newer_analyses(migrated: Engine) -> None:
    repo = AnalysisRepository(migrated)
    for days in (40, 31, 29, 0):
        repo.add(record(AT - timedelta(days=days)))
    assert repo.delete_before(AT - timedelta(days=30)) == 2
    assert repo.count() == 2
    assert repo.delete_before(AT - timedelta(days=30)) == 0
    assert repo.latest("bitcoin", Interval.D1, 200, "indicators-v1") == record(AT)
