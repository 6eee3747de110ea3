"""Size multipliers: each band, each reason."""

from __future__ import annotations

import pytest

from mftbot.risk import adapters
from mftbot.risk.config import AdaptersConfig
from mftbot.risk.limits import TradingState
from mftbot.risk.results import RiskError

SECOND = 1_000_000_000
MONDAY_NOON = 1_774_267_200_000_000_000
SUNDAY_NOON = MONDAY_NOON - 24 * 3600 * SECOND


def test_volatility_bands_and_halt_above_the_top() -> None:
    cfg = AdaptersConfig()
    assert adapters.volatility_factor(0.5, 100.0, cfg).value == 1.0
    mid = adapters.volatility_factor(1.5, 100.0, cfg)
    assert mid.value == 0.75
    assert mid.reason == "ATR 1.50 % ≤ 2.00 % → ×0.75"
    assert adapters.volatility_factor(3.0, 100.0, cfg).value == 0.5
    halt = adapters.volatility_factor(4.5, 100.0, cfg)
    assert halt.value == 0.0
    assert halt.reason == "ATR 4.50 % above the top band 4.00 %: halt"
    assert adapters.volatility_factor(float("nan"), 100.0, cfg).value == 1.0


def test_drawdown_bands() -> None:
    cfg = AdaptersConfig()
    assert adapters.drawdown_factor(0.02, cfg).value == 1.0
    assert adapters.drawdown_factor(0.07, cfg).value == 0.5
    deep = adapters.drawdown_factor(0.12, cfg)
    assert deep.value == 0.25
    assert deep.reason == "drawdown 12.00 % > 10.00 % → ×0.25"
    with pytest.raises(RiskError):
        adapters.drawdown_factor(-0.1, cfg)


def test_equity_curve_below_its_mean() -> None:
    cfg = AdaptersConfig(equity_ma_points=4)
    assert adapters.equity_curve_factor([100.0, 101.0], cfg).value == 1.0
    assert adapters.equity_curve_factor([100.0, 101.0, 102.0, 103.0], cfg).value == 1.0
    below = adapters.equity_curve_factor([100.0, 104.0, 103.0, 99.0], cfg)
    assert below.value == 0.5
    assert below.reason == "equity 99.00 below its 4-point mean 101.50 → ×0.5"


def test_weekend_and_overnight_gap_protection() -> None:
    cfg = AdaptersConfig(overnight_hours_utc=(12,), overnight_factor=0.6)
    assert adapters.weekend_factor(MONDAY_NOON, cfg).value == 1.0
    assert adapters.weekend_factor(SUNDAY_NOON, cfg).value == 0.5
    night = adapters.overnight_factor(MONDAY_NOON, cfg)
    assert night.value == 0.6
    assert night.reason == "12:00 UTC is overnight → ×0.6"
    assert adapters.overnight_factor(MONDAY_NOON + 3600 * SECOND, cfg).value == 1.0


def test_confidence_and_timeframe_agreement() -> None:
    cfg = AdaptersConfig(min_confidence=0.4, mtf_min_agreement=0.5)
    assert adapters.confidence_factor(0.8, cfg).value == 0.8
    low = adapters.confidence_factor(0.3, cfg)
    assert (low.value, low.reason) == (0.0, "confidence 0.3 < minimum 0.4")
    assert adapters.mtf_factor(0.75, cfg).value == 0.75
    assert adapters.mtf_factor(0.25, cfg).reason == "timeframe agreement 25.00 % < 50.00 %"
    with pytest.raises(RiskError, match="confidence must be in"):
        adapters.confidence_factor(1.5, cfg)


def test_trading_state_factor() -> None:
    assert adapters.state_factor(TradingState.NORMAL, 0.5).value == 1.0
    assert adapters.state_factor(TradingState.REDUCING, 0.5).value == 0.5
    assert adapters.state_factor(TradingState.HALTED, 0.5).value == 0.0
