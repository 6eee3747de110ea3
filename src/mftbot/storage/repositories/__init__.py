"""Repositories: small data-access classes over one session (they flush, never commit)."""

from __future__ import annotations

from mftbot.storage.repositories.audit import AuditLog
from mftbot.storage.repositories.equity import EquityRepository
from mftbot.storage.repositories.orders import OrderRepository
from mftbot.storage.repositories.positions import PositionRepository
from mftbot.storage.repositories.signals import SignalRepository

__all__ = [
    "AuditLog",
    "EquityRepository",
    "OrderRepository",
    "PositionRepository",
    "SignalRepository",
]
