"""``mftbot db``: migrate the state database (Alembic, shipped inside the package)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mftbot.core.errors import ConfigError, StorageError

if TYPE_CHECKING:  # SQLAlchemy and Alembic load only when a command runs, not for ``--help``
    from sqlalchemy import URL

    from mftbot.storage.database import Database

app = typer.Typer(help="Manage the state database (schema migrations).", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="SQLAlchemy URL of the database (default: from settings)."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file to read database.url from."),
]


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


def _resolve_url(url: str | None, config: Path | None) -> URL:
    """``--url`` wins; else the settings (config file plus environment)."""
    from mftbot.core.config import load_settings
    from mftbot.storage.database import parse_url

    try:
        return parse_url(url if url is not None else load_settings(config).database.url)
    except (ConfigError, StorageError) as exc:
        raise _fail(exc) from exc


@contextmanager
def _database(url: URL) -> Iterator[Database]:
    """Open the database, turning every expected failure into a message and exit code 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from mftbot.storage.database import Database

    try:
        with Database(url) as db:
            yield db
    except StorageError as exc:
        raise _fail(exc) from exc
    except SQLAlchemyError as exc:
        raise _fail(RuntimeError(f"database failure: {exc}")) from exc


def _describe(revision: str | None) -> str:
    from mftbot.storage.migrate import head_revision

    if revision is None:
        return "base (empty)"
    return f"{revision} (head)" if revision == head_revision() else revision


def _migrate(db: Database, step: Callable[[], None], verb: str) -> None:
    from mftbot.storage.database import redacted

    before = db.current_revision()
    step()
    after = db.current_revision()
    typer.echo(f"{verb} {redacted(db.url)}: {_describe(before)} -> {_describe(after)}")


@app.command("upgrade")
def upgrade(
    url: UrlOption = None,
    config: ConfigOption = None,
    revision: Annotated[
        str, typer.Option("--revision", "-r", help="Target revision (default: newest).")
    ] = "head",
    sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL for an empty database; change nothing.")
    ] = False,
) -> None:
    """Create or migrate the schema up to the newest revision (safe to run repeatedly)."""
    from mftbot.storage.migrate import upgrade_sql

    target = _resolve_url(url, config)
    if sql:
        try:
            typer.echo(upgrade_sql(target, revision).rstrip())
        except StorageError as exc:
            raise _fail(exc) from exc
        return
    with _database(target) as db:
        _migrate(db, lambda: db.upgrade(revision), "upgraded")


@app.command("current")
def current(url: UrlOption = None, config: ConfigOption = None) -> None:
    """Show the revision the database is at, and whether it is the newest."""
    from mftbot.storage.database import redacted
    from mftbot.storage.migrate import head_revision

    target = _resolve_url(url, config)
    path = target.database
    is_file = target.get_backend_name() == "sqlite" and path and path != ":memory:"
    if is_file and not Path(str(path)).expanduser().exists():
        typer.echo(f"{redacted(target)}: no database file yet (run `mftbot db upgrade`)")
        raise typer.Exit(1)
    with _database(target) as db:
        revision = db.current_revision()
        head = head_revision()
        typer.echo(f"{redacted(db.url)}: at {_describe(revision)}")
        if revision != head:
            typer.echo(f"newest is {head}: run `mftbot db upgrade`")


@app.command("downgrade")
def downgrade(
    revision: Annotated[
        str, typer.Argument(help="Target revision: an id, 'base' (empty) or '-1' (one step).")
    ],
    url: UrlOption = None,
    config: ConfigOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Migrate the schema down to REVISION; tables above it are dropped with their data."""
    from mftbot.storage.database import redacted

    with _database(_resolve_url(url, config)) as db:
        if not yes:
            typer.confirm(
                f"Downgrade {redacted(db.url)} to {revision}? Dropped tables lose their data.",
                abort=True,
            )
        _migrate(db, lambda: db.downgrade(revision), "downgraded")
