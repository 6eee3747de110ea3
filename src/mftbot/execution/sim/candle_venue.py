"""A simulated spot venue that fills market orders from candles.

* ``fill="next_open"``: a market order fills at the open of the first candle of its symbol
  that opens at or after the order was sent (the next bar), stamped with that open time.
* ``fill="close"``: it fills at once at the close of the last candle seen, stamped with the
  candle's close time.

The fee is ``price × qty × fee`` in the quote currency, on each side (taker). A quote-sized
buy spends exactly its ``quote_qty``, fee included: ``qty = quote_qty / (price × (1 + fee))``.

The venue keeps its own account (as an exchange does), seeded with ``balances``. It rejects at
submission what it cannot do: a non-market order (the realistic venue handles those), a
derivative symbol, a buy beyond the quote balance (at the last close for a base-sized buy), a
sell beyond the base holdings, a base-sized buy before any price. A ``next_open`` order that
no longer fits the balance when its bar opens is canceled with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed, MarketEvent
from mftbot.domain.fills import Fill, Liquidity
from mftbot.domain.orders import OrderType
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    VenueError,
    VenueReport,
)

BALANCE_REL_TOL = 1e-9
"""Float noise allowed below zero, relative (the portfolio's ``CASH_REL_TOL``)."""


class CandleFill(StrEnum):
    """Which price of which candle a market order gets."""

    NEXT_OPEN = "next_open"
    CLOSE = "close"


def split_spot_symbol(symbol: str) -> tuple[str, str]:
    """``"ETH/BTC"`` → ``("ETH", "BTC")``; derivatives (``BASE/QUOTE:SETTLE``) are refused."""
    base, slash, quote = symbol.partition("/")
    if not base or not slash or not quote or "/" in quote:
        raise VenueError(f"{symbol!r} is not a ccxt unified symbol (BASE/QUOTE)")
    if ":" in quote:
        raise VenueError(f"{symbol}: the candle venue trades spot only")
    return base, quote


@dataclass(slots=True)
class _Working:
    """An accepted order waiting for its bar."""

    request: OrderRequest
    base: str
    quote: str


class CandleSimVenue:
    """Fills market orders at candle prices with a fee on notional (see the module doc)."""

    def __init__(
        self,
        balances: Mapping[str, float],
        *,
        fee: float = 0.001,
        fill: CandleFill | str = CandleFill.NEXT_OPEN,
        name: str = "sim",
    ) -> None:
        if not (math.isfinite(fee) and 0.0 <= fee < 1.0):
            raise VenueError(f"fee must be in [0, 1), got {fee}")
        try:
            self.fill_mode = CandleFill(fill)
        except ValueError:
            raise VenueError(f"fill must be one of {[m.value for m in CandleFill]}") from None
        for currency, amount in balances.items():
            if not (math.isfinite(amount) and amount >= 0):
                raise VenueError(f"balance of {currency} must be finite and >= 0, got {amount}")
        self._name = name
        self.fee = fee
        self._balances: dict[str, float] = dict(balances)
        self._last: dict[str, tuple[float, int]] = {}
        self._working: dict[str, _Working] = {}
        self._trade_seq = 0
        self._order_seq = 0

    @property
    def name(self) -> str:
        """Venue id."""
        return self._name

    def balance(self, currency: str) -> float:
        """The venue-side balance of ``currency``."""
        return self._balances.get(currency, 0.0)

    @property
    def working(self) -> list[str]:
        """Client ids of accepted orders not filled yet."""
        return list(self._working)

    # --- requests ---------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> list[VenueReport]:
        """Accept (and with ``fill="close"`` fill at once) or reject a new order."""
        ts = request.ts
        coid = request.client_order_id
        if coid in self._working:
            return [self._rejected(coid, ts, "duplicate client order id")]
        problem = self._refusal(request)
        if problem:
            return [self._rejected(coid, ts, problem)]
        base, quote = split_spot_symbol(request.symbol)
        self._order_seq += 1
        accepted = OrderAccepted(self._name, coid, ts, ts, f"{self._name}-{self._order_seq}")
        work = _Working(request, base, quote)
        if self.fill_mode is CandleFill.CLOSE:
            price, close_ts = self._last[request.symbol]
            return [accepted, self._execute(work, price, close_ts)]
        self._working[coid] = work
        return [accepted]

    def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
        """Cancel a working order; raise :class:`VenueError` for an unknown or finished one."""
        work = self._working.pop(client_order_id, None)
        if work is None:
            raise VenueError(f"{self._name}: no working order {client_order_id!r} to cancel")
        return [OrderCanceled(self._name, client_order_id, ts, ts, "canceled on request")]

    def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
        """Fill working orders at the open of their next candle; remember the close."""
        if type(event) is not CandleClosed:
            return []
        reports: list[VenueReport] = []
        if self._working:
            for coid, work in list(self._working.items()):
                request = work.request
                if request.symbol == event.symbol and event.open_time >= request.ts:
                    del self._working[coid]
                    reports.append(self._execute(work, event.open, event.open_time))
        self._last[event.symbol] = (event.close, event.ts_event)
        return reports

    # --- matching ---------------------------------------------------------------------------

    def _refusal(self, request: OrderRequest) -> str:
        if request.type is not OrderType.MARKET:
            return f"{request.type.value} orders are not supported by the candle venue"
        try:
            base, quote = split_spot_symbol(request.symbol)
        except VenueError as exc:
            return str(exc)
        last = self._last.get(request.symbol)
        if last is None and (self.fill_mode is CandleFill.CLOSE or request.qty is not None):
            return f"no price for {request.symbol} yet"
        if request.side is Side.SELL:
            if request.qty is None:
                return "quote_qty is for market buys only"
            held = self.balance(base)
            if request.qty > held * (1.0 + BALANCE_REL_TOL):
                return f"insufficient {base}: sell {request.qty:.10g}, hold {held:.10g}"
            return ""
        cash = self.balance(quote)
        cost = request.quote_qty
        if request.qty is not None and last is not None:
            cost = request.qty * last[0] * (1.0 + self.fee)
        if cost is not None and cost > cash * (1.0 + BALANCE_REL_TOL):
            return f"insufficient {quote}: need {cost:.10g}, have {cash:.10g}"
        return ""

    def _execute(self, work: _Working, price: float, ts: int) -> VenueReport:
        request = work.request
        coid = request.client_order_id
        qty = request.qty
        if qty is None:  # quote-sized: OrderRequest guarantees quote_qty
            qty = (request.quote_qty or 0.0) / (price * (1.0 + self.fee))
        notional = price * qty
        fee = notional * self.fee
        if request.side is Side.BUY:
            change = -notional - fee
            if _below_zero(self.balance(work.quote), change):
                need = notional + fee
                reason = f"insufficient {work.quote} at fill: need {need:.10g}"
                return OrderCanceled(self._name, coid, ts, ts, reason)
            self._add(work.quote, change)
            self._add(work.base, qty)
        else:
            if _below_zero(self.balance(work.base), -qty):
                reason = f"insufficient {work.base} at fill: sell {qty:.10g}"
                return OrderCanceled(self._name, coid, ts, ts, reason)
            self._add(work.base, -qty)
            self._add(work.quote, notional - fee)
        self._trade_seq += 1
        fill = Fill(
            client_order_id=coid,
            trade_id=f"{self._name}-t{self._trade_seq}",
            symbol=request.symbol,
            side=request.side,
            price=price,
            qty=qty,
            fee=fee,
            fee_currency=work.quote,
            liquidity=Liquidity.TAKER,
            ts=ts,
        )
        return OrderFilled(self._name, coid, ts, ts, fill, leaves_qty=0.0)

    def _add(self, currency: str, amount: float) -> None:
        self._balances[currency] = self._balances.get(currency, 0.0) + amount

    def _rejected(self, coid: str, ts: int, reason: str) -> OrderRejected:
        return OrderRejected(self._name, coid, ts, ts, reason)


def _below_zero(balance: float, change: float) -> bool:
    after = balance + change
    return after < -BALANCE_REL_TOL * max(1.0, abs(balance), abs(change))
