"""Candles: bulk ingest, range reads, gap inputs, rollup upserts and retention.

Which candle a period keeps when two are written for it:

- a provider's candle (`add_many`) takes an empty period and replaces a *partial* rollup; it
  never replaces a complete rollup or another provider's candle (the first one stays);
- a rollup (`put_rollups`) takes an empty period and replaces an earlier rollup, except that
  a partial one never replaces a complete one (its finer candles may have been pruned since);
  it never replaces a provider's candle.

Ingest is the hot path of backfill, so `add_many` skips SQLAlchemy's per-row statement
machinery: it converts each candle once with the columns' own bind processors (so values are
stored exactly as every other query reads them) and hands plain tuples to the driver's
`executemany` with an `ON CONFLICT` clause that updates only a partial rollup; the driver's
summed rowcount is the number of rows inserted or replaced. PostgreSQL COPYs into a staging
table instead (see `_copy_many`).
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

#: a provider's candle: the rollup marks keep their defaults (not partial, no sub-candles)
_PLAIN = ("asset_id", "interval", "open_time", "open", "high", "low", "close", "volume", "source")
_COLUMNS = (*_PLAIN, "partial", "sub_candles")
#: what a replacing candle overwrites (everything but the key)
_REPLACED = ("open", "high", "low", "close", "volume", "source", "partial", "sub_candles")
_KEY = ("asset_id", "interval", "open_time")
_CONFLICT = f"ON CONFLICT ({', '.join(_KEY)})"
#: a complete candle replaces a stored partial rollup, and nothing else
_ADD_ON_CONFLICT = (
    f"{_CONFLICT} DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _REPLACED)
    + " WHERE candles.partial AND NOT excluded.partial"
)


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
        c.partial,
        c.sub_candles,
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
        partial=bool(r.partial),
        sub_candles=r.sub_candles,
    )


class CandleRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite: provider candles leave the rollup marks to their defaults (two binds less
        # per row is ~5% of ingest); candles that carry marks take the full statement
        self._insert = TupleInsert(engine, candles, _PLAIN, _ADD_ON_CONFLICT)
        self._insert_marked = TupleInsert(engine, candles, _COLUMNS, _ADD_ON_CONFLICT)

    def _tuples(self, rows: Iterable[Candle], marked: list[Candle]) -> Iterator[tuple[Any, ...]]:
        """Plain candles as converted `_PLAIN` tuples; the others go to `marked`."""
        # `_insert.convert(...)` unrolled: this loop is most of the ingest time
        p_asset, p_interval, p_time, p_open, p_high, p_low, p_close, p_volume, p_source = (
            self._insert.processors
        )
        for c in rows:
            if c.partial or c.sub_candles is not None:
                marked.append(c)
                continue
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
        """Insert candles in one transaction. A candle already stored for (asset, interval,
        open time) is kept, unless it is a partial rollup and the new one is not: then the
        new one replaces it. Returns how many were inserted or replaced."""
        if self.engine.dialect.name == "postgresql":
            return self._copy_many(rows)
        marked: list[Candle] = []
        with self.engine.begin() as connection:
            added = self._insert.run(connection, self._tuples(rows, marked))
            if marked:
                full = self._insert_marked
                added += full.run(connection, (full.convert(_values(c)) for c in marked))
        return added

    def _copy_many(self, rows: Iterable[Candle]) -> int:
        """PostgreSQL: COPY into a transaction-scoped staging table, then one UPDATE of the
        partial rollups it replaces (found through the small partial index) and one INSERT ...
        SELECT that skips duplicates (COPY itself cannot). Not one upsert: `ON CONFLICT DO
        UPDATE` fails when a batch holds the same key twice, which `DO NOTHING` tolerates."""
        columns = ", ".join(_COLUMNS)
        replaced = ", ".join(f"{name} = i.{name}" for name in _REPLACED)
        same_key = " AND ".join(f"c.{name} = i.{name}" for name in _KEY)
        with self.engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(
                "CREATE TEMP TABLE candles_in (LIKE candles INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with cursor.copy(f"COPY candles_in ({columns}) FROM STDIN") as copy:
                for c in rows:
                    copy.write_row(_values(c))
            cursor.execute(
                f"UPDATE candles AS c SET {replaced} FROM candles_in AS i "  # noqa: S608
                f"WHERE c.partial AND NOT i.partial AND {same_key}"
            )
            updated = int(cursor.rowcount)
            cursor.execute(
                f"INSERT INTO candles ({columns}) SELECT {columns} FROM candles_in "  # noqa: S608
                f"{_CONFLICT} DO NOTHING"
            )
            return updated + int(cursor.rowcount)

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
        self,
        asset_id: str,
        interval: Interval,
        start: datetime,
        end: datetime,
        *,
        complete: bool = False,
    ) -> list[datetime]:
        """Open times of the stored candles in `[start, end]`; with `complete`, of those
        that are not partial rollups (what gap detection counts as present)."""
        query = select(candles.c.open_time).where(
            candles.c.asset_id == asset_id,
            candles.c.interval == interval.value,
            candles.c.open_time >= start,
            candles.c.open_time <= end,
        )
        if complete:
            query = query.where(~candles.c.partial)
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
        period is replaced (a complete one only by a complete one), a provider's own candle
        for the period is kept."""
        if not rows:
            return 0
        statement = dialect_insert(self.engine, candles)
        statement = statement.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={name: statement.excluded[name] for name in _REPLACED},
            where=(candles.c.source == ROLLUP_SOURCE)
            & (candles.c.partial | ~statement.excluded.partial),
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
