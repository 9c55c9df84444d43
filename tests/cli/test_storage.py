"""`cryptoagg export`, `backup` and `restore` as a user runs them (DATA_DIR in tmp_path)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from cryptoagg.cli import app
from cryptoagg.storage.backup import head_revision, list_backups
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.tables import candles, metadata

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
HEAD = head_revision()
runner = CliRunner()


def invoke(args: list[str], data_dir: Path, stdin: str | None = None, **env: str) -> Result:
    full: Mapping[str, str | None] = {"DATA_DIR": str(data_dir), "DATABASE_URL": None, **env}
    return runner.invoke(app, args, env=full, input=stdin)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """DATA_DIR with a migrated database holding 3 bitcoin and 2 ethereum hourly candles."""
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'cryptoagg.db'}")
    upgrade(engine)
    rows = [("bitcoin", i) for i in range(3)] + [("ethereum", i) for i in range(2)]
    with engine.begin() as connection:
        connection.execute(
            candles.insert(),
            [
                {
                    "asset_id": asset,
                    "interval": "1h",
                    "open_time": T0 + timedelta(hours=i),
                    "open": Decimal("0.000000000000000001"),
                    "high": Decimal("12345678901234567890.123456789012345678"),
                    "low": Decimal(1),
                    "close": Decimal("2.5"),
                    "volume": None,
                    "source": "kraken",
                }
                for asset, i in rows
            ],
        )
    engine.dispose()
    return data


def candle_count(data_dir: Path) -> int:
    engine = make_engine(f"sqlite:///{data_dir / 'cryptoagg.db'}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(candles)).scalar_one())
    finally:
        engine.dispose()


def delete_candles(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'cryptoagg.db'}")
    with engine.begin() as connection:
        connection.execute(candles.delete())
    engine.dispose()


# --- export --------------------------------------------------------------------------------


def test_export_csv_into_data_dir_exports(data_dir: Path) -> None:
    result = invoke(["export", "--table", "candles"], data_dir)

    assert result.exit_code == 0, result.output
    match = re.fullmatch(r"exported 5 rows from candles to (\S+)\n", result.stdout)
    assert match is not None, result.stdout
    out = Path(match.group(1))
    assert out.parent == data_dir / "exports"
    assert re.fullmatch(r"candles-\d{8}T\d{6}Z\.csv", out.name)
    with out.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert len(rows) == 6
    assert rows[1][3:8] == [
        "2024-03-01T12:00:00Z",
        "0.000000000000000001",
        "12345678901234567890.123456789012345678",
        "1",
        "2.5",
    ]


def test_export_parquet_with_filters(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "btc.parquet"  # the format follows the suffix
    args = ["export", "--table", "candles", "--out", str(out), "--asset", "BTC"]
    result = invoke([*args, "--interval", "1h", "--since", "2024-03-01T13:00:00Z"], data_dir)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"exported 2 rows from candles to {out}\n"
    rows = pq.read_table(out).to_pylist()
    assert [(r["asset_id"], r["open_time"]) for r in rows] == [
        ("bitcoin", T0 + timedelta(hours=1)),
        ("bitcoin", T0 + timedelta(hours=2)),
    ]
    assert rows[0]["high"] == Decimal("12345678901234567890.123456789012345678")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--table", "nope"],
            f"error: unknown table 'nope'; valid tables: {', '.join(sorted(metadata.tables))}\n",
        ),
        (
            ["--table", "candles", "--format", "xlsx"],
            "error: unknown format 'xlsx'; valid formats: csv, parquet\n",
        ),
        (
            ["--table", "candles", "--since", "yesterday"],
            "error: --since: not an ISO-8601 date or time: 'yesterday'\n",
        ),
        (
            ["--table", "news", "--asset", "bitcoin"],
            "error: --asset does not apply to table news (no asset_id)\n",
        ),
    ],
)
def test_export_bad_input_is_one_clear_line(data_dir: Path, args: list[str], message: str) -> None:
    result = invoke(["export", *args], data_dir)

    assert result.exit_code == 2
    assert result.stderr == message
    assert list((data_dir / "exports").iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--table", "candles", "--interval", "7m"],
            "error: unknown interval '7m'; valid intervals: 1m, 1h, 1d\n",
        ),
        (
            ["--table", "market_analysis", "--interval", "1H"],
            "error: unknown interval '1H'; valid intervals: 1m, 1h, 1d\n",
        ),
        (
            ["--table", "candles", "--asset", "NOSUCHCOIN"],
            "error: unknown asset 'NOSUCHCOIN': not an id, ticker or name of a known asset, "
            "and no stored rows have it\n",
        ),
        (
            ["--table", "prices", "--asset", "NOSUCHCOIN", "--interval", "1h"],
            "error: --interval does not apply to table prices (no interval)\n",
        ),
    ],
)
def test_export_refuses_unknown_intervals_and_assets(
    data_dir: Path, args: list[str], message: str
) -> None:
    result = invoke(["export", *args], data_dir, COLUMNS="80")

    assert result.exit_code == 2
    assert result.stderr == message  # one line even at 80 columns, no traceback
    assert result.stdout == ""
    assert list((data_dir / "exports").iterdir()) == []


def test_export_takes_an_asset_the_seed_lacks_when_rows_are_stored(data_dir: Path) -> None:
    # a listing can add assets the seed does not have; their stored rows stay exportable
    engine = make_engine(f"sqlite:///{data_dir / 'cryptoagg.db'}")
    with engine.begin() as connection:
        connection.execute(
            candles.update().where(candles.c.asset_id == "ethereum").values(asset_id="zz-listed")
        )
    engine.dispose()

    result = invoke(["export", "--table", "candles", "--asset", "ZZ-Listed"], data_dir)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("exported 2 rows from candles to ")


def test_export_of_a_known_asset_without_rows_is_not_an_error(data_dir: Path) -> None:
    result = invoke(
        ["export", "--table", "candles", "--asset", "SOL", "--interval", "1d"], data_dir
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("exported 0 rows from candles to ")


@pytest.mark.parametrize("missing", ["nonexistent/dir", "nonexistent"])
def test_export_creates_no_folders(data_dir: Path, tmp_path: Path, missing: str) -> None:
    out = tmp_path / missing / "x.csv"

    result = invoke(["export", "--table", "candles", "--out", str(out)], data_dir, COLUMNS="80")

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --out: {out.parent} does not exist (export creates no folders)\n"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_export_refuses_a_folder_or_a_file_as_the_parent(data_dir: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")

    into_folder = invoke(["export", "--table", "candles", "--out", str(tmp_path)], data_dir)
    under_file = invoke(["export", "--table", "candles", "--out", f"{a_file}/x.csv"], data_dir)

    assert into_folder.exit_code == under_file.exit_code == 2
    assert into_folder.stderr == f"error: --out: {tmp_path} is a folder; give a file name\n"
    assert under_file.stderr == (
        f"error: --out: {a_file} is not a folder (export creates no folders)\n"
    )
    assert a_file.read_text() == "x"


# --- backup and restore --------------------------------------------------------------------


def test_backup_writes_into_backups_and_keeps_backup_keep(data_dir: Path) -> None:
    outputs = [invoke(["backup"], data_dir, BACKUP_KEEP="2") for _ in range(3)]

    assert [r.exit_code for r in outputs] == [0, 0, 0], outputs[-1].output
    kept = list_backups(data_dir / "backups")
    assert len(kept) == 2
    assert f"to {kept[-1]} (revision {HEAD}, 5 rows, integrity ok)" in outputs[-1].stdout
    assert "removed old backup cryptoagg-" in outputs[-1].stdout
    assert "removed" not in outputs[0].stdout


def test_restore_asks_first_and_refuses_without_a_yes(data_dir: Path) -> None:
    assert invoke(["backup"], data_dir).exit_code == 0
    (saved,) = list_backups(data_dir / "backups")
    delete_candles(data_dir)

    declined = invoke(["restore", str(saved)], data_dir, stdin="n\n")
    no_answer = invoke(["restore", str(saved)], data_dir)

    for result in (declined, no_answer):
        assert result.exit_code == 1
        assert result.stderr.endswith(
            "error: restore cancelled: not confirmed (pass --yes to skip the question)\n"
        )
    assert "Replace the database at" in declined.stderr  # the question is not output
    assert candle_count(data_dir) == 0

    accepted = invoke(["restore", str(saved)], data_dir, stdin="y\n")

    assert accepted.exit_code == 0, accepted.output
    assert f"restored {saved} into {data_dir / 'cryptoagg.db'}: revision {HEAD}" in accepted.stdout
    assert "5 rows (candles 5)" in accepted.stdout
    assert "the previous database is saved as " in accepted.stdout
    assert candle_count(data_dir) == 5
    (pre,) = [p for p in list_backups(data_dir / "backups") if p.name.endswith("-pre-restore.db")]
    assert str(pre) in accepted.stdout


def test_restore_with_yes_skips_the_question(data_dir: Path) -> None:
    assert invoke(["backup"], data_dir).exit_code == 0
    (saved,) = list_backups(data_dir / "backups")
    delete_candles(data_dir)

    result = invoke(["restore", "--yes", str(saved)], data_dir)

    assert result.exit_code == 0, result.output
    assert "Replace the database" not in result.stdout
    assert candle_count(data_dir) == 5


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (os.urandom(8192), "is not a SQLite database"),
        (b"hello, this is a text file\n", "is not a SQLite database"),
        (b"SQLite format 3\x00" + os.urandom(8000), "is corrupt ("),
    ],
)
def test_restore_refuses_a_bad_file_in_one_line(
    data_dir: Path, tmp_path: Path, content: bytes, reason: str
) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(content)

    result = invoke(["restore", "--yes", str(bad)], data_dir)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: restore refused: {bad} {reason}")
    assert result.stderr.count("\n") == 1
    assert candle_count(data_dir) == 5
    assert list_backups(data_dir / "backups") == []


@pytest.mark.parametrize(("command", "tool"), [("backup", "pg_dump"), ("restore", "pg_restore")])
def test_postgresql_points_at_pg_dump(data_dir: Path, command: str, tool: str) -> None:
    url = "postgresql://user:s3cret@db.example:5432/cryptoagg"
    args = [command] if command == "backup" else [command, "--yes", "x.db"]

    result = invoke(args, data_dir, DATABASE_URL=url)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {command}: DATABASE_URL is PostgreSQL; use ")
    assert tool in result.stderr
    assert "s3cret" not in result.output


def test_backup_without_a_database_says_so(tmp_path: Path) -> None:
    result = invoke(["backup"], tmp_path / "empty")

    assert result.exit_code == 1
    assert (
        result.stderr == f"error: backup failed: no database at {tmp_path / 'empty'}/cryptoagg.db\n"
    )


@pytest.mark.e2e
def test_real_process_exit_codes_and_no_traceback(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("not a database")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BACKUP_KEEP"}}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cryptoagg", *args],
            env={**env, "DATA_DIR": str(data_dir), **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    refused = run("restore", "--yes", str(bad))
    assert refused.returncode == 1
    assert refused.stderr == f"error: restore refused: {bad} is not a SQLite database\n"

    made = run("backup")
    assert made.returncode == 0, made.stderr
    assert len(list_backups(data_dir / "backups")) == 1

    bad_keep = run("backup", BACKUP_KEEP="0")
    assert bad_keep.returncode == 2
    assert "BACKUP_KEEP" in bad_keep.stderr
    for result in (refused, made, bad_keep):
        assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.e2e
def test_real_process_export_refusals_at_80_columns(data_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    missing = tmp_path / "nonexistent" / "dir" / "x.csv"
    cases = {
        ("--interval", "7m"): "error: unknown interval '7m'; valid intervals: 1m, 1h, 1d\n",
        ("--asset", "NOSUCHCOIN"): (
            "error: unknown asset 'NOSUCHCOIN': not an id, ticker or name of a known asset, "
            "and no stored rows have it\n"
        ),
        ("--out", str(missing)): (
            f"error: --out: {missing.parent} does not exist (export creates no folders)\n"
        ),
    }
    for args, message in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "cryptoagg", "export", "--table", "candles", *args],
            env={**env, "DATA_DIR": str(data_dir), "COLUMNS": "80"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (result.returncode, result.stderr, result.stdout) == (2, message, ""), args
    assert not (tmp_path / "nonexistent").exists()
    assert list((data_dir / "exports").iterdir()) == []
