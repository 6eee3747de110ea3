"""Alembic migrations create exactly the models' schema, and go back down cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from mftbot.core.errors import StorageError
from mftbot.storage.database import Database, upgrade
from mftbot.storage.migrate import head_revision
from mftbot.storage.models import Base


def _schema_diff(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _tables(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_upgrade_on_an_empty_database_creates_exactly_the_models_schema(
    empty_db: Database,
) -> None:
    assert empty_db.current_revision() is None
    empty_db.upgrade()
    assert empty_db.current_revision() == head_revision()
    assert _tables(empty_db) == set(Base.metadata.tables) | {"alembic_version"}
    assert _schema_diff(empty_db) == []


def test_the_schema_comparison_sees_a_difference(db: Database) -> None:
    # Guards the parity test above against passing vacuously.
    with db.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_orders_status"))
        conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
    kinds = {(entry[0], getattr(entry[1], "name", None)) for entry in _schema_diff(db)}
    assert ("add_index", "ix_orders_status") in kinds
    assert ("remove_table", "stray") in kinds


def test_upgrade_twice_is_a_no_op(db: Database) -> None:
    db.upgrade()
    assert db.current_revision() == head_revision()
    assert _schema_diff(db) == []


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(db: Database) -> None:
    db.downgrade("base")
    assert db.current_revision() is None
    assert _tables(db) == {"alembic_version"}
    if db.backend == "postgresql":
        with db.engine.connect() as conn:
            functions = conn.execute(
                text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE p.proname = 'audit_log_append_only' AND n.nspname = current_schema()"
                )
            ).scalar_one()
        assert functions == 0
    db.upgrade()
    assert _schema_diff(db) == []


def test_an_unknown_revision_is_a_clear_error(db: Database) -> None:
    with pytest.raises(StorageError, match="nosuchrev"):
        db.downgrade("nosuchrev")
    assert db.current_revision() == head_revision()


@pytest.mark.pg
def test_postgresql_objects_live_in_the_isolated_schema(pg_db: Database) -> None:
    schema = pg_db.schema
    with pg_db.engine.connect() as conn:
        assert conn.execute(text("SELECT current_schema()")).scalar_one() == schema
        placed = conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        ).scalars()
        assert set(placed) == set(Base.metadata.tables) | {"alembic_version"}
        triggers = conn.execute(
            text(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND c.relname = 'audit_log' AND NOT t.tgisinternal"
            ),
            {"s": schema},
        ).scalars()
        assert set(triggers) == {"audit_log_no_update_delete", "audit_log_no_truncate"}


def test_upgrade_function_migrates_a_url_and_returns_the_revision(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    assert upgrade(f"sqlite:///{path}") == head_revision()
    assert path.is_file()
    with Database(f"sqlite:///{path}") as db:
        assert _schema_diff(db) == []
