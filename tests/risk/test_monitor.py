"""The position monitor: stop, target, trailing and reversal exits as intents."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.config import RiskConfig, StopsConfig
from mftbot.risk.monitor import PositionMonitor
from mftbot.risk.results import RiskError
from mftbot.risk.state import RiskState

Bars = Callable[..., list[CandleClosed]]


def _bar(symbol: str, ts: int, o: float, h: float, lo: float, c: float) -> CandleClosed:
    return CandleClosed("sim", symbol, "1m", ts - 60, ts, ts, o, h, lo, c, 1.0)


def _monitor(**stops: object) -> tuple[PositionMonitor, RiskState]:
    cfg = RiskConfig.coerce({"stops": stops})
    state = RiskState(cfg)
    return PositionMonitor(cfg.stops, state), state


def test_stop_loss_wins_over_take_profit_in_the_same_bar() -> None:
    mon, state = _monitor()
    mon.track("BTC/USDT", "s", 0.5, 100.0, stop=95.0, take_profit=110.0)
    bar = _bar("BTC/USDT", 1000, 100.0, 111.0, 94.0, 105.0)
    state.on_bar(bar)
    (signal,) = mon.on_bar(bar)
    assert signal.intent.intent is IntentKind.STOP_LOSS
    assert signal.intent.side is Side.SELL
    assert signal.intent.qty == 0.5
    assert signal.intent.reduce_only
    assert signal.reason == "stop 95 hit (94)"
    assert mon.on_bar(_bar("BTC/USDT", 2000, 100.0, 100.0, 90.0, 95.0)) == []  # exiting
    mon.exit_failed("BTC/USDT")
    assert len(mon.on_bar(_bar("BTC/USDT", 3000, 95.0, 96.0, 90.0, 92.0))) == 1


def test_take_profit_for_a_short() -> None:
    mon, _ = _monitor()
    mon.track("ETH/USDT", "s", -2.0, 100.0, stop=104.0, take_profit=92.0)
    assert mon.on_bar(_bar("ETH/USDT", 1000, 100.0, 101.0, 95.0, 96.0)) == []
    (signal,) = mon.on_bar(_bar("ETH/USDT", 2000, 96.0, 97.0, 91.5, 93.0))
    assert signal.intent.intent is IntentKind.TAKE_PROFIT
    assert signal.intent.side is Side.BUY
    assert signal.reason == "take profit 92 hit (91.5)"


def test_percent_trailing_and_break_even_move_the_stop_for_the_next_bar() -> None:
    mon, _ = _monitor(trailing="percent", trail_pct=0.05, break_even_r=1.0, take_profit_r=None)
    mon.track("BTC/USDT", "s", 1.0, 100.0, stop=96.0)
    mon.on_bar(_bar("BTC/USDT", 1000, 100.0, 103.0, 99.0, 102.0))
    assert mon.positions["BTC/USDT"].stop == pytest.approx(97.85)  # 103 × 0.95
    mon.on_bar(_bar("BTC/USDT", 2000, 102.0, 104.5, 101.0, 104.0))
    assert mon.positions["BTC/USDT"].stop == pytest.approx(100.0)  # break-even beats 99.275
    mon.on_bar(_bar("BTC/USDT", 3000, 104.0, 112.0, 103.0, 111.0))
    assert mon.positions["BTC/USDT"].stop == pytest.approx(106.4)
    (signal,) = mon.on_bar(_bar("BTC/USDT", 4000, 111.0, 111.5, 106.0, 107.0))
    assert signal.intent.intent is IntentKind.TRAILING_STOP
    assert signal.reason == "trailing stop 106.4 hit (106)"


def test_atr_and_chandelier_trailing(make_bars: Bars) -> None:
    for method in ("atr", "chandelier"):
        mon, state = _monitor(
            trailing=method,
            atr_period=3,
            chandelier_period=3,
            break_even_r=None,
            take_profit_r=None,
        )
        bars = make_bars("SOL/USDT", [100.0, 101.0, 102.0, 103.0, 104.0, 105.0], spread=0.01)
        for bar in bars[:4]:
            state.on_bar(bar)
        mon.track("SOL/USDT", "s", 1.0, 103.0, stop=90.0)
        for bar in bars[4:]:
            state.on_bar(bar)
            mon.on_bar(bar)
        atr = state.atr("SOL/USDT", 3)
        stop = mon.positions["SOL/USDT"].stop
        if method == "atr":
            assert stop == pytest.approx(105.0 - 3.0 * atr)  # from the last close
        else:
            assert stop == pytest.approx(105.0 * 1.01 - 3.0 * atr)  # from the 3-bar high
        assert stop > 90.0


def test_reversal_closes_early_only_when_enabled() -> None:
    bars = [
        _bar("XRP/USDT", 1000, 1.00, 1.015, 0.995, 1.01),
        _bar("XRP/USDT", 2000, 1.01, 1.025, 1.005, 1.02),
        _bar("XRP/USDT", 3000, 1.02, 1.035, 1.015, 1.03),
        _bar("XRP/USDT", 4000, 1.03, 1.032, 0.985, 0.99),
    ]
    for enabled in (False, True):
        mon, state = _monitor(
            close_on_reversal=enabled,
            atr_period=2,
            reversal_lookback=3,
            reversal_body_atr=1.0,
            take_profit_r=None,
            break_even_r=None,
        )
        mon.track("XRP/USDT", "s", 100.0, 1.0, stop=0.90)
        found = []
        for bar in bars:
            state.on_bar(bar)
            found += mon.on_bar(bar)
        if enabled:
            (signal,) = found
            assert signal.intent.intent is IntentKind.EXIT
            assert signal.reason.startswith("reversal:")
        else:
            assert found == []


def test_a_stop_on_the_wrong_side_is_refused() -> None:
    mon, _ = _monitor()
    with pytest.raises(RiskError, match="wrong side"):
        mon.track("BTC/USDT", "s", 1.0, 100.0, stop=101.0)
    with pytest.raises(RiskError, match="non-zero"):
        mon.track("BTC/USDT", "s", 0.0, 100.0, stop=99.0)
    StopsConfig()  # the defaults build
