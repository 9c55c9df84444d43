"""Candles: bulk ingest, range reads, gap inputs, rollup upserts and retention.

Ingest is the hot path of backfill, so `add_many` skips SQLAlchemy's per-row statement
machinery: it converts each candle once with the columns' own bind processors (so values are
stored exactly as every other query reads them) and hands plain tuples to the driver's
`executemany` with `ON CONFLICT DO NOTHING`; the driver's summed rowcount is the number of new
rows on both SQLite and PostgreSQL (psycopg 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select

from cryptoagg.core.candles import ROLLUP_SOURCE
from cryptoagg.core.models import Candle, Interval
from cryptoagg.storage.dialect import TupleInsert, dialect_insert
from cryptoagg.storage.tables import candles

_COLUMNS = ("asset_id", "interval", "open_time", "open", "high", "low", "close", "volume", "source")
_PRICES = ("open", "high", "low", "close", "volume")


def _values(c: Candle) -> tuple[Any, ...]:
    """A candle's values in `_COLUMNS` order, unconverted."""
    return (
        c.asset_id,
        c.interval.value,
        c.open_time,
        c.open,
        c.high,
        c.low,
        c.close,
        c.volume,
        c.provider,
    )


def _row_to_candle(r: Any) -> Candle:
    return Candle.model_construct(
        asset_id=r.asset_id,
        interval=Interval(r.interval),
        open_time=r.open_time,
        open=r.open,
        high=r.high,
        low=r.low,
        close=r.close,
        volume=r.volume,
        provider=r.source,
    )


class CandleRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = TupleInsert(
            engine, candles, _COLUMNS, "ON CONFLICT (asset_id, interval, open_time) DO NOTHING"
        )

    def _tuples(self, rows: Iterable[Candle]) -> Iterator[tuple[Any, ...]]:
        # `_insert.convert(_values(c))` unrolled: this loop is most of the ingest time
        p_asset, p_interval, p_time, p_open, p_high, p_low, p_close, p_volume, p_source = (
            self._insert.processors
        )
        for c in rows:
            yield (
                p_asset(c.asset_id),
                p_interval(c.interval.value),
                p_time(c.open_time),
                p_open(c.open),
                p_high(c.high),
                p_low(c.low),
                p_close(c.close),
                None if c.volume is None else p_volume(c.volume),
                p_source(c.provider),
            )

    def add_many(self, rows: Iterable[Candle]) -> int:
        """Insert candles in one transaction; a candle already stored for (asset, interval,
        open time) is kept. Returns how many were new."""
        if self.engine.dialect.name == "postgresql":
            return self._copy_many(rows)
        with self.engine.begin() as connection:
            return self._insert.run(connection, self._tuples(rows))

    def _copy_many(self, rows: Iterable[Candle]) -> int:
        """PostgreSQL: COPY into a transaction-scoped staging table, then one INSERT ...
        SELECT that skips duplicates (COPY itself cannot)."""
        columns = ", ".join(_COLUMNS)
        with self.engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(
                "CREATE TEMP TABLE candles_in (LIKE candles INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with cursor.copy(f"COPY candles_in ({columns}) FROM STDIN") as copy:
                for c in rows:
                    copy.write_row(_values(c))
            cursor.execute(
                f"INSERT INTO candles ({columns}) SELECT {columns} FROM candles_in "  # noqa: S608
                "ON CONFLICT (asset_id, interval, open_time) DO NOTHING"
            )
            return int(cursor.rowcount)

    def between(
        self, asset_id: str, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        """Stored candles with `start <= open_time <= end`, oldest first."""
        query = (
            select(*[candles.c[name] for name in _COLUMNS])
            .where(
                candles.c.asset_id == asset_id,
                candles.c.interval == interval.value,
                candles.c.open_time >= start,
                candles.c.open_time <= end,
            )
            .order_by(candles.c.open_time)
        )
        with self.engine.connect() as connection:
            return [_row_to_candle(r) for r in connection.execute(query)]

    def open_times(
        self, asset_id: str, interval: Interval, start: datetime, end: datetime
    ) -> list[datetime]:
        query = select(candles.c.open_time).where(
            candles.c.asset_id == asset_id,
            candles.c.interval == interval.value,
            candles.c.open_time >= start,
            candles.c.open_time <= end,
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def earliest(self, asset_id: str, interval: Interval) -> datetime | None:
        query = select(func.min(candles.c.open_time)).where(
            candles.c.asset_id == asset_id, candles.c.interval == interval.value
        )
        with self.engine.connect() as connection:
            value: datetime | None = connection.execute(query).scalar_one()
        return value

    def count(self, asset_id: str | None = None, interval: Interval | None = None) -> int:
        query = select(func.count()).select_from(candles)
        if asset_id is not None:
            query = query.where(candles.c.asset_id == asset_id)
        if interval is not None:
            query = query.where(candles.c.interval == interval.value)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def put_rollups(self, rows: Sequence[Candle]) -> int:
        """Write rolled-up candles: a period with no candle gets one, an earlier rollup of the
        period is replaced, a provider's own candle for the period is kept."""
        if not rows:
            return 0
        statement = dialect_insert(self.engine, candles)
        statement = statement.on_conflict_do_update(
            index_elements=["asset_id", "interval", "open_time"],
            set_={name: statement.excluded[name] for name in _PRICES},
            where=candles.c.source == ROLLUP_SOURCE,
        )
        values = [dict(zip(_COLUMNS, _values(c), strict=True)) for c in rows]
        with self.engine.begin() as connection:
            connection.execute(statement, values)
        return len(values)

    def delete_before(self, interval: Interval, cutoff: datetime) -> int:
        """Retention: drop every `interval` candle that opened before `cutoff`."""
        statement = delete(candles).where(
            candles.c.interval == interval.value, candles.c.open_time < cutoff
        )
        with self.engine.begin() as connection:
            return int(connection.execute(statement).rowcount)
