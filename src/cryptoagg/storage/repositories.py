"""All queries live here. Repositories are synchronous (SQLAlchemy Core on a pooled engine);
async callers run them with `asyncio.to_thread`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, Insert, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from cryptoagg.core.models import Candle, Interval
from cryptoagg.storage.tables import candles, prices, user_queries


@dataclass(frozen=True, slots=True)
class PriceRecord:
    asset_id: str
    price: Decimal
    as_of: datetime
    recorded_at: datetime
    sources: list[str]
    volume_24h: Decimal | None = None
    change_24h: Decimal | None = None
    market_cap: Decimal | None = None


def _insert_ignoring_duplicates(engine: Engine, table: Table) -> Insert:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


class PriceRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, records: Sequence[PriceRecord]) -> int:
        if not records:
            return 0
        rows = [
            {
                "asset_id": r.asset_id,
                "price": r.price,
                "as_of": r.as_of,
                "recorded_at": r.recorded_at,
                "sources": r.sources,
                "volume_24h": r.volume_24h,
                "change_24h": r.change_24h,
                "market_cap": r.market_cap,
            }
            for r in records
        ]
        with self.engine.begin() as connection:
            connection.execute(prices.insert(), rows)
        return len(rows)

    def latest(self, asset_id: str, limit: int) -> list[PriceRecord]:
        query = (
            select(prices)
            .where(prices.c.asset_id == asset_id)
            .order_by(prices.c.as_of.desc(), prices.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            PriceRecord(
                asset_id=r["asset_id"],
                price=r["price"],
                as_of=r["as_of"],
                recorded_at=r["recorded_at"],
                sources=list(r["sources"]),
                volume_24h=r["volume_24h"],
                change_24h=r["change_24h"],
                market_cap=r["market_cap"],
            )
            for r in rows
        ]


class CandleRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert_many(self, rows: Iterable[Candle]) -> int:
        """Insert candles; one already stored for (asset, interval, open time) is kept.
        Returns how many were new."""
        values = [
            {
                "asset_id": c.asset_id,
                "interval": c.interval.value,
                "open_time": c.open_time,
                "open": c.open,
                "high": c.high,
                "low": c.low,
                "close": c.close,
                "volume": c.volume,
                "source": c.provider,
            }
            for c in rows
        ]
        if not values:
            return 0
        # RETURNING counts the rows really inserted (executemany rowcounts are unreliable)
        statement = _insert_ignoring_duplicates(self.engine, candles).returning(candles.c.id)
        with self.engine.begin() as connection:
            return len(connection.execute(statement, values).all())

    def between(
        self, asset_id: str, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        query = (
            select(candles)
            .where(
                candles.c.asset_id == asset_id,
                candles.c.interval == interval.value,
                candles.c.open_time >= start,
                candles.c.open_time <= end,
            )
            .order_by(candles.c.open_time)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            Candle(
                asset_id=r["asset_id"],
                interval=Interval(r["interval"]),
                open_time=r["open_time"],
                open=r["open"],
                high=r["high"],
                low=r["low"],
                close=r["close"],
                volume=r["volume"],
                provider=r["source"],
            )
            for r in rows
        ]


@dataclass(frozen=True, slots=True)
class QueryRecord:
    at: datetime
    endpoint: str
    params: dict[str, str]
    status: int
    duration_ms: float


class QueryRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, records: Sequence[QueryRecord]) -> int:
        if not records:
            return 0
        rows = [
            {
                "at": r.at,
                "endpoint": r.endpoint,
                "params": r.params,
                "status": r.status,
                "duration_ms": r.duration_ms,
            }
            for r in records
        ]
        with self.engine.begin() as connection:
            connection.execute(user_queries.insert(), rows)
        return len(rows)

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(user_queries)).scalar_one()
            )
