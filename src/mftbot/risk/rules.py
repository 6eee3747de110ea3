"""Pre-trade rules on the account: kill switch, trading state, open positions, daily entries,
balance (fees included), notional, exposure, leverage, risk per trade, and exit size.

Each rule is a small class with a ``name`` and ``check(CheckInput) -> RuleResult`` whose reason
carries the numbers. Market and time rules are in :mod:`mftbot.risk.rules_market`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol

from mftbot.domain.enums import Side
from mftbot.risk.base import OrderIntent, RiskContext
from mftbot.risk.config import RiskConfig
from mftbot.risk.limits import LossLimits, TradingState
from mftbot.risk.results import RuleResult, money, num, pct
from mftbot.risk.state import RiskState

REL_TOL = 1e-9
"""Float noise tolerated when comparing an amount with its limit."""


def quote_currency(symbol: str) -> str:
    """``BTC/USDT`` and ``BTC/USDT:USDT`` → ``USDT``."""
    market = symbol.partition(":")[0]
    return market.partition("/")[2] or "quote"


def is_derivative(symbol: str) -> bool:
    """Whether ``symbol`` is a ccxt derivative (``BASE/QUOTE:SETTLE``)."""
    return ":" in symbol


def over(value: float, limit: float) -> bool:
    """``value > limit`` beyond float noise."""
    return value > limit * (1.0 + REL_TOL) + 1e-12


@dataclass(frozen=True, slots=True)
class CheckInput:
    """What a rule sees: the intent at its current size and everything around it."""

    intent: OrderIntent
    context: RiskContext
    config: RiskConfig
    state: RiskState
    limits: LossLimits
    qty: float
    """Base quantity being judged (after sizing, once sized)."""
    price: float | None
    """The price the intent is valued at (limit price, else reference, else last)."""
    loss_per_unit: float | None = None
    kill_switch: bool = False

    @property
    def symbol(self) -> str:
        """The intent's symbol."""
        return self.intent.symbol

    @property
    def quote(self) -> str:
        """The quote (settlement) currency."""
        return quote_currency(self.intent.symbol)

    @property
    def notional(self) -> float:
        """``qty × price`` (0 without a price)."""
        return self.qty * self.price if self.price is not None else 0.0

    @property
    def now(self) -> int:
        """The check time, ns."""
        return self.context.ts


class Rule(Protocol):
    """A named pre-trade check."""

    @property
    def name(self) -> str:
        """The rule's name in results and reasons."""
        ...

    def check(self, inp: CheckInput) -> RuleResult:
        """Judge ``inp``."""
        ...


class KillSwitchRule:
    """No entry while the kill-switch file exists."""

    name: ClassVar[str] = "kill_switch"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail while the switch is engaged."""
        path = inp.config.kill_switch.file
        if inp.kill_switch:
            return RuleResult.fail(self.name, f"kill switch engaged: {path} exists")
        return RuleResult.ok(self.name, f"kill switch released ({path} absent)")


class TradingStateRule:
    """No entry while HALTED."""

    name: ClassVar[str] = "trading_state"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail when halted; pass (saying why) when normal or reducing."""
        limits = inp.limits
        values = {
            "drawdown": limits.drawdown,
            "consecutive_losses": float(limits.consecutive_losses),
        }
        if limits.state is TradingState.HALTED:
            return RuleResult.fail(self.name, f"trading halted: {limits.reason}", **values)
        return RuleResult.ok(self.name, f"trading {limits.state.value}: {limits.reason}", **values)


class MaxOpenPositionsRule:
    """At most ``max_open_positions`` symbols open or with a pending entry."""

    name: ClassVar[str] = "max_open_positions"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail when a new symbol would exceed the limit (adding to an open one passes)."""
        limit = inp.config.checks.max_open_positions
        open_now = inp.state.open_symbols()
        count = len(open_now)
        if inp.symbol in open_now:
            return RuleResult.ok(
                self.name,
                f"adds to open {inp.symbol} ({count} open, limit {limit})",
                open=count,
                limit=limit,
            )
        if count >= limit:
            names = ", ".join(sorted(open_now))
            return RuleResult.fail(
                self.name,
                f"max open positions: {count} open ({names}), limit {limit}",
                open=count,
                limit=limit,
            )
        return RuleResult.ok(self.name, f"{count} open, limit {limit}", open=count, limit=limit)


class DailyTradesRule:
    """At most ``max_daily_trades`` entries per trading day."""

    name: ClassVar[str] = "daily_trades"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail once today's entries reach the limit."""
        limit = inp.config.checks.max_daily_trades
        done = inp.state.entries_today(inp.now)
        if done >= limit:
            return RuleResult.fail(
                self.name,
                f"daily trade count: {done} entries today, limit {limit}",
                entries=done,
                limit=limit,
            )
        return RuleResult.ok(
            self.name, f"{done} entries today, limit {limit}", entries=done, limit=limit
        )


def required_funds(inp: CheckInput) -> float:
    """What an entry locks, fees included: value × (1 + fee) for spot (a quote-sized buy's
    spend), value / leverage + value × fee for derivatives."""
    fee = inp.config.checks.fee_rate
    value = inp.notional
    if is_derivative(inp.symbol):
        return value / inp.config.checks.max_leverage + value * fee
    return value * (1.0 + fee)


class BalanceRule:
    """The entry must fit the available balance, fees included."""

    name: ClassVar[str] = "balance"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail when the required funds exceed the available balance."""
        need = required_funds(inp)
        have = inp.context.available
        if over(need, have):
            return RuleResult.fail(
                self.name,
                f"insufficient balance: need {money(need)} {inp.quote}, have {money(have)}",
                need=need,
                have=have,
            )
        return RuleResult.ok(
            self.name, f"need {money(need)} {inp.quote}, have {money(have)}", need=need, have=have
        )


class NotionalRule:
    """Order value within [min, max] (the larger of the configured and the market minimum)."""

    name: ClassVar[str] = "notional"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail below the minimum or above the maximum order value."""
        checks = inp.config.checks
        spec_min = inp.config.market(inp.symbol).min_notional or 0.0
        low = max(checks.min_notional, spec_min)
        high = checks.max_notional
        value = inp.notional
        if value < low * (1 - REL_TOL):
            return RuleResult.fail(
                self.name,
                f"notional {money(value)} {inp.quote} below the minimum {money(low)}",
                notional=value,
                minimum=low,
            )
        if over(value, high):
            return RuleResult.fail(
                self.name,
                f"notional {money(value)} {inp.quote} above the maximum {money(high)}",
                notional=value,
                maximum=high,
            )
        return RuleResult.ok(
            self.name,
            f"notional {money(value)} {inp.quote} in [{money(low)}, {money(high)}]",
            notional=value,
            minimum=low,
            maximum=high,
        )


class ExposureRule:
    """Position value in the symbol, after the entry, at most ``max_symbol_exposure × equity``."""

    name: ClassVar[str] = "exposure"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail when the symbol's exposure would exceed its cap."""
        equity = inp.context.equity
        limit = inp.config.checks.max_symbol_exposure * equity
        after = inp.state.exposure(inp.symbol) + inp.notional
        values = {"exposure": after, "limit": limit}
        if over(after, limit):
            return RuleResult.fail(
                self.name,
                f"max exposure: {inp.symbol} would be {money(after)} {inp.quote}, limit "
                f"{money(limit)} ({inp.config.checks.max_symbol_exposure:g} × equity)",
                **values,
            )
        return RuleResult.ok(
            self.name, f"{inp.symbol} {money(after)} of {money(limit)} {inp.quote}", **values
        )


class LeverageRule:
    """Gross exposure after the entry at most ``max_leverage × equity``."""

    name: ClassVar[str] = "leverage"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail when gross exposure / equity would exceed the cap."""
        equity = inp.context.equity
        cap = inp.config.checks.max_leverage
        gross = inp.state.gross_exposure() + inp.notional
        lev = gross / equity if equity > 0 else math.inf
        if over(lev, cap):
            return RuleResult.fail(
                self.name,
                f"leverage {lev:.2f}x (gross {money(gross)} on equity {money(equity)}) "
                f"above the cap {cap:g}x",
                leverage=lev,
                cap=cap,
            )
        return RuleResult.ok(self.name, f"leverage {lev:.2f}x ≤ {cap:g}x", leverage=lev, cap=cap)


class RiskPerTradeRule:
    """The loss at the stop, fees included, at most ``max_risk_per_trade × equity``."""

    name: ClassVar[str] = "risk_per_trade"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail when the entry risks more than the cap (or has no stop to measure it)."""
        if inp.loss_per_unit is None:
            return RuleResult.fail(self.name, "no stop: the risk of the entry is unknown")
        equity = inp.context.equity
        risk = inp.qty * inp.loss_per_unit
        frac = risk / equity if equity > 0 else math.inf
        cap = inp.config.checks.max_risk_per_trade
        if over(frac, cap):
            return RuleResult.fail(
                self.name,
                f"risk per trade {pct(frac)} ({money(risk)} {inp.quote}) above the cap {pct(cap)}",
                risk=risk,
                fraction=frac,
                cap=cap,
            )
        return RuleResult.ok(
            self.name,
            f"risk {pct(frac)} ({money(risk)} {inp.quote}) ≤ {pct(cap)}",
            risk=risk,
            fraction=frac,
            cap=cap,
        )


class ExitSizeRule:
    """An exit or reduce-only order closes at most the open position, on the opposite side."""

    name: ClassVar[str] = "exit_size"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail for an exit with nothing to close, on the wrong side, or above the position."""
        pos = inp.context.position_qty
        qty = inp.intent.base_qty
        if pos == 0:
            return RuleResult.fail(self.name, f"no open {inp.symbol} position to exit")
        closing_side = Side.SELL if pos > 0 else Side.BUY
        if inp.intent.side is not closing_side:
            return RuleResult.fail(
                self.name,
                f"a {inp.intent.side.value} does not reduce the {num(pos)} {inp.symbol} position",
            )
        if over(qty, abs(pos)):
            return RuleResult.fail(
                self.name,
                f"exit {num(qty)} exceeds the position {num(abs(pos))}",
                qty=qty,
                position=abs(pos),
            )
        return RuleResult.ok(
            self.name, f"exit {num(qty)} of {num(abs(pos))}", qty=qty, position=abs(pos)
        )
