"""Streamed CSV and Parquet export, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, event, text

from cryptoagg.core.errors import InvalidInput, StorageError
from cryptoagg.storage.backup import SPEC_TABLES
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.export import (
    ExportFilter,
    count_rows,
    default_path,
    export_table,
    stored_asset_id,
    table_names,
)
from cryptoagg.storage.tables import (
    alerts,
    candles,
    incidents,
    market_analysis,
    prices,
    user_queries,
)

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
BIG = Decimal("12345678901234567890.123456789012345678")  # 38 digits: the full NUMERIC(38, 18)
TINY = Decimal("0.000000000000000001")


def _candle(i: int, asset: str = "bitcoin", interval: str = "1h", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "asset_id": asset,
        "interval": interval,
        "open_time": T0 + timedelta(hours=i),
        "open": Decimal("42000.5") + i,
        "high": BIG,
        "low": TINY,
        "close": Decimal("100.000"),
        "volume": None if i % 2 else Decimal("0.00001"),
        "source": "binance",
        "partial": False,
        "sub_candles": None,
    }
    row.update(over)
    return row


@pytest.fixture
def db(engine: Engine) -> Engine:
    upgrade(engine)
    return engine


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def test_csv_holds_the_rows_with_exact_decimals_and_utc_times(db: Engine, tmp_path: Path) -> None:
    rollup = _candle(2, source="rollup", partial=True, sub_candles=16)
    with db.begin() as connection:
        connection.execute(candles.insert(), [_candle(0), _candle(1), rollup])
    out = tmp_path / "out" / "candles.csv"
    out.parent.mkdir()

    written = export_table(db, "candles", "csv", out)

    assert written == 3
    rows = _read_csv(out)
    assert rows[0] == [
        "id",
        "asset_id",
        "interval",
        "open_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "source",
        "partial",
        "sub_candles",
    ]
    big, tiny = "12345678901234567890.123456789012345678", "0.000000000000000001"

    def head(n: int, hour: str, open_: str) -> list[str]:
        return [
            str(n),
            "bitcoin",
            "1h",
            f"2024-03-01T{hour}:00:00.123456Z",
            open_,
            big,
            tiny,
            "100",
        ]

    assert rows[1:] == [
        [*head(1, "12", "42000.5"), "0.00001", "binance", "false", ""],
        [*head(2, "13", "42001.5"), "", "binance", "false", ""],
        [*head(3, "14", "42002.5"), "0.00001", "rollup", "true", "16"],  # 16 of its 24 hours
    ]
    assert Decimal(rows[1][5]) == BIG
    assert [p.name for p in out.parent.iterdir()] == ["candles.csv"]  # no temporary left


def test_csv_writes_json_booleans_floats_and_nulls(db: Engine, tmp_path: Path) -> None:
    with db.begin() as connection:
        connection.execute(
            prices.insert(),
            {
                "asset_id": "ethereum",
                "price": Decimal("3012.25"),
                "as_of": T0,
                "recorded_at": T0 + timedelta(seconds=1),
                "sources": ["kraken", "coinbase"],
                "market_cap": Decimal("1E+12"),
            },
        )
        connection.execute(
            user_queries.insert(),
            {
                "at": T0,
                "endpoint": "/api/price",
                "params": {"q": "€th", "n": 2},
                "status": 200,
                "duration_ms": 1.25,
            },
        )
        incident = connection.execute(
            incidents.insert().returning(incidents.c.id),
            {"provider": "kraken", "opened_at": T0, "reason": "timeout", "failed_checks": 3},
        ).scalar_one()
        alert = {"incident_id": incident, "at": T0, "kind": "opened", "delivered": False}
        connection.execute(alerts.insert(), {**alert, "message": 'a, "b"\nc'})
        connection.execute(
            alerts.insert(), {**alert, "incident_id": None, "message": "m", "delivered": True}
        )

    export_table(db, "prices", "csv", tmp_path / "p.csv")
    export_table(db, "user_queries", "csv", tmp_path / "q.csv")
    export_table(db, "alerts", "csv", tmp_path / "a.csv")

    assert _read_csv(tmp_path / "p.csv")[1] == [
        "1",
        "ethereum",
        "3012.25",
        "2024-03-01T12:00:00.123456Z",
        "2024-03-01T12:00:01.123456Z",
        '["kraken","coinbase"]',
        "",
        "",
        "1000000000000",
        "",  # stream: not given
    ]
    query = _read_csv(tmp_path / "q.csv")[1]
    assert query[1:] == ["2024-03-01T12:00:00.123456Z", "/api/price", query[3], "200", "1.25", "1"]
    assert json.loads(query[3]) == {"q": "€th", "n": 2}
    assert _read_csv(tmp_path / "a.csv")[1:] == [
        ["1", str(incident), "2024-03-01T12:00:00.123456Z", "opened", 'a, "b"\nc', "false", "0"],
        ["2", "", "2024-03-01T12:00:00.123456Z", "opened", "m", "true", "0"],
    ]


def test_parquet_has_an_explicit_schema_and_the_exact_values(db: Engine, tmp_path: Path) -> None:
    with db.begin() as connection:
        connection.execute(
            candles.insert(),
            [*(_candle(i) for i in range(4)), _candle(4, partial=True, sub_candles=3)],
        )
        connection.execute(
            prices.insert(),
            {
                "asset_id": "bitcoin",
                "price": Decimal("0.00000123"),
                "as_of": T0,
                "recorded_at": T0,
                "sources": {"median_of": ["kraken"]},
            },
        )
    out = tmp_path / "candles.parquet"
    chunks: list[int] = []

    written = export_table(db, "candles", "parquet", out, chunk_rows=2, on_chunk=chunks.append)

    assert written == 5
    assert chunks == [2, 2, 1]
    parquet = pq.ParquetFile(out)
    assert parquet.metadata.num_row_groups == 3  # one row group per chunk
    schema = parquet.schema_arrow
    assert schema.field("open").type == pa.decimal128(38, 18)
    assert schema.field("open_time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("id").type == pa.int64()
    assert schema.field("volume").nullable is True
    assert schema.field("source").nullable is False
    assert schema.field("partial").type == pa.bool_() and not schema.field("partial").nullable
    assert schema.field("sub_candles").type == pa.int64()
    rows = parquet.read().to_pylist()
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    first = rows[0]
    assert first["open_time"] == T0
    assert first["open_time"].utcoffset() == timedelta(0)
    assert (first["open"], first["high"], first["low"]) == (Decimal("42000.5"), BIG, TINY)
    assert str(first["high"]) == "12345678901234567890.123456789012345678"
    assert [r["volume"] for r in rows] == [Decimal("0.00001"), None] * 2 + [Decimal("0.00001")]
    assert [(r["partial"], r["sub_candles"]) for r in rows] == [(False, None)] * 4 + [(True, 3)]

    export_table(db, "prices", "parquet", tmp_path / "prices.parquet")
    price = pq.read_table(tmp_path / "prices.parquet").to_pylist()[0]
    assert price["price"] == Decimal("0.00000123")
    assert json.loads(price["sources"]) == {"median_of": ["kraken"]}


def test_filters_select_asset_interval_and_time(db: Engine, tmp_path: Path) -> None:
    with db.begin() as connection:
        connection.execute(
            candles.insert(),
            [_candle(i) for i in range(4)]
            + [_candle(i, asset="ethereum") for i in range(4)]
            + [_candle(i, interval="1d") for i in range(2)],
        )
    filters = ExportFilter(asset_id="bitcoin", interval="1h", since=T0 + timedelta(hours=2))

    written = export_table(db, "candles", "csv", tmp_path / "f.csv", filters=filters)

    assert written == count_rows(db, "candles", filters) == 2
    rows = _read_csv(tmp_path / "f.csv")[1:]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("bitcoin", "1h", "2024-03-01T14:00:00.123456Z"),
        ("bitcoin", "1h", "2024-03-01T15:00:00.123456Z"),
    ]
    assert count_rows(db, "candles") == 10


def test_every_table_exports_in_both_formats(db: Engine, tmp_path: Path) -> None:
    for name in table_names():
        assert export_table(db, name, "csv", tmp_path / f"{name}.csv") == 0
        assert export_table(db, name, "parquet", tmp_path / f"{name}.parquet") == 0
        assert len(_read_csv(tmp_path / f"{name}.csv")) == 1  # the header
        assert pq.read_table(tmp_path / f"{name}.parquet").num_rows == 0
    assert set(table_names()) >= SPEC_TABLES  # every SPEC §6 table was exported


def test_unknown_table_is_refused_with_the_valid_names(db: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        export_table(db, "candle", "csv", tmp_path / "out" / "x.csv")
    assert caught.value.message.startswith("unknown table 'candle'; valid tables: alerts, ")
    assert "candles" in caught.value.message and "pool_rotations" in caught.value.message
    assert not (tmp_path / "out").exists()


def test_filter_on_a_table_without_the_column_is_refused(db: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"--asset does not apply to table news"):
        export_table(db, "news", "csv", tmp_path / "n.csv", filters=ExportFilter(asset_id="x"))
    with pytest.raises(InvalidInput, match=r"--since does not apply to table pool_members"):
        count_rows(db, "pool_members", ExportFilter(since=T0))


@pytest.mark.parametrize("interval", ["7m", "1H", "", "1w"])
def test_an_unknown_interval_is_refused_with_the_valid_ones(interval: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ExportFilter(interval=interval)
    assert caught.value.message == (f"unknown interval {interval!r}; valid intervals: 1m, 1h, 1d")


@pytest.mark.parametrize("interval", ["1m", "1h", "1d"])
def test_every_stored_interval_is_accepted(interval: str) -> None:
    assert ExportFilter(interval=interval).interval == interval


def test_export_creates_no_folders(db: Engine, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "deeper" / "candles.csv"

    with pytest.raises(InvalidInput) as caught:
        export_table(db, "candles", "csv", out)

    assert caught.value.message == (
        f"--out: {out.parent} does not exist (export creates no folders)"
    )
    assert not (tmp_path / "missing").exists()


def test_export_refuses_a_folder_as_the_target(db: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"is a folder; give a file name"):
        export_table(db, "candles", "csv", tmp_path)
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    with pytest.raises(InvalidInput, match=r"plain is not a folder \(export creates no folders\)"):
        export_table(db, "candles", "parquet", a_file / "c.parquet")
    assert a_file.read_text() == "x"


def test_stored_asset_id_finds_an_asset_in_any_table_with_asset_ids(db: Engine) -> None:
    with db.begin() as connection:
        connection.execute(candles.insert(), [_candle(0, asset="listed-coin")])
        connection.execute(
            market_analysis.insert(),
            {
                "asset_id": "analysed-coin",
                "interval": "1d",
                "window": 30,
                "computed_at": T0,
                "method": "v1",
                "result": {},
            },
        )

    assert stored_asset_id(db, "listed-coin") == "listed-coin"
    assert stored_asset_id(db, " Listed-Coin ") == "listed-coin"  # ids are lower case
    assert stored_asset_id(db, "analysed-coin") == "analysed-coin"
    assert stored_asset_id(db, "nosuchcoin") is None
    assert stored_asset_id(db, "") is None


def test_a_failed_export_leaves_the_old_file_and_no_partial_one(db: Engine, tmp_path: Path) -> None:
    with db.begin() as connection:
        connection.execute(candles.insert(), [_candle(i) for i in range(5)])
    out = tmp_path / "out" / "candles.csv"
    out.parent.mkdir()
    out.write_text("previous export\n")

    def interrupt(_rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_table(db, "candles", "csv", out, chunk_rows=2, on_chunk=interrupt)

    assert out.read_text() == "previous export\n"
    assert [p.name for p in out.parent.iterdir()] == ["candles.csv"]


def test_a_value_beyond_decimal_38_18_fails_the_parquet_export_cleanly(tmp_path: Path) -> None:
    # SQLite keeps Money as exact text, so it can hold 19 decimals that NUMERIC(38, 18) cannot
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(candles.insert(), _candle(0, low=Decimal("0.0000000000000000001")))
    out = tmp_path / "out" / "c.parquet"
    out.parent.mkdir()

    with pytest.raises(StorageError, match=r"does not fit the Parquet schema"):
        export_table(engine, "candles", "parquet", out)

    assert list(out.parent.iterdir()) == []
    engine.dispose()


def test_default_path_is_in_exports_with_a_utc_stamp(tmp_path: Path) -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert default_path(tmp_path, "candles", "parquet", when) == (
        tmp_path / "candles-20240506T070809Z.parquet"
    )


# --- constant memory -----------------------------------------------------------------------

ROWS = 200_000


def _fill_candles(engine: Engine, n: int) -> None:
    """n one-minute candles, generated by the database itself (no Python-side rows)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "WITH RECURSIVE n(i) AS"
                    " (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last)"
                    " INSERT INTO candles (asset_id, interval, open_time, open, high, low, close,"
                    " volume, source) SELECT 'bitcoin', '1m',"
                    " datetime('2024-01-01', '+' || i || ' minutes') || '.000000',"
                    " (40000 + i % 997) || '.123456789', (40100 + i % 991) || '.5',"
                    " (39900 + i % 983) || '.25', (40050 + i % 977) || '.000000000000000001',"
                    " i || '.75', 'binance' FROM n"
                ),
                {"last": n - 1},
            )
        else:
            connection.execute(
                text(
                    "INSERT INTO candles (asset_id, interval, open_time, open, high, low, close,"
                    " volume, source) SELECT 'bitcoin', '1m',"
                    " timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',"
                    " 40000.123456789 + i % 997, 40100.5 + i % 991, 39900.25 + i % 983,"
                    " 40050.000000000000000001 + i % 977, i + 0.75, 'binance'"
                    " FROM generate_series(0, :last) AS i"
                ),
                {"last": n - 1},
            )


def test_export_fetches_in_chunks_from_a_streaming_cursor(db: Engine, tmp_path: Path) -> None:
    _fill_candles(db, 25_000)
    cursors: list[str] = []

    @event.listens_for(db, "before_cursor_execute")
    def record(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM candles" in statement:
            cursors.append(type(cursor).__name__)

    chunks: list[int] = []
    written = export_table(db, "candles", "csv", tmp_path / "c.csv", on_chunk=chunks.append)
    event.remove(db, "before_cursor_execute", record)

    assert written == 25_000
    assert chunks == [10_000, 10_000, 5_000]
    # PostgreSQL: a named server-side cursor, so the server does not send the whole result
    # at once (psycopg's client cursor would buffer it all in libpq memory)
    expected = "ServerCursor" if db.dialect.name == "postgresql" else "Cursor"
    assert cursors == [expected]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_memory_stays_flat_for_200k_rows(fmt: str, tmp_path: Path) -> None:
    """Materialising these 200k rows takes ≈290 MB of Python objects (measured with
    `connection.execute(select(candles)).all()`); a chunked export must stay far below."""
    engine = make_engine(f"sqlite:///{tmp_path / 'big.db'}")
    upgrade(engine)
    _fill_candles(engine, ROWS)
    out = tmp_path / f"big.{fmt}"

    tracemalloc.start()
    try:
        written = export_table(engine, "candles", fmt, out)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        engine.dispose()

    assert written == ROWS
    assert peak < 40_000_000, f"peak {peak / 1e6:.0f} MB"
    if fmt == "parquet":
        assert pq.ParquetFile(out).metadata.num_rows == ROWS
    else:
        with out.open(encoding="utf-8") as file:
            assert sum(1 for _ in file) == ROWS + 1
