"""momentum: the documented rules, bar by bar on real data, and a built scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import talib

from mftbot.analysis.registry import CandleArrays
from mftbot.data.candles import read_candles
from mftbot.strategies import StrategyConfigError, get_strategy
from mftbot.strategies.momentum import Momentum, MomentumConfig


def candles_from(close: np.ndarray, volume: np.ndarray) -> CandleArrays:
    n = close.shape[0]
    return CandleArrays.from_arrays(
        open=close,
        high=close * 1.001,
        low=close * 0.999,
        close=close,
        volume=volume,
        time_ns=np.arange(n, dtype=np.int64) * 300_000_000_000,
    )


def test_rules_hold_bar_by_bar_on_real_data(data_dir: Path) -> None:
    df = read_candles(data_dir / "candles_filimonov" / "ETH_USDT-5m.feather").iloc[:6000]
    candles = CandleArrays.from_frame(df)
    config = MomentumConfig(roc_entry=0.4, volume_mult=1.3, roc_exit=0.1)
    signals = Momentum(config).populate(candles)
    close, volume = candles.close, candles.volume
    rsi = talib.RSI(close, 14)
    warmup = Momentum(config).warmup
    for t in range(warmup, len(close)):
        roc = 100.0 * (close[t] / close[t - 12] - 1.0)
        loud = volume[t] >= 1.3 * volume[t - 19 : t + 1].mean()
        want = roc > 0.4 and 50.0 <= rsi[t] <= 75.0 and loud
        if abs(roc - 0.4) > 1e-9 and abs(volume[t] / volume[t - 19 : t + 1].mean() - 1.3) > 1e-9:
            assert signals.entry_long[t] == want, t
        if abs(roc + 0.1) > 1e-9:
            assert signals.exit_long[t] == (roc < -0.1), t
    assert 20 <= signals.entry_long.sum() < 600


def test_a_loud_surge_enters_and_a_quiet_one_does_not() -> None:
    n = 200
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 2e-4, n)))
    close[150:] = close[149] * np.exp(np.arange(1, 51) * 1e-3)  # +0.1 % a bar from bar 150
    close[175:] = close[174] * np.exp(-np.arange(1, 26) * 2e-3)  # then a fall
    quiet = np.ones(n)
    loud = quiet.copy()
    loud[160] = 3.0
    strategy = Momentum(MomentumConfig(rsi_max=100.0))
    signals = strategy.populate(candles_from(close, loud))
    assert np.flatnonzero(signals.entry_long).tolist() == [160]
    assert signals.confidence is not None
    assert 0.5 < signals.confidence[160] <= 1.0  # ROC well past 0.5 %, volume 2.8x its SMA
    assert not strategy.populate(candles_from(close, quiet)).entry_long.any()
    first_exit = np.flatnonzero(signals.exit_long[150:])[0] + 150
    assert 175 < first_exit < 190  # ROC turns negative some bars into the fall


def test_rsi_band_filters_overbought_surges() -> None:
    close = np.concatenate((np.full(30, 100.0), 100.0 * 1.004 ** np.arange(1, 31)))
    volume = np.ones(60)
    volume[50] = 5.0
    capped = Momentum(MomentumConfig(rsi_max=75.0)).populate(candles_from(close, volume))
    assert not capped.entry_long.any()  # RSI is ~100 after 20 straight rises
    free = Momentum(MomentumConfig(rsi_max=100.0)).populate(candles_from(close, volume))
    assert free.entry_long[50]


def test_rsi_band_must_be_ordered() -> None:
    with pytest.raises(StrategyConfigError, match="rsi_min"):
        get_strategy("momentum", {"rsi_min": 60.0, "rsi_max": 55.0})
