"""Each account rule passes and fails with the numbers in its reason."""

from __future__ import annotations

from typing import Any

import pytest

from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.risk.base import OrderIntent, RiskContext
from mftbot.risk.config import RiskConfig
from mftbot.risk.limits import LossLimits
from mftbot.risk.rules import (
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
    TradingStateRule,
    quote_currency,
)
from mftbot.risk.state import RiskState

T = 1_774_267_200_000_000_000


def make_input(
    *,
    symbol: str = "BTC/USDT",
    qty: float = 0.1,
    price: float | None = 70_000.0,
    equity: float = 10_000.0,
    available: float = 10_000.0,
    position_qty: float = 0.0,
    side: Side = Side.BUY,
    kind: IntentKind = IntentKind.ENTRY,
    config: dict[str, Any] | None = None,
    state: RiskState | None = None,
    limits: LossLimits | None = None,
    loss_per_unit: float | None = None,
    kill_switch: bool = False,
) -> CheckInput:
    cfg = RiskConfig.coerce(config or {})
    intent = OrderIntent("s", symbol, side, kind, T, qty=qty, reduce_only=kind != IntentKind.ENTRY)
    context = RiskContext(T, equity, available, position_qty, price)
    return CheckInput(
        intent=intent,
        context=context,
        config=cfg,
        state=state or RiskState(cfg),
        limits=limits or LossLimits(cfg.limits),
        qty=qty,
        price=price,
        loss_per_unit=loss_per_unit,
        kill_switch=kill_switch,
    )


def test_quote_currency() -> None:
    assert quote_currency("BTC/USDT") == "USDT"
    assert quote_currency("ETH/USDC:USDC") == "USDC"


def test_balance_includes_fees_and_names_the_amounts() -> None:
    fail = BalanceRule().check(make_input(qty=0.75, price=70_000.0))
    assert not fail.passed
    assert fail.reason == "insufficient balance: need 52,552.50 USDT, have 10,000.00"
    assert fail.values["need"] == pytest.approx(0.75 * 70_000 * 1.001)
    ok = BalanceRule().check(make_input(qty=0.1, price=70_000.0))
    assert ok.passed
    assert "need 7,007.00 USDT" in ok.reason


def test_balance_of_a_derivative_counts_margin_at_the_leverage_cap() -> None:
    cfg = {"checks": {"max_leverage": 5.0}}
    inp = make_input(symbol="BTC/USDT:USDT", qty=0.5, price=70_000.0, config=cfg)
    result = BalanceRule().check(inp)
    need = 35_000 / 5 + 35_000 * 0.001
    assert result.passed
    assert result.values["need"] == pytest.approx(need)
    assert (
        not BalanceRule()
        .check(make_input(symbol="BTC/USDT:USDT", qty=0.5, config=cfg, available=need * 0.99))
        .passed
    )


def test_notional_bounds() -> None:
    low = NotionalRule().check(make_input(qty=0.00004, price=70_000.0))
    assert not low.passed
    assert low.reason == "notional 2.80 USDT below the minimum 5.00"
    high = NotionalRule().check(make_input(qty=2.0, price=70_000.0))
    assert not high.passed
    assert high.reason == "notional 140,000.00 USDT above the maximum 100,000.00"
    assert NotionalRule().check(make_input(qty=0.01)).passed
    spec = {"markets": {"BTC/USDT": {"min_notional": 1000.0}}}
    market_min = NotionalRule().check(make_input(qty=0.01, config=spec))
    assert not market_min.passed
    assert "minimum 1,000.00" in market_min.reason


def test_max_open_positions_counts_positions_and_pending_entries() -> None:
    cfg = RiskConfig()
    state = RiskState(cfg)
    state.on_position("ETH/USDT", 1.0, 2000.0, T)
    state.on_position("SOL/USDT", 10.0, 90.0, T)
    state.note_entry("XRP/USDT", Side.BUY, 100.0, T, 0.01)
    fail = MaxOpenPositionsRule().check(make_input(state=state))
    assert not fail.passed
    assert fail.reason == "max open positions: 3 open (ETH/USDT, SOL/USDT, XRP/USDT), limit 3"
    adding = MaxOpenPositionsRule().check(make_input(symbol="ETH/USDT", state=state))
    assert adding.passed
    state.on_order_done("XRP/USDT")
    assert MaxOpenPositionsRule().check(make_input(state=state)).passed


def test_daily_trade_count_resets_at_the_day_boundary() -> None:
    cfg = RiskConfig.coerce({"checks": {"max_daily_trades": 2}})
    state = RiskState(cfg)
    state.note_entry("ETH/USDT", Side.BUY, 1.0, T, None)
    state.note_entry("SOL/USDT", Side.BUY, 1.0, T + 1, None)
    fail = DailyTradesRule().check(
        make_input(config={"checks": {"max_daily_trades": 2}}, state=state)
    )
    assert not fail.passed
    assert fail.reason == "daily trade count: 2 entries today, limit 2"
    assert state.entries_today(T + 24 * 3600 * 10**9) == 0


def test_exposure_per_symbol() -> None:
    cfg = RiskConfig.coerce({"checks": {"max_symbol_exposure": 0.5}})
    state = RiskState(cfg)
    state.on_position("BTC/USDT", 0.05, 70_000.0, T)
    fail = ExposureRule().check(
        make_input(qty=0.03, config={"checks": {"max_symbol_exposure": 0.5}}, state=state)
    )
    assert not fail.passed
    assert fail.reason == (
        "max exposure: BTC/USDT would be 5,600.00 USDT, limit 5,000.00 (0.5 × equity)"
    )
    ok = ExposureRule().check(
        make_input(qty=0.01, config={"checks": {"max_symbol_exposure": 0.5}}, state=state)
    )
    assert ok.passed


def test_leverage_counts_gross_exposure() -> None:
    cfg = RiskConfig()
    state = RiskState(cfg)
    state.on_position("ETH/USDT", -2.0, 2000.0, T)
    fail = LeverageRule().check(make_input(qty=0.1, state=state))
    assert not fail.passed
    assert fail.reason == ("leverage 1.10x (gross 11,000.00 on equity 10,000.00) above the cap 1x")
    assert LeverageRule().check(make_input(qty=0.08, state=state)).passed


def test_risk_per_trade_cap() -> None:
    fail = RiskPerTradeRule().check(make_input(qty=0.1, loss_per_unit=1500.0))
    assert not fail.passed
    assert fail.reason == "risk per trade 1.50 % (150.00 USDT) above the cap 1.00 %"
    assert RiskPerTradeRule().check(make_input(qty=0.1, loss_per_unit=900.0)).passed
    assert "no stop" in RiskPerTradeRule().check(make_input(loss_per_unit=None)).reason


def test_kill_switch_and_trading_state_gates(tmp_path: object) -> None:
    fail = KillSwitchRule().check(make_input(kill_switch=True))
    assert not fail.passed
    assert fail.reason == "kill switch engaged: .kill_switch exists"
    assert KillSwitchRule().check(make_input()).passed
    cfg = RiskConfig()
    limits = LossLimits(cfg.limits)
    limits.on_equity(T, 10_000.0)
    assert TradingStateRule().check(make_input(limits=limits)).passed
    limits.on_equity(T + 1, 9_650.0)
    halted = TradingStateRule().check(make_input(limits=limits))
    assert not halted.passed
    assert halted.reason == (
        "trading halted: daily loss 3.50 % (350.00 of 10,000.00) ≥ limit 3.00 %"
    )


def test_exit_size() -> None:
    rule = ExitSizeRule()
    ok = rule.check(make_input(qty=0.5, position_qty=0.5, side=Side.SELL, kind=IntentKind.EXIT))
    assert ok.passed
    too_big = rule.check(
        make_input(qty=0.6, position_qty=0.5, side=Side.SELL, kind=IntentKind.EXIT)
    )
    assert not too_big.passed
    assert too_big.reason == "exit 0.6 exceeds the position 0.5"
    wrong = rule.check(make_input(qty=0.5, position_qty=0.5, side=Side.BUY, kind=IntentKind.EXIT))
    assert "does not reduce" in wrong.reason
    flat = rule.check(make_input(qty=0.5, position_qty=0.0, side=Side.SELL, kind=IntentKind.EXIT))
    assert flat.reason == "no open BTC/USDT position to exit"
