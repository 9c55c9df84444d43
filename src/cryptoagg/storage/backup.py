"""Online backup and validated restore of the SQLite database file.

Both directions go through SQLite's backup API (`sqlite3.Connection.backup`), never a file
copy: the live database is in WAL mode, so its committed state is spread over the main file
and the `-wal` file, and copying either while the server writes can produce a torn or stale
image. The backup API reads one consistent snapshot (in WAL mode without blocking writers),
and on restore writes through SQLite's own locking, so connections that are open see the
restored content instead of corrupting it.

A backup file is `DATA_DIR/backups/cryptoagg-<UTC time>.db`, a self-contained database in
rollback-journal mode, checked with `PRAGMA integrity_check` and for cryptoagg's schema
before it gets its final name; the newest `keep` are kept. A restore refuses any file that
is not such a database, then saves the current database next to the backups
(`…-pre-restore.db`, rotated with the others by the next backup) before replacing it.

PostgreSQL is backed up with its own tools (`pg_dump` / `pg_restore`, see the README).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from cryptoagg.core.errors import BackupRefused, StorageError
from cryptoagg.storage.db import MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
#: the tables SPEC §6 promises; every cryptoagg database, at any revision, has them
SPEC_TABLES = frozenset(
    {
        "prices",
        "candles",
        "news",
        "market_analysis",
        "user_queries",
        "status_log",
        "response_times",
        "incidents",
        "alerts",
        "configuration",
        "pools",
        "pool_members",
        "pool_rotations",
    }
)
_NAME = re.compile(r"^cryptoagg-(\d{8}T\d{6}\.\d{6}Z)(-pre-restore)?\.db$")
_BUSY_TIMEOUT_S = 30.0

Clock = Callable[[], datetime]
T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """A validated cryptoagg SQLite database: its schema revision and rows per table."""

    path: Path
    revision: str
    rows: Mapping[str, int]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True, slots=True)
class BackupResult:
    backup: BackupInfo
    removed: list[Path]


@dataclass(frozen=True, slots=True)
class RestoreResult:
    restored: BackupInfo
    source: Path
    #: the database as it was before the restore, or None when there was none
    safety_backup: Path | None


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for any other database (PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise StorageError("an in-memory SQLite database cannot be backed up or restored")
    return Path(parsed.database)


def known_revisions() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise StorageError("no migration revisions found")
    return head


def _connect_ro(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S)


def validate_backup(path: Path, context: str = "restore refused") -> BackupInfo:
    """Check that `path` is a sound cryptoagg SQLite database this code can use, or refuse.

    Refused (`BackupRefused`, message starting with `context`): a missing file, a file that
    is not SQLite, one that fails `PRAGMA integrity_check`, a SQLite database without
    cryptoagg's `alembic_version` and tables, and one at a schema revision newer than this
    code knows.
    """
    if not path.is_file():
        raise BackupRefused(f"{context}: {path} does not exist or is not a file")
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BackupRefused(f"{context}: cannot read {path} ({exc.strerror})") from None
    if header != SQLITE_HEADER:
        raise BackupRefused(f"{context}: {path} is not a SQLite database")
    try:
        with closing(_connect_ro(path)) as connection:
            return _inspect(connection, path, context)
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{context}: {path} is corrupt ({exc})") from None


def _inspect(connection: sqlite3.Connection, path: Path, context: str) -> BackupInfo:
    problems = [str(row[0]) for row in connection.execute("PRAGMA integrity_check(5)")]
    if problems != ["ok"]:
        # the report is multi-line and starts with "*** in database main ***"; keep one line
        lines = [x.strip() for p in problems for x in p.splitlines() if x.strip()]
        detail = next((x for x in lines if not x.startswith("***")), "failed")
        raise BackupRefused(f"{context}: {path} is corrupt (integrity check: {detail})")
    tables = {
        str(row[0])
        for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    if "alembic_version" not in tables:
        raise BackupRefused(
            f"{context}: {path} is not a cryptoagg database (no alembic_version table)"
        )
    missing = sorted(SPEC_TABLES - tables)
    if missing:
        raise BackupRefused(
            f"{context}: {path} is not a cryptoagg database (missing tables: {', '.join(missing)})"
        )
    versions = [
        str(row[0]) for row in connection.execute("SELECT version_num FROM alembic_version")
    ]
    if len(versions) != 1:
        found = ", ".join(versions) or "none"
        raise BackupRefused(f"{context}: {path} needs one schema revision (found: {found})")
    revision = versions[0]
    if revision not in known_revisions():
        raise BackupRefused(
            f"{context}: {path} has schema revision {revision}, newer than this cryptoagg knows "
            f"(newest known: {head_revision()}); upgrade cryptoagg first"
        )
    rows = {
        name: int(connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0])  # noqa: S608
        for name in sorted(tables - {"alembic_version"})
        if not name.startswith("sqlite_")
    }
    return BackupInfo(path=path, revision=revision, rows=rows)


def list_backups(backups_dir: Path) -> list[Path]:
    """cryptoagg's backup files in `backups_dir`, oldest first (other files are ignored)."""
    if not backups_dir.is_dir():
        return []
    found = [(m.group(1), p) for p in backups_dir.iterdir() if (m := _NAME.match(p.name))]
    return [path for _, path in sorted(found)]


def rotate(backups_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups; return what was deleted."""
    if keep < 1:
        raise StorageError("keep must be at least 1")
    old = list_backups(backups_dir)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _copy(db_path: Path, target: Path) -> None:
    """Online copy of `db_path` to a new self-contained file `target` (rollback journal)."""
    with closing(_connect_ro(db_path)) as source, closing(sqlite3.connect(target)) as copy:
        # one step: a single consistent snapshot; in WAL mode writers are not blocked meanwhile
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    with target.open("rb") as file:
        os.fsync(file.fileno())


def _backup_name(now: datetime, suffix: str) -> str:
    return f"cryptoagg-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}{suffix}.db"


def _snapshot(db_path: Path, target: Path, check: Callable[[Path], T]) -> T:
    """Copy to a temporary name, `check` it, then rename: `target` only ever holds a whole copy."""
    tmp = target.with_name(f".{target.name}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise StorageError(f"backup failed: {target} already exists")
        tmp.unlink(missing_ok=True)
        _copy(db_path, tmp)
        checked = check(tmp)
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise StorageError(f"backup failed: cannot read {db_path} ({exc})") from None
    except OSError as exc:
        raise StorageError(f"backup failed: cannot write {target} ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return checked


def backup(
    db_path: Path, backups_dir: Path, keep: int | None, *, now: Clock = _utc_now
) -> BackupResult:
    """Back up the live database into `backups_dir`, verify the copy, then keep the newest.

    `keep=None` skips rotation. The copy gets its final name only after it passed
    verification, so a file named `cryptoagg-*.db` is always a complete, sound backup.
    """
    if not db_path.is_file():
        raise StorageError(f"backup failed: no database at {db_path}")
    target = backups_dir / _backup_name(now(), "")
    info = _snapshot(
        db_path, target, lambda tmp: validate_backup(tmp, "backup failed verification")
    )
    removed = rotate(backups_dir, keep) if keep is not None else []
    return BackupResult(backup=BackupInfo(target, info.revision, info.rows), removed=removed)


def restore(
    file: Path, db_path: Path, backups_dir: Path, *, now: Clock = _utc_now
) -> RestoreResult:
    """Replace the live database with the validated backup `file`.

    The current database is first saved as `…-pre-restore.db` in `backups_dir` (not
    verified: a damaged live database is a reason to restore). The copy goes through the
    backup API into the live path, so it is safe while other connections hold it open.
    """
    validate_backup(file, "restore refused")
    if db_path.exists() and file.resolve() == db_path.resolve():
        raise BackupRefused(f"restore refused: {file} is the live database itself")
    safety: Path | None = None
    if db_path.is_file():
        safety = backups_dir / _backup_name(now(), "-pre-restore")
        try:
            _snapshot(db_path, safety, lambda _tmp: None)
        except StorageError as exc:
            raise StorageError(
                f"restore stopped: cannot save the current database first ({exc.message}); "
                f"move {db_path} aside to restore without it"
            ) from None
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            closing(_connect_ro(file)) as source,
            closing(sqlite3.connect(db_path, timeout=_BUSY_TIMEOUT_S)) as live,
        ):
            source.backup(live)
            # a new file takes the backup's rollback-journal mode; the service runs in WAL
            live.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        saved = f"; the previous database is saved as {safety}" if safety else ""
        raise StorageError(f"restore failed: {exc}{saved}") from None
    restored = validate_backup(db_path, "restore failed verification")
    return RestoreResult(restored=restored, source=file, safety_backup=safety)
