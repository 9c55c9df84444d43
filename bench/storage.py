"""Storage figures (issue 5): candle ingest rate and 1-year daily OHLC from rollups vs raw.

    .venv/bin/python -m bench.storage [--minutes 525600] [--skip-postgres]

For SQLite (a file in a temporary directory, WAL) and PostgreSQL (127.0.0.1:5432, database
`test`, a throw-away schema), prints:
1. ingest: a year of 1-minute candles for one asset (525,600 rows) written through
   `CandleRepository.add_many` in backfill-sized batches (candles/s; target >= 150k/s on
   SQLite), and the same rows again (all duplicates, ignored);
2. end-to-end backfill from the simulator over HTTP (7 days of 1-minute candles, SQLite);
3. rollup of the year into 1h and 1d candles, then a 1-year daily OHLC read from the
   rollup tier vs aggregated from the raw 1-minute rows, best of 5 (target <= 10 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from cryptoagg.bootstrap import build
from cryptoagg.config import load_settings
from cryptoagg.core.candles import aggregate
from cryptoagg.core.models import Candle, Interval
from cryptoagg.logging import configure_logging
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.db import make_engine, upgrade

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)


def year_of_minutes(count: int) -> list[Candle]:
    out = []
    price = Decimal("42000.125")
    for i in range(count):
        step = Decimal((i * 7919) % 201 - 100) / 100
        close = price + step
        out.append(
            Candle.model_construct(
                asset_id="bitcoin",
                interval=Interval.M1,
                open_time=YEAR_START + timedelta(minutes=i),
                open=price,
                high=max(price, close) + Decimal("1.5"),
                low=min(price, close) - Decimal("1.25"),
                close=close,
                volume=Decimal("3.14159"),
                provider="binance",
            )
        )
        price = close
    return out


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()


@contextmanager
def postgres_engine() -> Iterator[Engine]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def best_of(n: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    runs = [timed(fn) for _ in range(n)]
    return min(r[0] for r in runs), runs[-1][1]


def ingest(name: str, engine: Engine, rows: list[Candle], batch: int = 720) -> None:
    repo = CandleRepository(engine)
    # backfill writes one provider chunk at a time; time both chunked and one big call
    chunked, added = timed(
        lambda: sum(repo.add_many(rows[i : i + batch]) for i in range(0, len(rows), batch))
    )
    assert added == len(rows), added
    again, dup = timed(lambda: repo.add_many(rows))
    assert dup == 0
    print(
        f"  {name:10} ingest {len(rows):,} candles in {batch}-candle chunks: "
        f"{chunked:6.2f} s = {len(rows) / chunked:>9,.0f} candles/s; "
        f"all again (duplicates, one call): {len(rows) / again:>9,.0f} candles/s"
    )


def rollup_and_read(name: str, engine: Engine, rows: list[Candle]) -> None:
    repo = CandleRepository(engine)
    end = rows[-1].open_time

    def roll() -> int:
        hours = aggregate(repo.between("bitcoin", Interval.M1, YEAR_START, end), Interval.H1)
        repo.put_rollups(hours)
        days = aggregate(hours, Interval.D1)
        return repo.put_rollups(days)

    took, days_written = timed(roll)
    print(f"  {name:10} rollup of the year into 1h and 1d: {took:6.2f} s ({days_written} days)")
    from_rollups, daily = best_of(5, lambda: repo.between("bitcoin", Interval.D1, YEAR_START, end))
    from_raw, raw_daily = best_of(
        2,
        lambda: aggregate(repo.between("bitcoin", Interval.M1, YEAR_START, end), Interval.D1),
    )
    assert [(c.open, c.high, c.low, c.close, c.volume) for c in daily] == [
        (c.open, c.high, c.low, c.close, c.volume) for c in raw_daily
    ]
    print(
        f"  {name:10} 1-year daily OHLC ({len(daily)} candles): from rollups "
        f"{from_rollups * 1000:7.2f} ms, from {len(rows):,} raw rows {from_raw * 1000:9.1f} ms "
        f"(x{from_raw / from_rollups:,.0f})"
    )
    if engine.dialect.name == "postgresql":
        sql = text(
            "SELECT date_trunc('day', open_time) AS d, "
            "(array_agg(open ORDER BY open_time))[1], max(high), min(low), "
            "(array_agg(close ORDER BY open_time DESC))[1], sum(volume) "
            "FROM candles WHERE asset_id = 'bitcoin' AND interval = '1m' GROUP BY d ORDER BY d"
        )

        def in_sql() -> int:
            with engine.connect() as connection:
                return len(connection.execute(sql).all())

        took, count = best_of(2, in_sql)
        print(f"  {name:10} same, aggregated by PostgreSQL itself: {took * 1000:9.1f} ms ({count})")


async def backfill_from_simulator() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            use_mock_data=True, data_dir=Path(tmp), collectors=False, log_level="WARNING"
        )
        async with build(settings) as container:
            asset = container.registry.get("bitcoin")
            now = container.history.ctx.clock()
            started = time.perf_counter()
            report = await container.history.fill(asset, Interval.M1, now - timedelta(days=7), now)
            took = time.perf_counter() - started
    print(
        f"  sqlite     backfill from the simulator over HTTP: {report.added:,} candles, "
        f"{report.calls} calls, {took:.2f} s = {report.added / took:,.0f} candles/s "
        "(parse + HTTP + store + rollup)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=525_600)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    configure_logging("WARNING")
    print(f"building {args.minutes:,} one-minute candles ...")
    rows = year_of_minutes(args.minutes)
    engines: list[tuple[str, Callable[[], Any]]] = [("sqlite", sqlite_engine)]
    if not args.skip_postgres:
        engines.append(("postgresql", postgres_engine))
    print("1. ingest")
    for name, factory in engines:
        with factory() as engine:
            ingest(name, engine, rows)
    print("2. backfill end to end")
    asyncio.run(backfill_from_simulator())
    print("3. rollups")
    for name, factory in engines:
        with factory() as engine:
            CandleRepository(engine).add_many(rows)
            rollup_and_read(name, engine, rows)


if __name__ == "__main__":
    main()
