"""Market orders against a real L2 book: walk the levels, best first.

Policy:

* A taker order takes each opposite level (asks for a buy, bids for a sell) in price order,
  ``min(level size, what is left)`` at the level's price, until the order is filled, the
  next level is beyond the limit price (limit orders and protected market orders), or the
  book runs out. The fill is the list of (price, qty) taken; its average price and its
  slippage against the best price come from real depth.
* A book thinner than the order gives a **partial** walk (``complete`` is False): the venue
  fills what was there and cancels the rest (a market order never rests).
* A quote-sized buy (``quote_qty``: spend this much, fee included) takes at each level
  ``min(size, budget / (price × (1 + fee)))`` until the budget is spent.
* Our fills are not in the recorded book, so a later order would find the same liquidity
  again. :class:`ConsumedLiquidity` remembers what our own fills took from each level and
  hides it from later walks and crossing checks. When the recording updates that level, the
  hidden amount is capped at the new size: growth beyond it is new liquidity that arrived
  after our take, a shrink below it means the orders we took are gone anyway (cancelled or
  traded by others); a level that disappears is forgotten.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mftbot.domain.events import Level
from mftbot.domain.orderbook import BookSide

QTY_EPS = 1e-12
"""Quantities below this (relative to the order) count as nothing left."""


@dataclass(frozen=True, slots=True)
class BookWalk:
    """What a walk took: ``fills`` are (price, qty) per level, best first."""

    is_buy: bool
    requested: float
    fills: tuple[Level, ...]

    @property
    def qty(self) -> float:
        """Base quantity taken."""
        return math.fsum(q for _, q in self.fills)

    @property
    def notional(self) -> float:
        """Quote amount exchanged: Σ price × qty."""
        return math.fsum(p * q for p, q in self.fills)

    @property
    def avg_price(self) -> float | None:
        """Quantity-weighted mean price (``None`` when nothing was taken)."""
        qty = self.qty
        return self.notional / qty if qty > 0.0 else None

    @property
    def best_price(self) -> float | None:
        """Price of the first level taken."""
        return self.fills[0][0] if self.fills else None

    @property
    def worst_price(self) -> float | None:
        """Price of the last level taken."""
        return self.fills[-1][0] if self.fills else None

    @property
    def complete(self) -> bool:
        """Whether the whole request was taken (base quantity, or quote budget)."""
        return bool(self.fills) and self.requested - self._taken <= QTY_EPS * self.requested

    @property
    def _taken(self) -> float:
        return self.qty

    def slippage(self, reference: float) -> float:
        """Cost of the average price against ``reference`` (e.g. the best price or the mid),
        as a fraction: positive when the walk paid more (buy) / got less (sell)."""
        avg = self.avg_price
        if avg is None:
            return 0.0
        signed = (avg - reference) / reference
        return signed if self.is_buy else -signed


@dataclass(frozen=True, slots=True)
class QuoteWalk(BookWalk):
    """A walk sized by a quote budget; ``requested`` is the budget, fee included."""

    fee_rate: float = 0.0

    @property
    def spent(self) -> float:
        """Quote spent, fee included."""
        return self.notional * (1.0 + self.fee_rate)

    @property
    def _taken(self) -> float:
        return self.spent


def _check_limit(limit: float | None) -> None:
    if limit is not None and not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"limit must be finite and > 0, got {limit}")


def _beyond(price: float, limit: float | None, is_buy: bool) -> bool:
    if limit is None:
        return False
    return price > limit if is_buy else price < limit


def walk_book(
    levels: Iterable[Level], qty: float, *, is_buy: bool, limit: float | None = None
) -> BookWalk:
    """Take ``qty`` from ``levels`` (the opposite side, best first), not beyond ``limit``."""
    if not (math.isfinite(qty) and qty > 0):
        raise ValueError(f"qty must be finite and > 0, got {qty}")
    _check_limit(limit)
    left = qty
    eps = QTY_EPS * qty
    fills: list[Level] = []
    for price, size in levels:
        if _beyond(price, limit, is_buy):
            break
        if size <= 0.0:
            continue
        take = size if size < left else left
        fills.append((price, take))
        left -= take
        if left <= eps:
            break
    return BookWalk(is_buy, qty, tuple(fills))


def walk_book_quote(
    levels: Iterable[Level],
    budget: float,
    *,
    fee_rate: float = 0.0,
    limit: float | None = None,
) -> QuoteWalk:
    """Buy from ``levels`` (asks, best first) for ``budget`` quote, the fee at ``fee_rate``
    on notional included, not beyond ``limit``."""
    if not (math.isfinite(budget) and budget > 0):
        raise ValueError(f"budget must be finite and > 0, got {budget}")
    if not (math.isfinite(fee_rate) and fee_rate > -1.0):
        raise ValueError(f"fee_rate must be finite and > -1, got {fee_rate}")
    _check_limit(limit)
    left = budget
    eps = QTY_EPS * budget
    scale = 1.0 + fee_rate
    fills: list[Level] = []
    for price, size in levels:
        if _beyond(price, limit, True):
            break
        if size <= 0.0:
            continue
        affordable = left / (price * scale)
        take = size if size < affordable else affordable
        fills.append((price, take))
        left -= take * price * scale
        if left <= eps:
            break
    return QuoteWalk(True, budget, tuple(fills), fee_rate)


class ConsumedLiquidity:
    """What our own fills took from the recorded levels of one book (see the module doc)."""

    __slots__ = ("_asks", "_bids")

    def __init__(self) -> None:
        self._bids: dict[float, float] = {}
        self._asks: dict[float, float] = {}

    def __bool__(self) -> bool:
        return bool(self._bids or self._asks)

    def _side(self, is_bid: bool) -> dict[float, float]:
        return self._bids if is_bid else self._asks

    def take(self, is_bid: bool, fills: Iterable[Level]) -> None:
        """Record fills taken from the bid (``is_bid``) or ask side."""
        side = self._side(is_bid)
        for price, qty in fills:
            side[price] = side.get(price, 0.0) + qty

    def taken(self, is_bid: bool, price: float) -> float:
        """What our fills took from one level since it last changed."""
        return self._side(is_bid).get(price, 0.0)

    def on_levels_changed(self, is_bid: bool, levels: Iterable[Level]) -> None:
        """Cap our take at the new sizes of the levels a book update set (see the module
        doc)."""
        side = self._side(is_bid)
        if side:
            for price, size in levels:
                taken = side.get(price)
                if taken is not None:
                    if size <= 0.0:
                        del side[price]
                    elif size < taken:
                        side[price] = size

    def clear(self) -> None:
        """Forget everything (a fresh snapshot)."""
        self._bids.clear()
        self._asks.clear()

    def levels(self, book_side: BookSide) -> Iterator[Level]:
        """``book_side``'s levels, best first, less what our fills took."""
        taken = self._side(book_side.is_bid)
        get = book_side.get
        for price in book_side.prices():
            size = get(price) or 0.0
            if taken:
                size -= taken.get(price, 0.0)
            if size > 0.0:
                yield price, size
