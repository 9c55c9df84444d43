"""All queries live here. Repositories are synchronous (SQLAlchemy Core on a pooled engine);
async callers run them with `asyncio.to_thread`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func, select

from cryptoagg.storage.dialect import TupleInsert, insert_ignoring_duplicates
from cryptoagg.storage.tables import prices, user_queries


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
    #: "market" or "consensus": a price is stored once per asset, `as_of` and stream
    stream: str | None = None


#: asset ids per `IN (...)` of a query
IN_CHUNK = 500


def _price_row(r: PriceRecord) -> dict[str, object]:
    return {
        "asset_id": r.asset_id,
        "price": r.price,
        "as_of": r.as_of,
        "recorded_at": r.recorded_at,
        "sources": r.sources,
        "volume_24h": r.volume_24h,
        "change_24h": r.change_24h,
        "market_cap": r.market_cap,
        "stream": r.stream,
    }


class PriceRepository:
    """`prices`: recorded prices. Written only by the recorder (`services/recorder.py`), which
    keeps the record of what was written last, so a value is stored once however many
    callers serve or collect it; anything may read. A price already stored for its asset,
    `as_of` and stream (by another replica, which serves the same shared listing) is not
    stored again."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, records: Sequence[PriceRecord]) -> int:
        """Store the records whose asset, `as_of` and stream are not stored yet; returns how
        many."""
        if not records:
            return 0
        assets = sorted({r.asset_id for r in records})
        first, last = min(r.as_of for r in records), max(r.as_of for r in records)
        with self.engine.begin() as connection:
            known: set[tuple[str, datetime, str | None]] = set()
            for at in range(0, len(assets), IN_CHUNK):
                query = select(prices.c.asset_id, prices.c.as_of, prices.c.stream).where(
                    prices.c.asset_id.in_(assets[at : at + IN_CHUNK]),
                    prices.c.as_of.between(first, last),
                )
                known.update(
                    (row.asset_id, row.as_of, row.stream) for row in connection.execute(query)
                )
            fresh: dict[tuple[str, datetime, str | None], PriceRecord] = {}
            for r in records:
                if (r.asset_id, r.as_of, r.stream) not in known:
                    fresh.setdefault((r.asset_id, r.as_of, r.stream), r)
            if fresh:
                # another replica may store the same row between the read and this insert
                insert = insert_ignoring_duplicates(self.engine, prices)
                connection.execute(insert, [_price_row(r) for r in fresh.values()])
        return len(fresh)

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
                stream=r["stream"],
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
    #: identical requests (same second, endpoint, parameters, status) this row stands for
    count: int = 1


class QueryRepository:
    """`user_queries`: recorded requests, one row per second and distinct query with a
    `count` (the recorder aggregates; thousands of identical requests a second are one row)."""

    COLUMNS = ("at", "endpoint", "params", "status", "duration_ms", "count")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = TupleInsert(engine, user_queries, self.COLUMNS)

    def add_many(self, records: Sequence[QueryRecord]) -> int:
        if not records:
            return 0
        convert = self._insert.convert
        rows = [
            convert((r.at, r.endpoint, r.params, r.status, round(r.duration_ms, 3), r.count))
            for r in records
        ]
        with self.engine.begin() as connection:
            self._insert.run(connection, rows)
        return len(rows)

    def count(self) -> int:
        """Requests recorded (the sum of the rows' counts)."""
        query = select(func.coalesce(func.sum(user_queries.c.count), 0))
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
