"""Risk records into the append-only audit log.

:class:`AuditWriter` is a record sink for :class:`~mftbot.risk.engine.RuleBasedRiskEngine`:
each record becomes one audit entry (``actor="risk"``, ``action="risk.<action>"``,
``entity_type="order_intent"`` or ``"trading_state"``) whose details are the record's plain
data: every rule with its numbers, every sizing method, multiplier and cap, the portfolio risk.
Any object with :class:`~mftbot.storage.repositories.audit.AuditLog`'s ``append`` signature
serves as the log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from mftbot.core.clock import ns_to_datetime
from mftbot.risk.records import RiskAction, RiskRecord

ACTOR = "risk"


class AuditSink(Protocol):
    """The audit log's append (what :class:`AuditLog` offers)."""

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
    ) -> object:
        """Append one entry."""
        ...


def audit_action(record: RiskRecord) -> str:
    """``risk.approved``, ``risk.resized``, ``risk.rejected``, ``risk.exit``, …"""
    return f"risk.{record.action.value}"


def audit_entity(record: RiskRecord) -> tuple[str, str | None]:
    """(entity type, entity id): the intent as ``strategy:symbol:signal-kind`` (64 chars at
    most), or the trading state."""
    if record.action is RiskAction.STATE:
        return "trading_state", None
    ident = f"{record.strategy}:{record.symbol}:{record.intent_kind}"
    return "order_intent", ident[:64]


def audit_details(record: RiskRecord) -> dict[str, Any]:
    """The record's plain data (JSON-safe)."""
    return record.to_dict()


def write_record(sink: AuditSink, record: RiskRecord, *, trace_id: str | None = None) -> None:
    """Append ``record`` to ``sink``."""
    entity_type, entity_id = audit_entity(record)
    sink.append(
        audit_action(record),
        actor=ACTOR,
        entity_type=entity_type,
        entity_id=entity_id,
        details=audit_details(record),
        trace_id=trace_id,
        ts=ns_to_datetime(record.ts),
    )


class AuditWriter:
    """A record sink writing every record to an audit log."""

    def __init__(self, sink: AuditSink) -> None:
        self.sink = sink
        self.written = 0

    def __call__(self, record: RiskRecord) -> None:
        """Write one record."""
        write_record(self.sink, record)
        self.written += 1
