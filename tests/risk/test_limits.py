"""The loss-limit state machine: NORMAL → REDUCING → HALTED, resets and auto resume."""

from __future__ import annotations

import pytest

from mftbot.risk.config import LimitsConfig
from mftbot.risk.limits import HaltKind, LossLimits, TradingState
from mftbot.risk.results import RiskError

HOUR = 3600 * 1_000_000_000
DAY = 24 * HOUR
T = 1_774_267_200_000_000_000  # Monday 12:00 UTC


def test_daily_loss_reduces_then_halts_and_stays_halted() -> None:
    limits = LossLimits(LimitsConfig())
    assert limits.on_equity(T, 10_000.0) is TradingState.NORMAL
    assert limits.on_equity(T + 1, 9_840.0) is TradingState.REDUCING  # 1.6 % ≥ half of 3 %
    assert limits.reason == "daily loss 1.60 % ≥ 1.50 %"
    assert limits.size_factor == 0.5
    assert limits.on_equity(T + 2, 9_900.0) is TradingState.NORMAL
    assert limits.on_equity(T + 3, 9_700.0) is TradingState.HALTED
    assert limits.halt_kind is HaltKind.DAILY_LOSS
    assert limits.reason == "daily loss 3.00 % (300.00 of 10,000.00) ≥ limit 3.00 %"
    assert limits.on_equity(T + 4, 10_500.0) is TradingState.HALTED
    assert limits.on_equity(T + DAY, 10_500.0) is TradingState.HALTED  # manual reset needed
    assert limits.size_factor == 0.0
    assert [c.after for c in limits.changes] == [
        TradingState.REDUCING,
        TradingState.NORMAL,
        TradingState.HALTED,
    ]


def test_absolute_daily_loss() -> None:
    limits = LossLimits(LimitsConfig(daily_loss_abs=200.0, daily_loss_limit=0.5))
    limits.on_equity(T, 10_000.0)
    assert limits.on_equity(T + 1, 9_890.0) is TradingState.REDUCING
    assert limits.on_equity(T + 2, 9_800.0) is TradingState.HALTED
    assert limits.reason == "daily loss 200.00 ≥ limit 200.00"


def test_the_day_starts_at_the_configured_time() -> None:
    limits = LossLimits(LimitsConfig(daily_reset_utc="13:00"))
    limits.on_equity(T, 10_000.0)  # 12:00: day started at 13:00 yesterday
    limits.on_equity(T + HOUR - 1, 9_800.0)  # 12:59: 2 % down, reducing
    assert limits.state is TradingState.REDUCING
    limits.on_equity(T + HOUR, 9_800.0)  # 13:00: a new day starts at 9,800
    assert limits.state is TradingState.NORMAL
    assert limits.status().day_start_equity == 9_800.0
    assert limits.on_equity(T + HOUR + 1, 9_520.0) is TradingState.REDUCING  # 2.86 %
    assert limits.on_equity(T + HOUR + 2, 9_506.0) is TradingState.HALTED  # 3.0 %


def test_consecutive_losses() -> None:
    limits = LossLimits(LimitsConfig(max_consecutive_losses=4, reduce_after_losses=2))
    limits.on_equity(T, 10_000.0)
    limits.on_trade(T, -1.0)
    assert limits.state is TradingState.NORMAL
    limits.on_trade(T, -1.0)
    assert limits.state is TradingState.REDUCING
    limits.on_trade(T, 0.0)  # flat: the streak stays
    assert limits.consecutive_losses == 2
    limits.on_trade(T, 3.0)  # a win resets it
    assert limits.state is TradingState.NORMAL
    for _ in range(4):
        limits.on_trade(T, -1.0)
    assert limits.state is TradingState.HALTED
    assert limits.reason == "4 consecutive losses ≥ limit 4"
    assert limits.halt_kind is HaltKind.LOSS_STREAK


def test_drawdown_from_the_peak() -> None:
    limits = LossLimits(LimitsConfig(daily_loss_limit=0.5))
    limits.on_equity(T, 10_000.0)
    limits.on_equity(T + DAY, 12_000.0)
    limits.on_equity(T + 2 * DAY, 11_000.0)
    assert limits.state is TradingState.REDUCING  # 8.3 % ≥ 7.5 %
    limits.on_equity(T + 3 * DAY, 10_200.0)
    assert limits.state is TradingState.HALTED
    assert limits.reason == "drawdown 15.00 % from peak 12,000.00 ≥ limit 15.00 %"


def test_reset_rebases_day_and_peak() -> None:
    limits = LossLimits(LimitsConfig())
    limits.on_equity(T, 10_000.0)
    limits.on_equity(T + 1, 9_600.0)
    assert limits.state is TradingState.HALTED
    limits.reset(T + 2)
    assert limits.state is TradingState.NORMAL
    status = limits.status()
    assert status.peak_equity == status.day_start_equity == 9_600.0
    assert status.drawdown == 0.0
    assert limits.on_equity(T + 3, 9_500.0) is TradingState.NORMAL
    assert limits.changes[-1].reason == "manual reset"


def test_auto_resume_clears_daily_halts_at_the_next_day_only() -> None:
    limits = LossLimits(LimitsConfig(auto_resume=True))
    limits.on_equity(T, 10_000.0)
    limits.on_equity(T + 1, 9_650.0)
    assert limits.state is TradingState.HALTED
    assert limits.on_equity(T + HOUR, 9_700.0) is TradingState.HALTED
    assert limits.on_equity(T + DAY, 9_700.0) is TradingState.NORMAL
    assert limits.changes[-1].reason == "new trading day (auto resume)"
    dd = LossLimits(LimitsConfig(auto_resume=True, daily_loss_limit=0.5))
    dd.on_equity(T, 10_000.0)
    dd.on_equity(T + DAY, 8_400.0)
    assert dd.halt_kind is HaltKind.DRAWDOWN
    dd.on_equity(T + 2 * DAY, 8_400.0)
    assert dd.state is TradingState.HALTED  # drawdown halts never auto-resume


def test_bad_inputs_are_refused() -> None:
    limits = LossLimits(LimitsConfig())
    with pytest.raises(RiskError, match="equity must be finite"):
        limits.on_equity(T, float("nan"))
    with pytest.raises(RiskError, match="pnl must be finite"):
        limits.on_trade(T, float("inf"))
