"""Only one process collects when several share a database: the leader lock.

Which lock is used (LEADER_LOCK, `leader_lock()`):

- `auto` (the default) with PostgreSQL: a session-level advisory lock held on a dedicated
  connection, keyed by the database and the schema the tables are in (one leader per
  deployment, even where several share a database). The server releases it the moment the
  session ends, so a leader killed with `kill -9` frees it at once (the kernel closes its
  socket); a leader whose host vanishes is noticed through TCP keepalives set on that session
  from LEADER_LEASE_S. No clock, no extra service, and the lock lives in the database the
  collectors write to.
- `auto` with SQLite: an exclusive `flock` on `DATA_DIR/collector.lock` (released by the
  kernel when the process dies); SQLite is one machine, so processes there share a disk.
- `redis` (needs REDIS_URL): a Redis lease with a fencing token (`leader_redis.py`), for
  PostgreSQL behind a pooler in transaction mode (PgBouncer), where a session lock cannot be
  held. While Redis is down nobody collects (serving goes on): a lease nobody can renew is
  not a lease.

Every lock answers three questions, off the event loop where they block: take it
(`try_acquire`, idempotent), is it still ours (`held`: the leader asks before each job run
and every LEADER_LEASE_S / 3 — this is the fencing: a leader that lost its lock stops), and
let it go (`release`). `collectors/runner.py` does the asking.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import math
import os
from pathlib import Path
from typing import Protocol

import structlog
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = structlog.get_logger("cryptoagg.collectors")

#: the advisory lock's key: a hash of this name, the database and the schema the tables live
#: in, so deployments that share a database in schemas of their own each elect their leader
#: (non-negative: its halves are read back from pg_locks as unsigned oids)
_KEY = text(
    "SELECT hashtextextended('cryptoagg-collectors:' || current_database() || '.'"
    " || coalesce(current_schema(), ''), 0) & 9223372036854775807"
)

#: whether this session holds the advisory lock: a bigint key shows in pg_locks as its high
#: half in `classid` and its low half in `objid`, with `objsubid` 1
_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid))"
)


class LeaderLock(Protocol):
    """The lock as the runner sees it (async: a Redis lease talks to Redis on the loop)."""

    #: which lock: "postgresql" (advisory), "file" or "redis" (`/health` shows it)
    @property
    def kind(self) -> str: ...

    #: this term's fencing token (a Redis lease's; None for locks the database fences)
    @property
    def token(self) -> int | None: ...

    async def try_acquire(self) -> bool: ...

    async def held(self) -> bool: ...

    async def release(self) -> None: ...


class BlockingLock(Protocol):
    @property
    def kind(self) -> str: ...

    def try_acquire(self) -> bool: ...

    def held(self) -> bool: ...

    def release(self) -> None: ...


class InThread:
    """A blocking lock (a file or a database connection) used from the event loop: every
    call runs in a worker thread, so a slow database never stalls requests."""

    token: int | None = None

    def __init__(self, lock: BlockingLock) -> None:
        self.lock = lock

    @property
    def kind(self) -> str:
        return self.lock.kind

    async def try_acquire(self) -> bool:
        return await asyncio.to_thread(self.lock.try_acquire)

    async def held(self) -> bool:
        return await asyncio.to_thread(self.lock.held)

    async def release(self) -> None:
        await asyncio.to_thread(self.lock.release)


class FileLock:
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        """Ours while our descriptor is still the file at `path`: a lock file deleted or
        replaced behind our back lets another process lock the new one."""
        if self._fd is None:
            return False
        try:
            same = os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
        except OSError:
            same = False
        if not same:
            self.release()
        return same

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class AdvisoryLock:
    """`lease_s` bounds how long the server keeps the lock of a leader whose host vanished
    (TCP keepalives on the lock's session: idle, interval and count from it); None leaves the
    server's settings. `key`: the lock's key (None: derived from the database and schema,
    `_KEY`)."""

    kind = "postgresql"

    def __init__(
        self, engine: Engine, key: int | None = None, lease_s: float | None = None
    ) -> None:
        self.engine = engine
        self.key = key
        self.lease_s = lease_s
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = self.engine.connect()
        try:
            self._keepalives(connection)
            if self.key is None:
                self.key = int(connection.execute(_KEY).scalar_one())
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
            ).scalar()
            connection.commit()
        except SQLAlchemyError:
            connection.invalidate()
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def _keepalives(self, connection: Connection) -> None:
        """Probe an idle session every lease/4 s, 3 times, so the server drops a dead
        leader's session (and its lock) about one lease after its host went silent."""
        if self.lease_s is None:
            return
        step = max(1, math.ceil(self.lease_s / 4))
        for name, value in (
            ("tcp_keepalives_idle", step),
            ("tcp_keepalives_interval", step),
            ("tcp_keepalives_count", 3),
            ("tcp_user_timeout", step * 4 * 1000),  # ms; PostgreSQL 12 and later
        ):
            try:
                connection.execute(text(f"SET {name} = {int(value)}"))
                connection.commit()
            except SQLAlchemyError:  # an older server: keep its defaults for this one
                connection.rollback()

    def held(self) -> bool:
        """Asks the server whether this session still holds the lock: a lost connection or
        a session terminated by an administrator answers no (and the connection goes)."""
        connection, key = self._connection, self.key
        if connection is None or key is None:  # the key is known once the lock was taken
            return False
        try:
            params = {"hi": key >> 32, "lo": key & 0xFFFFFFFF}
            got = bool(connection.execute(_HELD, params).scalar())
            connection.commit()
        except SQLAlchemyError as exc:
            log.warning("leader_lock_connection_lost", error=type(exc).__name__)
            got = False
        if not got:
            self._drop(connection)
        return got

    def _drop(self, connection: Connection) -> None:
        """Forget a connection whose lock is gone; it is never returned to the pool."""
        self._connection = None
        with contextlib.suppress(SQLAlchemyError):
            connection.invalidate()
            connection.close()

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            connection.commit()
            connection.close()
        except SQLAlchemyError:  # the session is gone, and its lock with it
            self._drop(connection)


def leader_lock(engine: Engine, data_dir: Path, lease_s: float | None = None) -> LeaderLock:
    """The database's own lock: PostgreSQL's advisory lock, else the file lock."""
    if engine.dialect.name == "postgresql":
        return InThread(AdvisoryLock(engine, lease_s=lease_s))
    return InThread(FileLock(data_dir / "collector.lock"))
