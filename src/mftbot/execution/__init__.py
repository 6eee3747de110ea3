"""Execution: the Venue protocol, venue reports, the order ledger and the order manager.

Simulated venues live in :mod:`mftbot.execution.sim`.
"""

from __future__ import annotations

from mftbot.execution.ledger import (
    DuplicateIntentError,
    InMemoryLedger,
    IntentRecord,
    Ledger,
    LedgerEntry,
    LedgerError,
    StatusRecord,
)
from mftbot.execution.order_manager import OrderManager, UnknownOrderError
from mftbot.execution.venue import (
    VENUE_REPORT_TYPES,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    Venue,
    VenueError,
    VenueReport,
)

__all__ = [
    "VENUE_REPORT_TYPES",
    "DuplicateIntentError",
    "InMemoryLedger",
    "IntentRecord",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "OrderAccepted",
    "OrderCanceled",
    "OrderFilled",
    "OrderManager",
    "OrderRejected",
    "OrderRequest",
    "StatusRecord",
    "UnknownOrderError",
    "Venue",
    "VenueError",
    "VenueReport",
]
