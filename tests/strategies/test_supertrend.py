"""supertrend_follow: entries only just after a turn up with momentum and volume; exits on a
turn down or the chandelier trail, each computed independently here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from mftbot.analysis.indicators import supertrend
from mftbot.analysis.registry import CandleArrays
from mftbot.data.candles import read_candles
from mftbot.strategies.supertrend import SuperTrend, SuperTrendConfig


@pytest.fixture(scope="module")
def real(data_dir: Path) -> CandleArrays:
    df = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-15m.feather").iloc[:5000]
    return CandleArrays.from_frame(df)


def test_exits_are_turns_down_or_the_chandelier_trail(real: CandleArrays) -> None:
    config = SuperTrendConfig(trail_period=10, trail_atr=2.0)
    signals = SuperTrend(config).populate(real)
    direction = supertrend(real.high, real.low, real.close, 10, 3.0).direction
    atr = talib.ATR(real.high, real.low, real.close, 10)
    highest = pd.Series(real.high).rolling(10).max().to_numpy()
    with np.errstate(invalid="ignore"):
        want = (direction < 0) | (real.close < highest - 2.0 * atr)
    warm = SuperTrend(config).warmup
    np.testing.assert_array_equal(signals.exit_long[warm:], want[warm:])
    trailed = want & (direction > 0)
    assert trailed[warm:].sum() > 20  # the trail, not only the flip, closes trades


def test_entries_come_within_entry_bars_of_a_turn_up(real: CandleArrays) -> None:
    config = SuperTrendConfig(entry_bars=3, momentum_min=0.1, volume_mult=1.2)
    signals = SuperTrend(config).populate(real)
    direction = supertrend(real.high, real.low, real.close, 10, 3.0).direction
    roc = talib.ROC(real.close, 10)
    volume_sma = talib.SMA(real.volume, 20)
    entries = np.flatnonzero(signals.entry_long)
    assert entries.size >= 10
    for t in entries.tolist():
        since_turn = 0
        while direction[t - since_turn - 1] > 0:
            since_turn += 1
        assert direction[t] > 0
        assert since_turn <= 3
        assert roc[t] > 0.1
        assert real.volume[t] >= 1.2 * volume_sma[t]
        assert not signals.exit_long[t]
    # A wider window only adds entries.
    wide = SuperTrend(config.model_copy(update={"entry_bars": 10})).populate(real)
    assert (wide.entry_long >= signals.entry_long).all()
    assert wide.entry_long.sum() > signals.entry_long.sum()


def test_turn_up_bar_with_filters_met_enters() -> None:
    n = 120
    close = np.concatenate((np.linspace(110.0, 100.0, 60), np.linspace(100.0, 112.0, 60)))
    volume = np.ones(n)
    volume[60:] = 2.0  # the rise is loud
    candles = CandleArrays.from_arrays(
        open=close,
        high=close + 0.3,
        low=close - 0.3,
        close=close,
        volume=volume,
        time_ns=np.arange(n, dtype=np.int64) * 60_000_000_000,
    )
    signals = SuperTrend().populate(candles)
    direction = supertrend(candles.high, candles.low, close, 10, 3.0).direction
    turn = int(np.flatnonzero((direction[1:] > 0) & (direction[:-1] < 0))[0]) + 1
    assert np.flatnonzero(signals.entry_long)[0] == turn
    quiet = SuperTrend(SuperTrendConfig(volume_mult=2.5)).populate(candles)
    assert not quiet.entry_long.any()
