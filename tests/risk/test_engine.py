"""RuleBasedRiskEngine: rule order, rejections with numbers, resizes, exits while halted,
persisted halts, monitor exits and the record list."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mftbot.core.clock import SimulatedClock
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.base import OrderIntent, RiskContext, RiskEngine
from mftbot.risk.engine import FINAL_ORDER, GATE_ORDER, RuleBasedRiskEngine, SignalInfo
from mftbot.risk.limits import TradingState
from mftbot.risk.records import RiskAction, RiskRecord
from mftbot.risk.results import RiskError, num

EngineMaker = Callable[..., RuleBasedRiskEngine]
Bars = Callable[..., list[CandleClosed]]


@pytest.fixture
def warm(make_bars: Bars, clock: SimulatedClock) -> Callable[[RuleBasedRiskEngine], float]:
    """Feed 60 rising BTC/USDT bars around 100; return the last close."""

    def run(engine: RuleBasedRiskEngine) -> float:
        bars = make_bars("BTC/USDT", [100.0 + 0.05 * i for i in range(60)])
        for bar in bars:
            clock.advance_to(bar.ts_recv)
            engine.on_bar(bar)
        return bars[-1].close

    return run


def ctx(
    clock: SimulatedClock,
    price: float,
    *,
    equity: float = 10_000.0,
    available: float | None = None,
    position: float = 0.0,
) -> RiskContext:
    return RiskContext(
        clock.now_ns(), equity, equity if available is None else available, position, price
    )


def entry(clock: SimulatedClock, **kw: object) -> OrderIntent:
    args: dict[str, object] = {"qty": 10.0}
    args.update(kw)
    return OrderIntent("alpha", "BTC/USDT", Side.BUY, IntentKind.ENTRY, clock.now_ns(), **args)  # type: ignore[arg-type]


def test_it_is_a_risk_engine(make_engine: EngineMaker) -> None:
    engine: RiskEngine = make_engine(persist=False)
    assert isinstance(engine, RuleBasedRiskEngine)


def test_rules_run_in_the_documented_order(
    make_engine: EngineMaker, warm: Callable[[RuleBasedRiskEngine], float], clock: SimulatedClock
) -> None:
    engine = make_engine(persist=False)
    price = warm(engine)
    decision = engine.check(entry(clock), ctx(clock, price))
    assert decision.approved
    names = [r.name for r in engine.decisions[-1].rules]
    assert names == [*GATE_ORDER, "stop", "sizing", "portfolio_risk", *FINAL_ORDER]


def test_every_gate_runs_and_the_reason_lists_each_failure(
    make_engine: EngineMaker,
    warm: Callable[[RuleBasedRiskEngine], float],
    clock: SimulatedClock,
    tmp_path: Path,
) -> None:
    engine = make_engine({"checks": {"allowed_symbols": ["ETH/USDT"]}}, persist=False)
    price = warm(engine)
    (tmp_path / "KILL").touch()
    clock.advance_to(clock.now_ns() + 10**9)
    decision = engine.check(entry(clock), ctx(clock, price))
    assert not decision.approved
    assert decision.reason.startswith("rejected by kill_switch: kill switch engaged: ")
    assert "; symbol_allowed: BTC/USDT is not on the allow-list (ETH/USDT)" in decision.reason
    record = engine.rejections[-1]
    assert [r.name for r in record.rules] == list(GATE_ORDER)
    assert {r.name for r in record.failed} == {"kill_switch", "symbol_allowed"}
    assert record.final_qty == 0.0


def test_entry_is_sized_down_and_keeps_its_quote_form(
    make_engine: EngineMaker, warm: Callable[[RuleBasedRiskEngine], float], clock: SimulatedClock
) -> None:
    engine = make_engine({"sizing": {"methods": ["fixed_fractional"]}}, persist=False)
    price = warm(engine)
    intent = entry(clock, qty=None, quote_qty=9_000.0, ref_price=price)
    decision = engine.check(intent, ctx(clock, price), SignalInfo(stop_price=price * 0.98))
    assert decision.approved
    assert decision.intent is not None
    sent = decision.intent
    assert sent.qty is None
    assert sent.quote_qty is not None
    record = engine.resizes[-1]
    per_unit = price * 0.02 + 0.001 * (price + price * 0.98)
    assert record.final_qty == pytest.approx(50.0 / per_unit)
    assert sent.quote_qty == pytest.approx(record.final_qty * price * 1.001)
    assert record.sizing is not None
    assert record.sizing.binding == "method:fixed_fractional"
    requested = 9_000.0 / (price * 1.001)
    assert decision.reason.startswith(f"resized {num(requested)} → {num(record.final_qty)}")
    assert "risk 0.50 % of 10,000.00 = 50.00" in decision.reason


def test_a_small_enough_intent_is_sent_unchanged(
    make_engine: EngineMaker, warm: Callable[[RuleBasedRiskEngine], float], clock: SimulatedClock
) -> None:
    engine = make_engine(persist=False)
    price = warm(engine)
    intent = entry(clock, qty=0.5)
    decision = engine.check(intent, ctx(clock, price))
    assert decision.intent is intent
    assert engine.decisions[-1].action is RiskAction.APPROVED


def test_lot_rounding_and_market_minimum(
    make_engine: EngineMaker, warm: Callable[[RuleBasedRiskEngine], float], clock: SimulatedClock
) -> None:
    engine = make_engine(
        {"markets": {"BTC/USDT": {"lot_size": 0.5, "min_qty": 1.0}}}, persist=False
    )
    price = warm(engine)
    decision = engine.check(entry(clock, qty=7.3), ctx(clock, price))
    assert decision.intent is not None
    assert decision.intent.qty is not None
    assert decision.intent.qty % 0.5 == pytest.approx(0.0)
    small = engine.check(entry(clock, qty=0.7), ctx(clock, price))
    assert not small.approved
    assert "quantity: quantity 0.5 below the minimum 1" in small.reason


def test_insufficient_balance_without_sizing(
    make_engine: EngineMaker, warm: Callable[[RuleBasedRiskEngine], float], clock: SimulatedClock
) -> None:
    engine = make_engine(
        {
            "sizing": {"enabled": False},
            "portfolio": {"enabled": False},
            "checks": {"max_risk_per_trade": 0.1, "max_symbol_exposure": 20, "max_leverage": 20},
        },
        persist=False,
    )
    price = warm(engine)
    decision = engine.check(
        entry(clock, qty=525.0), ctx(clock, price, equity=100_000.0, available=10_000.0)
    )
    assert not decision.approved
    need = 525.0 * price * 1.001
    assert decision.reason == (
        f"rejected by balance: insufficient balance: need {need:,.2f} USDT, have 10,000.00"
    )


def test_bad_stop_and_no_equity_are_rejected(
    make_engine: EngineMaker, warm: Callable[[RuleBasedRiskEngine], float], clock: SimulatedClock
) -> None:
    engine = make_engine(persist=False)
    price = warm(engine)
    wrong = engine.check(entry(clock), ctx(clock, price), SignalInfo(stop_price=price * 1.01))
    assert "rejected by stop: stop" in wrong.reason
    assert "is not below the entry" in wrong.reason
    broke = engine.check(entry(clock), ctx(clock, price, equity=0.0))
    assert "equity: equity 0 is not > 0" in broke.reason


def test_halt_blocks_entries_but_not_exits_and_persists(
    make_engine: EngineMaker,
    warm: Callable[[RuleBasedRiskEngine], float],
    clock: SimulatedClock,
    tmp_path: Path,
) -> None:
    engine = make_engine()
    price = warm(engine)
    engine.on_equity(clock.now_ns(), 10_000.0)
    engine.on_equity(clock.now_ns() + 1, 9_600.0)
    assert engine.trading_state is TradingState.HALTED
    stored = json.loads((tmp_path / "risk_state.json").read_text())
    assert stored["state"] == "halted"
    assert stored["kind"] == "daily_loss"
    rejected = engine.check(entry(clock), ctx(clock, price))
    assert "trading_state: trading halted: daily loss 4.00 %" in rejected.reason
    exit_intent = OrderIntent(
        "alpha", "BTC/USDT", Side.SELL, IntentKind.EXIT, clock.now_ns(), qty=1.0
    )
    assert engine.check(exit_intent, ctx(clock, price, position=1.0)).approved
    state_records = [r for r in engine.records if r.action is RiskAction.STATE]
    assert state_records[-1].reason.startswith("normal → halted: daily loss 4.00 %")

    again = make_engine()  # a restart keeps the halt
    assert again.trading_state is TradingState.HALTED
    again.reset("test")
    assert again.trading_state is TradingState.NORMAL
    assert json.loads((tmp_path / "risk_state.json").read_text())["resets"] == 1


def test_corrupt_state_file_fails_at_start(make_engine: EngineMaker, tmp_path: Path) -> None:
    (tmp_path / "risk_state.json").write_text("{not json")
    with pytest.raises(RiskError, match=r"risk_state\.json: not valid JSON"):
        make_engine()


def test_monitor_exits_come_from_on_bar_with_the_planned_target(
    make_engine: EngineMaker,
    warm: Callable[[RuleBasedRiskEngine], float],
    clock: SimulatedClock,
    make_bars: Bars,
) -> None:
    engine = make_engine(persist=False)
    price = warm(engine)
    decision = engine.check(
        entry(clock, qty=1.0),
        ctx(clock, price),
        SignalInfo(stop_price=price - 2.0, take_profit=price + 3.0),
    )
    assert decision.approved
    engine.on_position("BTC/USDT", 1.0, price + 0.5, clock.now_ns(), strategy="alpha")
    tracked = engine.monitor.positions["BTC/USDT"]
    assert tracked.stop == pytest.approx(price - 1.5)  # the planned distance from the fill
    assert tracked.take_profit == pytest.approx(price + 3.5)
    bar = make_bars("BTC/USDT", [price + 0.5, price + 4.0], start=clock.now_ns())[-1]
    clock.advance_to(bar.ts_recv)
    (exit_intent,) = engine.on_bar(bar)
    assert exit_intent.intent is IntentKind.TAKE_PROFIT
    assert engine.records[-1].action is RiskAction.EXIT
    assert engine.records[-1].reason.startswith("take profit")


def test_sink_gets_every_record_and_summary_counts(
    make_engine: EngineMaker, warm: Callable[[RuleBasedRiskEngine], float], clock: SimulatedClock
) -> None:
    seen: list[RiskRecord] = []
    engine = make_engine({"checks": {"max_daily_trades": 1}}, persist=False, sink=seen.append)
    price = warm(engine)
    assert engine.check(entry(clock, qty=0.5), ctx(clock, price)).approved
    second = OrderIntent("alpha", "ETH/USDT", Side.BUY, IntentKind.ENTRY, clock.now_ns(), qty=1.0)
    assert not engine.check(second, ctx(clock, 50.0)).approved
    assert seen == list(engine.records)
    summary = engine.summary()
    assert summary["actions"] == {"approved": 1, "rejected": 1}
    assert summary["failed_rules"] == {"market_data": 1, "daily_trades": 1}
    json.dumps([r.to_dict() for r in engine.records])  # JSON-safe


def test_an_entry_without_any_price_is_rejected(
    make_engine: EngineMaker, clock: SimulatedClock
) -> None:
    engine = make_engine(persist=False)
    engine.on_market_data("BTC/USDT", clock.now_ns())
    decision = engine.check(entry(clock), ctx(clock, float("nan")))
    assert not decision.approved
    assert "price: no price known for BTC/USDT" in decision.reason


def test_support_resistance_stops_use_the_levels_of_the_kept_bars(
    make_engine: EngineMaker,
    clock: SimulatedClock,
    real_bars: Callable[[str, int, int], list[CandleClosed]],
) -> None:
    engine = make_engine({"stops": {"method": "support_resistance"}}, persist=False)
    bars = real_bars("SOL", 8000, 260)
    clock.advance_to(bars[0].ts_recv - 1)
    for bar in bars:
        clock.advance_to(bar.ts_recv)
        engine.on_bar(bar)
    price = bars[-1].close
    intent = OrderIntent("alpha", "SOL/USDT", Side.BUY, IntentKind.ENTRY, clock.now_ns(), qty=1.0)
    engine.check(intent, ctx(clock, price))
    stop = next(r for r in engine.records[-1].rules if r.name == "stop")
    assert stop.passed
    assert stop.reason.startswith("support_resistance stop")
    assert stop.values["stop"] < price
