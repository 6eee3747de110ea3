"""Alembic, driven from code: the migrations ship inside the package, no ``alembic.ini``.

Writing the next migration (a developer task)::

    from mftbot.storage.database import Database
    from mftbot.storage.migrate import new_revision
    new_revision(Database("sqlite:///./dev.db").engine, "add foo", autogenerate=True)

then edit the generated file under ``migrations/versions`` and keep the model/migration
parity test green.
"""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL, Connection, Engine

from mftbot.core.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StorageError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None``: no migration applied)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction where the backend allows."""
    _run("upgrade", engine, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base``: an empty database)."""
    _run("downgrade", engine, revision)


def upgrade_sql(url: URL, revision: str = "head") -> str:
    """The SQL an upgrade to ``revision`` runs on an empty database of ``url``'s dialect.

    Nothing connects: Alembic's offline mode renders the statements (for review by a DBA).
    """
    output = io.StringIO()
    config = alembic_config()
    config.output_buffer = output
    config.attributes["url"] = url
    try:
        command.upgrade(config, revision, sql=True)
    except CommandError as exc:
        raise StorageError(f"upgrade to {revision!r} failed: {exc}") from exc
    return output.getvalue()


def new_revision(engine: Engine, message: str, *, autogenerate: bool = True) -> None:
    """Write a new migration file, diffing the models against ``engine`` when autogenerating."""
    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=autogenerate)


def _run(direction: str, engine: Engine, revision: str) -> None:
    step = command.upgrade if direction == "upgrade" else command.downgrade
    try:
        with engine.begin() as connection:
            step(alembic_config(connection), revision)
    except CommandError as exc:
        raise StorageError(f"{direction} to {revision!r} failed: {exc}") from exc
