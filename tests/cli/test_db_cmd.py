"""``mftbot db upgrade / current / downgrade`` on a temporary SQLite file (and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from mftbot.cli.db_cmd import app
from mftbot.storage.database import Database, make_engine
from mftbot.storage.migrate import head_revision
from mftbot.storage.models import Base

runner = CliRunner()


def _tables(url: str) -> set[str]:
    with Database(url) as db, db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli.db"


def test_upgrade_creates_the_schema_and_is_repeatable(url: str) -> None:
    first = runner.invoke(app, ["upgrade", "--url", url])
    assert first.exit_code == 0, first.output
    assert f"base (empty) -> {head_revision()} (head)" in first.output
    assert _tables(url) == set(Base.metadata.tables) | {"alembic_version"}
    second = runner.invoke(app, ["upgrade", "--url", url])
    assert second.exit_code == 0, second.output
    assert f"{head_revision()} (head) -> {head_revision()} (head)" in second.output


@pytest.mark.parametrize(
    ("dialect_url", "guard"),
    [
        ("sqlite:///{tmp}/never.db", "RAISE(ABORT"),
        (
            "postgresql+psycopg://u:p%40ss@nowhere.invalid/db",
            "CREATE FUNCTION audit_log_append_only",
        ),
    ],
)
def test_upgrade_sql_prints_the_migration_without_touching_anything(
    tmp_path: Path, dialect_url: str, guard: str
) -> None:
    result = runner.invoke(app, ["upgrade", "--sql", "--url", dialect_url.format(tmp=tmp_path)])
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE orders" in result.output
    assert guard in result.output
    assert "INSERT INTO alembic_version" in result.output
    assert not (tmp_path / "never.db").exists()


def test_current_reports_the_revision(url: str) -> None:
    missing = runner.invoke(app, ["current", "--url", url])
    assert missing.exit_code == 1
    assert "no database file yet" in missing.output
    assert not Path(url.removeprefix("sqlite:///")).exists()  # `current` created nothing
    runner.invoke(app, ["upgrade", "--url", url])
    result = runner.invoke(app, ["current", "--url", url])
    assert result.exit_code == 0, result.output
    assert f"at {head_revision()} (head)" in result.output


def test_downgrade_asks_first_and_drops_the_tables(url: str) -> None:
    runner.invoke(app, ["upgrade", "--url", url])
    refused = runner.invoke(app, ["downgrade", "base", "--url", url], input="n\n")
    assert refused.exit_code == 1
    assert "orders" in _tables(url)
    done = runner.invoke(app, ["downgrade", "base", "--url", url, "--yes"])
    assert done.exit_code == 0, done.output
    assert "-> base (empty)" in done.output
    assert _tables(url) == {"alembic_version"}
    behind = runner.invoke(app, ["current", "--url", url])
    assert "run `mftbot db upgrade`" in behind.output


def test_the_url_comes_from_a_config_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_file = tmp_path / "file.db"
    config = tmp_path / "cfg.yaml"
    config.write_text(f"database:\n  url: sqlite:///{from_file}\n", encoding="utf-8")
    monkeypatch.delenv("MFTBOT_DATABASE__URL", raising=False)
    result = runner.invoke(app, ["upgrade", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "orders" in _tables(f"sqlite:///{from_file}")

    from_env = tmp_path / "env.db"
    monkeypatch.setenv("MFTBOT_DATABASE__URL", f"sqlite:///{from_env}")
    result = runner.invoke(app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert from_env.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["upgrade", "--url", "mysql://u@h/db"], "only sqlite:// and postgresql"),
        (["upgrade", "--config", "/no/such/config.yaml"], "no such config file"),
        (["downgrade", "nosuchrev", "--yes"], "nosuchrev"),
        (["upgrade", "--url", "postgresql://u:secret@127.0.0.1:1/x"], "database failure"),
    ],
)
def test_errors_exit_non_zero_with_a_message(url: str, args: list[str], message: str) -> None:
    if args[0] == "downgrade":
        runner.invoke(app, ["upgrade", "--url", url])
        args = [*args, "--url", url]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "secret" not in result.output


@pytest.mark.parametrize("command", [[], ["upgrade"], ["current"], ["downgrade"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        joiner = "&" if "?" in pg_url else "?"
        yield f"{pg_url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.mark.pg
def test_upgrade_and_downgrade_on_postgresql(pg_schema_url: str) -> None:
    result = runner.invoke(app, ["upgrade", "--url", pg_schema_url])
    assert result.exit_code == 0, result.output
    assert "audit_log" in _tables(pg_schema_url)
    result = runner.invoke(app, ["downgrade", "base", "--url", pg_schema_url, "--yes"])
    assert result.exit_code == 0, result.output
    assert _tables(pg_schema_url) == {"alembic_version"}
