"""Alembic environment: runs on the connection :mod:`mftbot.storage.migrate` hands over.

With no connection (plain ``alembic`` use with ``sqlalchemy.url`` set) it builds the engine
itself; offline mode (``--sql``) renders the SQL for that URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from mftbot.storage.models import Base

target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Run the migrations Alembic selected."""
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.attributes.get("url") or config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from mftbot.storage.database import default_url, make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or default_url())
    try:
        with engine.begin() as conn:
            _configure_and_run(conn)
    finally:
        engine.dispose()


run()
