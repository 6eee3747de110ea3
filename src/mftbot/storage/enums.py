"""The order / position transitions the ledger accepts, over the domain's enumerations.

The enumerations themselves live in the domain (one source of truth); the stored value of
each member is its ``value``. The ledger's transition table is wider than the domain FSM's in
one place: a PENDING intent may jump to any outcome, because recovery after a crash between
the ledger write and the venue's acknowledgement finds the order in whatever state it reached.
"""

from __future__ import annotations

from enum import StrEnum

from mftbot.domain.fills import Liquidity
from mftbot.domain.orders import OrderStatus, OrderType, TimeInForce
from mftbot.domain.positions import PositionSide, PositionStatus

__all__ = [
    "ORDER_TRANSITIONS",
    "POSITION_TRANSITIONS",
    "TERMINAL_ORDER_STATUSES",
    "Liquidity",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "PositionStatus",
    "SignalDirection",
    "TimeInForce",
]


TERMINAL_ORDER_STATUSES: frozenset[OrderStatus] = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

_S = OrderStatus
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # A PENDING intent may jump straight to any outcome: recovery after a crash between the
    # ledger write and the venue's acknowledgement finds the order in whatever state it reached.
    _S.PENDING: frozenset(
        {
            _S.SUBMITTED,
            _S.ACCEPTED,
            _S.PARTIALLY_FILLED,
            _S.FILLED,
            _S.CANCELED,
            _S.REJECTED,
            _S.EXPIRED,
        }
    ),
    _S.SUBMITTED: frozenset(
        {_S.ACCEPTED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.REJECTED, _S.EXPIRED}
    ),
    _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED}),
    _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED}),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}
"""Order transitions the ledger records; anything else raises ``IllegalTransitionError``."""


_P = PositionStatus
POSITION_TRANSITIONS: dict[PositionStatus, frozenset[PositionStatus]] = {
    # OPENING -> CLOSED: the entry never filled (rejected, canceled, expired).
    _P.OPENING: frozenset({_P.OPEN, _P.CLOSED}),
    # CLOSING -> OPEN: the exit order was canceled or rejected; the position is still held.
    _P.OPEN: frozenset({_P.CLOSING, _P.CLOSED}),
    _P.CLOSING: frozenset({_P.OPEN, _P.CLOSED}),
    _P.CLOSED: frozenset(),
}
"""Position transitions the ledger records; anything else raises ``IllegalTransitionError``."""


class SignalDirection(StrEnum):
    """What a signal asks for."""

    LONG = "long"
    SHORT = "short"
    FLAT = "flat"
