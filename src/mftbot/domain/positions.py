"""Positions and the position state machine.

Legal position transitions (anything else raises :class:`IllegalTransitionError`)::

    OPENING -> OPEN     first entry fill
    OPENING -> CLOSED   the entry never filled (canceled / rejected)
    OPEN    -> CLOSING  an exit order was sent
    OPEN    -> CLOSED   a fill took the quantity to zero without a tracked exit (stop, liquidation)
    CLOSING -> OPEN     the exit was canceled / rejected and quantity is left
    CLOSING -> CLOSED   the exit filled
    CLOSED: terminal (a new trade opens a new position)

A partial reduction keeps the state (``OPEN`` or ``CLOSING``); an increase while ``CLOSING`` (a
late entry fill) keeps ``CLOSING``. Quantities are absolute; the direction is :attr:`side`.
Realised PnL excludes fees and funding, which are kept apart (:attr:`Position.net_pnl` sums them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from mftbot.core.errors import IllegalTransitionError, MftbotError
from mftbot.domain.enums import Side
from mftbot.domain.orders import QTY_REL_TOL, StateMachine, Transition


class PositionError(MftbotError, ValueError):
    """A position is asked for an impossible change (reduce past zero, bad price)."""


class PositionSide(StrEnum):
    """Direction of a position."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short."""
        return 1 if self is PositionSide.LONG else -1

    @classmethod
    def opened_by(cls, side: Side) -> PositionSide:
        """The side a position opened by an order of ``side`` has (buy → long)."""
        return cls.LONG if side == Side.BUY else cls.SHORT


class PositionStatus(StrEnum):
    """Position lifecycle states (see the module docstring for the legal edges)."""

    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


_P = PositionStatus
POSITION_EDGES: Mapping[PositionStatus, frozenset[PositionStatus]] = {
    _P.OPENING: frozenset({_P.OPEN, _P.CLOSED}),
    _P.OPEN: frozenset({_P.CLOSING, _P.CLOSED}),
    _P.CLOSING: frozenset({_P.OPEN, _P.CLOSED}),
    _P.CLOSED: frozenset(),
}
"""The legal position transitions."""


class PositionFSM(StateMachine[PositionStatus]):
    """The position state machine, starting in ``OPENING``."""

    def __init__(self, ts: int) -> None:
        super().__init__(POSITION_EDGES, PositionStatus.OPENING, ts)


@dataclass(eq=False)
class Position:
    """A position in one symbol: quantity, average entry, realised PnL, costs and protection.

    ``fees`` and ``funding`` are in the quote (settlement) currency; ``funding`` is signed as a
    cash flow (received > 0, paid < 0). ``stop_loss`` / ``take_profit`` are trigger prices.
    """

    position_id: str
    symbol: str
    side: PositionSide
    opened_ts: int
    stop_loss: float | None = None
    take_profit: float | None = None
    qty: float = field(default=0.0, init=False)
    avg_entry_price: float = field(default=0.0, init=False)
    realised_pnl: float = field(default=0.0, init=False)
    fees: float = field(default=0.0, init=False)
    funding: float = field(default=0.0, init=False)
    closed_ts: int | None = field(default=None, init=False)
    fsm: PositionFSM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.position_id or not self.symbol:
            raise PositionError("position needs a position_id and a symbol")
        self.side = PositionSide(self.side)
        self.fsm = PositionFSM(self.opened_ts)
        self.set_protection(self.stop_loss, self.take_profit)

    @property
    def status(self) -> PositionStatus:
        """The current status."""
        return self.fsm.state

    @property
    def history(self) -> tuple[Transition[PositionStatus], ...]:
        """Timestamped status history."""
        return self.fsm.history

    @property
    def signed_qty(self) -> float:
        """Quantity with sign: > 0 long, < 0 short."""
        return self.side.sign * self.qty

    @property
    def net_pnl(self) -> float:
        """Realised PnL minus fees plus funding."""
        return self.realised_pnl - self.fees + self.funding

    def unrealised_pnl(self, mark: float) -> float:
        """PnL of the open quantity at ``mark``: ``sign × (mark − entry) × qty``."""
        _check_price("mark", mark)
        return self.side.sign * (mark - self.avg_entry_price) * self.qty

    def notional(self, mark: float | None = None) -> float:
        """Absolute value of the open quantity at ``mark`` (at the entry price if ``None``)."""
        price = self.avg_entry_price if mark is None else mark
        return self.qty * price

    def increase(self, qty: float, price: float, ts: int) -> None:
        """Add ``qty`` at ``price``; the entry becomes the quantity-weighted average."""
        _check_qty(qty)
        _check_price("price", price)
        if self.status is PositionStatus.CLOSED:
            raise IllegalTransitionError(f"position {self.position_id} is closed; open a new one")
        new_qty = self.qty + qty
        self.avg_entry_price = (self.avg_entry_price * self.qty + price * qty) / new_qty
        self.qty = new_qty
        if self.status is PositionStatus.OPENING:
            self.fsm.transition(PositionStatus.OPEN, ts, "entry fill")

    def reduce(self, qty: float, price: float, ts: int) -> float:
        """Take ``qty`` off at ``price``; return (and accumulate) the realised PnL.

        Reaching zero closes the position. Reducing by more than the open quantity raises
        :class:`PositionError` (a flip is two steps: close this position, open another).
        """
        _check_qty(qty)
        _check_price("price", price)
        if self.status not in (PositionStatus.OPEN, PositionStatus.CLOSING):
            raise IllegalTransitionError(
                f"position {self.position_id} cannot be reduced in state {self.status.value}"
            )
        tol = self.qty * QTY_REL_TOL
        if qty > self.qty + tol:
            raise PositionError(
                f"position {self.position_id}: reduce by {qty} exceeds open qty {self.qty}"
            )
        closes = qty >= self.qty - tol
        taken = self.qty if closes else qty
        pnl = self.side.sign * (price - self.avg_entry_price) * taken
        self.realised_pnl += pnl
        self.qty = 0.0 if closes else self.qty - qty
        if closes:
            self.fsm.transition(PositionStatus.CLOSED, ts, "flat")
            self.closed_ts = ts
        return pnl

    def add_fee(self, fee: float) -> None:
        """Account a fee paid (negative: a rebate), in the quote currency."""
        if not math.isfinite(fee):
            raise PositionError(f"position {self.position_id}: fee must be finite, got {fee}")
        self.fees += fee

    def add_funding(self, amount: float) -> None:
        """Account a funding cash flow (received > 0, paid < 0)."""
        if not math.isfinite(amount):
            raise PositionError(f"position {self.position_id}: funding must be finite")
        self.funding += amount

    def mark_closing(self, ts: int, reason: str = "") -> None:
        """An exit order was sent."""
        self.fsm.transition(PositionStatus.CLOSING, ts, reason)

    def cancel_closing(self, ts: int, reason: str = "") -> None:
        """The exit did not (fully) happen; the position stays open."""
        self.fsm.transition(PositionStatus.OPEN, ts, reason)

    def abandon(self, ts: int, reason: str = "") -> None:
        """The entry never filled: close the empty position."""
        if self.qty > 0:
            raise PositionError(f"position {self.position_id} holds {self.qty}; reduce it instead")
        self.fsm.transition(PositionStatus.CLOSED, ts, reason)
        self.closed_ts = ts

    def set_protection(
        self, stop_loss: float | None = None, take_profit: float | None = None
    ) -> None:
        """Set stop-loss / take-profit trigger prices (``None`` clears one).

        A long needs ``stop_loss < take_profit``, a short the reverse, when both are set.
        """
        if stop_loss is not None:
            _check_price("stop_loss", stop_loss)
        if take_profit is not None:
            _check_price("take_profit", take_profit)
        if (
            stop_loss is not None
            and take_profit is not None
            and self.side.sign * (take_profit - stop_loss) <= 0
        ):
            raise PositionError(
                f"position {self.position_id} ({self.side.value}): stop_loss {stop_loss} "
                f"and take_profit {take_profit} are on the wrong sides of each other"
            )
        self.stop_loss = stop_loss
        self.take_profit = take_profit


def _check_qty(qty: float) -> None:
    if not (math.isfinite(qty) and qty > 0):
        raise PositionError(f"quantity must be finite and > 0, got {qty}")


def _check_price(name: str, price: float) -> None:
    if not (math.isfinite(price) and price > 0):
        raise PositionError(f"{name} must be finite and > 0, got {price}")
