"""The rule-based risk engine: every order intent passes :meth:`RuleBasedRiskEngine.check`.

An **entry** goes through, in this order (every result is recorded):

1. gates: ``kill_switch``, ``trading_state``, ``symbol_allowed``, ``market_data``,
   ``manipulation``, ``session``, ``max_open_positions``, ``daily_trades``,
   ``price_deviation`` — all run; any failure rejects;
2. ``stop``: the signal's stop, else the stop calculator's (ATR, levels or fixed %);
3. ``sizing``: the smallest method after multipliers, under every cap (the intent's own size,
   balance, exposure and leverage room, risk cap, max notional and quantity), rounded down to
   the lot; zero rejects;
4. ``portfolio_risk``: scaled down (then re-rounded) or refused by correlated risk;
5. final checks: ``quantity``, ``notional``, ``balance``, ``exposure``, ``leverage``,
   ``risk_per_trade`` — all run; any failure rejects.

An approved entry is sent at the (possibly smaller) size, in the intent's own form (a
quote-sized buy stays quote-sized). **Exits**, stops, reductions and flattens never meet the
gates: they pass ``exit_size`` and ``price_deviation`` only, so a halt never traps a position.

The engine keeps its :class:`~mftbot.risk.state.RiskState`, loss limits, kill switch, persisted
trading state and position monitor current through the ``on_*`` hooks and :meth:`poll`; what
the event loop must call, and when, is in ``docs/risk.md`` ("Wiring").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mftbot.analysis.levels import find_levels
from mftbot.core.clock import Clock
from mftbot.core.ids import IntentKind
from mftbot.core.logging import get_logger
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.domain.orders import OrderType
from mftbot.risk import adapters
from mftbot.risk.base import OrderIntent, RiskContext, RiskDecision
from mftbot.risk.base import SignalInfo as SignalInfo
from mftbot.risk.config import RiskConfig
from mftbot.risk.kill_switch import KillSwitch
from mftbot.risk.limits import HaltKind, LossLimits, TradingState
from mftbot.risk.monitor import PositionMonitor
from mftbot.risk.portfolio_risk import PortfolioRiskResult, PortfolioRiskRule
from mftbot.risk.records import RiskAction, RiskRecord
from mftbot.risk.results import Factor, RiskError, RuleResult, num
from mftbot.risk.rules import (
    REL_TOL,
    BalanceRule,
    CheckInput,
    DailyTradesRule,
    ExitSizeRule,
    ExposureRule,
    KillSwitchRule,
    LeverageRule,
    MaxOpenPositionsRule,
    NotionalRule,
    RiskPerTradeRule,
    Rule,
    TradingStateRule,
    is_derivative,
)
from mftbot.risk.rules_market import (
    ManipulationRule,
    ManipulationSource,
    MarketDataRule,
    PriceDeviationRule,
    QuantityRule,
    SessionRule,
    SymbolAllowedRule,
)
from mftbot.risk.sizing import (
    PositionSizer,
    SizingInputs,
    SizingResult,
    loss_per_unit,
    round_down,
)
from mftbot.risk.state import PositionInfo, RiskState
from mftbot.risk.state_store import TradingStateStore
from mftbot.risk.stops import StopCalculator, StopLevels

_log = get_logger("mftbot.risk")

GATE_ORDER = (
    "kill_switch",
    "trading_state",
    "symbol_allowed",
    "market_data",
    "manipulation",
    "session",
    "max_open_positions",
    "daily_trades",
    "price_deviation",
)
FINAL_ORDER = ("quantity", "notional", "balance", "exposure", "leverage", "risk_per_trade")
EXIT_ORDER = ("exit_size", "price_deviation")


@dataclass(frozen=True, slots=True)
class _Plan:
    """The protection planned for an approved entry, as distances from the fill price."""

    stop_distance: float
    take_profit_distance: float | None


class RuleBasedRiskEngine:
    """Pre-trade rules, sizing, portfolio risk, loss limits, kill switch and stops.

    ``clock`` paces the kill-switch and state-file checks; ``manipulation`` answers
    ``is_active(symbol, now_ns)``; ``persist`` keeps HALTED in ``limits.state_file`` (paper and
    live; a backtest passes ``False`` so runs do not share a halt); ``sink`` receives every
    record as it is made (the audit log writer, say).
    """

    def __init__(
        self,
        config: RiskConfig | Mapping[str, Any] | None = None,
        *,
        clock: Clock,
        manipulation: ManipulationSource | None = None,
        persist: bool = True,
        sink: Callable[[RiskRecord], None] | None = None,
    ) -> None:
        self.config = cfg = RiskConfig.coerce(config)
        self.clock = clock
        self.state = RiskState(cfg)
        self.limits = LossLimits(cfg.limits)
        self.kill_switch = KillSwitch(
            cfg.kill_switch.file, clock, cfg.kill_switch.check_interval_ms
        )
        self.store = TradingStateStore(cfg.limits.state_file) if persist else None
        self.sizer = PositionSizer(cfg.sizing)
        self.stops = StopCalculator(cfg.stops)
        self.portfolio_rule = PortfolioRiskRule(cfg.portfolio)
        self.monitor = PositionMonitor(cfg.stops, self.state)
        self.sink = sink
        self._sinks: list[Callable[[RiskRecord], None]] = []
        self._gates: tuple[Rule, ...] = (
            KillSwitchRule(),
            TradingStateRule(),
            SymbolAllowedRule(),
            MarketDataRule(),
            ManipulationRule(manipulation),
            SessionRule(),
            MaxOpenPositionsRule(),
            DailyTradesRule(),
            PriceDeviationRule(),
        )
        self._final: tuple[Rule, ...] = (
            QuantityRule(),
            NotionalRule(),
            BalanceRule(),
            ExposureRule(),
            LeverageRule(),
            RiskPerTradeRule(),
        )
        self._exit_rules: tuple[Rule, ...] = (ExitSizeRule(), PriceDeviationRule())
        self._records: list[RiskRecord] = []
        self._plans: dict[str, _Plan] = {}
        self._flattening: set[str] = set()
        self._outbox: list[OrderIntent] = []
        self._seen_changes = 0
        self._last_store_check: int | None = None
        self._known_resets = 0
        self._restore()

    # --- the check --------------------------------------------------------------------------

    def check(
        self, intent: OrderIntent, context: RiskContext, signal: SignalInfo | None = None
    ) -> RiskDecision:
        """Approve (possibly smaller) or reject ``intent``; the decision is recorded. A flatten
        the kill switch asks for while checking waits for the next :meth:`poll`."""
        self._poll()
        if intent.intent is IntentKind.ENTRY and not intent.reduce_only:
            return self._check_entry(intent, context, signal or SignalInfo())
        return self._check_exit(intent, context)

    def _check_exit(self, intent: OrderIntent, context: RiskContext) -> RiskDecision:
        inp = self._input(intent, context, intent.base_qty, None)
        results = tuple(rule.check(inp) for rule in self._exit_rules)
        if any(not r.passed for r in results):
            return self._reject(intent, context, results)
        self._record(
            RiskRecord.for_intent(
                context.ts,
                RiskAction.APPROVED,
                _summary(results),
                intent,
                final_qty=intent.base_qty,
                rules=results,
                trading_state=self.limits.state.value,
            )
        )
        return RiskDecision.approve(intent, _summary(results))

    def _check_entry(
        self, intent: OrderIntent, context: RiskContext, signal: SignalInfo
    ) -> RiskDecision:
        cfg = self.config
        fee = cfg.checks.fee_rate
        requested = _requested_qty(intent, fee)
        price = self._price(intent, context)
        inp = self._input(intent, context, requested, price)
        results = [rule.check(inp) for rule in self._gates]
        if not (math.isfinite(context.equity) and context.equity > 0):
            results.append(RuleResult.fail("equity", f"equity {num(context.equity)} is not > 0"))
        if price is None:
            results.append(RuleResult.fail("price", f"no price known for {intent.symbol}"))
        if any(not r.passed for r in results) or price is None:
            return self._reject(intent, context, tuple(results), requested)
        stop_result, levels = self._stop(intent, price, signal)
        results.append(stop_result)
        if levels is None:
            return self._reject(intent, context, tuple(results), requested)
        per_unit = loss_per_unit(intent.side, price, levels.stop, fee)
        lot = cfg.market(intent.symbol).lot_size
        sizing: SizingResult | None = None
        qty = requested
        if cfg.sizing.enabled:
            sizing = self._size(intent, context, signal, price, levels.stop, requested, per_unit)
            qty = sizing.qty
            results.append(
                RuleResult(
                    "sizing", qty > 0, sizing.reason, {"qty": qty, "multiplier": sizing.multiplier}
                )
            )
            if qty <= 0:
                return self._reject(intent, context, tuple(results), requested, sizing)
        portfolio: PortfolioRiskResult | None = None
        if cfg.portfolio.enabled:
            portfolio = self._portfolio(intent, qty, per_unit, context.equity)
            results.append(
                RuleResult(
                    "portfolio_risk",
                    portfolio.passed,
                    portfolio.reason,
                    {"scale": portfolio.scale, "effective_risk": portfolio.effective_risk},
                )
            )
            if not portfolio.passed:
                return self._reject(intent, context, tuple(results), requested, sizing, portfolio)
            if portfolio.scale < 1.0:
                qty = round_down(qty * portfolio.scale, lot)
        final_inp = replace(inp, qty=qty, loss_per_unit=per_unit)
        results.extend(rule.check(final_inp) for rule in self._final)
        rules = tuple(results)
        if any(not r.passed for r in rules):
            return self._reject(intent, context, rules, requested, sizing, portfolio)
        return self._approve(
            intent, context, rules, requested, qty, price, levels, sizing, portfolio
        )

    def _approve(
        self,
        intent: OrderIntent,
        context: RiskContext,
        rules: tuple[RuleResult, ...],
        requested: float,
        qty: float,
        price: float,
        levels: StopLevels,
        sizing: SizingResult | None,
        portfolio: PortfolioRiskResult | None,
    ) -> RiskDecision:
        resized = qty < requested * (1.0 - REL_TOL)
        final = self._resized(intent, qty) if resized else intent
        distance = abs(price - levels.stop)
        tp = None if levels.take_profit is None else abs(levels.take_profit - price)
        self._plans[intent.symbol] = _Plan(distance, tp)
        self.state.note_entry(intent.symbol, intent.side, qty, context.ts, distance)
        action = RiskAction.RESIZED if resized else RiskAction.APPROVED
        parts = [f"resized {num(requested)} → {num(qty)}" if resized else f"approved {num(qty)}"]
        if sizing is not None:
            parts.append(f"sizing ({sizing.binding}): {sizing.reason}")
        if portfolio is not None and portfolio.scale < 1.0:
            parts.append(f"portfolio_risk: {portfolio.reason}")
        parts.append(_summary(rules))
        reason = "; ".join(parts)
        self._record(
            RiskRecord.for_intent(
                context.ts,
                action,
                reason,
                intent,
                requested_qty=requested,
                final_qty=qty,
                rules=rules,
                sizing=sizing,
                portfolio=portfolio,
                trading_state=self.limits.state.value,
            )
        )
        if resized:
            _log.info(
                "intent_resized",
                symbol=intent.symbol,
                strategy=intent.strategy,
                requested=requested,
                qty=qty,
            )
        return RiskDecision.approve(final, reason)

    def _reject(
        self,
        intent: OrderIntent,
        context: RiskContext,
        rules: tuple[RuleResult, ...],
        requested: float | None = None,
        sizing: SizingResult | None = None,
        portfolio: PortfolioRiskResult | None = None,
    ) -> RiskDecision:
        failed = [r for r in rules if not r.passed]
        reason = "rejected by " + "; ".join(f"{r.name}: {r.reason}" for r in failed)
        self._record(
            RiskRecord.for_intent(
                context.ts,
                RiskAction.REJECTED,
                reason,
                intent,
                requested_qty=requested,
                final_qty=0.0,
                rules=rules,
                sizing=sizing,
                portfolio=portfolio,
                trading_state=self.limits.state.value,
            )
        )
        _log.info(
            "intent_rejected",
            symbol=intent.symbol,
            strategy=intent.strategy,
            rules=[r.name for r in failed],
        )
        return RiskDecision.reject(reason)

    # --- the parts of an entry --------------------------------------------------------------

    def _input(
        self, intent: OrderIntent, context: RiskContext, qty: float, price: float | None
    ) -> CheckInput:
        return CheckInput(
            intent=intent,
            context=context,
            config=self.config,
            state=self.state,
            limits=self.limits,
            qty=qty,
            price=price,
            kill_switch=self.kill_switch.engaged,
        )

    def _price(self, intent: OrderIntent, context: RiskContext) -> float | None:
        if intent.order_type is not OrderType.MARKET and intent.price is not None:
            return intent.price
        if intent.ref_price is not None:
            return intent.ref_price
        last = self.state.last_price.get(intent.symbol)
        if last is not None:
            return last
        ctx_price = context.last_price
        if ctx_price is None or not (math.isfinite(ctx_price) and ctx_price > 0):
            return None
        return ctx_price

    def _stop(
        self, intent: OrderIntent, price: float, signal: SignalInfo
    ) -> tuple[RuleResult, StopLevels | None]:
        side = intent.side
        if signal.stop_price is not None:
            levels = StopLevels(signal.stop_price, signal.take_profit, "signal", "signal stop")
        else:
            atr = self.state.atr(intent.symbol, self.config.stops.atr_period)
            sr = self._sr_levels(intent.symbol)
            levels = self.stops.levels(side, price, atr=atr, levels=sr)
        try:
            loss_per_unit(side, price, levels.stop, self.config.checks.fee_rate)
        except RiskError as exc:
            return RuleResult.fail("stop", str(exc)), None
        return RuleResult.ok("stop", levels.reason, stop=levels.stop), levels

    def _sr_levels(self, symbol: str) -> list[float]:
        if self.config.stops.method != "support_resistance":
            return []
        hist = self.state.history.get(symbol)
        if hist is None or len(hist.close) < 12:
            return []
        try:
            found = find_levels(
                list(hist.high), list(hist.low), list(hist.close), list(hist.volume)
            )
        except (ValueError, IndexError):
            return []
        return [lv.price for lv in found]

    def _factors(
        self, intent: OrderIntent, ts: int, price: float, signal: SignalInfo
    ) -> list[Factor]:
        a = self.config.adapters
        return [
            adapters.volatility_factor(self.state.atr(intent.symbol, a.atr_period), price, a),
            adapters.drawdown_factor(self.limits.drawdown, a),
            adapters.equity_curve_factor(self.state.equity_points(), a),
            adapters.weekend_factor(ts, a),
            adapters.overnight_factor(ts, a),
            adapters.confidence_factor(signal.confidence, a),
            adapters.mtf_factor(signal.mtf_agreement, a),
            adapters.state_factor(self.limits.state, self.config.limits.reducing_factor),
        ]

    def _caps(
        self,
        intent: OrderIntent,
        context: RiskContext,
        price: float,
        requested: float,
        per_unit: float,
    ) -> dict[str, float]:
        checks = self.config.checks
        fee = checks.fee_rate
        equity = context.equity
        per_value = (1.0 / checks.max_leverage + fee) if is_derivative(intent.symbol) else 1 + fee
        exposure_room = checks.max_symbol_exposure * equity - self.state.exposure(intent.symbol)
        leverage_room = checks.max_leverage * equity - self.state.gross_exposure()
        caps = {
            "intent": requested,
            "balance": max(context.available, 0.0) / (price * per_value),
            "exposure": max(exposure_room, 0.0) / price,
            "leverage": max(leverage_room, 0.0) / price,
            "risk_per_trade": checks.max_risk_per_trade * equity / per_unit,
            "max_notional": checks.max_notional / price,
        }
        max_qty = self.config.market(intent.symbol).max_qty
        if max_qty is not None:
            caps["market_max_qty"] = max_qty
        return caps

    def _size(
        self,
        intent: OrderIntent,
        context: RiskContext,
        signal: SignalInfo,
        price: float,
        stop: float,
        requested: float,
        per_unit: float,
    ) -> SizingResult:
        vol, obs = self.state.realised_vol(intent.symbol)
        inputs = SizingInputs(
            side=intent.side,
            equity=context.equity,
            price=price,
            stop_price=stop,
            fee_rate=self.config.checks.fee_rate,
            trade_pnls=[t.pnl for t in self.state.trades(intent.strategy)],
            realised_vol=vol,
            vol_observations=obs,
        )
        return self.sizer.size(
            inputs,
            self._factors(intent, context.ts, price, signal),
            self._caps(intent, context, price, requested, per_unit),
            self.config.market(intent.symbol).lot_size,
        )

    def _portfolio(
        self, intent: OrderIntent, qty: float, per_unit: float, equity: float
    ) -> PortfolioRiskResult:
        symbols: list[str] = []
        risks: list[float] = []
        for info in self.state.positions.values():
            symbols.append(info.symbol)
            risks.append(self._position_risk(info, equity))
        for pending in self.state.pending.values():
            if pending.symbol in self.state.positions or pending.stop_distance is None:
                continue
            sign = 1.0 if pending.side is Side.BUY else -1.0
            symbols.append(pending.symbol)
            risks.append(sign * pending.qty * pending.stop_distance / equity)
        sign = 1.0 if intent.side is Side.BUY else -1.0
        new_risk = sign * qty * per_unit / equity
        corr, _ = self.state.correlation([*symbols, intent.symbol])
        return self.portfolio_rule.evaluate(symbols, risks, intent.symbol, new_risk, corr)

    def _position_risk(self, info: PositionInfo, equity: float) -> float:
        """Signed fraction of equity the position loses at its stop (fees of the exit leg)."""
        price = self.state.last_price.get(info.symbol, info.entry)
        side = info.side
        sign = 1.0 if side is Side.BUY else -1.0
        stop = info.stop
        if stop is None:
            atr = self.state.atr(info.symbol, self.config.stops.atr_period)
            stop = self.stops.levels(side, price, atr=atr).stop
        distance = max(0.0, sign * (price - stop)) + self.config.checks.fee_rate * stop
        return sign * abs(info.qty) * distance / equity

    def _resized(self, intent: OrderIntent, qty: float) -> OrderIntent:
        if intent.quote_qty is not None and intent.ref_price is not None:
            spend = qty * intent.ref_price * (1.0 + self.config.checks.fee_rate)
            return replace(intent, quote_qty=spend)
        return replace(intent, qty=qty)

    # --- polling: kill switch, persisted state, flatten -----------------------------------

    def poll(self) -> list[OrderIntent]:
        """Look at the kill-switch and state files (at most once per interval of the clock);
        returns the flatten intents to send when the kill switch is engaged with ``flatten``
        (with those found by a :meth:`check` since the last poll)."""
        self._poll()
        out, self._outbox = self._outbox, []
        return out

    def _poll(self) -> None:
        engaged = self.kill_switch.poll()
        self._poll_store()
        if not (engaged and self.config.kill_switch.flatten):
            return
        now = self.clock.now_ns()
        out = self._outbox
        for info in list(self.state.positions.values()):
            if info.symbol in self._flattening or info.qty == 0:
                continue
            intent = OrderIntent(
                strategy=info.strategy or "risk",
                symbol=info.symbol,
                side=Side.SELL if info.qty > 0 else Side.BUY,
                intent=IntentKind.FLATTEN,
                signal_ts=now,
                qty=abs(info.qty),
                reduce_only=True,
            )
            self._flattening.add(info.symbol)
            out.append(intent)
            self._record(
                RiskRecord.for_intent(
                    now,
                    RiskAction.FLATTEN,
                    f"kill switch {self.kill_switch.path} engaged",
                    intent,
                    final_qty=abs(info.qty),
                    trading_state=self.limits.state.value,
                )
            )

    def _poll_store(self) -> None:
        if self.store is None:
            return
        now = self.clock.now_ns()
        last = self._last_store_check
        if last is not None and now - last < self.kill_switch.interval_ns:
            return
        self._last_store_check = now
        try:
            stored = self.store.load()
        except RiskError as exc:
            _log.warning("risk_state_unreadable", error=str(exc))
            return
        if stored.resets > self._known_resets:
            self._known_resets = stored.resets
            self.limits.reset(now)
            self._sync_changes(now)

    def _restore(self) -> None:
        if self.store is None:
            return
        stored = self.store.load()
        self._known_resets = stored.resets
        if stored.halted:
            ts = stored.since_ns or 0
            self.limits.halt(ts, f"restored: {stored.reason}", stored.kind or HaltKind.MANUAL)
            self._seen_changes = len(self.limits.changes)
            self._record(
                RiskRecord(
                    ts,
                    RiskAction.STATE,
                    f"halted (restored from {self.store.path}): {stored.reason}",
                    trading_state=TradingState.HALTED.value,
                )
            )

    def reset(self, by: str = "operator") -> None:
        """Clear HALTED here and in the state file (what ``mftbot risk reset`` does from
        outside)."""
        now = self.clock.now_ns()
        if self.store is not None:
            self._known_resets = self.store.reset(now, by).resets
        self.limits.reset(now)
        self._sync_changes(now)

    # --- hooks the event loop calls ---------------------------------------------------------

    def on_bar(self, bar: CandleClosed) -> list[OrderIntent]:
        """A closed candle (after the fills it caused were reported through
        :meth:`on_position`); returns the exits the position monitor wants."""
        self.state.on_bar(bar)
        if not self.config.stops.monitor:
            return []
        out: list[OrderIntent] = []
        for signal in self.monitor.on_bar(bar):
            out.append(signal.intent)
            self._record(
                RiskRecord.for_intent(
                    bar.ts_event,
                    RiskAction.EXIT,
                    signal.reason,
                    signal.intent,
                    final_qty=signal.intent.base_qty,
                    trading_state=self.limits.state.value,
                )
            )
        return out

    def on_market_data(self, symbol: str, ts_recv: int, price: float | None = None) -> None:
        """Any other market event of ``symbol`` (book, trade, quote): freshness and price."""
        self.state.on_market_data(symbol, ts_recv, price)

    def on_position(
        self, symbol: str, signed_qty: float, avg_entry: float, ts: int, *, strategy: str = ""
    ) -> None:
        """The position in ``symbol`` after a fill (0: flat)."""
        info = self.state.on_position(symbol, signed_qty, avg_entry, ts, strategy=strategy)
        if info is None:
            self.monitor.untrack(symbol)
            self._flattening.discard(symbol)
            self._plans.pop(symbol, None)
            return
        plan = self._plans.get(symbol)
        if info.stop is None:
            side = info.side
            atr = self.state.atr(symbol, self.config.stops.atr_period)
            info.stop = self.stops.levels(side, avg_entry, atr=atr).stop
        take_profit = None
        if plan is not None and plan.take_profit_distance is not None:
            take_profit = avg_entry + (1 if info.qty > 0 else -1) * plan.take_profit_distance
        self.monitor.track(
            symbol, strategy, signed_qty, avg_entry, stop=info.stop, take_profit=take_profit
        )

    def on_order_done(self, symbol: str, kind: IntentKind) -> None:
        """An order of ``symbol`` reached a terminal state (after its fills were reported)."""
        if kind is IntentKind.ENTRY:
            self.state.on_order_done(symbol)
            if symbol not in self.state.positions:
                self._plans.pop(symbol, None)
        else:
            self.monitor.exit_failed(symbol)
            self._flattening.discard(symbol)

    def on_trade_closed(self, strategy: str, symbol: str, pnl: float, ts: int) -> None:
        """A position closed with net PnL ``pnl`` (quote): Kelly and the loss streak."""
        self.state.on_trade_closed(strategy, symbol, pnl, ts)
        self.limits.on_trade(ts, pnl)
        self._sync_changes(ts)

    def on_equity(self, ts: int, equity: float) -> None:
        """An equity point (each bar close, say): daily loss, drawdown, equity curve."""
        self.state.on_equity(equity, ts)
        self.limits.on_equity(ts, equity)
        self._sync_changes(ts)

    # --- records ----------------------------------------------------------------------------

    def _sync_changes(self, ts: int) -> None:
        for change in self.limits.changes[self._seen_changes :]:
            self._record(
                RiskRecord(
                    change.ts,
                    RiskAction.STATE,
                    f"{change.before.value} → {change.after.value}: {change.reason}",
                    trading_state=change.after.value,
                )
            )
            if change.after is TradingState.HALTED:
                _log.warning("trading_halted", reason=change.reason)
                if self.store is not None:
                    self.store.record_halt(
                        change.ts, change.reason, self.limits.halt_kind or HaltKind.MANUAL
                    )
        self._seen_changes = len(self.limits.changes)

    def _record(self, record: RiskRecord) -> None:
        self._records.append(record)
        if self.sink is not None:
            self.sink(record)
        for sink in self._sinks:
            sink(record)

    def add_sink(self, sink: Callable[[RiskRecord], None]) -> None:
        """Also hand every record from now on to ``sink`` (besides ``sink`` given at start)."""
        self._sinks.append(sink)

    @property
    def records(self) -> tuple[RiskRecord, ...]:
        """Every record, oldest first."""
        return tuple(self._records)

    @property
    def decisions(self) -> tuple[RiskRecord, ...]:
        """Approvals, resizes and rejections of intents."""
        kinds = (RiskAction.APPROVED, RiskAction.RESIZED, RiskAction.REJECTED)
        return tuple(r for r in self._records if r.action in kinds)

    @property
    def rejections(self) -> tuple[RiskRecord, ...]:
        """Rejected intents."""
        return tuple(r for r in self._records if r.action is RiskAction.REJECTED)

    @property
    def resizes(self) -> tuple[RiskRecord, ...]:
        """Intents sent smaller than asked."""
        return tuple(r for r in self._records if r.action is RiskAction.RESIZED)

    @property
    def trading_state(self) -> TradingState:
        """NORMAL, REDUCING or HALTED."""
        return self.limits.state

    def summary(self) -> dict[str, Any]:
        """Counts by action and by failing rule (for results and status displays)."""
        by_action: dict[str, int] = {}
        by_rule: dict[str, int] = {}
        for r in self._records:
            by_action[r.action.value] = by_action.get(r.action.value, 0) + 1
            for failed in r.failed:
                by_rule[failed.name] = by_rule.get(failed.name, 0) + 1
        return {
            "trading_state": self.limits.state.value,
            "actions": by_action,
            "failed_rules": by_rule,
            "kill_switch": self.kill_switch.engaged,
        }


def _requested_qty(intent: OrderIntent, fee: float) -> float:
    """The base quantity asked for; a quote-sized buy asks for what its spend buys at the
    reference price after the fee."""
    if intent.qty is not None:
        return intent.qty
    if intent.quote_qty is None or intent.ref_price is None:
        raise RiskError("a quote-sized intent needs a ref_price")
    return intent.quote_qty / (intent.ref_price * (1.0 + fee))


def _summary(results: Sequence[RuleResult]) -> str:
    """``"passed N rules: a, b, …"``."""
    return f"passed {len(results)} rules: " + ", ".join(r.name for r in results)
