"""The strategies' compiled fast paths give the reference (numpy) results bit for bit: the
candle strategies' one-pass rules against their numpy rules (the path a window that fails
the input checks takes), the interleaved rolling VWAP against the per-bar one, the swing
kernel against a sliding-window definition, and the small shared kernels against numpy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib
from numpy.lib.stride_tricks import sliding_window_view

from mftbot.analysis import book_metrics
from mftbot.analysis.levels import swing_points
from mftbot.analysis.registry import CandleArrays
from mftbot.data.candles import read_candles
from mftbot.strategies import get_strategy, momentum, supertrend, volume_profile, vwap
from mftbot.strategies._inputs import candles_ok, clip01, ta
from mftbot.strategies.base import Signals
from mftbot.strategies.book_base import window_sum


@pytest.fixture(scope="module")
def real(data_dir: Path) -> CandleArrays:
    df = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-1m.feather").iloc[:6000]
    return CandleArrays.from_frame(df)


def same(a: np.ndarray[Any, Any] | None, b: np.ndarray[Any, Any] | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def assert_same(fast: Signals, slow: Signals) -> None:
    for name in ("entry_long", "exit_long", "entry_short", "exit_short", "confidence"):
        assert same(getattr(fast, name), getattr(slow, name)), name


CASES = [
    (momentum, "momentum", {"short": True, "roc_entry": 0.1, "volume_mult": 0.8}),
    (supertrend, "supertrend_follow", {"short": True}),
    (volume_profile, "value_area", {"short": True}),
    (volume_profile, "value_area", {"bins": 12, "profile_window": 60, "node_atr": 0.3}),
    (vwap, "vwap_bands", {"short": True}),
    (vwap, "vwap_bands", {"short": True, "window": 60, "cross_band": 0.0}),
]


@pytest.mark.parametrize(("module", "name", "params"), CASES)
def test_compiled_rules_match_numpy_rules(
    real: CandleArrays, monkeypatch: pytest.MonkeyPatch, module: Any, name: str, params: Any
) -> None:
    strategy = get_strategy(name, params)
    fast = strategy.populate(real)
    assert fast.entry_long.sum() > 0 or (fast.entry_short is not None and fast.entry_short.any())
    monkeypatch.setattr(module, "candles_ok", lambda window: False)
    assert_same(fast, strategy.populate(real))


def test_candles_ok_refuses_bad_windows(real: CandleArrays) -> None:
    assert candles_ok(real)
    high = real.high.copy()
    high[10] = real.low[10] - 1.0
    bad = CandleArrays(real.open, high, real.low, real.close, real.volume, real.time_ns)
    assert not candles_ok(bad)
    volume = real.volume.copy()
    volume[3] = np.nan
    assert not candles_ok(
        CandleArrays(real.open, real.high, real.low, real.close, volume, real.time_ns)
    )


def test_rolling_vwap_kernel_matches_per_bar_kernel(real: CandleArrays) -> None:
    typical = (real.high + real.low + real.close) / 3.0
    volume = real.volume.copy()
    volume[100:140] = 0.0  # an anchor with idle bars, and one with none traded
    for bars in (2, 7, 240):
        index = np.arange(len(real), dtype=np.int64)
        start = np.maximum(index - (bars - 1), 0)
        mean, sigma, count = vwap._anchored(typical, volume, start)
        ready = index >= bars - 1
        mean[~ready] = np.nan
        sigma[~ready] = np.nan
        got = vwap._rolling_anchored(typical, volume, bars)
        for a, b in zip(got, (mean, sigma, count), strict=True):
            assert same(a, b)


def test_swing_points_match_sliding_window_definition(real: CandleArrays) -> None:
    h, lo = real.high[:3000], real.low[:3000]
    for left, right in ((5, 5), (2, 7), (1, 1)):
        width = left + right + 1
        hw, lw = sliding_window_view(h, width), sliding_window_view(lo, width)
        hc, lc = hw[:, left], lw[:, left]
        tops = (hc > hw[:, :left].max(axis=1)) & (hc >= hw[:, left + 1 :].max(axis=1))
        bottoms = (lc < lw[:, :left].min(axis=1)) & (lc <= lw[:, left + 1 :].min(axis=1))
        swings = swing_points(h, lo, left=left, right=right)
        assert set(swings.bar[swings.kind > 0]) == set(np.flatnonzero(tops) + left)
        assert set(swings.bar[swings.kind < 0]) == set(np.flatnonzero(bottoms) + left)
        order = swings.bar * 2 + (swings.kind < 0)
        assert (np.diff(order) > 0).all()  # by bar, a high before a low on one bar
        assert (swings.confirmed == swings.bar + right).all()
        assert (swings.price == np.where(swings.kind > 0, h[swings.bar], lo[swings.bar])).all()


def test_window_sum_matches_numpy_sums() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(400) * 10.0 ** rng.uniform(-5, 5, 400)
    x[50] = np.nan
    for window in (1, 3, 30):
        want = np.full(x.size, np.nan)
        want[window - 1 :] = sliding_window_view(x, window)[:, 0].copy()
        for j in range(1, window):  # oldest first, as the numpy definition adds them
            want[window - 1 :] += sliding_window_view(x, window)[:, j]
        assert same(window_sum(x, window), want)
        assert same(book_metrics.window_sum(x, window), want)


def test_direct_talib_functions_are_talibs() -> None:
    rng = np.random.default_rng(5)
    close = 100.0 + np.cumsum(rng.standard_normal(300))
    high, low = close + rng.random(300), close - rng.random(300)
    for name in ("ADX", "ATR", "MAX", "MIN", "ROC", "RSI", "SAR", "SMA"):
        function = getattr(ta, name)
        assert function is getattr(talib, name).__wrapped__
        args = {"ADX": (high, low, close, 14), "ATR": (high, low, close, 14)}
        args["SAR"] = (high, low, 0.02, 0.2)
        got = function(*args.get(name, (close, 12)))
        assert same(got, getattr(talib, name)(*args.get(name, (close, 12))))


def test_clip01_and_block_sum_match_numpy() -> None:
    for x in (-0.0, -1.0, 0.25, 1.0, 7.0, np.inf, -np.inf):
        assert same(np.asarray(clip01(x)), np.clip(np.asarray(x), 0.0, 1.0))
    assert np.isnan(clip01(np.nan))
    rng = np.random.default_rng(4)
    for n in range(1, volume_profile._PAIRWISE_BLOCK + 1):
        hist = rng.random(n) * rng.choice([1e-3, 1.0, 1e6], size=n)
        assert volume_profile._block_sum(hist) / n == hist.mean()
