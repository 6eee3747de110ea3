"""sar_wave: retracement depths against a brute-force reading of the swings, the entry rule,
and a built wave that enters only when the pullback is a Fibonacci one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import talib

from mftbot.analysis.levels import swing_points
from mftbot.analysis.registry import CandleArrays
from mftbot.data.candles import read_candles
from mftbot.strategies import StrategyConfigError, get_strategy
from mftbot.strategies.sar_wave import SarWave, SarWaveConfig, retracement_depth


def brute_pullback(high: np.ndarray, low: np.ndarray, bars: int) -> np.ndarray:
    """Per bar, from the swings confirmed by then: the last swing high, the last swing low
    before it, and the lowest low after it up to the bar."""
    swings = swing_points(high, low, left=bars, right=bars)
    out = np.full(high.shape[0], np.nan)
    for t in range(high.shape[0]):
        known = swings.bar + bars <= t
        tops = np.flatnonzero(known & (swings.kind > 0))
        if tops.size == 0:
            continue
        top = tops[-1]
        h_bar, h = swings.bar[top], swings.price[top]
        bottoms = np.flatnonzero((swings.kind < 0) & (swings.bar < h_bar))
        if bottoms.size == 0:
            continue
        base = swings.price[bottoms[-1]]
        if h > base:
            out[t] = (h - low[h_bar + 1 : t + 1].min()) / (h - base)
    return out


@pytest.fixture(scope="module")
def real(data_dir: Path) -> CandleArrays:
    df = read_candles(data_dir / "candles_xylotech" / "SOL_USDT-15m.feather").iloc[:3000]
    return CandleArrays.from_frame(df)


def test_depths_match_a_brute_force_reading_of_the_swings(real: CandleArrays) -> None:
    pullback, rally = retracement_depth(real.high, real.low, 5)
    np.testing.assert_allclose(pullback, brute_pullback(real.high, real.low, 5), rtol=1e-12)
    # The rally after a down-wave is the pullback of the mirrored series.
    np.testing.assert_allclose(rally, brute_pullback(-real.low, -real.high, 5), rtol=1e-12)
    assert np.nanmax(pullback) > 1.0  # a wave given back entirely is measured, not capped
    assert 0.2 < np.nanmedian(pullback) < 1.0


def test_entries_follow_the_rule_on_real_data(real: CandleArrays) -> None:
    config = SarWaveConfig()
    signals = SarWave(config).populate(real)
    psar = talib.SAR(real.high, real.low, 0.02, 0.2)
    adx = talib.ADX(real.high, real.low, real.close, 14)
    pullback, _ = retracement_depth(real.high, real.low, 5)
    up = real.close > psar
    entries = np.flatnonzero(signals.entry_long)
    assert entries.size >= 3
    for t in entries.tolist():
        assert up[t]
        assert not up[t - 1]
        assert 0.382 <= pullback[t] <= 0.618
        assert adx[t] >= 20.0
    turns = np.flatnonzero(up[1:] & ~up[:-1]) + 1
    assert entries.size < turns.size / 3  # most SAR turns are not wave entries
    np.testing.assert_array_equal(signals.exit_long[30:], (real.close < psar)[30:])


def wave(pullback_to: float) -> CandleArrays:
    """A flat start, a rise from 100 to 110, a pullback to ``pullback_to``, a new rise."""
    legs = [
        np.full(40, 100.0),
        np.linspace(100.0, 110.0, 41)[1:],
        np.linspace(110.0, pullback_to, 16)[1:],
        np.linspace(pullback_to, pullback_to + 12.0, 41)[1:],
    ]
    close = np.concatenate(legs)
    n = close.shape[0]
    wiggle = 0.05 * np.sin(np.arange(n))  # keeps highs/lows from tying
    high, low = close + 0.2 + wiggle, close - 0.2 + wiggle
    return CandleArrays.from_arrays(
        open=np.concatenate(([close[0]], close[:-1])),
        high=np.maximum(high, np.concatenate(([close[0]], close[:-1]))),
        low=np.minimum(low, np.concatenate(([close[0]], close[:-1]))),
        close=close,
        volume=np.ones(n),
        time_ns=np.arange(n, dtype=np.int64) * 900_000_000_000,
    )


def test_a_golden_pullback_enters_when_the_sar_turns_up() -> None:
    strategy = SarWave(SarWaveConfig(adx_min=10.0))
    candles = wave(pullback_to=105.0)  # half the 10-point wave given back
    signals = strategy.populate(candles)
    entries = np.flatnonzero(signals.entry_long)
    assert entries.size == 1
    assert 95 <= entries[0] <= 110  # early in the second rise (it starts at bar 95)
    pullback, _ = retracement_depth(candles.high, candles.low, 5)
    assert 0.45 <= pullback[entries[0]] <= 0.6
    assert signals.confidence is not None
    assert 0.0 <= signals.confidence[entries[0]] <= 1.0


@pytest.mark.parametrize("pullback_to", [109.0, 101.0])
def test_shallow_or_deep_pullbacks_do_not_enter(pullback_to: float) -> None:
    strategy = SarWave(SarWaveConfig(adx_min=10.0))
    assert not strategy.populate(wave(pullback_to)).entry_long.any()


def test_parameters_must_be_ordered() -> None:
    with pytest.raises(StrategyConfigError, match="fib_min"):
        get_strategy("sar_wave", {"fib_min": 0.5, "fib_max": 0.5})
    with pytest.raises(StrategyConfigError, match="sar_step"):
        get_strategy("sar_wave", {"sar_step": 0.3, "sar_max": 0.2})
