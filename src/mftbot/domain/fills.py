"""Fills: one execution (trade) of one order, as the venue reports it."""

from __future__ import annotations

import math
from enum import StrEnum

import msgspec

from mftbot.core.errors import MftbotError
from mftbot.domain.enums import Side


class InvalidFillError(MftbotError, ValueError):
    """A fill report has a missing id, a non-positive price or quantity, or a bad timestamp."""


class Liquidity(StrEnum):
    """Whether the fill added liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


class Fill(msgspec.Struct, frozen=True, gc=False):
    """One execution of an order.

    ``fee`` is what was paid, in ``fee_currency`` (a negative fee is a maker rebate). ``trade_id``
    is the venue's execution id: with ``symbol`` it identifies the fill, so a report seen twice
    can be ignored. ``ts`` is the execution time, ns since the epoch.
    """

    client_order_id: str
    trade_id: str
    symbol: str
    side: Side
    price: float
    qty: float
    fee: float
    fee_currency: str
    liquidity: Liquidity
    ts: int

    def __post_init__(self) -> None:
        for name in ("client_order_id", "trade_id", "symbol", "fee_currency"):
            if not getattr(self, name):
                raise InvalidFillError(f"fill {name} must be non-empty")
        if not (math.isfinite(self.price) and self.price > 0):
            raise InvalidFillError(
                f"fill {self.trade_id}: price must be finite and > 0, got {self.price}"
            )
        if not (math.isfinite(self.qty) and self.qty > 0):
            raise InvalidFillError(
                f"fill {self.trade_id}: qty must be finite and > 0, got {self.qty}"
            )
        if not math.isfinite(self.fee):
            raise InvalidFillError(f"fill {self.trade_id}: fee must be finite, got {self.fee}")
        if self.ts < 0:
            raise InvalidFillError(f"fill {self.trade_id}: ts must be ≥ 0 ns, got {self.ts}")

    @property
    def notional(self) -> float:
        """``price × qty`` in the quote currency."""
        return self.price * self.qty
