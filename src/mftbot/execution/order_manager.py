"""The order manager: intents become orders, written to the ledger before they are sent.

:meth:`OrderManager.submit` derives the deterministic client order id, builds the
:class:`~mftbot.domain.orders.Order` (``PENDING``), writes the intent to the ledger, marks the
order ``SUBMITTED`` and only then calls :meth:`Venue.submit`. :meth:`OrderManager.apply` feeds
a venue report to the order's state machine and the ledger and returns the fill to account, if
the report is a new one. An id already in the ledger is refused: nothing is sent twice.

A quote-sized intent ("spend 1,000 USDT") gets an order whose base ``qty`` is provisional
(``quote_qty / ref_price``) until the venue's first fill fixes it (fill + ``leaves_qty``), as
Binance reports ``origQty`` for a ``quoteOrderQty`` order.

``retain_terminal=False`` (long backtests) keeps memory flat: an order that has ended (filled,
canceled, rejected, expired) stays queryable until the next :meth:`OrderManager.submit`, then
it is dropped; a reused id is still refused by the ledger, which keeps every id it was given.
The venue must not report on an order after its end (the simulated venues do not);
:attr:`OrderManager.orders` then lists the orders still held.
"""

from __future__ import annotations

from mftbot.core.errors import MftbotError
from mftbot.core.ids import client_order_id
from mftbot.domain.fills import Fill
from mftbot.domain.orders import Order, OrderStatus
from mftbot.execution.ledger import DuplicateIntentError, InMemoryLedger, IntentRecord, Ledger
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    Venue,
    VenueError,
    VenueReport,
)
from mftbot.risk.base import OrderIntent


class UnknownOrderError(MftbotError, KeyError):
    """A report or request names a client order id this manager never sent."""


class OrderManager:
    """Owns the bot's orders on one venue: ids, ledger writes, sending, state updates."""

    def __init__(
        self,
        venue: Venue,
        ledger: Ledger | None = None,
        *,
        bot_id: str = "mftbot",
        retain_terminal: bool = True,
    ) -> None:
        self.venue = venue
        self.ledger: Ledger = ledger if ledger is not None else InMemoryLedger()
        self.bot_id = bot_id
        self.retain_terminal = retain_terminal
        """Keep ended orders (default); ``False``: drop them at the next submit (module doc)."""
        self._orders: dict[str, Order] = {}
        self._intents: dict[str, OrderIntent] = {}
        self._ended: list[str] = []
        self._dropped = 0

    # --- sending ----------------------------------------------------------------------------

    def submit(self, intent: OrderIntent, ts: int) -> tuple[Order, list[VenueReport]]:
        """Record ``intent`` in the ledger, then send it; return the order and the venue's
        immediate reports (to be fed back through :meth:`apply`).

        Raises :class:`DuplicateIntentError` when the derived client order id was used before.
        """
        if self._ended:
            self._drop_ended()
        coid = client_order_id(
            self.bot_id,
            intent.strategy,
            intent.symbol,
            intent.signal_ts,
            intent.intent,
            venue=self.venue.name,
        )
        if coid in self._orders:
            raise DuplicateIntentError(f"intent {coid!r} was sent already")
        order = Order(
            client_order_id=coid,
            symbol=intent.symbol,
            side=intent.side,
            type=intent.order_type,
            qty=intent.base_qty,
            created_ts=ts,
            price=intent.price,
            stop_price=intent.stop_price,
            time_in_force=intent.time_in_force,
            reduce_only=intent.reduce_only,
        )
        self.ledger.record_intent(
            IntentRecord(
                client_order_id=coid,
                bot_id=self.bot_id,
                strategy=intent.strategy,
                venue=self.venue.name,
                symbol=intent.symbol,
                side=intent.side,
                order_type=intent.order_type,
                intent=intent.intent,
                signal_ts=intent.signal_ts,
                created_ts=ts,
                qty=order.qty,
                quote_qty=intent.quote_qty,
                price=intent.price,
                stop_price=intent.stop_price,
                time_in_force=intent.time_in_force,
                reduce_only=intent.reduce_only,
            )
        )
        self._orders[coid] = order
        self._intents[coid] = intent
        order.mark_submitted(ts)
        self.ledger.record_status(coid, OrderStatus.SUBMITTED, ts)
        request = OrderRequest(
            client_order_id=coid,
            symbol=intent.symbol,
            side=intent.side,
            type=intent.order_type,
            ts=ts,
            qty=intent.qty,
            quote_qty=intent.quote_qty,
            price=intent.price,
            stop_price=intent.stop_price,
            time_in_force=intent.time_in_force,
            reduce_only=intent.reduce_only,
        )
        return order, self.venue.submit(request)

    def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
        """Ask the venue to cancel a working order; return its immediate reports."""
        order = self.order(client_order_id)
        if not order.is_open:
            raise VenueError(f"order {client_order_id} is {order.status.value}, not working")
        return self.venue.cancel(client_order_id, ts)

    # --- reports ----------------------------------------------------------------------------

    def apply(self, report: VenueReport) -> Fill | None:
        """Apply one venue report; return its fill when it is a new fill, else ``None``.

        A repeated terminal report (the same cancel or reject twice) changes nothing.
        """
        order = self.order(report.client_order_id)
        before = order.status
        fill: Fill | None = None
        if isinstance(report, OrderFilled):
            fill = self._apply_fill(order, report)
        elif isinstance(report, OrderAccepted):
            order.accept(report.ts_event, report.venue_order_id)
        elif isinstance(report, OrderCanceled):
            if before is not OrderStatus.CANCELED:
                order.cancel(report.ts_event, report.reason)
        elif isinstance(report, OrderRejected):
            if before is not OrderStatus.REJECTED:
                order.reject(report.ts_event, report.reason)
        else:
            raise VenueError(f"not a venue report: {type(report).__name__}")
        after = order.status
        if after is not before:
            reason = getattr(report, "reason", "")
            self.ledger.record_status(order.client_order_id, after, report.ts_event, reason)
            if not self.retain_terminal and order.is_terminal:
                self._ended.append(order.client_order_id)
        return fill

    def _apply_fill(self, order: Order, report: OrderFilled) -> Fill | None:
        fill = report.fill
        intent = self._intents[order.client_order_id]
        if intent.quote_qty is not None and order.filled_qty == 0.0:
            if report.leaves_qty is None:
                raise VenueError(
                    f"{self.venue.name}: fill of quote-sized order {order.client_order_id} "
                    "does not report leaves_qty"
                )
            order.qty = fill.qty + report.leaves_qty
        if not order.apply_fill(fill):
            return None
        self.ledger.record_fill(order.client_order_id, fill)
        return fill

    # --- queries ----------------------------------------------------------------------------

    def order(self, client_order_id: str) -> Order:
        """The order with this client id."""
        try:
            return self._orders[client_order_id]
        except KeyError:
            dropped = " (ended orders are dropped: retain_terminal off)" if self._dropped else ""
            raise UnknownOrderError(
                f"no order with client id {client_order_id!r}{dropped}"
            ) from None

    def intent(self, client_order_id: str) -> OrderIntent:
        """The intent an order was sent for."""
        self.order(client_order_id)
        return self._intents[client_order_id]

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    @property
    def orders(self) -> list[Order]:
        """Every order sent, oldest first (with ``retain_terminal`` off: those still held)."""
        return list(self._orders.values())

    @property
    def dropped_count(self) -> int:
        """Ended orders dropped so far (``retain_terminal`` off)."""
        return self._dropped

    def _drop_ended(self) -> None:
        """Forget the orders that ended since the last submit, keeping their ids."""
        for coid in self._ended:
            if self._orders.pop(coid, None) is not None:
                del self._intents[coid]
                self._dropped += 1
        self._ended.clear()

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders that may still trade, optionally in one symbol."""
        return [
            o for o in self._orders.values() if o.is_open and (symbol is None or o.symbol == symbol)
        ]
