"""Pre-trade rules on the market and the calendar: symbol allow-list, stale data, active
manipulation, weekend/overnight sessions, price deviation (fat finger), and the exchange's
quantity, lot and tick rules."""

from __future__ import annotations

import math
from typing import ClassVar, Protocol

from mftbot.domain.orders import OrderType
from mftbot.risk.calendar import SECOND_NS, is_weekend, utc_hour
from mftbot.risk.results import RuleResult, num, pct
from mftbot.risk.rules import REL_TOL, CheckInput, over


class ManipulationSource(Protocol):
    """What the manipulation rule asks (:class:`~mftbot.analysis.manipulation.ManipulationMonitor`
    answers it)."""

    def is_active(self, symbol: str, now_ns: int, *, min_confidence: float = 0.0) -> bool:
        """Whether a pattern on ``symbol`` is active at ``now_ns``."""
        ...


def _multiple_of(value: float, step: float) -> bool:
    """Whether ``value`` is an integer multiple of ``step`` up to float noise."""
    ratio = value / step
    return abs(ratio - round(ratio)) <= 1e-6


class SymbolAllowedRule:
    """Only symbols on ``allowed_symbols`` trade (an empty list allows all)."""

    name: ClassVar[str] = "symbol_allowed"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail for a symbol outside a non-empty allow-list."""
        allowed = inp.config.checks.allowed_symbols
        if not allowed:
            return RuleResult.ok(self.name, "no allow-list: every symbol trades")
        if inp.symbol not in allowed:
            return RuleResult.fail(
                self.name, f"{inp.symbol} is not on the allow-list ({', '.join(allowed)})"
            )
        return RuleResult.ok(self.name, f"{inp.symbol} is on the allow-list")


class MarketDataRule:
    """The symbol's newest market data is at most ``max_data_age_s`` old."""

    name: ClassVar[str] = "market_data"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail on stale data or none at all."""
        limit = inp.config.checks.max_data_age_s
        age_ns = inp.state.data_age_ns(inp.symbol, inp.now)
        if age_ns is None:
            return RuleResult.fail(self.name, f"no market data received for {inp.symbol}")
        age = age_ns / SECOND_NS
        if age > limit:
            return RuleResult.fail(
                self.name,
                f"stale market data: {inp.symbol} last seen {age:,.1f} s ago, limit {limit:g} s",
                age_s=age,
                limit_s=limit,
            )
        return RuleResult.ok(
            self.name, f"data {age:,.1f} s old, limit {limit:g} s", age_s=age, limit_s=limit
        )


class ManipulationRule:
    """No entry while a manipulation pattern (spoofing, layering, quote stuffing) is active."""

    name: ClassVar[str] = "manipulation"

    def __init__(self, source: ManipulationSource | None) -> None:
        self.source = source

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail while the monitor reports an active pattern on the symbol."""
        checks = inp.config.checks
        if not checks.block_on_manipulation:
            return RuleResult.ok(self.name, "manipulation blocking is off")
        if self.source is None:
            return RuleResult.ok(self.name, "no manipulation monitor attached")
        conf = checks.manipulation_min_confidence
        if self.source.is_active(inp.symbol, inp.now, min_confidence=conf):
            return RuleResult.fail(
                self.name,
                f"manipulation pattern active on {inp.symbol} (confidence ≥ {conf:g})",
            )
        return RuleResult.ok(self.name, f"no active manipulation pattern on {inp.symbol}")


class SessionRule:
    """Weekend and overnight rules: ``block_weekend`` and ``blocked_hours_utc``."""

    name: ClassVar[str] = "session"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail at a blocked time."""
        checks = inp.config.checks
        hour = utc_hour(inp.now)
        if checks.block_weekend and is_weekend(inp.now):
            return RuleResult.fail(self.name, "weekend (UTC): entries are blocked")
        if hour in checks.blocked_hours_utc:
            return RuleResult.fail(self.name, f"{hour:02d}:00 UTC is a blocked hour")
        return RuleResult.ok(self.name, f"{hour:02d}:00 UTC, entries allowed")


class PriceDeviationRule:
    """The order's price within ``max_price_deviation`` of the last market price (fat finger)."""

    name: ClassVar[str] = "price_deviation"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail when the limit (or reference) price is too far from the market."""
        intent = inp.intent
        market = inp.state.last_price.get(inp.symbol, inp.context.last_price)
        price = intent.price if intent.price is not None else intent.ref_price
        if price is None and intent.order_type is OrderType.MARKET:
            return RuleResult.ok(self.name, "market order at the market price")
        if price is None or market is None or not (math.isfinite(market) and market > 0):
            return RuleResult.fail(self.name, f"no market price for {inp.symbol} to compare with")
        dev = abs(price - market) / market
        limit = inp.config.checks.max_price_deviation
        values = {"price": price, "market": market, "deviation": dev, "limit": limit}
        if over(dev, limit):
            return RuleResult.fail(
                self.name,
                f"price {num(price)} is {pct(dev)} from the market {num(market)}, "
                f"limit {pct(limit)}",
                **values,
            )
        return RuleResult.ok(
            self.name, f"price {num(price)} within {pct(dev)} of {num(market)}", **values
        )


class QuantityRule:
    """Quantity > 0, within the market's min/max, a multiple of the lot; price on the tick."""

    name: ClassVar[str] = "quantity"

    def check(self, inp: CheckInput) -> RuleResult:
        """Fail on any exchange quantity or price-precision rule."""
        spec = inp.config.market(inp.symbol)
        qty = inp.qty
        if not (math.isfinite(qty) and qty > 0):
            return RuleResult.fail(self.name, f"quantity {num(qty)} is not positive", qty=qty)
        if spec.min_qty is not None and qty < spec.min_qty * (1 - REL_TOL):
            return RuleResult.fail(
                self.name, f"quantity {num(qty)} below the minimum {num(spec.min_qty)}", qty=qty
            )
        if spec.max_qty is not None and over(qty, spec.max_qty):
            return RuleResult.fail(
                self.name, f"quantity {num(qty)} above the maximum {num(spec.max_qty)}", qty=qty
            )
        quote_sized = inp.intent.quote_qty is not None
        if spec.lot_size is not None and not quote_sized and not _multiple_of(qty, spec.lot_size):
            return RuleResult.fail(
                self.name, f"quantity {num(qty)} is not a multiple of the lot {num(spec.lot_size)}"
            )
        price = inp.intent.price
        tick = spec.tick_size
        if tick is not None and price is not None and not _multiple_of(price, tick):
            return RuleResult.fail(self.name, f"price {num(price)} is not on the tick {num(tick)}")
        if spec == type(spec)():
            return RuleResult.ok(
                self.name, f"quantity {num(qty)}; no market rules for {inp.symbol}"
            )
        return RuleResult.ok(self.name, f"quantity {num(qty)} meets the market rules", qty=qty)
