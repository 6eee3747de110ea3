"""Market rules and the simulated account: what a venue refuses, and the money it checks.

:class:`MarketRules` are one symbol's trading filters (Binance ``PRICE_FILTER`` /
``LOT_SIZE`` / ``NOTIONAL``, Bybit ``priceFilter`` / ``lotSizeFilter``): a price must be a
multiple of the tick size, a quantity a multiple of the lot size and within [min, max], and
the notional at least the minimum. Each check returns an empty string or the reason with the
numbers in it.

:class:`Account` is the venue's side of the money (an exchange keeps its own books):

* **spot**: a balance per currency, part of it locked by resting orders (a limit buy locks
  ``qty × price × (1 + fee rate)`` of the quote, a limit sell its ``qty`` of the base);
  ``free = total − locked``. A buy needs ``price × qty + fee`` free quote, a sell ``qty`` free
  base; fees are paid in the quote currency.
* **linear perpetuals** (one-way mode): a wallet in the settlement currency and a signed
  position per symbol with its average entry. The part of a fill that opens or grows exposure
  needs initial margin ``qty × price / leverage`` plus the fee out of the available balance
  ``wallet − Σ |position| × entry / leverage − locked`` (unrealised PnL is not counted: the
  conservative reading); the part that reduces a position realises
  ``(price − entry) × qty × sign``. Funding and liquidation are the portfolio's business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mftbot.domain.enums import Side
from mftbot.execution.venue import VenueError

BALANCE_REL_TOL = 1e-9
"""Float noise tolerated when comparing a cost with a balance (relative)."""
STEP_REL_TOL = 1e-9
"""Float noise tolerated on "is a multiple of the step" (in steps, relative)."""


def _decimals(step: float) -> int:
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _fmt(value: float) -> str:
    return f"{value:.12g}"


def off_step(value: float, step: float) -> tuple[float, float] | None:
    """``None`` when ``value`` is a multiple of ``step``, else the nearest multiples below and
    above it (rounded to the step's decimals)."""
    ratio = value / step
    nearest = round(ratio)
    if abs(ratio - nearest) <= STEP_REL_TOL * max(1.0, abs(nearest)):
        return None
    places = _decimals(step)
    return (
        round(math.floor(ratio) * step, places),
        round(math.ceil(ratio) * step, places),
    )


class MarketRules(BaseModel):
    """One symbol's trading filters (``None`` / 0: no such filter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tick_size: float | None = Field(None, gt=0, description="Price increment.")
    lot_size: float | None = Field(None, gt=0, description="Quantity increment (base units).")
    min_qty: float = Field(0.0, ge=0, description="Smallest quantity (base units).")
    max_qty: float | None = Field(None, gt=0, description="Largest quantity (base units).")
    min_notional: float = Field(0.0, ge=0, description="Smallest price × qty (quote currency).")

    @model_validator(mode="after")
    def _consistent(self) -> MarketRules:
        if self.max_qty is not None and self.max_qty < self.min_qty:
            raise ValueError(f"max_qty {self.max_qty} is below min_qty {self.min_qty}")
        return self

    def price_problem(self, price: float, what: str = "price") -> str:
        """Why ``price`` is off the tick grid, or ``""``."""
        tick = self.tick_size
        if tick is None:
            return ""
        near = off_step(price, tick)
        if near is None:
            return ""
        return (
            f"{what} {_fmt(price)} is not a multiple of the tick size {_fmt(tick)} "
            f"(nearest valid: {_fmt(near[0])}, {_fmt(near[1])})"
        )

    def qty_problem(self, qty: float) -> str:
        """Why ``qty`` breaks the lot size or the min/max quantity, or ``""``."""
        if qty < self.min_qty * (1.0 - STEP_REL_TOL):
            return f"qty {_fmt(qty)} is below the minimum qty {_fmt(self.min_qty)}"
        if self.max_qty is not None and qty > self.max_qty * (1.0 + STEP_REL_TOL):
            return f"qty {_fmt(qty)} is above the maximum qty {_fmt(self.max_qty)}"
        lot = self.lot_size
        if lot is not None:
            near = off_step(qty, lot)
            if near is not None:
                return (
                    f"qty {_fmt(qty)} is not a multiple of the lot size {_fmt(lot)} "
                    f"(nearest valid: {_fmt(near[0])}, {_fmt(near[1])})"
                )
        return ""

    def notional_problem(self, notional: float, quote: str, detail: str = "") -> str:
        """Why ``notional`` is below the minimum, or ``""``; ``detail`` says how it was got."""
        if notional >= self.min_notional * (1.0 - STEP_REL_TOL):
            return ""
        how = f" ({detail})" if detail else ""
        return (
            f"notional {_fmt(notional)} {quote}{how} is below the minimum notional "
            f"{_fmt(self.min_notional)} {quote}"
        )

    def round_qty(self, qty: float) -> float:
        """``qty`` rounded down to the lot size (what a sizer should send)."""
        lot = self.lot_size
        if lot is None:
            return qty
        near = off_step(qty, lot)
        return round(round(qty / lot) * lot, _decimals(lot)) if near is None else near[0]

    def round_price(self, price: float, side: Side) -> float:
        """``price`` on the tick grid, rounded against the taker (buys up, sells down)."""
        tick = self.tick_size
        if tick is None:
            return price
        near = off_step(price, tick)
        if near is None:
            return round(round(price / tick) * tick, _decimals(tick))
        return near[1] if side is Side.BUY else near[0]


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A ccxt unified symbol taken apart: spot ``BASE/QUOTE`` or linear ``BASE/QUOTE:QUOTE``."""

    symbol: str
    base: str
    quote: str
    linear: bool

    @classmethod
    def parse(cls, symbol: str) -> SymbolInfo:
        """Raise :class:`VenueError` for anything but spot and linear (quote-settled) symbols."""
        market, colon, settle = symbol.partition(":")
        base, slash, quote = market.partition("/")
        if not base or not slash or not quote or "/" in quote or (colon and not settle):
            raise VenueError(f"{symbol!r} is not a ccxt unified symbol (BASE/QUOTE[:SETTLE])")
        if colon and (settle != quote):
            raise VenueError(
                f"{symbol}: only spot and linear contracts settled in the quote are simulated"
            )
        return cls(symbol, base, quote, bool(colon))


@dataclass(slots=True)
class PerpPosition:
    """A one-way perpetual position: signed quantity and average entry price."""

    qty: float = 0.0
    entry: float = 0.0


class Account:
    """Balances, locks and perpetual positions of the simulated account (see the module doc)."""

    def __init__(
        self, balances: Mapping[str, float], leverage: Mapping[str, float] | None = None
    ) -> None:
        for currency, amount in balances.items():
            if not (math.isfinite(amount) and amount >= 0):
                raise VenueError(f"balance of {currency} must be finite and >= 0, got {amount}")
        lev = dict(leverage or {})
        for symbol, value in lev.items():
            if not (math.isfinite(value) and value >= 1.0):
                raise VenueError(f"leverage of {symbol} must be >= 1, got {value}")
        self._total: dict[str, float] = dict(balances)
        self._locked: dict[str, float] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._leverage = lev
        self._positions: dict[str, PerpPosition] = {}
        self._quote_of: dict[str, str] = {}

    # --- reading ----------------------------------------------------------------------------

    def total(self, currency: str) -> float:
        """Balance (spot) or wallet balance (perps) of ``currency``."""
        return self._total.get(currency, 0.0)

    def locked(self, currency: str) -> float:
        """Amount held by resting orders."""
        return self._locked.get(currency, 0.0)

    def free(self, currency: str) -> float:
        """``total − locked``."""
        return self.total(currency) - self.locked(currency)

    def leverage(self, symbol: str) -> float:
        """Leverage of a perpetual (1 unless configured)."""
        return self._leverage.get(symbol, 1.0)

    def position(self, symbol: str) -> PerpPosition:
        """The perpetual position in ``symbol`` (flat when none)."""
        return self._positions.get(symbol, PerpPosition())

    def used_margin(self, currency: str) -> float:
        """Initial margin of the open perpetual positions settled in ``currency``."""
        return math.fsum(
            abs(pos.qty) * pos.entry / self.leverage(symbol)
            for symbol, pos in self._positions.items()
            if self._quote_of[symbol] == currency
        )

    def available(self, currency: str) -> float:
        """Free spot balance, or wallet less used margin and locks (perps)."""
        return self.free(currency) - self.used_margin(currency)

    # --- locks ------------------------------------------------------------------------------

    def lock(self, key: str, currency: str, amount: float) -> None:
        """Hold ``amount`` of ``currency`` for the order ``key``."""
        if key in self._locks:
            raise VenueError(f"order {key} holds a lock already")
        self._locks[key] = (currency, amount)
        self._locked[currency] = self.locked(currency) + amount

    def release(self, key: str, fraction: float = 1.0) -> None:
        """Give back ``fraction`` of what the order ``key`` holds (all by default)."""
        held = self._locks.get(key)
        if held is None:
            return
        currency, amount = held
        part = amount if fraction >= 1.0 else amount * fraction
        left = amount - part
        if fraction >= 1.0 or left <= 0.0:
            del self._locks[key]
        else:
            self._locks[key] = (currency, left)
        self._locked[currency] = max(self.locked(currency) - part, 0.0)

    # --- fills ------------------------------------------------------------------------------

    def fill_problem(
        self, info: SymbolInfo, side: Side, price: float, qty: float, fee: float
    ) -> str:
        """Why the account cannot take this fill now, or ``""``."""
        if info.linear:
            return self._margin_problem(info, side, price, qty, fee)
        if side is Side.BUY:
            need = price * qty + fee
            have = self.free(info.quote)
            if _exceeds(need, have):
                return (
                    f"insufficient {info.quote}: need {_fmt(need)} (qty {_fmt(qty)} × price "
                    f"{_fmt(price)} + fee {_fmt(fee)}), free {_fmt(have)}"
                )
            return ""
        have = self.free(info.base)
        if _exceeds(qty, have):
            return f"insufficient {info.base}: sell {_fmt(qty)}, free {_fmt(have)}"
        return ""

    def reducible(self, info: SymbolInfo, side: Side) -> float:
        """How much a reduce-only ``side`` order may trade: the opposite position's size
        (perps), or the free base of a spot sell; 0 for a spot buy."""
        if not info.linear:
            return self.free(info.base) if side is Side.SELL else 0.0
        pos = self.position(info.symbol).qty
        if side is Side.BUY:
            return -pos if pos < 0.0 else 0.0
        return pos if pos > 0.0 else 0.0

    def apply_fill(
        self, info: SymbolInfo, side: Side, price: float, qty: float, fee: float
    ) -> float:
        """Book a fill (checked before with :meth:`fill_problem`); return realised PnL."""
        if not info.linear:
            base_change = qty if side is Side.BUY else -qty
            quote_change = -price * qty if side is Side.BUY else price * qty
            self._add(info.base, base_change)
            self._add(info.quote, quote_change - fee)
            return 0.0
        self._quote_of[info.symbol] = info.quote
        pos = self._positions.setdefault(info.symbol, PerpPosition())
        signed = qty if side is Side.BUY else -qty
        realised = 0.0
        if pos.qty == 0.0 or (pos.qty > 0.0) == (signed > 0.0):
            new_qty = pos.qty + signed
            pos.entry = (abs(pos.qty) * pos.entry + qty * price) / abs(new_qty)
            pos.qty = new_qty
        else:
            closing = min(qty, abs(pos.qty))
            direction = 1.0 if pos.qty > 0.0 else -1.0
            realised = (price - pos.entry) * closing * direction
            rest = qty - closing
            pos.qty += -direction * closing
            if abs(pos.qty) <= BALANCE_REL_TOL * qty:
                pos.qty, pos.entry = 0.0, 0.0
            if rest > BALANCE_REL_TOL * qty:
                pos.qty = rest if signed > 0.0 else -rest
                pos.entry = price
        if pos.qty == 0.0:
            del self._positions[info.symbol]
        self._add(info.quote, realised - fee)
        return realised

    def _margin_problem(
        self, info: SymbolInfo, side: Side, price: float, qty: float, fee: float
    ) -> str:
        pos = self.position(info.symbol)
        signed = qty if side is Side.BUY else -qty
        lev = self.leverage(info.symbol)
        if pos.qty == 0.0 or (pos.qty > 0.0) == (signed > 0.0):
            opening, freed = qty, 0.0
        else:
            closing = min(qty, abs(pos.qty))
            opening = qty - closing
            direction = 1.0 if pos.qty > 0.0 else -1.0
            freed = closing * pos.entry / lev + (price - pos.entry) * closing * direction
        need = opening * price / lev + fee
        have = self.available(info.quote) + freed
        if _exceeds(need, have):
            return (
                f"insufficient margin in {info.quote}: need {_fmt(need)} (qty {_fmt(opening)} "
                f"× price {_fmt(price)} / leverage {_fmt(lev)} + fee {_fmt(fee)}), "
                f"available {_fmt(have)}"
            )
        return ""

    def _add(self, currency: str, amount: float) -> None:
        self._total[currency] = self.total(currency) + amount


def _exceeds(need: float, have: float) -> bool:
    return need > have + BALANCE_REL_TOL * max(1.0, abs(need), abs(have))
