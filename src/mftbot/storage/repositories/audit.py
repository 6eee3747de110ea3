"""The append-only audit log: append and read, nothing else.

The database refuses UPDATE and DELETE on ``audit_log`` (triggers from the migration), and
the ORM refuses them too, so history cannot be rewritten through mftbot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select

from mftbot.storage.models import AuditEntry
from mftbot.storage.repositories._base import Repository, json_document, text, time_range


class AuditLog(Repository):
    """Who did what to which entity, when, under which trace id."""

    def append(
        self,
        action: str,
        *,
        actor: str,
        entity_type: str,
        entity_id: str | int | None = None,
        details: dict[str, Any] | None = None,
        trace_id: str | None = None,
        ts: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry; ``trace_id`` defaults to the one bound in the logging context."""
        if trace_id is None:
            bound = structlog.contextvars.get_contextvars().get("trace_id")
            trace_id = bound if isinstance(bound, str) else None
        entry = AuditEntry(
            ts=self._time(ts, "ts"),
            actor=text(actor, "actor", 64),
            action=text(action, "action", 64),
            entity_type=text(entity_type, "entity_type", 32),
            entity_id=None if entity_id is None else text(str(entity_id), "entity_id", 64),
            details=json_document(details or {}, "details") or {},
            trace_id=None if trace_id is None else text(trace_id, "trace_id", 32),
        )
        self.session.add(entry)
        self.session.flush()
        return entry

    def for_entity(self, entity_type: str, entity_id: str | int | None = None) -> list[AuditEntry]:
        """Entries about one entity (or every entity of a type), oldest first."""
        query = select(AuditEntry).where(AuditEntry.entity_type == entity_type)
        if entity_id is not None:
            query = query.where(AuditEntry.entity_id == str(entity_id))
        return list(self.session.scalars(query.order_by(AuditEntry.ts, AuditEntry.id)))

    def between(
        self,
        start: datetime,
        end: datetime,
        *,
        entity_type: str | None = None,
        actor: str | None = None,
    ) -> list[AuditEntry]:
        """Entries with ``start <= ts < end``, oldest first, optionally filtered."""
        lo, hi = time_range(start, end)
        query = select(AuditEntry).where(AuditEntry.ts >= lo, AuditEntry.ts < hi)
        if entity_type is not None:
            query = query.where(AuditEntry.entity_type == entity_type)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        return list(self.session.scalars(query.order_by(AuditEntry.ts, AuditEntry.id)))

    def by_trace(self, trace_id: str) -> list[AuditEntry]:
        """Every entry written under one trace id, oldest first."""
        query = select(AuditEntry).where(AuditEntry.trace_id == trace_id)
        return list(self.session.scalars(query.order_by(AuditEntry.ts, AuditEntry.id)))
