"""Ledger fixtures: every repository test runs on SQLite (a temp file) and PostgreSQL.

On PostgreSQL each test gets its own schema (``t_<hex>``, dropped afterwards) through the
``search_path`` connection option, so parallel workers and other test files sharing the
server never see each other's tables, triggers or Alembic version table. On SQLite each test
gets a copy of a file migrated once per worker (a migration costs more than the test).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from mftbot.core.clock import SimulatedClock, datetime_to_ns
from mftbot.storage.database import Database, make_engine
from mftbot.storage.session import LedgerSession

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


@contextmanager
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh, uniquely named schema on the test server, dropped (cascade) on exit."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(pg_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
        yield name
    finally:
        with admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '20s'"))
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        admin.dispose()


@contextmanager
def pg_database(pg_url: str, *, migrated: bool) -> Iterator[Database]:
    """A database in its own schema, optionally migrated to head."""
    with pg_schema(pg_url) as schema, Database(pg_url, schema=schema) as db:
        if migrated:
            db.upgrade()
        yield db


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per worker; tests get copies."""
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    with Database(f"sqlite:///{path}") as db:
        db.upgrade()
    return path


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema yet, on each backend."""
    if request.param == "sqlite":
        with Database(f"sqlite:///{tmp_path}/ledger.db") as db:
            yield db
        return
    with pg_database(request.getfixturevalue("pg_url"), migrated=False) as db:
        yield db


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database (for checks that do not depend on the backend)."""
    path = tmp_path / "ledger.db"
    shutil.copyfile(sqlite_template, path)
    with Database(f"sqlite:///{path}") as db:
        yield db


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A database migrated to the newest revision, on each backend."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_db")
        return
    with pg_database(request.getfixturevalue("pg_url"), migrated=True) as pg:
        yield pg


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """A migrated PostgreSQL database in its own schema (PostgreSQL-only tests)."""
    with pg_database(pg_url, migrated=True) as db:
        yield db


@pytest.fixture
def clock() -> SimulatedClock:
    """Event time for record timestamps, starting at :data:`T0`."""
    return SimulatedClock(datetime_to_ns(T0))


@pytest.fixture
def session(db: Database) -> Iterator[LedgerSession]:
    """One session on the migrated database (each backend), closed after the test."""
    with db.session() as s:
        yield s


@pytest.fixture
def sqlite_session(sqlite_db: Database) -> Iterator[LedgerSession]:
    """One session on a migrated SQLite database, for input-validation checks."""
    with sqlite_db.session() as s:
        yield s
