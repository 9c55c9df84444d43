"""Every storage test runs against SQLite and PostgreSQL.

PostgreSQL is the machine's server (127.0.0.1:5432, database `test`, trust auth; override
with TEST_POSTGRES_URL); each test gets its own schema. With CI=true a missing server fails
the test instead of skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from cryptoagg.storage.db import make_engine, upgrade

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_admin() -> Engine:
    """An engine on the test server; skips (fails with CI=true) when it is not reachable."""
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc.orig).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return admin


def _postgres(schema: str) -> Engine:
    admin = postgres_admin()
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    eng = _postgres(schema)
    yield eng
    eng.dispose()
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    """The `engine` with cryptoagg's schema."""
    upgrade(engine)
    return engine
