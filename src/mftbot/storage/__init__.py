"""Persistence: SQLAlchemy 2 models, repositories and Alembic migrations (DESIGN.md §6).

Typical use::

    db = Database()            # settings' URL, sqlite:///./mftbot.db by default
    db.upgrade()               # Alembic to head
    with db.transaction() as session:
        order = OrderRepository(session, clock).add_intent(...)

Money is exact: ``Decimal`` in Python, ``NUMERIC(38, 18)`` on PostgreSQL and a fixed-point
string on SQLite (see :mod:`mftbot.storage.types`); floats given to a repository are taken by
their shortest repr. Times are aware UTC datetimes on both backends. The ORM classes end in
``Record`` so they never clash with the domain's value types.
"""

from __future__ import annotations

from mftbot.storage.database import Database, make_engine, upgrade
from mftbot.storage.enums import (
    Liquidity,
    OrderStatus,
    OrderType,
    PositionSide,
    PositionStatus,
    SignalDirection,
    TimeInForce,
)
from mftbot.storage.errors import (
    DuplicateClientOrderIdError,
    DuplicateFillError,
    VersionConflictError,
)
from mftbot.storage.models import (
    AuditEntry,
    EquitySnapshot,
    FillRecord,
    OrderEventRecord,
    OrderRecord,
    PositionRecord,
    SignalRecord,
)
from mftbot.storage.repositories import (
    AuditLog,
    EquityRepository,
    OrderRepository,
    PositionRepository,
    SignalRepository,
)
from mftbot.storage.session import LedgerSession

__all__ = [
    "AuditEntry",
    "AuditLog",
    "Database",
    "DuplicateClientOrderIdError",
    "DuplicateFillError",
    "EquityRepository",
    "EquitySnapshot",
    "FillRecord",
    "LedgerSession",
    "Liquidity",
    "OrderEventRecord",
    "OrderRecord",
    "OrderRepository",
    "OrderStatus",
    "OrderType",
    "PositionRecord",
    "PositionRepository",
    "PositionSide",
    "PositionStatus",
    "SignalDirection",
    "SignalRecord",
    "SignalRepository",
    "TimeInForce",
    "VersionConflictError",
    "make_engine",
    "upgrade",
]
