"""The risk interface: every order intent passes :meth:`RiskEngine.check` before it is sent.

:class:`OrderIntent` is what sizing makes of a signal: a side and either a base quantity
(``qty``) or a quote amount to spend (``quote_qty``, fees included: "buy with 1,000 USDT"), plus
why (the :class:`~mftbot.core.ids.IntentKind`) and the signal time, from which the client order
id is derived. A risk engine approves it (possibly changed: a smaller size) or rejects it with a
reason. :class:`PassThroughRisk` approves everything unchanged (the research default).

:class:`StatefulRiskEngine` is what the event loop keeps informed (fills, bars, equity,
polls; ``docs/risk.md``, "Wiring"); :class:`SignalInfo` is what a signal adds to an entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mftbot.core.errors import MftbotError
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.orders import OrderType, TimeInForce

if TYPE_CHECKING:
    from collections.abc import Callable

    from mftbot.domain.events import CandleClosed
    from mftbot.risk.records import RiskRecord


class InvalidIntentError(MftbotError, ValueError):
    """An order intent has inconsistent fields."""


def _positive(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InvalidIntentError(f"{name} must be finite and > 0, got {value}")


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order the bot means to send, before risk and before the ledger.

    Exactly one of ``qty`` (base units) and ``quote_qty`` (quote amount to spend, fees
    included; market buys only) is set. ``ref_price`` is the price the intent was sized at
    (the last close, say): the provisional base quantity of a quote-sized order.
    """

    strategy: str
    symbol: str
    side: Side
    intent: IntentKind
    signal_ts: int
    qty: float | None = None
    quote_qty: float | None = None
    order_type: OrderType = OrderType.MARKET
    price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    ref_price: float | None = None

    def __post_init__(self) -> None:
        if not self.strategy or not self.symbol:
            raise InvalidIntentError("an order intent needs a strategy and a symbol")
        if (self.qty is None) == (self.quote_qty is None):
            raise InvalidIntentError(
                f"{self.strategy} {self.symbol}: give exactly one of qty and quote_qty"
            )
        _positive("qty", self.qty)
        _positive("quote_qty", self.quote_qty)
        _positive("price", self.price)
        _positive("stop_price", self.stop_price)
        _positive("ref_price", self.ref_price)
        if self.quote_qty is not None:
            if self.order_type is not OrderType.MARKET or self.side is not Side.BUY:
                raise InvalidIntentError("quote_qty is for market buys only")
            if self.ref_price is None:
                raise InvalidIntentError("a quote-sized intent needs a ref_price")
        if self.signal_ts < 0:
            raise InvalidIntentError(f"signal_ts must be >= 0 ns, got {self.signal_ts}")

    @property
    def base_qty(self) -> float:
        """The base quantity, provisional (``quote_qty / ref_price``) for a quote-sized intent."""
        if self.qty is not None:
            return self.qty
        if self.quote_qty is None or self.ref_price is None:  # excluded by __post_init__
            raise InvalidIntentError("intent has neither qty nor quote_qty with ref_price")
        return self.quote_qty / self.ref_price


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What a risk check sees of the account when an intent arrives (account currency)."""

    ts: int
    equity: float
    available: float
    position_qty: float
    """Signed open quantity in the intent's symbol (> 0 long, < 0 short)."""
    last_price: float | None


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """Approve (``intent`` is what to send) or reject (``reason`` says why)."""

    approved: bool
    intent: OrderIntent | None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.approved and self.intent is None:
            raise InvalidIntentError("an approval must carry the intent to send")
        if not self.approved and not self.reason:
            raise InvalidIntentError("a rejection must give a reason")

    @classmethod
    def approve(cls, intent: OrderIntent, reason: str = "") -> RiskDecision:
        """Send ``intent``."""
        return cls(True, intent, reason)

    @classmethod
    def reject(cls, reason: str) -> RiskDecision:
        """Send nothing, because ``reason``."""
        return cls(False, None, reason)


class RiskEngine(Protocol):
    """A pre-trade check."""

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskDecision:
        """Approve (possibly resized) or reject ``intent``."""
        ...


class PassThroughRisk:
    """Approves every intent unchanged (the default until real checks exist)."""

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskDecision:
        """Approve ``intent`` as it is."""
        return RiskDecision.approve(intent)


@dataclass(frozen=True, slots=True)
class SignalInfo:
    """What the signal adds to an entry: confidence, timeframe agreement, its own SL/TP."""

    confidence: float = 1.0
    mtf_agreement: float = 1.0
    stop_price: float | None = None
    take_profit: float | None = None


@runtime_checkable
class StatefulRiskEngine(Protocol):
    """A risk engine the event loop keeps informed (``docs/risk.md``, "Wiring"): it sees every
    position change, closed trade, bar, market event and equity point, is polled on every event
    and timer, and records every decision."""

    def check(
        self, intent: OrderIntent, context: RiskContext, signal: SignalInfo | None = None
    ) -> RiskDecision:
        """Approve (possibly resized) or reject ``intent``."""
        ...

    def poll(self) -> list[OrderIntent]:
        """Look at the kill switch (and persisted state); the flatten intents to send."""
        ...

    def on_bar(self, bar: CandleClosed) -> list[OrderIntent]:
        """A closed candle; the exits the position monitor wants."""
        ...

    def on_market_data(self, symbol: str, ts_recv: int, price: float | None = None) -> None:
        """A book, trade or quote event of ``symbol``."""
        ...

    def on_position(
        self, symbol: str, signed_qty: float, avg_entry: float, ts: int, *, strategy: str = ""
    ) -> None:
        """The position in ``symbol`` after a fill (0: flat)."""
        ...

    def on_trade_closed(self, strategy: str, symbol: str, pnl: float, ts: int) -> None:
        """A position closed with net PnL ``pnl``."""
        ...

    def on_order_done(self, symbol: str, kind: IntentKind) -> None:
        """An order of ``symbol`` reached a terminal state."""
        ...

    def on_equity(self, ts: int, equity: float) -> None:
        """An equity point (each bar close)."""
        ...

    def add_sink(self, sink: Callable[[RiskRecord], None]) -> None:
        """Also hand every record from now on to ``sink`` (the audit log, say)."""
        ...

    @property
    def records(self) -> tuple[RiskRecord, ...]:
        """Every record, oldest first."""
        ...

    def summary(self) -> dict[str, Any]:
        """Counts by action and failing rule, and the trading state."""
        ...
