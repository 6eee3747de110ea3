"""Engines and URLs: backends accepted, SQLite pragmas, transactions, defaults from settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mftbot.core.errors import StorageError
from mftbot.storage.database import Database, make_engine, parse_url, redacted
from mftbot.storage.repositories import AuditLog


def test_a_bare_postgresql_url_uses_psycopg() -> None:
    url = parse_url("postgresql://u:p@db.example:5432/mft")
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "db.example"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "only sqlite:// and postgresql"),
        ("postgresql+asyncpg://u@h/db", "psycopg"),
        ("not a url", "not a database URL"),
        ("sqlite:////no/such/folder/x.db", "folder for the SQLite database does not exist"),
    ],
)
def test_unsupported_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        parse_url(url)


def test_passwords_are_hidden_in_messages() -> None:
    shown = redacted("postgresql+psycopg://trader:hunter2@db/mft")
    assert "hunter2" not in shown
    assert "trader" in shown
    assert "hunter2" not in repr(Database("postgresql+psycopg://trader:hunter2@db/mft"))


def test_schema_is_for_postgresql_and_must_be_an_identifier(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="PostgreSQL only"):
        make_engine(f"sqlite:///{tmp_path}/a.db", schema="s")
    with pytest.raises(StorageError, match="not a valid schema name"):
        make_engine("postgresql+psycopg://u@h/db", schema="x; DROP TABLE orders")


def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path}/ledger.db") as db:
        db.upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_an_in_memory_sqlite_database_works(tmp_path: Path) -> None:
    with Database("sqlite://") as db:
        db.upgrade()
        with db.transaction() as s:
            AuditLog(s).append("boot", actor="t", entity_type="bot")
        with db.session() as s:
            assert len(AuditLog(s).for_entity("bot")) == 1


def test_foreign_keys_are_enforced(db: Database) -> None:
    insert = "INSERT INTO order_events (order_id, event_type, ts) VALUES (999, 'status', :ts)"
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text(insert), {"ts": "2024-01-01 00:00:00"})


def test_the_default_url_comes_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MFTBOT_DATABASE__URL", raising=False)
    with Database() as db:
        assert str(db.url) == "sqlite:///./mftbot.db"
    target = tmp_path / "from-env.db"
    monkeypatch.setenv("MFTBOT_DATABASE__URL", f"sqlite:///{target}")
    with Database() as db:
        db.upgrade()
    assert target.is_file()
