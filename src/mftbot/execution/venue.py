"""The Venue protocol: the seam between the order manager and a market, simulated or real.

A venue receives :class:`OrderRequest` s (what an exchange API receives, not the bot's own
:class:`~mftbot.domain.orders.Order` objects) and answers with venue reports:
:class:`OrderAccepted`, :class:`OrderFilled`, :class:`OrderCanceled`, :class:`OrderRejected`.
Reports come back from :meth:`Venue.submit` / :meth:`Venue.cancel` (what the venue says at
once) and from :meth:`Venue.on_market_event` (what happens as the market moves: a simulated
venue fills resting orders there). A real venue may return nothing from these calls and feed
its private stream into the engine as report events instead; the engine treats both alike.

Every report carries the venue's timestamp (``ts_event``) and the local receive time
(``ts_recv``), ns since the epoch.
"""

from __future__ import annotations

import math
from typing import Protocol, TypeAlias

import msgspec

from mftbot.core.errors import MftbotError
from mftbot.domain.enums import Side
from mftbot.domain.events import MarketEvent
from mftbot.domain.fills import Fill
from mftbot.domain.orders import OrderType, TimeInForce


class VenueError(MftbotError):
    """A venue cannot process a request (unsupported instrument, bad request, …)."""


class OrderRequest(msgspec.Struct, frozen=True, gc=False):
    """A new-order request as sent to a venue.

    Exactly one of ``qty`` (base units) and ``quote_qty`` (quote amount to spend, fees
    included, market buys only; Bybit spot ``marketUnit=quoteCoin``, Binance
    ``quoteOrderQty``) is set. ``ts`` is the send time.
    """

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    ts: int
    qty: float | None = None
    quote_qty: float | None = None
    price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if (self.qty is None) == (self.quote_qty is None):
            raise VenueError(f"{self.client_order_id}: give exactly one of qty and quote_qty")
        amount = self.qty if self.qty is not None else self.quote_qty
        if amount is None or not (math.isfinite(amount) and amount > 0):
            raise VenueError(f"{self.client_order_id}: order size must be > 0, got {amount}")


class OrderAccepted(msgspec.Struct, frozen=True, gc=False):
    """The venue acknowledged the order."""

    venue: str
    client_order_id: str
    ts_event: int
    ts_recv: int
    venue_order_id: str | None = None


class OrderFilled(msgspec.Struct, frozen=True, gc=False):
    """One execution of an order.

    ``leaves_qty`` is what the venue says is left to fill after it (``None``: not reported).
    For a quote-sized order it fixes the order's base quantity: ``filled + leaves``.
    """

    venue: str
    client_order_id: str
    ts_event: int
    ts_recv: int
    fill: Fill
    leaves_qty: float | None = None


class OrderCanceled(msgspec.Struct, frozen=True, gc=False):
    """The order was canceled (on request, or by the venue: expiry, no liquidity, balance)."""

    venue: str
    client_order_id: str
    ts_event: int
    ts_recv: int
    reason: str = ""


class OrderRejected(msgspec.Struct, frozen=True, gc=False):
    """The venue refused the order; it never worked."""

    venue: str
    client_order_id: str
    ts_event: int
    ts_recv: int
    reason: str = ""


VenueReport: TypeAlias = OrderAccepted | OrderFilled | OrderCanceled | OrderRejected
"""Any report a venue sends about one of our orders."""

VENUE_REPORT_TYPES = (OrderAccepted, OrderFilled, OrderCanceled, OrderRejected)
"""The report classes, for ``isinstance`` checks."""


class Venue(Protocol):
    """A market the order manager can trade on."""

    @property
    def name(self) -> str:
        """Venue id (a :class:`~mftbot.domain.enums.Venue` value): client id rules, fills."""
        ...

    def submit(self, request: OrderRequest) -> list[VenueReport]:
        """Send a new order; return the reports known at once (ack, reject, immediate fills)."""
        ...

    def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
        """Ask to cancel a working order; return the reports known at once."""
        ...

    def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
        """Let the venue see market data; return reports it causes (fills of working orders)."""
        ...
