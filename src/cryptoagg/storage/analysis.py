"""The `market_analysis` table: every computed analysis, and the newest one to reuse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select

from cryptoagg.core.models import Interval
from cryptoagg.storage.tables import market_analysis


@dataclass(frozen=True, slots=True)
class StoredAnalysis:
    asset_id: str
    interval: Interval
    window: int
    computed_at: datetime
    #: the method version the result was computed with (`core.analysis.METHOD_VERSION`)
    method: str
    result: dict[str, Any]


class AnalysisRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, analysis: StoredAnalysis) -> None:
        row = {
            "asset_id": analysis.asset_id,
            "interval": analysis.interval.value,
            "window": analysis.window,
            "computed_at": analysis.computed_at,
            "method": analysis.method,
            "result": analysis.result,
        }
        with self.engine.begin() as connection:
            connection.execute(market_analysis.insert(), row)

    def latest(
        self, asset_id: str, interval: Interval, window: int, method: str
    ) -> StoredAnalysis | None:
        """The newest analysis of this asset, interval and window made with `method`."""
        t = market_analysis.c
        query = (
            select(market_analysis)
            .where(
                t.asset_id == asset_id,
                t.interval == interval.value,
                t.window == window,
                t.method == method,
            )
            .order_by(t.computed_at.desc(), t.id.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return StoredAnalysis(
            asset_id=row["asset_id"],
            interval=Interval(row["interval"]),
            window=row["window"],
            computed_at=row["computed_at"],
            method=row["method"],
            result=row["result"],
        )

    def count(self, asset_id: str | None = None) -> int:
        query = select(func.count()).select_from(market_analysis)
        if asset_id is not None:
            query = query.where(market_analysis.c.asset_id == asset_id)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def delete_before(self, cutoff: datetime) -> int:
        """Delete analyses computed before `cutoff`; returns how many."""
        statement = delete(market_analysis).where(market_analysis.c.computed_at < cutoff)
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount
