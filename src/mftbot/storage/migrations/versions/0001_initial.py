"""Initial ledger schema: orders, order_events, fills, positions, signals, audit_log, equity.

Revision ID: 0001
Revises:

Enumerations are VARCHAR(20) with named CHECK constraints (portable, no native enum types).
``audit_log`` gets triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from mftbot.storage.types import Money, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_STATUSES = (
    "pending",
    "submitted",
    "accepted",
    "partially_filled",
    "filled",
    "canceled",
    "rejected",
    "expired",
)

ORDER_TYPES = (
    "market",
    "limit",
    "stop_market",
    "stop_limit",
    "take_profit_market",
    "take_profit_limit",
)

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed'); END",
)
_POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP; END $$",
    "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _choice(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def _money(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, Money(), nullable=nullable)


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def _enum(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(20), nullable=nullable)


def upgrade() -> None:
    """Create every table, index and the audit-log guard."""
    op.create_table(
        "orders",
        sa.Column("id", _id(), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("venue_order_id", sa.String(64), nullable=True),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        _enum("side"),
        _enum("order_type"),
        _enum("time_in_force"),
        _money("quantity"),
        _money("price", nullable=True),
        _money("stop_price", nullable=True),
        _money("filled_qty"),
        _money("avg_fill_price", nullable=True),
        _enum("status"),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
        _choice("orders", "side", ("buy", "sell")),
        _choice("orders", "order_type", ORDER_TYPES),
        _choice("orders", "time_in_force", ("gtc", "ioc", "fok", "post_only")),
        _choice("orders", "status", ORDER_STATUSES),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_symbol_created_at", "orders", ["symbol", "created_at"])
    op.create_index("ix_orders_venue_venue_order_id", "orders", ["venue", "venue_order_id"])

    op.create_table(
        "order_events",
        sa.Column("id", _id(), nullable=False),
        sa.Column("order_id", _id(), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        _enum("from_status", nullable=True),
        _enum("to_status", nullable=True),
        sa.Column("payload", _json(), nullable=True),
        _time("ts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders")
        ),
        _choice("order_events", "from_status", ORDER_STATUSES),
        _choice("order_events", "to_status", ORDER_STATUSES),
    )
    op.create_index("ix_order_events_order_id_ts", "order_events", ["order_id", "ts"])
    op.create_index("ix_order_events_ts", "order_events", ["ts"])

    op.create_table(
        "fills",
        sa.Column("id", _id(), nullable=False),
        sa.Column("order_id", _id(), nullable=False),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("venue_trade_id", sa.String(64), nullable=False),
        _money("price"),
        _money("qty"),
        _money("fee"),
        sa.Column("fee_currency", sa.String(16), nullable=True),
        _enum("liquidity"),
        _time("ts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_fills_order_id_orders")),
        sa.UniqueConstraint("venue", "venue_trade_id", name=op.f("uq_fills_venue_venue_trade_id")),
        _choice("fills", "liquidity", ("maker", "taker")),
    )
    op.create_index("ix_fills_order_id", "fills", ["order_id"])
    op.create_index("ix_fills_ts", "fills", ["ts"])

    op.create_table(
        "positions",
        sa.Column("id", _id(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        _enum("side"),
        _enum("status"),
        _money("qty"),
        _money("entry_price", nullable=True),
        _money("exit_price", nullable=True),
        _money("realised_pnl"),
        _money("fees"),
        _money("stop_loss", nullable=True),
        _money("take_profit", nullable=True),
        _time("opened_at"),
        _time("closed_at", nullable=True),
        _time("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        _choice("positions", "side", ("long", "short")),
        _choice("positions", "status", ("opening", "open", "closing", "closed")),
    )
    op.create_index("ix_positions_status", "positions", ["status"])
    op.create_index("ix_positions_bot_id_symbol", "positions", ["bot_id", "symbol"])

    op.create_table(
        "signals",
        sa.Column("id", _id(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(16), nullable=False),
        _enum("direction"),
        sa.Column("confidence", sa.Float(), nullable=False),
        _time("signal_time"),
        sa.Column("payload", _json(), nullable=True),
        sa.Column("decision", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_signals_confidence_range")
        ),
        _choice("signals", "direction", ("long", "short", "flat")),
    )
    op.create_index("ix_signals_signal_time", "signals", ["signal_time"])
    op.create_index(
        "ix_signals_strategy_symbol_signal_time", "signals", ["strategy", "symbol", "signal_time"]
    )

    op.create_table(
        "audit_log",
        sa.Column("id", _id(), nullable=False),
        _time("ts"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("details", _json(), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    op.create_index(
        "ix_audit_log_entity_type_entity_id_ts", "audit_log", ["entity_type", "entity_id", "ts"]
    )
    op.create_index("ix_audit_log_trace_id", "audit_log", ["trace_id"])
    dialect = op.get_context().dialect.name
    for statement in _POSTGRESQL_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)

    op.create_table(
        "equity_snapshots",
        sa.Column("id", _id(), nullable=False),
        _time("ts"),
        _money("equity"),
        _money("cash"),
        _money("unrealised_pnl"),
        _money("realised_pnl"),
        _enum("mode"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equity_snapshots")),
        _choice("equity_snapshots", "mode", ("paper", "live", "backtest")),
    )
    op.create_index("ix_equity_snapshots_ts", "equity_snapshots", ["ts"])
    op.create_index("ix_equity_snapshots_mode_ts", "equity_snapshots", ["mode", "ts"])


def downgrade() -> None:
    """Drop everything (dropping a table drops its indexes and triggers)."""
    for table in (
        "equity_snapshots",
        "audit_log",
        "signals",
        "positions",
        "fills",
        "order_events",
        "orders",
    ):
        op.drop_table(table)
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")
