"""The order ledger in the SQL database: the :class:`~mftbot.execution.ledger.Ledger` protocol
over the storage repositories, for paper and live sessions (DESIGN.md principle 4).

Every call is its own committed transaction, so an intent is durable, with its client order id,
before the order manager sends it; a restart reads it back with :meth:`SqlLedger.get`.

* The intent's ``created`` event carries what the ``orders`` row has no column for (intent
  kind, signal and creation times in ns, the requested float quantities), so
  :meth:`SqlLedger.get` rebuilds the exact :class:`IntentRecord`. Status changes carry their ns
  time and reason; other times read back at the database's µs precision.
* Fills move an order to ``PARTIALLY_FILLED`` / ``FILLED`` (the repository's rule); the status
  the order manager reports next is then already there, and is kept as a ``reported`` order
  event (no change), so the statuses read back are the ones the order manager recorded.
* Quantities: the order manager completes an order within a relative ``QTY_REL_TOL`` of its
  quantity while the ledger compares exact decimals, so a fill within that tolerance of the
  rest completes the stored order at its filled quantity. The base quantity of a quote-sized
  order ("spend 1,000 USDT") is provisional until the venue fills it: its fills keep it
  ``PARTIALLY_FILLED`` (the stored quantity grows past them where needed) until the order
  manager reports ``FILLED``, which fixes the quantity at the amount filled.

It also keeps the session's other durable records: signals, equity snapshots and audit entries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from mftbot.core.clock import Clock, WallClock, datetime_to_ns, ns_to_datetime
from mftbot.core.config import TradingMode
from mftbot.core.errors import IllegalTransitionError, StorageError
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill
from mftbot.domain.orders import QTY_REL_TOL, OrderStatus, OrderType, TimeInForce
from mftbot.execution.ledger import (
    DuplicateIntentError,
    IntentRecord,
    LedgerEntry,
    LedgerError,
    StatusRecord,
    UnknownLedgerOrderError,
)
from mftbot.storage.database import Database
from mftbot.storage.enums import SignalDirection
from mftbot.storage.errors import DuplicateClientOrderIdError
from mftbot.storage.models import OrderEventRecord, OrderRecord
from mftbot.storage.repositories import (
    AuditLog,
    EquityRepository,
    OrderRepository,
    SignalRepository,
)
from mftbot.storage.session import LedgerSession
from mftbot.storage.types import to_decimal

_FILL_STATUSES = frozenset({OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})
_QUANTUM = Decimal("1e-18")
"""The stored scale (``NUMERIC(38, 18)``): the least a provisional quantity exceeds its fills."""
_TOL = Decimal(repr(QTY_REL_TOL))
_STATUS_EVENTS = frozenset({"status", "reported"})
"""Order events that record a status the order manager reported (fills are not among them)."""


class SqlLedger:
    """A :class:`~mftbot.execution.ledger.Ledger` in a migrated :class:`Database`.

    ``clock`` stamps the rows' bookkeeping times (``created_at``, ``updated_at``): a simulated
    clock in a replayed paper session, the wall clock live.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        mode: TradingMode = TradingMode.PAPER,
    ) -> None:
        self.db = db
        self.clock: Clock = clock if clock is not None else WallClock()
        self.mode = TradingMode(mode)

    # --- the Ledger protocol ----------------------------------------------------------------

    def record_intent(self, record: IntentRecord) -> None:
        """Write the intent (``PENDING``) and commit; a known client order id raises
        :class:`DuplicateIntentError` and writes nothing."""
        payload: dict[str, Any] = {
            "intent": record.intent.value,
            "signal_ts": record.signal_ts,
            "created_ts": record.created_ts,
            "qty": record.qty,
            "quote_qty": record.quote_qty,
        }
        try:
            with self.db.transaction() as session:
                OrderRepository(session, self.clock).add_intent(
                    client_order_id=record.client_order_id,
                    bot_id=record.bot_id,
                    strategy=record.strategy,
                    venue=record.venue,
                    symbol=record.symbol,
                    side=record.side,
                    order_type=record.order_type,
                    quantity=record.qty,
                    price=record.price,
                    stop_price=record.stop_price,
                    time_in_force=record.time_in_force,
                    reduce_only=record.reduce_only,
                    payload=payload,
                )
        except DuplicateClientOrderIdError as exc:
            raise DuplicateIntentError(
                f"client order id {record.client_order_id!r} is already in the ledger"
            ) from exc

    def record_status(
        self, client_order_id: str, status: OrderStatus, ts: int, reason: str = ""
    ) -> None:
        """Record a status change and commit.

        ``PARTIALLY_FILLED`` / ``FILLED`` come from the fills already recorded; a ``FILLED``
        the fills left short (a quote-sized order, float tolerance) fixes the quantity.
        Anything the stored order cannot reach raises :class:`LedgerError`.
        """
        target = OrderStatus(status)
        with self.db.transaction() as session:
            repo = OrderRepository(session, self.clock)
            order = self._order(repo, client_order_id)
            if target in _FILL_STATUSES:
                self._fill_status(session, repo, order, target, ts, reason)
                return
            payload: dict[str, Any] = {"ts_ns": ts}
            if reason:
                payload["reason"] = reason
            try:
                repo.update_status(order, target, payload=payload, ts=ns_to_datetime(ts))
            except IllegalTransitionError as exc:
                raise LedgerError(str(exc)) from exc

    def record_fill(self, client_order_id: str, fill: Fill) -> None:
        """Record one execution and commit (see the module doc for quantities)."""
        with self.db.transaction() as session:
            repo = OrderRepository(session, self.clock)
            order = self._order(repo, client_order_id)
            if fill.client_order_id != client_order_id:
                raise LedgerError(
                    f"fill {fill.trade_id} is for {fill.client_order_id!r}, not {client_order_id!r}"
                )
            after = order.filled_qty + to_decimal(fill.qty, "qty")
            if _quote_sized(repo, order):
                if after >= order.quantity:
                    order.quantity = after + _QUANTUM
            elif order.quantity < after <= order.quantity * (1 + _TOL):
                order.quantity = after
            try:
                repo.add_fill(
                    order,
                    venue_trade_id=fill.trade_id,
                    price=fill.price,
                    qty=fill.qty,
                    liquidity=fill.liquidity,
                    fee=fill.fee,
                    fee_currency=fill.fee_currency,
                    ts=ns_to_datetime(fill.ts),
                )
            except (StorageError, IllegalTransitionError) as exc:
                raise LedgerError(str(exc)) from exc

    def get(self, client_order_id: str) -> LedgerEntry | None:
        """Everything recorded about ``client_order_id``, or ``None``."""
        with self.db.session() as session:
            repo = OrderRepository(session, self.clock)
            order = repo.get_by_client_order_id(client_order_id)
            return None if order is None else _entry(repo, order)

    # --- reading ----------------------------------------------------------------------------

    def entries(self, *, bot_id: str | None = None) -> list[LedgerEntry]:
        """Every order (of ``bot_id``), in the order the intents were written."""
        with self.db.session() as session:
            repo = OrderRepository(session, self.clock)
            query = select(OrderRecord).order_by(OrderRecord.id)
            if bot_id is not None:
                query = query.where(OrderRecord.bot_id == bot_id)
            return [_entry(repo, order) for order in session.scalars(query)]

    def __len__(self) -> int:
        with self.db.session() as session:
            return len(session.scalars(select(OrderRecord.id)).all())

    # --- the session's other records --------------------------------------------------------

    def record_signal(
        self,
        *,
        strategy: str,
        symbol: str,
        timeframe: str,
        direction: SignalDirection | str,
        ts: int,
        decision: str,
        confidence: float = 1.0,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Store a strategy signal and what was done with it."""
        with self.db.transaction() as session:
            SignalRepository(session, self.clock).add(
                strategy=strategy,
                symbol=symbol,
                timeframe=timeframe,
                direction=direction,
                confidence=confidence,
                signal_time=ns_to_datetime(ts),
                payload=payload,
                decision=decision,
            )

    def record_equity(
        self, *, ts: int, equity: float, cash: float, unrealised_pnl: float, realised_pnl: float
    ) -> None:
        """Store one equity snapshot of this ledger's trading mode."""
        with self.db.transaction() as session:
            EquityRepository(session, self.clock).record(
                equity=equity,
                cash=cash,
                unrealised_pnl=unrealised_pnl,
                realised_pnl=realised_pnl,
                mode=self.mode,
                ts=ns_to_datetime(ts),
            )

    def audit(
        self, action: str, *, actor: str, ts: int, details: dict[str, Any] | None = None
    ) -> None:
        """Append an audit entry about the session (start, end, configuration)."""
        with self.db.transaction() as session:
            AuditLog(session, self.clock).append(
                action,
                actor=actor,
                entity_type="session",
                details=details,
                ts=ns_to_datetime(ts),
            )

    # --- internals --------------------------------------------------------------------------

    @staticmethod
    def _order(repo: OrderRepository, client_order_id: str) -> OrderRecord:
        order = repo.get_by_client_order_id(client_order_id)
        if order is None:
            raise UnknownLedgerOrderError(
                f"client order id {client_order_id!r} is not in the ledger"
            )
        return order

    def _fill_status(
        self,
        session: LedgerSession,
        repo: OrderRepository,
        order: OrderRecord,
        target: OrderStatus,
        ts: int,
        reason: str,
    ) -> None:
        """Reconcile a fill status the order manager reports with what the fills gave."""
        payload: dict[str, Any] = {"ts_ns": ts}
        if reason:
            payload["reason"] = reason
        if order.status is target:
            self._event(session, order, "reported", target, target, payload, ts)
            return
        short = order.quantity - order.filled_qty
        completes = (
            target is OrderStatus.FILLED
            and order.status is OrderStatus.PARTIALLY_FILLED
            and (_quote_sized(repo, order) or short <= order.quantity * _TOL)
        )
        if not completes:
            raise LedgerError(
                f"order {order.client_order_id}: the ledger's fills leave it "
                f"{order.status.value} ({order.filled_qty} of {order.quantity}), "
                f"not {target.value}"
            )
        payload["quantity_was"] = str(order.quantity)
        order.quantity = order.filled_qty
        order.status = OrderStatus.FILLED
        order.updated_at = ns_to_datetime(self.clock.now_ns())
        self._event(session, order, "status", OrderStatus.PARTIALLY_FILLED, target, payload, ts)

    @staticmethod
    def _event(
        session: LedgerSession,
        order: OrderRecord,
        kind: str,
        source: OrderStatus,
        target: OrderStatus,
        payload: dict[str, Any],
        ts: int,
    ) -> None:
        session.add(
            OrderEventRecord(
                order_id=order.id,
                event_type=kind,
                from_status=source,
                to_status=target,
                payload=payload,
                ts=ns_to_datetime(ts),
            )
        )
        session.flush()


def _created_payload(repo: OrderRepository, order: OrderRecord) -> dict[str, Any]:
    for event in repo.events(order):
        if event.event_type == "created":
            return event.payload or {}
    return {}


def _quote_sized(repo: OrderRepository, order: OrderRecord) -> bool:
    return _created_payload(repo, order).get("quote_qty") is not None


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _entry(repo: OrderRepository, order: OrderRecord) -> LedgerEntry:
    """Rebuild the ledger entry of a stored order (see the module doc for precision)."""
    events = repo.events(order)
    created = next((e.payload or {} for e in events if e.event_type == "created"), {})
    if not {"intent", "signal_ts", "created_ts", "qty"} <= created.keys():
        raise LedgerError(
            f"order {order.client_order_id} has no intent record (not written by SqlLedger)"
        )
    quote_qty = created.get("quote_qty")
    intent = IntentRecord(
        client_order_id=order.client_order_id,
        bot_id=order.bot_id,
        strategy=order.strategy,
        venue=order.venue,
        symbol=order.symbol,
        side=Side(order.side),
        order_type=OrderType(order.order_type),
        intent=IntentKind(created["intent"]),
        signal_ts=int(created["signal_ts"]),
        created_ts=int(created["created_ts"]),
        qty=float(created["qty"]),
        quote_qty=None if quote_qty is None else float(quote_qty),
        price=_float(order.price),
        stop_price=_float(order.stop_price),
        time_in_force=TimeInForce(order.time_in_force),
        reduce_only=order.reduce_only,
    )
    statuses = []
    for event in events:
        if event.event_type not in _STATUS_EVENTS or event.to_status is None:
            continue
        details = event.payload or {}
        ts_ns = details.get("ts_ns")
        statuses.append(
            StatusRecord(
                OrderStatus(event.to_status),
                int(ts_ns) if isinstance(ts_ns, int) else datetime_to_ns(event.ts),
                str(details.get("reason", "")),
            )
        )
    fills = [
        Fill(
            client_order_id=order.client_order_id,
            trade_id=f.venue_trade_id,
            symbol=order.symbol,
            side=Side(order.side),
            price=float(f.price),
            qty=float(f.qty),
            fee=float(f.fee),
            fee_currency=f.fee_currency or "",
            liquidity=f.liquidity,
            ts=datetime_to_ns(f.ts),
        )
        for f in repo.fills(order)
    ]
    return LedgerEntry(intent, statuses, fills)
