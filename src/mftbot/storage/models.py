"""The ledger's tables as typed SQLAlchemy 2 models (DESIGN.md §5, §6).

Money is exact (:class:`~mftbot.storage.types.Money`), times are aware UTC
(:class:`~mftbot.storage.types.UtcDateTime`). ``orders`` and ``positions`` carry a ``version``
column used for optimistic locking: every ORM update runs ``... WHERE version = :read`` and
bumps it, so an update based on a stale read fails instead of overwriting (see
:mod:`mftbot.storage.session`). ``audit_log`` is append-only: the ORM refuses to update or
delete an entry and the migration installs database triggers that refuse it too.

Class names end in ``Record`` so they never clash with the domain's value types.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Connection,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

from mftbot.core.config import TradingMode
from mftbot.core.errors import StorageError
from mftbot.domain.enums import Side
from mftbot.storage.enums import (
    Liquidity,
    OrderStatus,
    OrderType,
    PositionSide,
    PositionStatus,
    SignalDirection,
    TimeInForce,
)
from mftbot.storage.types import BigId, JsonDoc, Money, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ENUM_LENGTH = 20


def _enum(cls: type[StrEnum], name: str) -> Enum:
    """A portable enum: VARCHAR plus a named CHECK constraint, storing member values."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=ENUM_LENGTH,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names for Alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OrderRecord(Base):
    """One order, written as an intent (``PENDING``) before it is sent to the venue."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    venue_order_id: Mapped[str | None] = mapped_column(String(64))
    bot_id: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[Side] = mapped_column(_enum(Side, "side"))
    order_type: Mapped[OrderType] = mapped_column(_enum(OrderType, "order_type"))
    time_in_force: Mapped[TimeInForce] = mapped_column(_enum(TimeInForce, "time_in_force"))
    quantity: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money)
    stop_price: Mapped[Decimal | None] = mapped_column(Money)
    filled_qty: Mapped[Decimal] = mapped_column(Money)
    avg_fill_price: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "status"))
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = MappingProxyType({"version_id_col": version})
    __table_args__ = (
        Index("ix_orders_status", "status"),
        Index("ix_orders_symbol_created_at", "symbol", "created_at"),
        Index("ix_orders_venue_venue_order_id", "venue", "venue_order_id"),
    )

    def conflict_label(self) -> str:
        """How a concurrency conflict names this row."""
        return f"order id={self.id} (client_order_id={self.client_order_id})"

    def __repr__(self) -> str:
        return (
            f"OrderRecord(id={self.id}, client_order_id={self.client_order_id!r}, "
            f"status={self.status}, filled_qty={self.filled_qty}, version={self.version})"
        )


class OrderEventRecord(Base):
    """One thing that happened to an order: creation, a status change, a fill."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"))
    event_type: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[OrderStatus | None] = mapped_column(_enum(OrderStatus, "from_status"))
    to_status: Mapped[OrderStatus | None] = mapped_column(_enum(OrderStatus, "to_status"))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    ts: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_order_events_order_id_ts", "order_id", "ts"),
        Index("ix_order_events_ts", "ts"),
    )


class FillRecord(Base):
    """One execution of an order; the venue's trade id is unique per venue."""

    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"))
    venue: Mapped[str] = mapped_column(String(32))
    venue_trade_id: Mapped[str] = mapped_column(String(64))
    price: Mapped[Decimal] = mapped_column(Money)
    qty: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    liquidity: Mapped[Liquidity] = mapped_column(_enum(Liquidity, "liquidity"))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("venue", "venue_trade_id"),
        Index("ix_fills_order_id", "order_id"),
        Index("ix_fills_ts", "ts"),
    )


class PositionRecord(Base):
    """A position a bot holds (or held) on one venue and symbol."""

    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(32))
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[PositionSide] = mapped_column(_enum(PositionSide, "side"))
    status: Mapped[PositionStatus] = mapped_column(_enum(PositionStatus, "status"))
    qty: Mapped[Decimal] = mapped_column(Money)
    entry_price: Mapped[Decimal | None] = mapped_column(Money)
    exit_price: Mapped[Decimal | None] = mapped_column(Money)
    realised_pnl: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money)
    stop_loss: Mapped[Decimal | None] = mapped_column(Money)
    take_profit: Mapped[Decimal | None] = mapped_column(Money)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = MappingProxyType({"version_id_col": version})
    __table_args__ = (
        Index("ix_positions_status", "status"),
        Index("ix_positions_bot_id_symbol", "bot_id", "symbol"),
    )

    def conflict_label(self) -> str:
        """How a concurrency conflict names this row."""
        return f"position id={self.id} ({self.bot_id} {self.venue} {self.symbol} {self.side})"

    def __repr__(self) -> str:
        return (
            f"PositionRecord(id={self.id}, symbol={self.symbol!r}, side={self.side}, "
            f"status={self.status}, qty={self.qty}, version={self.version})"
        )


class SignalRecord(Base):
    """A signal a strategy emitted, and what the bot decided to do with it."""

    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(16))
    direction: Mapped[SignalDirection] = mapped_column(_enum(SignalDirection, "direction"))
    confidence: Mapped[float] = mapped_column(Float)
    signal_time: Mapped[datetime] = mapped_column(UtcDateTime)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    decision: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
        Index("ix_signals_signal_time", "signal_time"),
        Index("ix_signals_strategy_symbol_signal_time", "strategy", "symbol", "signal_time"),
    )


class AuditEntry(Base):
    """One line of the append-only audit log."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    trace_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_audit_log_ts", "ts"),
        Index("ix_audit_log_entity_type_entity_id_ts", "entity_type", "entity_id", "ts"),
        Index("ix_audit_log_trace_id", "trace_id"),
    )


class EquitySnapshot(Base):
    """Account equity at one moment, per trading mode."""

    __tablename__ = "equity_snapshots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    equity: Mapped[Decimal] = mapped_column(Money)
    cash: Mapped[Decimal] = mapped_column(Money)
    unrealised_pnl: Mapped[Decimal] = mapped_column(Money)
    realised_pnl: Mapped[Decimal] = mapped_column(Money)
    mode: Mapped[TradingMode] = mapped_column(_enum(TradingMode, "mode"))

    __table_args__ = (
        Index("ix_equity_snapshots_ts", "ts"),
        Index("ix_equity_snapshots_mode_ts", "mode", "ts"),
    )


VERSIONED_MODELS: tuple[type[OrderRecord] | type[PositionRecord], ...] = (
    OrderRecord,
    PositionRecord,
)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_audit_change(mapper: Mapper[Any], connection: Connection, target: AuditEntry) -> None:
    """The ORM never updates or deletes an audit entry (the database refuses it as well)."""
    raise StorageError(f"audit_log is append-only: entry id={target.id} cannot be changed")
