"""Engines, sessions and schema upgrades for the ledger database.

``Database(url)`` builds an engine for ``sqlite:///path`` (the default, from settings) or
``postgresql+psycopg://...``. SQLite connections enforce foreign keys and use WAL for files.
On PostgreSQL an optional ``schema`` puts every table, trigger and Alembic's version table in
that schema (``search_path``), which is how tests share one server without seeing each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import sessionmaker

from mftbot.core.config import load_settings
from mftbot.core.errors import StorageError
from mftbot.storage import migrate
from mftbot.storage.jsoncodec import json_dumps
from mftbot.storage.session import LedgerSession

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
SQLITE_BUSY_TIMEOUT_S = 30.0


def default_url() -> str:
    """The database URL from settings (``MFTBOT_DATABASE__URL``, else ``sqlite:///./mftbot.db``)."""
    return load_settings().database.url


def parse_url(url: str | URL) -> URL:
    """Parse and check a ledger URL: SQLite, or PostgreSQL through psycopg 3.

    A bare ``postgresql://`` URL is taken as ``postgresql+psycopg://``.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"{url!r} is not a database URL") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif parsed.get_driver_name() != "psycopg":
            raise StorageError(
                f"{parsed.drivername}: use postgresql+psycopg:// (psycopg 3 is the driver)"
            )
    elif backend == "sqlite":
        path = parsed.database
        if path and not _is_memory(parsed) and not Path(path).expanduser().parent.is_dir():
            raise StorageError(f"{path}: the folder for the SQLite database does not exist")
    else:
        raise StorageError(f"{backend}: only sqlite:// and postgresql+psycopg:// are supported")
    return parsed


def redacted(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"


def _is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(url.query.get("mode", ""))


def make_engine(url: str | URL, *, schema: str | None = None, echo: bool = False) -> Engine:
    """An engine configured for the ledger (see the module docstring)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise StorageError("schema= applies to PostgreSQL only")
        engine = create_engine(
            parsed,
            echo=echo,
            json_serializer=json_dumps,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
        )
        event.listen(engine, "connect", _sqlite_pragmas(wal=not _is_memory(parsed)))
        return engine
    connect_args: dict[str, Any] = {}
    if schema is not None:
        if not _SCHEMA_NAME.match(schema):
            raise StorageError(f"{schema!r} is not a valid schema name")
        connect_args["options"] = f"-c search_path={schema}"
    return create_engine(
        parsed,
        echo=echo,
        json_serializer=json_dumps,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _sqlite_pragmas(*, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    return on_connect


class Database:
    """The ledger database: engine, session factory and migrations.

    Repositories flush but never commit; use :meth:`transaction` (or a :meth:`session` you
    commit yourself) to decide what is written together.
    """

    def __init__(
        self, url: str | URL | None = None, *, schema: str | None = None, echo: bool = False
    ) -> None:
        self.url: URL = parse_url(url if url is not None else default_url())
        self.schema = schema
        self.engine = make_engine(self.url, schema=schema, echo=echo)
        self._sessions = sessionmaker(self.engine, class_=LedgerSession, expire_on_commit=False)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    def session(self) -> LedgerSession:
        """A new session (the caller commits or rolls back and closes it)."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[LedgerSession]:
        """A session whose work is committed on success and rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to ``revision`` (default: the newest)."""
        migrate.upgrade(self.engine, revision)

    def downgrade(self, revision: str) -> None:
        """Migrate the schema down to ``revision`` (``base`` drops every table)."""
        migrate.downgrade(self.engine, revision)

    def current_revision(self) -> str | None:
        """The revision the database is at, or ``None`` when no migration was applied."""
        return migrate.current_revision(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Database({redacted(self.url)!r}, schema={self.schema!r})"


def upgrade(url: str | None = None, revision: str = "head", *, schema: str | None = None) -> str:
    """Migrate the database at ``url`` (default: from settings) and return its new revision."""
    with Database(url, schema=schema) as db:
        db.upgrade(revision)
        return db.current_revision() or "base"
