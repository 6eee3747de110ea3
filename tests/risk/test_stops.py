"""SL/TP calculator, trailing stops and the reversal detector."""

from __future__ import annotations

import math

import pytest

from mftbot.domain.enums import Side
from mftbot.risk.config import StopsConfig
from mftbot.risk.results import RiskError
from mftbot.risk.stops import (
    ReversalDetector,
    StopCalculator,
    atr_stop,
    atr_trail,
    break_even,
    chandelier_trail,
    fixed_pct_stop,
    level_stop,
    level_target,
    percent_trail,
    r_multiple_target,
    tighten,
)


def test_basic_stops_and_targets() -> None:
    assert atr_stop(Side.BUY, 100.0, 2.0, 2.0) == 96.0
    assert atr_stop(Side.SELL, 100.0, 2.0, 2.0) == 104.0
    assert fixed_pct_stop(Side.BUY, 200.0, 0.02) == pytest.approx(196.0)
    assert fixed_pct_stop(Side.SELL, 200.0, 0.02) == pytest.approx(204.0)
    assert r_multiple_target(Side.BUY, 100.0, 96.0, 2.0) == 108.0
    assert r_multiple_target(Side.SELL, 100.0, 104.0, 1.5) == 94.0
    levels = [90.0, 97.0, 103.0, 110.0]
    assert level_stop(Side.BUY, 100.0, levels, 0.01) == pytest.approx(96.03)
    assert level_stop(Side.SELL, 100.0, levels, 0.01) == pytest.approx(104.03)
    assert level_target(Side.BUY, 100.0, levels) == 103.0
    assert level_target(Side.SELL, 100.0, levels) == 97.0
    assert level_stop(Side.BUY, 80.0, levels, 0.0) is None
    with pytest.raises(RiskError, match="not a price"):
        atr_stop(Side.BUY, 10.0, 6.0, 2.0)


def test_calculator_methods_and_fallbacks() -> None:
    atr_calc = StopCalculator(StopsConfig())
    lv = atr_calc.levels(Side.BUY, 100.0, atr=1.5)
    assert (lv.stop, lv.take_profit, lv.method) == (97.0, 106.0, "atr")
    no_atr = atr_calc.levels(Side.BUY, 100.0)
    assert (no_atr.stop, no_atr.method) == (pytest.approx(98.0), "fixed_pct")
    sr = StopCalculator(StopsConfig(method="support_resistance", sr_buffer=0.0))
    found = sr.levels(Side.BUY, 100.0, atr=1.0, levels=[95.0, 104.0])
    assert found.method == "support_resistance"
    assert found.stop == 95.0
    assert found.take_profit == 104.0  # the level comes before 2 R (110)
    none = sr.levels(Side.BUY, 100.0, atr=1.0, levels=[120.0])
    assert (none.method, none.stop) == ("atr", 98.0)
    pct = StopCalculator(StopsConfig(method="fixed_pct", fixed_pct=0.05, take_profit_r=None))
    short = pct.levels(Side.SELL, 100.0, atr=1.0)
    assert short.stop == pytest.approx(105.0)
    assert short.take_profit is None


def test_trailing_stops_only_tighten() -> None:
    assert tighten(Side.BUY, 95.0, 97.0) == 97.0
    assert tighten(Side.BUY, 95.0, 93.0) == 95.0
    assert tighten(Side.SELL, 105.0, 103.0) == 103.0
    assert tighten(Side.SELL, 105.0, math.nan) == 105.0
    assert percent_trail(Side.BUY, 120.0, 0.05) == pytest.approx(114.0)
    assert percent_trail(Side.SELL, 80.0, 0.05) == pytest.approx(84.0)
    assert atr_trail(Side.BUY, 110.0, 2.0, 3.0) == 104.0
    assert math.isnan(atr_trail(Side.BUY, 110.0, math.nan, 3.0))
    assert chandelier_trail(Side.BUY, [101.0, 108.0, 104.0], [99.0, 100.0, 98.0], 1.0, 3.0) == 105.0
    assert chandelier_trail(Side.SELL, [101.0, 108.0], [99.0, 97.0], 1.0, 3.0) == 100.0


def test_break_even_after_r_multiple() -> None:
    assert break_even(Side.BUY, 100.0, 96.0, 103.0, 4.0, 1.0) == 96.0
    assert break_even(Side.BUY, 100.0, 96.0, 104.0, 4.0, 1.0) == 100.0
    assert break_even(Side.SELL, 100.0, 104.0, 95.0, 4.0, 1.0) == 100.0
    assert break_even(Side.BUY, 100.0, 101.0, 110.0, 4.0, 1.0) == 101.0  # never loosens


def test_reversal_detector() -> None:
    det = ReversalDetector(lookback=3, body_atr=1.0)
    opens = [100.0, 101.0, 102.0, 103.0]
    highs = [101.5, 102.5, 103.5, 103.2]
    lows = [99.5, 100.5, 101.5, 98.5]
    closes = [101.0, 102.0, 103.0, 99.0]
    why = det.detect(Side.BUY, opens, highs, lows, closes, atr=2.0)
    assert why is not None
    assert "close 99 below the 3-bar low 99.5" in why
    assert det.detect(Side.BUY, opens, highs, lows, closes, atr=5.0) is None  # body too small
    assert det.detect(Side.SELL, opens, highs, lows, closes, atr=2.0) is None
    up = det.detect(
        Side.SELL,
        [100.0, 99.0, 98.0, 97.0],
        [100.5, 99.5, 98.5, 101.5],
        [99.0, 98.0, 97.0, 96.5],
        [99.0, 98.0, 97.0, 101.0],
        atr=2.0,
    )
    assert up is not None
    assert "above the 3-bar high 100.5" in up
