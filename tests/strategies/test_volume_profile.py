"""value_area: levels from the profile of the bars before each bar, the crossing rules, and
the high-volume-node filter, checked against the indicator functions directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import talib

from mftbot.analysis.indicators import rolling_volume_profile, volume_profile
from mftbot.analysis.registry import CandleArrays
from mftbot.data.candles import read_candles
from mftbot.strategies.volume_profile import ValueArea, ValueAreaConfig

WINDOW = 120


@pytest.fixture(scope="module")
def real(data_dir: Path) -> CandleArrays:
    df = read_candles(data_dir / "candles_xylotech" / "LINK_USDT-15m.feather").iloc[:5000]
    return CandleArrays.from_frame(df)


def test_levels_are_the_profile_of_the_bars_before(real: CandleArrays) -> None:
    """The rolling profile at t − 1, which the strategy reads at t, is the profile of bars
    t − WINDOW .. t − 1 alone."""
    full = rolling_volume_profile(real.high, real.low, real.volume, window=WINDOW)
    for t in range(WINDOW, 5000, 97):
        span = slice(t - WINDOW, t)
        alone = rolling_volume_profile(
            real.high[span], real.low[span], real.volume[span], window=WINDOW
        )
        got = (full.poc[t - 1], full.vah[t - 1], full.val[t - 1])
        assert got == (alone.poc[-1], alone.vah[-1], alone.val[-1]), t


def test_entries_and_exits_follow_the_crossing_rules(real: CandleArrays) -> None:
    config = ValueAreaConfig(profile_window=WINDOW, node_atr=0.0)
    strategy = ValueArea(config)
    signals = strategy.populate(real)
    close, volume = real.close, real.volume
    prof = rolling_volume_profile(real.high, real.low, volume, window=WINDOW)
    atr = talib.ATR(real.high, real.low, close, 14)
    volume_sma = talib.SMA(volume, 20)
    kinds = {"reversion": 0, "breakout": 0}
    for t in range(strategy.warmup, len(close)):
        poc, vah, val = prof.poc[t - 1], prof.vah[t - 1], prof.val[t - 1]  # bars before t
        poc0, vah0, val0 = prof.poc[t - 2], prof.vah[t - 2], prof.val[t - 2]
        reversion = close[t] >= val and close[t - 1] < val0 and close[t] < poc
        breakout = close[t] >= vah and close[t - 1] < vah0 and volume[t] >= 1.5 * volume_sma[t]
        floor, floor0 = val - 0.5 * atr[t], val0 - 0.5 * atr[t - 1]
        crosses_poc = (close[t] >= poc) != (close[t - 1] >= poc0)
        broke_down = close[t] < floor and close[t - 1] >= floor0
        exit_ = crosses_poc or broke_down
        assert signals.exit_long[t] == exit_, t
        assert signals.entry_long[t] == ((reversion or breakout) and not exit_), t
        kinds["reversion"] += reversion and not exit_
        kinds["breakout"] += breakout and not exit_
    assert kinds["reversion"] >= 10
    assert kinds["breakout"] >= 10
    assert not signals.flags()[: strategy.warmup].any()


def test_a_high_volume_node_overhead_blocks_the_entry(real: CandleArrays) -> None:
    free = ValueArea(ValueAreaConfig(profile_window=WINDOW, node_atr=0.0)).populate(real)
    strategy = ValueArea(ValueAreaConfig(profile_window=WINDOW, node_atr=1.5))
    filtered = strategy.populate(real)
    assert (free.entry_long >= filtered.entry_long).all()
    blocked = np.flatnonzero(free.entry_long & ~filtered.entry_long)
    kept = np.flatnonzero(filtered.entry_long)
    assert blocked.size >= 5
    assert kept.size >= 5
    atr = talib.ATR(real.high, real.low, real.close, 14)
    for t, should_block in [(t, True) for t in blocked] + [(t, False) for t in kept]:
        prof = volume_profile(
            real.high[t - WINDOW : t], real.low[t - WINDOW : t], real.volume[t - WINDOW : t]
        )
        above = prof.hvn[prof.hvn > real.close[t]]
        near = above.size > 0 and above.min() - real.close[t] < 1.5 * atr[t]
        assert near == should_block, t
    np.testing.assert_array_equal(free.exit_long, filtered.exit_long)
