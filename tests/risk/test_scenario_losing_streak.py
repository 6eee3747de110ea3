"""Scenario on real BTC/USDT 1m prices: a strategy forced into a losing streak (it buys, then
sells at the first close below its entry) trips the circuit breaker; entries halt, exits still
pass, the halt survives a restart, and ``mftbot risk reset`` resumes trading."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from mftbot.cli.risk_cmd import app as risk_app
from mftbot.core.clock import SimulatedClock
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.base import OrderIntent, RiskContext
from mftbot.risk.engine import RuleBasedRiskEngine
from mftbot.risk.limits import TradingState
from mftbot.risk.records import RiskAction

FEE = 0.001
CONFIG = {"sizing": {"methods": ["fixed_fractional"]}, "stops": {"take_profit_r": None}}


class LosingTrader:
    """Spot account of a strategy that enters on every flat bar and exits at a loss."""

    def __init__(self, engine: RuleBasedRiskEngine, clock: SimulatedClock) -> None:
        self.engine = engine
        self.clock = clock
        self.cash = 10_000.0
        self.qty = 0.0
        self.entry = 0.0
        self.losses: list[float] = []

    def context(self, price: float) -> RiskContext:
        equity = self.cash + self.qty * price
        return RiskContext(self.clock.now_ns(), equity, self.cash, self.qty, price)

    def try_entry(self, bar: CandleClosed) -> bool:
        intent = OrderIntent(
            "loser",
            bar.symbol,
            Side.BUY,
            IntentKind.ENTRY,
            bar.ts_event,
            quote_qty=self.cash,
            ref_price=bar.close,
        )
        decision = self.engine.check(intent, self.context(bar.close))
        if not decision.approved or decision.intent is None:
            return False
        spend = decision.intent.quote_qty or 0.0
        self.qty = spend / (bar.close * (1 + FEE))
        self.entry = bar.close
        self.cash -= spend
        self.engine.on_position(bar.symbol, self.qty, bar.close, bar.ts_event, strategy="loser")
        return True

    def exit(self, bar: CandleClosed, intent: OrderIntent | None = None) -> None:
        intent = intent or OrderIntent(
            "loser", bar.symbol, Side.SELL, IntentKind.EXIT, bar.ts_event, qty=self.qty
        )
        decision = self.engine.check(intent, self.context(bar.close))
        assert decision.approved, decision.reason
        proceeds = self.qty * bar.close * (1 - FEE)
        pnl = proceeds - self.qty * self.entry * (1 + FEE)
        self.cash += proceeds
        self.qty = 0.0
        self.engine.on_position(bar.symbol, 0.0, 0.0, bar.ts_event)
        self.engine.on_trade_closed("loser", bar.symbol, pnl, bar.ts_event)
        self.losses.append(pnl)

    def on_bar(self, bar: CandleClosed) -> None:
        self.clock.advance_to(bar.ts_recv)
        exits = self.engine.on_bar(bar)
        self.engine.poll()
        if self.qty > 0 and (exits or bar.close < self.entry):
            self.exit(bar, exits[0] if exits else None)
        elif self.qty == 0:
            self.try_entry(bar)
        self.engine.on_equity(bar.ts_event, self.cash + self.qty * bar.close)


def test_losing_streak_trips_the_breaker_and_reset_resumes(
    make_engine: Callable[..., RuleBasedRiskEngine],
    clock: SimulatedClock,
    real_bars: Callable[[str, int, int], list[CandleClosed]],
    tmp_path: Path,
) -> None:
    bars = real_bars("BTC", 3000, 600)
    clock.advance_to(bars[0].ts_recv - 1)
    engine = make_engine(CONFIG)
    trader = LosingTrader(engine, clock)
    warmup, rest = bars[:30], bars[30:]
    for bar in warmup:
        clock.advance_to(bar.ts_recv)
        engine.on_bar(bar)
        engine.on_equity(bar.ts_event, trader.cash)
    halted_at = None
    for i, bar in enumerate(rest):
        trader.on_bar(bar)
        if engine.trading_state is TradingState.HALTED:
            halted_at = i
            break
    assert halted_at is not None, "the losing streak never tripped the breaker"
    assert len(trader.losses) == 5
    assert all(p < 0 for p in trader.losses)
    assert engine.limits.reason == "5 consecutive losses ≥ limit 5"
    states = [r.reason for r in engine.records if r.action is RiskAction.STATE]
    assert states[0].startswith("normal → reducing: 3 consecutive losses")
    assert states[-1] == "reducing → halted: 5 consecutive losses ≥ limit 5"
    reducing_entries = [
        r for r in engine.decisions if r.trading_state == "reducing" and r.sizing is not None
    ]
    assert reducing_entries
    assert all(
        any(f.name == "trading_state" and f.value == 0.5 for f in r.sizing.factors)
        for r in reducing_entries
        if r.sizing is not None
    )

    after = rest[halted_at + 1 :]
    for bar in after[:20]:  # every entry is refused while halted
        trader.on_bar(bar)
    assert trader.qty == 0.0
    refused = engine.rejections[-1]
    assert [r.name for r in refused.failed] == ["trading_state"]
    assert refused.failed[0].reason.startswith("trading halted: 5 consecutive losses")

    restarted = make_engine(CONFIG)  # a restart stays halted
    assert restarted.trading_state is TradingState.HALTED

    state_file = str(tmp_path / "risk_state.json")
    runner = CliRunner()
    status = runner.invoke(risk_app, ["status", "--state-file", state_file])
    assert status.exit_code == 0, status.output
    assert "trading state: HALTED" in status.output
    assert "5 consecutive losses ≥ limit 5" in status.output
    reset = runner.invoke(risk_app, ["reset", "--state-file", state_file])
    assert reset.exit_code == 0, reset.output
    assert "trading state reset to NORMAL (was halted: 5 consecutive losses" in reset.output

    entered = False
    for bar in after[20:40]:  # the running engine sees the reset at its next poll
        trader.on_bar(bar)
        if trader.qty > 0:
            entered = True
            break
    assert entered
    assert engine.trading_state is not TradingState.HALTED
    assert any(r.reason == "halted → normal: manual reset" for r in engine.records)
