"""The simulated venue's working orders: limits, stops, take-profits and trailing stops.

Conditional orders wait for a **trigger price** ``stop`` and then work as a market
(``*_MARKET``) or limit (``*_LIMIT``, at ``price``) order. Trigger directions (Binance and
Bybit semantics):

=========================  ==========================  ==========================
type                        buy triggers when            sell triggers when
=========================  ==========================  ==========================
STOP_MARKET / STOP_LIMIT    price ≥ stop (breakout)      price ≤ stop (stop-loss)
TAKE_PROFIT_*               price ≤ stop                 price ≥ stop
=========================  ==========================  ==========================

The price is the last trade, the book mid, or a candle's range (the venue picks the source).
On a candle a trigger happens **at the open** when the bar opens beyond the stop (a gap: the
order executes at the open, not at the stop price) and **at the stop** when only the bar's
range reaches it.

A **trailing stop** is a ``STOP_MARKET`` whose stop follows the best price since it was placed
(or since ``activation_price`` was reached): a sell trails the highest price by ``offset``
(absolute) or by ``offset × price`` (percent), a buy trails the lowest price; the stop only
ever ratchets in the holder's favour.

**Order of matching inside one candle** (the path within a bar is unknown): market orders
waiting for the open first, then stop-family orders (stop-market, stop-limit, trailing), then
take-profits and limits, each group in submission order. So when a stop and a target are both
inside one candle, the **stop is taken first** (the conservative rule): its fill uses the
position or balance, and the target finds nothing left to sell and is canceled. A trailing
stop checks the bar against the stop it had before the bar and ratchets with the bar's extreme
afterwards (adverse move first, favourable one second).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from mftbot.domain.enums import Side
from mftbot.domain.orders import OrderType
from mftbot.execution.sim.queue import QueuePosition
from mftbot.execution.sim.rules import SymbolInfo
from mftbot.execution.venue import OrderRequest, VenueError

_STOP_FAMILY = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})
_TAKE_PROFIT = frozenset({OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT})

RANK_MARKET = 0
RANK_STOP = 1
RANK_OTHER = 2


class TrailingMode(StrEnum):
    """How a trailing offset is measured."""

    ABSOLUTE = "absolute"
    PERCENT = "percent"


@dataclass(frozen=True, slots=True)
class TrailingSpec:
    """A trailing stop's distance (``offset`` in price units, or a fraction: 0.01 = 1 %) and
    the price that activates it (``None``: active at once)."""

    offset: float
    mode: TrailingMode = TrailingMode.ABSOLUTE
    activation_price: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.offset) and self.offset > 0):
            raise VenueError(f"trailing offset must be finite and > 0, got {self.offset}")
        if self.mode is TrailingMode.PERCENT and self.offset >= 1.0:
            raise VenueError(f"trailing percent offset must be < 1, got {self.offset}")
        act = self.activation_price
        if act is not None and not (math.isfinite(act) and act > 0):
            raise VenueError(f"activation price must be finite and > 0, got {act}")

    def stop_from(self, extreme: float, side: Side) -> float:
        """The stop ``offset`` away from ``extreme``, on the holder's losing side."""
        if self.mode is TrailingMode.ABSOLUTE:
            return extreme - self.offset if side is Side.SELL else extreme + self.offset
        if side is Side.SELL:
            return extreme * (1.0 - self.offset)
        return extreme * (1.0 + self.offset)


@dataclass(slots=True)
class TrailingState:
    """A trailing stop's moving parts: the best price seen and whether it is active."""

    spec: TrailingSpec
    side: Side
    extreme: float | None = None
    active: bool = False

    def observe(self, price: float, stop: float | None) -> float | None:
        """See a (favourable) price; return the new stop (ratcheted, never loosened)."""
        spec = self.spec
        sell = self.side is Side.SELL
        if not self.active:
            act = spec.activation_price
            if act is not None and (price < act if sell else price > act):
                return stop
            self.active = True
        if self.extreme is None or (price > self.extreme if sell else price < self.extreme):
            self.extreme = price
        candidate = spec.stop_from(self.extreme, self.side)
        if stop is None:
            return candidate
        return max(stop, candidate) if sell else min(stop, candidate)


def is_stop_family(order_type: OrderType) -> bool:
    """Stop-market and stop-limit (the adverse-exit family)."""
    return order_type in _STOP_FAMILY


def is_conditional(order_type: OrderType) -> bool:
    """Whether the type waits for a trigger price."""
    return order_type in _STOP_FAMILY or order_type in _TAKE_PROFIT


def triggers_on_rise(order_type: OrderType, side: Side) -> bool:
    """True when the order triggers at ``price ≥ stop``, False at ``price ≤ stop``."""
    if order_type in _STOP_FAMILY:
        return side is Side.BUY
    if order_type in _TAKE_PROFIT:
        return side is Side.SELL
    raise VenueError(f"{order_type.value} orders have no trigger")


def price_triggers(rises: bool, stop: float, price: float) -> bool:
    """Whether ``price`` reaches ``stop`` in the trigger direction."""
    return price >= stop if rises else price <= stop


def candle_trigger(
    rises: bool, stop: float, open_: float, high: float, low: float
) -> tuple[float, bool] | None:
    """Trigger of one bar: ``(open, True)`` on a gap through the stop, ``(stop, False)`` when
    only the range reaches it, ``None`` when the bar does not reach it."""
    if price_triggers(rises, stop, open_):
        return open_, True
    extreme = high if rises else low
    if price_triggers(rises, stop, extreme):
        return stop, False
    return None


@dataclass(slots=True, eq=False)
class SimOrder:
    """One order working on the simulated venue.

    ``qty`` is ``None`` for a quote-sized market buy until its fill fixes it. ``fresh`` is
    True until the order has been checked against the market once: a fresh limit that is
    marketable takes liquidity (taker), a resting one is filled as a maker. ``active_from``:
    only candles opening at or after it may match the order.
    """

    request: OrderRequest
    info: SymbolInfo
    venue_order_id: str
    seq: int
    arrival: int
    qty: float | None
    stop: float | None = None
    trailing: TrailingState | None = None
    filled: float = 0.0
    triggered: bool = False
    fresh: bool = True
    active_from: int = 0
    queue: QueuePosition | None = None

    @property
    def coid(self) -> str:
        """Client order id."""
        return self.request.client_order_id

    @property
    def symbol(self) -> str:
        """Symbol (ccxt unified)."""
        return self.request.symbol

    @property
    def side(self) -> Side:
        """Order side."""
        return self.request.side

    @property
    def is_buy(self) -> bool:
        """Whether it buys."""
        return self.request.side is Side.BUY

    @property
    def limit(self) -> float | None:
        """Limit price (limit types only)."""
        return self.request.price

    @property
    def remaining(self) -> float:
        """Base quantity left (0 for a quote-sized order before its fill)."""
        return 0.0 if self.qty is None else max(self.qty - self.filled, 0.0)

    @property
    def waiting_trigger(self) -> bool:
        """A conditional order not triggered yet."""
        return is_conditional(self.request.type) and not self.triggered

    @property
    def works_as_market(self) -> bool:
        """A market order, or a triggered stop-market / take-profit-market."""
        t = self.request.type
        return t is OrderType.MARKET or (
            self.triggered and t in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)
        )

    @property
    def works_as_limit(self) -> bool:
        """A limit order, or a triggered stop-limit / take-profit-limit."""
        t = self.request.type
        return t is OrderType.LIMIT or (
            self.triggered and t in (OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)
        )

    @property
    def rises(self) -> bool:
        """Trigger direction (conditional orders only)."""
        return triggers_on_rise(self.request.type, self.side)

    def candle_rank(self) -> int:
        """Matching group inside a candle (see the module doc)."""
        if self.works_as_market:
            return RANK_MARKET
        if self.waiting_trigger and (
            is_stop_family(self.request.type) or self.trailing is not None
        ):
            return RANK_STOP
        return RANK_OTHER


class WorkingOrders:
    """The venue's working orders, by client id and by symbol (submission order)."""

    def __init__(self) -> None:
        self._by_id: dict[str, SimOrder] = {}
        self._by_symbol: dict[str, dict[str, SimOrder]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, coid: object) -> bool:
        return coid in self._by_id

    def __iter__(self) -> Iterator[SimOrder]:
        return iter(list(self._by_id.values()))

    def get(self, coid: str) -> SimOrder | None:
        """The working order with this client id, if any."""
        return self._by_id.get(coid)

    def add(self, order: SimOrder) -> None:
        """Start working ``order``."""
        if order.coid in self._by_id:
            raise VenueError(f"order {order.coid} is working already")
        self._by_id[order.coid] = order
        self._by_symbol.setdefault(order.symbol, {})[order.coid] = order

    def remove(self, coid: str) -> SimOrder | None:
        """Stop working an order; return it (``None`` when unknown)."""
        order = self._by_id.pop(coid, None)
        if order is not None:
            per = self._by_symbol.get(order.symbol)
            if per is not None:
                per.pop(coid, None)
        return order

    def of(self, symbol: str) -> list[SimOrder]:
        """Working orders in ``symbol``, in submission order (a copy)."""
        per = self._by_symbol.get(symbol)
        return list(per.values()) if per else []

    def has(self, symbol: str) -> bool:
        """Whether any order works in ``symbol``."""
        return bool(self._by_symbol.get(symbol))

    def candle_order(self, symbol: str) -> list[SimOrder]:
        """Working orders in ``symbol`` in candle matching order: market, stops, the rest."""
        return sorted(self.of(symbol), key=lambda o: (o.candle_rank(), o.seq))
