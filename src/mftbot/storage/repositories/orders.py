"""The order ledger: intents written before sending, status changes and fills, all evented.

Every change to an order also writes an ``order_events`` row in the same transaction, so the
ledger explains how each order reached its state. Fills are the only way into
``PARTIALLY_FILLED`` and ``FILLED``, which keeps ``filled_qty`` and the status consistent.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mftbot.core.errors import IllegalTransitionError, StorageError
from mftbot.domain.enums import Side
from mftbot.storage.enums import (
    ORDER_TRANSITIONS,
    TERMINAL_ORDER_STATUSES,
    Liquidity,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from mftbot.storage.errors import DuplicateClientOrderIdError, DuplicateFillError
from mftbot.storage.models import FillRecord, OrderEventRecord, OrderRecord
from mftbot.storage.repositories._base import (
    Repository,
    given,
    json_document,
    member,
    optional_positive,
    positive,
    text,
)
from mftbot.storage.types import MoneyInput, to_decimal

_FILL_STATUSES = frozenset({OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})
_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_NEEDS_STOP = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})


class OrderRepository(Repository):
    """Orders, their events and their fills."""

    def add_intent(
        self,
        *,
        client_order_id: str,
        bot_id: str,
        strategy: str,
        venue: str,
        symbol: str,
        side: Side | str,
        order_type: OrderType | str,
        quantity: MoneyInput,
        price: MoneyInput | None = None,
        stop_price: MoneyInput | None = None,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        reduce_only: bool = False,
        payload: dict[str, Any] | None = None,
    ) -> OrderRecord:
        """Write a new order as ``PENDING`` (before it is sent), with a ``created`` event.

        Raises :class:`DuplicateClientOrderIdError` when the id is already in the ledger (if a
        concurrent writer won the race at flush time, the session is rolled back as well).
        """
        kind = member(OrderType, order_type, "order_type")
        order = OrderRecord(
            client_order_id=text(client_order_id, "client_order_id", 64),
            bot_id=text(bot_id, "bot_id", 32),
            strategy=text(strategy, "strategy", 64),
            venue=text(venue, "venue", 32),
            symbol=text(symbol, "symbol", 64),
            side=member(Side, side, "side"),
            order_type=kind,
            time_in_force=member(TimeInForce, time_in_force, "time_in_force"),
            quantity=positive(quantity, "quantity"),
            price=optional_positive(price, "price"),
            stop_price=optional_positive(stop_price, "stop_price"),
            filled_qty=Decimal(0),
            status=OrderStatus.PENDING,
            reduce_only=bool(reduce_only),
        )
        if kind in _NEEDS_PRICE and order.price is None:
            raise StorageError(f"{client_order_id}: a {kind.value} order needs a price")
        if kind in _NEEDS_STOP and order.stop_price is None:
            raise StorageError(f"{client_order_id}: a {kind.value} order needs a stop_price")
        if self.get_by_client_order_id(client_order_id) is not None:
            raise DuplicateClientOrderIdError(
                f"client_order_id {client_order_id!r} is already in the ledger"
            )
        now = self._now()
        order.created_at = order.updated_at = now
        self.session.add(order)
        try:
            self.session.flush()
        except IntegrityError as exc:
            self.session.rollback()
            if self.get_by_client_order_id(client_order_id) is not None:  # lost an insert race
                raise DuplicateClientOrderIdError(
                    f"client_order_id {client_order_id!r} is already in the ledger"
                ) from exc
            raise StorageError(f"order {client_order_id!r} could not be written: {exc}") from exc
        self._event(order, "created", None, OrderStatus.PENDING, payload, now)
        return order

    def get(self, order_id: int) -> OrderRecord | None:
        """The order with this ledger id."""
        return self.session.get(OrderRecord, order_id)

    def get_by_client_order_id(self, client_order_id: str) -> OrderRecord | None:
        """The order with this client order id."""
        query = select(OrderRecord).where(OrderRecord.client_order_id == client_order_id)
        return self.session.scalars(query).one_or_none()

    def get_by_venue_order_id(self, venue: str, venue_order_id: str) -> OrderRecord | None:
        """The order the venue knows by ``venue_order_id``."""
        query = select(OrderRecord).where(
            OrderRecord.venue == venue, OrderRecord.venue_order_id == venue_order_id
        )
        return self.session.scalars(query).one_or_none()

    def list_non_terminal(
        self, *, bot_id: str | None = None, venue: str | None = None, symbol: str | None = None
    ) -> list[OrderRecord]:
        """Orders still live or unresolved (what recovery reconciles), oldest first."""
        query = (
            select(OrderRecord)
            .where(OrderRecord.status.not_in(TERMINAL_ORDER_STATUSES))
            .filter_by(**given(bot_id=bot_id, venue=venue, symbol=symbol))
        )
        return list(self.session.scalars(query.order_by(OrderRecord.created_at, OrderRecord.id)))

    def update_status(
        self,
        order: OrderRecord,
        to_status: OrderStatus | str,
        *,
        venue_order_id: str | None = None,
        payload: dict[str, Any] | None = None,
        ts: datetime | None = None,
    ) -> OrderEventRecord:
        """Move ``order`` to ``to_status`` and record the event.

        Raises :class:`IllegalTransitionError` for a transition the order rules forbid;
        ``PARTIALLY_FILLED`` / ``FILLED`` are reached through :meth:`add_fill` only.
        """
        target = member(OrderStatus, to_status, "to_status")
        if target in _FILL_STATUSES:
            raise IllegalTransitionError(
                f"{order.client_order_id}: {target.value} is reached by recording fills "
                "(add_fill), not by a status update"
            )
        self._check_transition(order, target)
        if venue_order_id is not None:
            self._set_venue_order_id(order, venue_order_id)
        source = order.status
        order.status = target
        order.updated_at = self._now()
        self.session.flush()
        return self._event(order, "status", source, target, payload, self._time(ts, "ts"))

    def add_fill(
        self,
        order: OrderRecord,
        *,
        venue_trade_id: str,
        price: MoneyInput,
        qty: MoneyInput,
        liquidity: Liquidity | str,
        fee: MoneyInput = 0,
        fee_currency: str | None = None,
        ts: datetime | None = None,
    ) -> FillRecord:
        """Record one execution: updates filled quantity, average price and status.

        Raises :class:`DuplicateFillError` when the venue trade id is already recorded,
        :class:`StorageError` on an overfill, :class:`IllegalTransitionError` when the
        order is already terminal.
        """
        trade_id = text(venue_trade_id, "venue_trade_id", 64)
        fill_price = positive(price, "price")
        fill_qty = positive(qty, "qty")
        kind = member(Liquidity, liquidity, "liquidity")
        fill_fee = to_decimal(fee, "fee")
        when = self._time(ts, "ts")
        if self.get_fill(order.venue, trade_id) is not None:
            raise DuplicateFillError(f"{order.venue} trade {trade_id!r} is already recorded")
        filled = order.filled_qty + fill_qty
        if filled > order.quantity:
            raise StorageError(
                f"{order.client_order_id}: fill {trade_id} of {fill_qty} would overfill "
                f"(filled {order.filled_qty} of {order.quantity})"
            )
        target = OrderStatus.FILLED if filled == order.quantity else OrderStatus.PARTIALLY_FILLED
        self._check_transition(order, target)
        with localcontext(prec=80):
            notional = (order.avg_fill_price or Decimal(0)) * order.filled_qty
            average = (notional + fill_price * fill_qty) / filled
        fill = FillRecord(
            order_id=order.id,
            venue=order.venue,
            venue_trade_id=trade_id,
            price=fill_price,
            qty=fill_qty,
            fee=fill_fee,
            fee_currency=fee_currency,
            liquidity=kind,
            ts=when,
        )
        self.session.add(fill)
        source = order.status
        order.filled_qty = filled
        order.avg_fill_price = to_decimal(average, "avg_fill_price")
        order.status = target
        order.updated_at = self._now()
        self.session.flush()
        details = {"venue_trade_id": trade_id, "price": fill_price, "qty": fill_qty}
        self._event(order, "fill", source, target, details, when)
        return fill

    def get_fill(self, venue: str, venue_trade_id: str) -> FillRecord | None:
        """The fill recorded for this venue trade id."""
        query = select(FillRecord).where(
            FillRecord.venue == venue, FillRecord.venue_trade_id == venue_trade_id
        )
        return self.session.scalars(query).one_or_none()

    def fills(self, order: OrderRecord) -> list[FillRecord]:
        """The order's fills in time order."""
        query = select(FillRecord).where(FillRecord.order_id == order.id)
        return list(self.session.scalars(query.order_by(FillRecord.ts, FillRecord.id)))

    def events(self, order: OrderRecord) -> list[OrderEventRecord]:
        """The order's events in the order they were written."""
        query = select(OrderEventRecord).where(OrderEventRecord.order_id == order.id)
        return list(self.session.scalars(query.order_by(OrderEventRecord.id)))

    def _check_transition(self, order: OrderRecord, target: OrderStatus) -> None:
        if target not in ORDER_TRANSITIONS[order.status]:
            raise IllegalTransitionError(
                f"order {order.client_order_id}: {order.status.value} -> {target.value} "
                "is not a legal transition"
            )

    def _set_venue_order_id(self, order: OrderRecord, venue_order_id: str) -> None:
        text(venue_order_id, "venue_order_id", 64)
        if order.venue_order_id not in (None, venue_order_id):
            raise StorageError(
                f"order {order.client_order_id}: venue order id is {order.venue_order_id!r}, "
                f"refusing to change it to {venue_order_id!r}"
            )
        order.venue_order_id = venue_order_id

    def _event(
        self,
        order: OrderRecord,
        event_type: str,
        source: OrderStatus | None,
        target: OrderStatus | None,
        payload: dict[str, Any] | None,
        ts: datetime,
    ) -> OrderEventRecord:
        row = OrderEventRecord(
            order_id=order.id,
            event_type=event_type,
            from_status=source,
            to_status=target,
            payload=json_document(payload, "payload"),
            ts=ts,
        )
        self.session.add(row)
        self.session.flush()
        return row
