"""The audit log is append-only: in the repository, in the ORM and in the database itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mftbot.core.clock import SimulatedClock, ns_to_datetime
from mftbot.core.errors import StorageError
from mftbot.core.logging import trace
from mftbot.storage.database import Database
from mftbot.storage.models import AuditEntry
from mftbot.storage.repositories import AuditLog
from mftbot.storage.session import LedgerSession

T = datetime(2024, 5, 1, tzinfo=UTC)


def _seed(db: Database) -> None:
    with db.transaction() as s:
        log = AuditLog(s)
        log.append("kill_switch", actor="operator", entity_type="bot", entity_id="bot1", ts=T)
        log.append(
            "order_sent",
            actor="engine",
            entity_type="order",
            entity_id=17,
            details={"qty": "0.5"},
            ts=T + timedelta(seconds=1),
        )


def test_entries_are_read_by_entity_time_range_and_trace(
    session: LedgerSession, clock: SimulatedClock
) -> None:
    log = AuditLog(session, clock)
    with trace("abc123") as tid:
        first = log.append("start", actor="engine", entity_type="bot", entity_id="bot1")
    later = T + timedelta(hours=1)
    second = log.append(
        "order_sent",
        actor="engine",
        entity_type="order",
        entity_id=17,
        details={"client_order_id": "x"},
        ts=later.astimezone(timezone(timedelta(hours=3))),
    )
    third = log.append("stop", actor="operator", entity_type="bot", entity_id="bot1", ts=later)
    session.commit()

    assert first.trace_id == tid == "abc123"
    assert second.trace_id is None
    assert first.ts == ns_to_datetime(clock.now_ns())
    assert second.ts == later
    assert second.ts.tzinfo is UTC
    assert log.for_entity("bot", "bot1") == [first, third]
    assert log.for_entity("order", 17) == [second]
    assert log.for_entity("order", "17")[0].details == {"client_order_id": "x"}
    assert log.between(later, later + timedelta(seconds=1)) == [second, third]
    assert log.between(later, later + timedelta(seconds=1), actor="operator") == [third]
    assert log.between(first.ts, later, entity_type="bot") == [first]  # end is exclusive
    assert log.by_trace("abc123") == [first]


def test_an_empty_or_reversed_range_is_refused(sqlite_session: LedgerSession) -> None:
    with pytest.raises(StorageError, match="not after start"):
        AuditLog(sqlite_session).between(T, T)


def test_a_bad_entry_is_refused(sqlite_session: LedgerSession) -> None:
    log = AuditLog(sqlite_session)
    with pytest.raises(StorageError, match="actor"):
        log.append("x", actor="", entity_type="bot")
    with pytest.raises(StorageError, match="naive"):
        log.append("x", actor="a", entity_type="bot", ts=datetime(2024, 1, 1))
    assert log.for_entity("bot") == []


def test_the_orm_refuses_to_change_or_delete_an_entry(db: Database) -> None:
    _seed(db)
    with db.session() as s:
        entry = AuditLog(s).for_entity("bot", "bot1")[0]
        entry.action = "rewritten"
        with pytest.raises(StorageError, match="append-only"):
            s.flush()
    with db.session() as s:
        entry = AuditLog(s).for_entity("bot", "bot1")[0]
        s.delete(entry)
        with pytest.raises(StorageError, match="append-only"):
            s.flush()
    with db.session() as s:
        assert [e.action for e in AuditLog(s).for_entity("bot")] == ["kill_switch"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'rewritten'",
        "UPDATE audit_log SET details = '{}' WHERE entity_type = 'order'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE entity_type = 'bot'",
    ],
)
def test_the_database_refuses_raw_update_and_delete(db: Database, statement: str) -> None:
    _seed(db)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text(statement))
    with db.session() as s:
        entries = s.query(AuditEntry).order_by(AuditEntry.id).all()
        assert [(e.action, e.details) for e in entries] == [
            ("kill_switch", {}),
            ("order_sent", {"qty": "0.5"}),
        ]


@pytest.mark.pg
def test_postgresql_refuses_truncate(pg_db: Database) -> None:
    _seed(pg_db)
    with pytest.raises(DBAPIError, match="append-only: TRUNCATE"), pg_db.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))
    with pg_db.session() as s:
        assert len(AuditLog(s).for_entity("order")) == 1
