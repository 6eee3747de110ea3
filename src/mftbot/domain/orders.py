"""Orders and the order state machine.

Legal order transitions (anything else raises :class:`IllegalTransitionError`)::

    PENDING          -> SUBMITTED | REJECTED | CANCELED
    SUBMITTED        -> ACCEPTED | PARTIALLY_FILLED | FILLED | REJECTED | CANCELED | EXPIRED
    ACCEPTED         -> PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED
    PARTIALLY_FILLED -> FILLED | CANCELED | EXPIRED
    FILLED, CANCELED, REJECTED, EXPIRED: terminal

* ``PENDING``: the intent is in the ledger, not yet sent. ``PENDING -> REJECTED`` is a pre-send
  rejection (risk, validation); ``PENDING -> CANCELED`` an intent withdrawn before it was sent.
* ``SUBMITTED``: sent, no answer yet. A fill may arrive before the ack (private streams are not
  ordered with REST replies), hence ``SUBMITTED -> PARTIALLY_FILLED | FILLED``; an IOC/FOK order
  may expire or be canceled before any ack.
* A later partial fill keeps ``PARTIALLY_FILLED``: fills are recorded in :attr:`Order.fills`,
  only status *changes* enter the history.
* A fill reported *after* a cancel or expiry (the cancel ack overtook the execution report) is
  accepted as a late fill: quantities and fees update, the status stays terminal, the history
  notes it. A fill on a ``PENDING``, ``REJECTED`` or ``FILLED`` order is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from mftbot.core.errors import IllegalTransitionError, MftbotError
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill

QTY_REL_TOL = 1e-9
"""Relative tolerance on quantities: a fill within it of the remaining qty completes the order."""

S = TypeVar("S", bound=StrEnum)


class InvalidOrderError(MftbotError, ValueError):
    """An order is built with inconsistent fields (no price on a limit order, qty ≤ 0, …)."""


class FillRejectedError(MftbotError, ValueError):
    """A fill cannot belong to this order (other id, symbol or side)."""


class OverfillError(FillRejectedError):
    """A fill would take the filled quantity above the order quantity."""


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    """One recorded state change (or a note, when ``source == target``)."""

    ts: int
    source: S
    target: S
    reason: str = ""


class StateMachine(Generic[S]):
    """A finite state machine over a ``StrEnum`` with a fixed edge table and a history.

    Time is passed in (ns) and recorded as given; the history is in the order transitions were
    applied (timestamps from different sources, e.g. venue execution time and local receive time,
    need not be monotone). Nothing here reads a clock.
    """

    def __init__(self, edges: Mapping[S, frozenset[S]], initial: S, ts: int) -> None:
        self._edges = edges
        self._state = initial
        self._history: list[Transition[S]] = [Transition(ts, initial, initial, "created")]

    @property
    def state(self) -> S:
        """The current state."""
        return self._state

    @property
    def history(self) -> tuple[Transition[S], ...]:
        """Every transition so far, oldest first; the first entry records creation."""
        return tuple(self._history)

    def can(self, target: S) -> bool:
        """Whether ``target`` is reachable from the current state in one step."""
        return target in self._edges.get(self._state, frozenset())

    def transition(self, target: S, ts: int, reason: str = "") -> None:
        """Move to ``target`` at ``ts``; raise :class:`IllegalTransitionError` if not allowed."""
        if not self.can(target):
            raise IllegalTransitionError(
                f"{type(self).__name__}: {self._state.value} -> {target.value} is not allowed"
                + (f" ({reason})" if reason else "")
            )
        self._history.append(Transition(ts, self._state, target, reason))
        self._state = target

    def note(self, ts: int, reason: str) -> None:
        """Record an event that does not change the state (e.g. a late fill)."""
        self._history.append(Transition(ts, self._state, self._state, reason))

    @property
    def is_terminal(self) -> bool:
        """Whether no transition leaves the current state."""
        return not self._edges.get(self._state)


class OrderType(StrEnum):
    """Order types; ``*_MARKET`` and ``*_LIMIT`` variants trigger at ``stop_price``."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"

    @property
    def needs_price(self) -> bool:
        """Whether the type rests at a limit price."""
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)

    @property
    def needs_stop_price(self) -> bool:
        """Whether the type waits for a trigger price."""
        return self not in (OrderType.MARKET, OrderType.LIMIT)


class TimeInForce(StrEnum):
    """How long an order works: good till canceled, immediate or cancel, fill or kill, post-only."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class OrderStatus(StrEnum):
    """Order lifecycle states (see the module docstring for the legal edges)."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"


_O = OrderStatus
ORDER_EDGES: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    _O.PENDING: frozenset({_O.SUBMITTED, _O.REJECTED, _O.CANCELED}),
    _O.SUBMITTED: frozenset(
        {_O.ACCEPTED, _O.PARTIALLY_FILLED, _O.FILLED, _O.REJECTED, _O.CANCELED, _O.EXPIRED}
    ),
    _O.ACCEPTED: frozenset({_O.PARTIALLY_FILLED, _O.FILLED, _O.CANCELED, _O.EXPIRED}),
    _O.PARTIALLY_FILLED: frozenset({_O.FILLED, _O.CANCELED, _O.EXPIRED}),
    _O.FILLED: frozenset(),
    _O.CANCELED: frozenset(),
    _O.REJECTED: frozenset(),
    _O.EXPIRED: frozenset(),
}
"""The legal order transitions."""

OPEN_STATUSES = frozenset({_O.SUBMITTED, _O.ACCEPTED, _O.PARTIALLY_FILLED})
"""States in which an order may still trade on the venue."""


class OrderFSM(StateMachine[OrderStatus]):
    """The order state machine, starting in ``PENDING``."""

    def __init__(self, ts: int) -> None:
        super().__init__(ORDER_EDGES, OrderStatus.PENDING, ts)


@dataclass(eq=False)
class Order:
    """One order: what was asked, what the venue did with it, and its state history.

    ``price`` is the limit price, ``stop_price`` the trigger price. ``avg_fill_price`` is the
    quantity-weighted mean of fill prices (0.0 before any fill); ``fees`` sums fees per currency.
    """

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: float
    created_ts: int
    price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    venue_order_id: str | None = None
    filled_qty: float = field(default=0.0, init=False)
    avg_fill_price: float = field(default=0.0, init=False)
    fees: dict[str, float] = field(default_factory=dict, init=False)
    fills: list[Fill] = field(default_factory=list, init=False)
    fsm: OrderFSM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.client_order_id or not self.symbol:
            raise InvalidOrderError("order needs a client_order_id and a symbol")
        if not (math.isfinite(self.qty) and self.qty > 0):
            raise InvalidOrderError(f"{self.client_order_id}: qty must be > 0, got {self.qty}")
        _check_price(self, "price", self.price, self.type.needs_price)
        _check_price(self, "stop_price", self.stop_price, self.type.needs_stop_price)
        self.fsm = OrderFSM(self.created_ts)

    @property
    def status(self) -> OrderStatus:
        """The current status."""
        return self.fsm.state

    @property
    def history(self) -> tuple[Transition[OrderStatus], ...]:
        """Timestamped status history (plus notes such as late fills)."""
        return self.fsm.history

    @property
    def remaining_qty(self) -> float:
        """Quantity not filled yet."""
        return max(self.qty - self.filled_qty, 0.0)

    @property
    def is_open(self) -> bool:
        """Whether the order may still trade on the venue."""
        return self.status in OPEN_STATUSES

    @property
    def is_terminal(self) -> bool:
        """Whether the order reached a final state."""
        return self.fsm.is_terminal

    def mark_submitted(self, ts: int) -> None:
        """The order was sent to the venue."""
        self.fsm.transition(OrderStatus.SUBMITTED, ts)

    def accept(self, ts: int, venue_order_id: str | None = None) -> None:
        """The venue acknowledged the order (optionally with its own id).

        A repeated ack, or an ack that arrives after a fill, cancel or expiry it was overtaken by,
        changes no state (the latter is noted in the history). An ack for an order that was
        never sent or was rejected raises :class:`IllegalTransitionError`.
        """
        status = self.status
        if status in (OrderStatus.PENDING, OrderStatus.REJECTED):
            self.fsm.transition(OrderStatus.ACCEPTED, ts)  # raises
        if venue_order_id is not None:
            self.venue_order_id = venue_order_id
        if status is OrderStatus.SUBMITTED:
            self.fsm.transition(OrderStatus.ACCEPTED, ts)
        elif status is not OrderStatus.ACCEPTED:
            self.fsm.note(ts, f"late ack in state {status.value}")

    def cancel(self, ts: int, reason: str = "") -> None:
        """The order was canceled (by us before sending, or by the venue)."""
        self.fsm.transition(OrderStatus.CANCELED, ts, reason)

    def reject(self, ts: int, reason: str = "") -> None:
        """The order was refused (before sending, or by the venue)."""
        self.fsm.transition(OrderStatus.REJECTED, ts, reason)

    def expire(self, ts: int, reason: str = "") -> None:
        """The venue expired the order (time in force, post-only cross, …)."""
        self.fsm.transition(OrderStatus.EXPIRED, ts, reason)

    def apply_fill(self, fill: Fill) -> bool:
        """Add a fill; return ``False`` (and change nothing) if its trade id was seen already.

        Raises :class:`FillRejectedError` when the fill is for another order, symbol or side,
        :class:`OverfillError` when it would exceed the order qty, and
        :class:`IllegalTransitionError` when the order cannot be filled in its state.
        """
        if any(f.trade_id == fill.trade_id for f in self.fills):
            return False
        self._check_fill(fill)
        status = self.status
        late = status in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
        if not late and status not in OPEN_STATUSES:
            raise IllegalTransitionError(
                f"order {self.client_order_id}: cannot apply fill {fill.trade_id} "
                f"in state {status.value}"
            )
        new_filled = self.filled_qty + fill.qty
        tol = self.qty * QTY_REL_TOL
        if new_filled > self.qty + tol:
            raise OverfillError(
                f"order {self.client_order_id}: fill {fill.trade_id} of {fill.qty} would fill "
                f"{new_filled} > order qty {self.qty} (already filled {self.filled_qty})"
            )
        complete = new_filled >= self.qty - tol
        if late and complete:
            raise IllegalTransitionError(
                f"order {self.client_order_id} is {status.value} but fill {fill.trade_id} "
                "completes it: the venue state contradicts the cancel, reconcile the order"
            )
        if late:
            self.fsm.note(fill.ts, f"late fill {fill.trade_id} after {status.value}")
        else:
            target = OrderStatus.FILLED if complete else OrderStatus.PARTIALLY_FILLED
            if target is not status:
                self.fsm.transition(target, fill.ts, f"fill {fill.trade_id}")
        self.avg_fill_price = (
            self.avg_fill_price * self.filled_qty + fill.price * fill.qty
        ) / new_filled
        self.filled_qty = self.qty if complete else new_filled
        self.fees[fill.fee_currency] = self.fees.get(fill.fee_currency, 0.0) + fill.fee
        self.fills.append(fill)
        return True

    def _check_fill(self, fill: Fill) -> None:
        mismatch = [
            f"{name} {got!r} != {want!r}"
            for name, got, want in (
                ("client_order_id", fill.client_order_id, self.client_order_id),
                ("symbol", fill.symbol, self.symbol),
                ("side", fill.side, self.side),
            )
            if got != want
        ]
        if mismatch:
            raise FillRejectedError(
                f"fill {fill.trade_id} does not belong to order {self.client_order_id}: "
                + "; ".join(mismatch)
            )


def _check_price(order: Order, name: str, value: float | None, required: bool) -> None:
    if value is None:
        if required:
            raise InvalidOrderError(
                f"{order.client_order_id}: {order.type.value} order needs {name}"
            )
        return
    if not required:
        raise InvalidOrderError(
            f"{order.client_order_id}: {order.type.value} order takes no {name}"
        )
    if not (math.isfinite(value) and value > 0):
        raise InvalidOrderError(f"{order.client_order_id}: {name} must be > 0, got {value}")
