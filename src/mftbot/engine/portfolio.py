"""Portfolio accounting for spot and linear perpetuals (conventions: ``docs/accounting.md``).

Amounts are ``float`` (analytics and backtests; venue-facing numbers are rounded elsewhere).
Every amount lives in a currency; the books are kept per currency and never converted:

* ``cash[c]`` — spot: the free balance; perps: the wallet balance (deposits + realised PnL − fees
  + funding). Opening a perp position does not move cash; it locks initial margin
  ``qty × entry / leverage`` out of :meth:`Portfolio.available`.
* ``equity(c) = cash[c] + Σ spot qty × mark + Σ perp unrealised PnL`` (quoted / settled in ``c``),
  and the identity ``equity(c) − net deposits(c) = realised − fees + funding + unrealised`` holds
  after any sequence of fills, funding payments and marks.

A fill that would take cash below zero, open exposure beyond the available margin, or sell more
spot than is held is refused with an error and leaves the portfolio unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from mftbot.core.errors import MftbotError
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill
from mftbot.domain.orders import QTY_REL_TOL
from mftbot.domain.positions import Position, PositionSide

CASH_REL_TOL = 1e-9
"""Relative tolerance for "cash below zero": float noise is not an overdraft."""

FUNDING_INTERVAL_NS = 8 * 3600 * 1_000_000_000
"""Bybit and Binance fund most linear perpetuals every 8 h at 00:00, 08:00 and 16:00 UTC."""

DEFAULT_MMR = 0.005
"""Default maintenance-margin rate (Bybit BTCUSDT lowest risk tier: 0.5 %)."""


class PortfolioError(MftbotError, ValueError):
    """A portfolio operation is invalid (unknown instrument, unsupported fee currency, …)."""


class InsufficientFundsError(PortfolioError):
    """The operation would take cash below zero or exceed the available margin."""


class InsufficientHoldingsError(PortfolioError):
    """A spot sell exceeds the quantity held."""


class InstrumentKind(StrEnum):
    """Instrument families the portfolio can account."""

    SPOT = "spot"
    LINEAR_PERP = "linear_perp"


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the portfolio needs to know about a symbol.

    ``quote`` is the quote currency (spot) or the settlement currency (linear perps, where it
    equals the quote). ``maintenance_margin_rate`` must stay below ``1 / leverage``, else a
    position would be liquidated at its entry.
    """

    symbol: str
    kind: InstrumentKind
    base: str
    quote: str
    leverage: float = 1.0
    maintenance_margin_rate: float = DEFAULT_MMR

    def __post_init__(self) -> None:
        if not (math.isfinite(self.leverage) and self.leverage >= 1.0):
            raise PortfolioError(f"{self.symbol}: leverage must be ≥ 1, got {self.leverage}")
        if self.kind is InstrumentKind.SPOT and self.leverage != 1.0:
            raise PortfolioError(f"{self.symbol}: spot is unleveraged (margin trading unsupported)")
        mmr = self.maintenance_margin_rate
        if not (math.isfinite(mmr) and 0.0 <= mmr < 1.0 / self.leverage):
            raise PortfolioError(
                f"{self.symbol}: maintenance_margin_rate must be in [0, 1/leverage = "
                f"{1.0 / self.leverage:g}), got {mmr}"
            )

    @classmethod
    def from_symbol(
        cls,
        symbol: str,
        *,
        leverage: float = 1.0,
        maintenance_margin_rate: float = DEFAULT_MMR,
    ) -> Instrument:
        """Build from a ccxt unified symbol: ``BTC/USDT`` (spot) or ``BTC/USDT:USDT`` (perp).

        Inverse (``BTC/USD:BTC``) and dated (``BTC/USDT:USDT-250328``) contracts are refused.
        """
        market, _, settle = symbol.partition(":")
        base, slash, quote = market.partition("/")
        if not base or not slash or not quote or "/" in quote:
            raise PortfolioError(f"{symbol!r} is not a ccxt unified symbol (BASE/QUOTE[:SETTLE])")
        if not settle:
            return cls(symbol, InstrumentKind.SPOT, base, quote, 1.0, maintenance_margin_rate)
        if settle != quote:
            raise PortfolioError(
                f"{symbol}: only linear perpetuals (settled in the quote {quote}) are supported"
            )
        return cls(
            symbol, InstrumentKind.LINEAR_PERP, base, quote, leverage, maintenance_margin_rate
        )


@dataclass(frozen=True, slots=True)
class FillOutcome:
    """What one fill did to the portfolio.

    ``fee`` is in the quote currency (a base-currency spot fee is valued at the fill price);
    ``position`` is the open position in the symbol after the fill (``None`` when flat);
    ``closed`` the position this fill closed (on a flip: the old one).
    """

    applied: bool
    realised_pnl: float = 0.0
    fee: float = 0.0
    cash_change: float = 0.0
    position: Position | None = None
    closed: Position | None = None


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    """One point of the equity curve, in one currency."""

    ts: int
    currency: str
    equity: float
    cash: float
    unrealised_pnl: float
    realised_pnl: float
    fees: float
    funding: float
    used_margin: float


@dataclass(frozen=True, slots=True)
class _PerpPlan:
    """The result of a perp fill, computed before anything changes."""

    close_qty: float
    open_qty: float
    realised: float
    side_after: PositionSide | None
    qty_after: float
    entry_after: float


def isolated_liquidation_price(
    side: PositionSide, entry: float, leverage: float, maintenance_margin_rate: float
) -> float:
    """Liquidation price of an isolated linear position (Bybit-style, one risk tier).

    Long: ``entry × (1 − 1/leverage + mmr)``; short: ``entry × (1 + 1/leverage − mmr)``.
    The position's margin ``entry/leverage`` per unit is gone down to the maintenance margin
    ``entry × mmr`` per unit. Ignored: risk-limit tiers and maintenance deductions, the fee to
    close, margin added later; Binance values maintenance margin at the mark, not at the entry.
    """
    if not (math.isfinite(entry) and entry > 0):
        raise PortfolioError(f"entry must be finite and > 0, got {entry}")
    if not (math.isfinite(leverage) and leverage >= 1.0):
        raise PortfolioError(f"leverage must be ≥ 1, got {leverage}")
    if not (0.0 <= maintenance_margin_rate < 1.0 / leverage):
        raise PortfolioError(
            f"maintenance_margin_rate {maintenance_margin_rate} must be in [0, 1/leverage)"
        )
    return entry * (1.0 + side.sign * (maintenance_margin_rate - 1.0 / leverage))


def funding_timestamps(
    start_ns: int, end_ns: int, interval_ns: int = FUNDING_INTERVAL_NS
) -> list[int]:
    """Funding times in ``(start_ns, end_ns]``: multiples of ``interval_ns`` since the epoch."""
    if interval_ns <= 0:
        raise PortfolioError(f"interval_ns must be > 0, got {interval_ns}")
    first = (start_ns // interval_ns + 1) * interval_ns
    return list(range(first, end_ns + 1, interval_ns))


@dataclass
class _Books:
    """Per-currency running totals."""

    cash: dict[str, float] = field(default_factory=dict)
    deposits: dict[str, float] = field(default_factory=dict)
    realised: dict[str, float] = field(default_factory=dict)
    fees: dict[str, float] = field(default_factory=dict)
    funding: dict[str, float] = field(default_factory=dict)

    def add(self, book: dict[str, float], currency: str, amount: float) -> None:
        book[currency] = book.get(currency, 0.0) + amount


class Portfolio:
    """Cash by currency, positions by symbol, fills, marks, funding and an equity curve.

    ``cash`` seeds the books as deposits; ``account_currency`` is the currency of the equity
    curve. Symbols are registered on first use with :meth:`Instrument.from_symbol` defaults
    (no leverage) unless :meth:`register` was called first. ``keep_closed=False`` (long
    backtests) counts closed positions instead of keeping them: :attr:`closed_positions` is
    then empty and :attr:`closed_count` still counts them.
    """

    def __init__(
        self,
        cash: Mapping[str, float] | None = None,
        *,
        account_currency: str = "USDT",
        keep_closed: bool = True,
    ) -> None:
        self.account_currency = account_currency
        self.keep_closed = keep_closed
        self._books = _Books()
        self._instruments: dict[str, Instrument] = {}
        self._positions: dict[str, Position] = {}
        self._closed: list[Position] = []
        self._closed_count = 0
        self._marks: dict[str, float] = {}
        self._seen_fills: dict[str, set[str]] = {}
        """Trade ids of the fills applied, per symbol."""
        self._last_funding_ts: dict[str, int] = {}
        self._curve: list[EquitySnapshot] = []
        self._position_seq = 0
        self._open_by_ccy: dict[str, tuple[tuple[Position, bool], ...]] = {}
        """Per currency: the open positions, in :attr:`positions` order, with "is a perp"
        (rebuilt when a position opens or closes or an instrument changes)."""
        for currency, amount in (cash or {}).items():
            self.deposit(currency, amount)

    # --- instruments and cash -------------------------------------------------------------

    def register(self, instrument: Instrument) -> None:
        """Declare (or change) an instrument; refused while a position in it is open."""
        current = self._instruments.get(instrument.symbol)
        if current != instrument and instrument.symbol in self._positions:
            raise PortfolioError(f"{instrument.symbol}: cannot change terms with a position open")
        self._instruments[instrument.symbol] = instrument
        self._open_by_ccy.clear()

    def instrument(self, symbol: str) -> Instrument:
        """The instrument of ``symbol`` (registered with defaults on first use)."""
        inst = self._instruments.get(symbol)
        if inst is None:
            inst = Instrument.from_symbol(symbol)
            self._instruments[symbol] = inst
        return inst

    def deposit(self, currency: str, amount: float) -> None:
        """Add ``amount`` (> 0) of ``currency``."""
        if not currency:
            raise PortfolioError("currency must be non-empty")
        if not (math.isfinite(amount) and amount > 0):
            raise PortfolioError(f"deposit must be finite and > 0, got {amount}")
        self._books.add(self._books.cash, currency, amount)
        self._books.add(self._books.deposits, currency, amount)

    def withdraw(self, currency: str, amount: float) -> None:
        """Remove ``amount`` (> 0) of ``currency``; refused beyond :meth:`available`."""
        if not (math.isfinite(amount) and amount > 0):
            raise PortfolioError(f"withdrawal must be finite and > 0, got {amount}")
        if amount > self.available(currency) * (1 + CASH_REL_TOL):
            raise InsufficientFundsError(
                f"withdraw {amount} {currency}: only {self.available(currency)} available"
            )
        self._books.add(self._books.cash, currency, -amount)
        self._books.add(self._books.deposits, currency, -amount)

    def cash(self, currency: str | None = None) -> float:
        """Cash (wallet balance) in ``currency`` (default: the account currency)."""
        return self._books.cash.get(currency or self.account_currency, 0.0)

    @property
    def balances(self) -> dict[str, float]:
        """Cash by currency (a copy)."""
        return dict(self._books.cash)

    def net_deposits(self, currency: str | None = None) -> float:
        """Deposits minus withdrawals in ``currency``."""
        return self._books.deposits.get(currency or self.account_currency, 0.0)

    def realised_pnl(self, currency: str | None = None) -> float:
        """Realised PnL (before fees and funding) in ``currency``."""
        return self._books.realised.get(currency or self.account_currency, 0.0)

    def fees(self, currency: str | None = None) -> float:
        """Fees paid (rebates negative) in ``currency``."""
        return self._books.fees.get(currency or self.account_currency, 0.0)

    def funding(self, currency: str | None = None) -> float:
        """Net funding received (paid: negative) in ``currency``."""
        return self._books.funding.get(currency or self.account_currency, 0.0)

    # --- positions and marks --------------------------------------------------------------

    def position(self, symbol: str) -> Position | None:
        """The open position in ``symbol``, if any."""
        return self._positions.get(symbol)

    @property
    def positions(self) -> dict[str, Position]:
        """Open positions by symbol (a copy of the mapping)."""
        return dict(self._positions)

    @property
    def closed_positions(self) -> tuple[Position, ...]:
        """Closed positions, in closing order (none kept with ``keep_closed`` off)."""
        return tuple(self._closed)

    @property
    def closed_count(self) -> int:
        """How many positions have closed (abandoned ones included)."""
        return self._closed_count

    def expect_position(
        self,
        symbol: str,
        side: PositionSide,
        ts: int,
        *,
        stop_loss: float | None = None,
        take_profit: float | None = None,
    ) -> Position:
        """Create the ``OPENING`` position an entry order is about to build.

        Its first fill moves it to ``OPEN``; :meth:`abandon_position` closes it if none comes.
        Fills open positions on their own too; this only makes the ``OPENING`` state visible.
        """
        inst = self.instrument(symbol)
        if symbol in self._positions:
            raise PortfolioError(f"{symbol}: a position is already open")
        if inst.kind is InstrumentKind.SPOT and side is PositionSide.SHORT:
            raise PortfolioError(f"{symbol}: spot positions are long only")
        pos = self._new_position(symbol, side, ts)
        pos.set_protection(stop_loss, take_profit)
        return pos

    def abandon_position(self, symbol: str, ts: int, reason: str = "") -> Position:
        """Close the empty ``OPENING`` position of ``symbol`` whose entry never filled."""
        pos = self._positions.get(symbol)
        if pos is None:
            raise PortfolioError(f"{symbol}: no position to abandon")
        pos.abandon(ts, reason)
        del self._positions[symbol]
        self._open_by_ccy.clear()
        self._archive(pos)
        return pos

    def mark(self, symbol: str, price: float) -> None:
        """Set the mark price of ``symbol`` (fills also set it, to the fill price)."""
        if not 0.0 < price < math.inf:  # NaN fails too
            raise PortfolioError(f"{symbol}: mark price must be finite and > 0, got {price}")
        self._marks[symbol] = price

    def mark_all(self, prices: Mapping[str, float]) -> None:
        """Set several mark prices."""
        for symbol, price in prices.items():
            self.mark(symbol, price)

    def mark_price(self, symbol: str) -> float:
        """The last mark (or fill) price of ``symbol``."""
        try:
            return self._marks[symbol]
        except KeyError:
            raise PortfolioError(f"{symbol}: no mark price yet") from None

    def unrealised_pnl(self, currency: str | None = None) -> float:
        """Unrealised PnL of all open positions settled in ``currency``."""
        return sum(self._unrealised(p) for p, _ in self._held(currency or self.account_currency))

    def used_margin(self, currency: str | None = None) -> float:
        """Initial margin locked by perp positions: ``Σ qty × entry / leverage``."""
        ccy = currency or self.account_currency
        return sum(self._margin(p) for p, perp in self._held(ccy) if perp)

    def available(self, currency: str | None = None) -> float:
        """Cash free for new exposure: ``cash − used margin + min(0, perp unrealised PnL)``."""
        ccy = currency or self.account_currency
        held = self._held(ccy)
        cash = self._books.cash.get(ccy, 0.0)
        if not held:
            return cash + 0.0  # as below with empty sums (-0.0 becomes 0.0 there too)
        perp_upnl = sum(self._unrealised(p) for p, perp in held if perp)
        return cash - self.used_margin(ccy) + min(0.0, perp_upnl)

    def equity(self, currency: str | None = None) -> float:
        """``cash + Σ spot qty × mark + Σ perp unrealised PnL`` in ``currency``."""
        ccy = currency or self.account_currency
        total = self._books.cash.get(ccy, 0.0)
        held = self._open_by_ccy.get(ccy)
        if held is None:
            held = self._held(ccy)
        for pos, perp in held:
            if perp:
                total += self._unrealised(pos)
            elif pos.qty > 0:
                total += pos.qty * self.mark_price(pos.symbol)
        return total

    def liquidation_price(self, symbol: str) -> float | None:
        """Isolated-margin liquidation price of the perp position in ``symbol`` (``None``: flat)."""
        inst = self.instrument(symbol)
        if inst.kind is not InstrumentKind.LINEAR_PERP:
            raise PortfolioError(f"{symbol}: liquidation price applies to perpetuals only")
        pos = self._positions.get(symbol)
        if pos is None or pos.qty == 0:
            return None
        return isolated_liquidation_price(
            pos.side, pos.avg_entry_price, inst.leverage, inst.maintenance_margin_rate
        )

    # --- equity curve ---------------------------------------------------------------------

    def snapshot(self, ts: int) -> EquitySnapshot:
        """Append (and return) the account-currency state at ``ts`` to the equity curve."""
        if self._curve and ts <= self._curve[-1].ts:
            raise PortfolioError(
                f"equity snapshot ts {ts} is not after the last one ({self._curve[-1].ts})"
            )
        ccy = self.account_currency
        snap = EquitySnapshot(
            ts=ts,
            currency=ccy,
            equity=self.equity(ccy),
            cash=self.cash(ccy),
            unrealised_pnl=self.unrealised_pnl(ccy),
            realised_pnl=self.realised_pnl(ccy),
            fees=self.fees(ccy),
            funding=self.funding(ccy),
            used_margin=self.used_margin(ccy),
        )
        self._curve.append(snap)
        return snap

    @property
    def equity_curve(self) -> tuple[EquitySnapshot, ...]:
        """All snapshots, oldest first."""
        return tuple(self._curve)

    def equity_arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The equity curve as (ts ns, equity) arrays."""
        ts = np.fromiter((s.ts for s in self._curve), dtype=np.int64, count=len(self._curve))
        eq = np.fromiter((s.equity for s in self._curve), dtype=np.float64, count=len(self._curve))
        return ts, eq

    # --- funding --------------------------------------------------------------------------

    def apply_funding(
        self, symbol: str, rate: float, ts: int, mark_price: float | None = None
    ) -> float:
        """Settle funding on ``symbol`` at ``ts``; return the cash flow (paid < 0).

        ``cash flow = −signed qty × mark × rate``: with a positive rate longs pay and shorts
        receive. ``mark_price`` defaults to the current mark. Each symbol is funded at most once
        per timestamp, in increasing time; a flat symbol pays nothing.
        """
        inst = self.instrument(symbol)
        if inst.kind is not InstrumentKind.LINEAR_PERP:
            raise PortfolioError(f"{symbol}: funding applies to perpetuals only")
        if not math.isfinite(rate):
            raise PortfolioError(f"{symbol}: funding rate must be finite, got {rate}")
        last = self._last_funding_ts.get(symbol)
        if last is not None and ts <= last:
            raise PortfolioError(f"{symbol}: funding at {ts} not after the last one at {last}")
        pos = self._positions.get(symbol)
        flow = 0.0
        if pos is not None and pos.qty > 0:
            mark = self.mark_price(symbol) if mark_price is None else mark_price
            if not (math.isfinite(mark) and mark > 0):
                raise PortfolioError(f"{symbol}: funding mark must be finite and > 0, got {mark}")
            flow = -pos.signed_qty * mark * rate
            self._require_cash(inst.quote, flow, f"funding on {symbol}")
            self._books.add(self._books.cash, inst.quote, flow)
            self._books.add(self._books.funding, inst.quote, flow)
            pos.add_funding(flow)
        self._last_funding_ts[symbol] = ts
        return flow

    # --- fills ----------------------------------------------------------------------------

    def apply_fill(self, fill: Fill) -> FillOutcome:
        """Account one fill; a fill seen before (same symbol and trade id) changes nothing.

        Raises :class:`InsufficientFundsError`, :class:`InsufficientHoldingsError` or
        :class:`PortfolioError` (unsupported fee currency) and then leaves state unchanged.
        """
        seen = self._seen_fills.get(fill.symbol)
        if seen is None:
            seen = self._seen_fills[fill.symbol] = set()
        elif fill.trade_id in seen:
            return FillOutcome(applied=False, position=self._positions.get(fill.symbol))
        inst = self.instrument(fill.symbol)
        if inst.kind is InstrumentKind.SPOT:
            outcome = self._apply_spot(inst, fill)
        else:
            outcome = self._apply_perp(inst, fill)
        seen.add(fill.trade_id)
        self._marks[fill.symbol] = fill.price
        return outcome

    def _apply_spot(self, inst: Instrument, fill: Fill) -> FillOutcome:
        if fill.fee_currency not in (inst.base, inst.quote):
            raise PortfolioError(
                f"fill {fill.trade_id}: fee currency {fill.fee_currency} is neither base "
                f"{inst.base} nor quote {inst.quote} of {inst.symbol}; convert it upstream"
            )
        base_fee = fill.fee if fill.fee_currency == inst.base else 0.0
        quote_fee = fill.fee if fill.fee_currency == inst.quote else 0.0
        fee_value = quote_fee + base_fee * fill.price
        pos = self._positions.get(inst.symbol)
        if fill.side == Side.BUY:
            received = fill.qty - base_fee
            if received <= 0:
                raise PortfolioError(f"fill {fill.trade_id}: base fee {base_fee} ≥ qty {fill.qty}")
            cash_change = -fill.notional - quote_fee
            self._require_cash(inst.quote, cash_change, f"buy {fill.trade_id}", free=True)
            pos = pos or self._new_position(inst.symbol, PositionSide.LONG, fill.ts)
            pos.increase(received, fill.price, fill.ts)
            pos.add_fee(fee_value)
            self._book_fill(inst.quote, cash_change, 0.0, fee_value)
            return FillOutcome(True, 0.0, fee_value, cash_change, pos, None)
        delivered = fill.qty + base_fee
        held = pos.qty if pos is not None else 0.0
        if pos is None or delivered > held * (1 + QTY_REL_TOL):
            raise InsufficientHoldingsError(
                f"sell {fill.trade_id}: {delivered} {inst.base} needed, "
                f"{held} held in {inst.symbol}"
            )
        cash_change = fill.notional - quote_fee
        self._require_cash(inst.quote, cash_change, f"sell {fill.trade_id}")
        pnl = pos.reduce(delivered, fill.price, fill.ts)
        pos.add_fee(fee_value)
        self._book_fill(inst.quote, cash_change, pnl, fee_value)
        closed = self._archive_if_closed(pos)
        return FillOutcome(True, pnl, fee_value, cash_change, self.position(inst.symbol), closed)

    def _apply_perp(self, inst: Instrument, fill: Fill) -> FillOutcome:
        if fill.fee_currency != inst.quote:
            raise PortfolioError(
                f"fill {fill.trade_id}: {inst.symbol} settles in {inst.quote}, "
                f"fee is in {fill.fee_currency}; convert it upstream"
            )
        pos = self._positions.get(inst.symbol)
        plan = self._plan_perp(pos, fill)
        cash_change = plan.realised - fill.fee
        self._require_cash(inst.quote, cash_change, f"fill {fill.trade_id}")
        if plan.open_qty > 0:
            self._require_margin(inst, pos, plan, cash_change, fill)
        closed: Position | None = None
        if pos is not None and plan.close_qty > 0:
            pos.reduce(plan.close_qty, fill.price, fill.ts)
            pos.add_fee(fill.fee * plan.close_qty / fill.qty)
            closed = self._archive_if_closed(pos)
        if plan.open_qty > 0:
            side = PositionSide.opened_by(fill.side)
            pos = self._positions.get(inst.symbol) or self._new_position(inst.symbol, side, fill.ts)
            pos.increase(plan.open_qty, fill.price, fill.ts)
            pos.add_fee(fill.fee * plan.open_qty / fill.qty)
        self._book_fill(inst.quote, cash_change, plan.realised, fill.fee)
        return FillOutcome(
            True, plan.realised, fill.fee, cash_change, self.position(inst.symbol), closed
        )

    @staticmethod
    def _plan_perp(pos: Position | None, fill: Fill) -> _PerpPlan:
        side = PositionSide.opened_by(fill.side)
        if pos is not None and pos.qty == 0 and pos.side is not side:
            raise PortfolioError(
                f"fill {fill.trade_id}: a {fill.side} fill cannot build the expected "
                f"{pos.side.value} position {pos.position_id}"
            )
        if pos is None or pos.side is side:
            qty0 = pos.qty if pos is not None else 0.0
            entry0 = pos.avg_entry_price if pos is not None else 0.0
            qty_after = qty0 + fill.qty
            entry_after = (entry0 * qty0 + fill.price * fill.qty) / qty_after
            return _PerpPlan(0.0, fill.qty, 0.0, side, qty_after, entry_after)
        tol = pos.qty * QTY_REL_TOL
        close_qty = pos.qty if fill.qty >= pos.qty - tol else fill.qty
        open_qty = fill.qty - pos.qty if fill.qty > pos.qty + tol else 0.0
        realised = pos.side.sign * (fill.price - pos.avg_entry_price) * close_qty
        if open_qty > 0:
            return _PerpPlan(close_qty, open_qty, realised, side, open_qty, fill.price)
        left = pos.qty - close_qty
        return _PerpPlan(
            close_qty, 0.0, realised, pos.side if left > 0 else None, left, pos.avg_entry_price
        )

    def _require_margin(
        self,
        inst: Instrument,
        pos: Position | None,
        plan: _PerpPlan,
        cash_change: float,
        fill: Fill,
    ) -> None:
        others = [p for p in self._open_in(inst.quote) if p is not pos and self._is_perp(p.symbol)]
        margin = sum(self._margin(p) for p in others)
        margin += plan.qty_after * plan.entry_after / inst.leverage
        upnl = sum(self._unrealised(p) for p in others)
        if plan.side_after is not None:
            upnl += plan.side_after.sign * (fill.price - plan.entry_after) * plan.qty_after
        free = self.cash(inst.quote) + cash_change - margin + min(0.0, upnl)
        if free < -CASH_REL_TOL * max(1.0, margin):
            raise InsufficientFundsError(
                f"fill {fill.trade_id} on {inst.symbol}: needs margin {margin:.8g} "
                f"{inst.quote} in all, short by {-free:.8g}"
            )

    def _require_cash(self, currency: str, change: float, what: str, *, free: bool = False) -> None:
        """Refuse ``change`` if cash (``free``: the available balance) would drop below 0."""
        cash = self.available(currency) if free else self.cash(currency)
        after = cash + change
        if after < -CASH_REL_TOL * max(1.0, abs(cash), abs(change)):
            label = "available" if free else "cash"
            raise InsufficientFundsError(
                f"{what}: {currency} {label} would go from {cash:.8g} to {after:.8g}"
            )

    def _book_fill(self, currency: str, cash_change: float, realised: float, fee: float) -> None:
        self._books.add(self._books.cash, currency, cash_change)
        self._books.add(self._books.realised, currency, realised)
        self._books.add(self._books.fees, currency, fee)

    def _new_position(self, symbol: str, side: PositionSide, ts: int) -> Position:
        self._position_seq += 1
        pos = Position(f"{symbol}#{self._position_seq}", symbol, side, ts)
        self._positions[symbol] = pos
        self._open_by_ccy.clear()
        return pos

    def _archive_if_closed(self, pos: Position) -> Position | None:
        if pos.qty > 0:
            return None
        del self._positions[pos.symbol]
        self._open_by_ccy.clear()
        self._archive(pos)
        return pos

    def _archive(self, pos: Position) -> None:
        self._closed_count += 1
        if self.keep_closed:
            self._closed.append(pos)

    def _held(self, currency: str) -> tuple[tuple[Position, bool], ...]:
        """The open positions settled in ``currency`` with "is a perp", in :attr:`positions`
        order (cached until a position opens or closes or an instrument changes)."""
        held = self._open_by_ccy.get(currency)
        if held is None:
            held = self._open_by_ccy[currency] = tuple(
                (p, self._is_perp(p.symbol)) for p in self._open_in(currency)
            )
        return held

    def _open_in(self, currency: str) -> Iterable[Position]:
        return (p for p in self._positions.values() if self._quote(p.symbol) == currency)

    def _quote(self, symbol: str) -> str:
        return self._instruments[symbol].quote

    def _is_perp(self, symbol: str) -> bool:
        return self._instruments[symbol].kind is InstrumentKind.LINEAR_PERP

    def _margin(self, pos: Position) -> float:
        return pos.qty * pos.avg_entry_price / self._instruments[pos.symbol].leverage

    def _unrealised(self, pos: Position) -> float:
        return pos.unrealised_pnl(self.mark_price(pos.symbol)) if pos.qty > 0 else 0.0
