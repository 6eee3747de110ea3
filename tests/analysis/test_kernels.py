"""The numba kernels against plain Python, exact arithmetic and TA-Lib."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import talib

from mftbot.analysis.indicators import _kernels as kernels
from mftbot.analysis.registry import CandleArrays

NAN = float("nan")


def out(n: int) -> np.ndarray:
    """A garbage-filled buffer: kernels must write every element."""
    return np.full(n, 12345.0)


def ref_ema(x: np.ndarray, period: int) -> list[float]:
    out = [NAN] * len(x)
    if len(x) < period:
        return out
    prev = sum(x[:period]) / period
    out[period - 1] = prev
    alpha = 2 / (period + 1)
    for i in range(period, len(x)):
        prev = alpha * x[i] + (1 - alpha) * prev
        out[i] = prev
    return out


def test_kernels_match_plain_python_and_talib(btc: CandleArrays) -> None:
    h, lo, c, v = btc.high, btc.low, btc.close, btc.volume
    np.testing.assert_allclose(
        kernels.ema(c, 21, out(len(c))), ref_ema(c, 21), rtol=1e-12, equal_nan=True
    )
    np.testing.assert_allclose(
        kernels.ema(c, 21, out(len(c))), talib.EMA(c, 21), rtol=1e-13, equal_nan=True
    )
    np.testing.assert_allclose(
        kernels.wilder_atr(h, lo, c, 14, out(len(c))),
        talib.ATR(h, lo, c, 14),
        rtol=1e-12,
        equal_nan=True,
    )
    for window in (1, 2, 5, 37, 1000):
        want_sum = [NAN] * (window - 1) + [
            sum(v[i - window + 1 : i + 1]) for i in range(window - 1, len(v))
        ]
        np.testing.assert_allclose(
            kernels.rolling_sum(v, window, out(len(v))), want_sum, rtol=1e-11, equal_nan=True
        )
        want_max = [NAN] * (window - 1) + [
            max(h[i - window + 1 : i + 1]) for i in range(window - 1, len(h))
        ]
        want_min = [NAN] * (window - 1) + [
            min(lo[i - window + 1 : i + 1]) for i in range(window - 1, len(lo))
        ]
        np.testing.assert_array_equal(kernels.window_max(h, window), want_max)
        np.testing.assert_array_equal(kernels.window_min(lo, window), want_min)
        mid = kernels.rolling_midpoint(h, lo, window, out(len(h)))
        np.testing.assert_array_equal(mid, (np.array(want_max) + np.array(want_min)) / 2)


def test_rolling_var_matches_exact_two_pass(bars: CandleArrays) -> None:
    returns = np.diff(np.log(bars.close))
    for window in (2, 3, 20):
        got = kernels.rolling_var(returns, window, 1, out(len(returns)))
        want = [NAN] * (window - 1) + [
            statistics.variance(returns[i - window + 1 : i + 1].tolist())
            for i in range(window - 1, len(returns))
        ]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300, equal_nan=True)
    # Tiny spread around a large level: no cancellation.
    level = 1e6 + np.sin(np.arange(500.0)) * 1e-3
    np.testing.assert_allclose(
        kernels.rolling_var(level, 10, 0, out(500))[9:],
        [statistics.pvariance(level[i - 9 : i + 1].tolist()) for i in range(9, 500)],
        rtol=1e-6,
    )


def test_rolling_sum_of_an_all_zero_window_is_exactly_zero() -> None:
    x = np.concatenate((np.full(50, 0.1), np.zeros(30), [0.3, 0.7]))
    sums = kernels.rolling_sum(x, 7, out(len(x)))
    assert (sums[56:80] == 0.0).all()
    assert sums[81] == pytest.approx(1.0)


def test_short_input_and_window_edges() -> None:
    x = np.array([3.0, 1.0, 2.0])
    assert np.isnan(kernels.ema(x, 5, out(3))).all()
    assert np.isnan(kernels.wilder_atr(x, x, x, 3, out(3))).all()
    assert np.isnan(kernels.rolling_sum(x, 4, out(3))).all()
    assert np.isnan(kernels.window_max(x, 4)).all()
    np.testing.assert_array_equal(kernels.window_max(x, 1), x)
    np.testing.assert_array_equal(kernels.window_min(x, 3), [NAN, NAN, 1.0])
    np.testing.assert_array_equal(kernels.rolling_sum(x, 1, out(3)), x)


def _sequential_var(x: np.ndarray, window: int, ddof: int) -> list[float]:
    """The rolling variance one bar after another: two passes every ``window`` bars,
    Welford updates in between (the order of operations of the compiled blocks)."""
    got = [NAN] * min(window - 1, len(x))
    mean = m2 = 0.0
    for i in range(window - 1, len(x)):
        if (i - window + 1) % window == 0:
            part = x[i - window + 1 : i + 1].tolist()
            total = 0.0
            for value in part:
                total += value
            mean = total * (1.0 / window)
            m2 = 0.0
            for value in part:
                m2 += (value - mean) * (value - mean)
        else:
            old, new = float(x[i - window]), float(x[i])
            delta = old - mean
            less = mean - delta * (1.0 / (window - 1))
            m2 -= delta * (old - less)
            delta = new - less
            mean = less + delta * (1.0 / window)
            m2 += delta * (new - mean)
        got.append(max(m2, 0.0) * (1.0 / (window - ddof)))
    return got


@pytest.mark.parametrize("window", [2, 5, 24])
def test_rolling_var_blocks_equal_one_pass(window: int) -> None:
    # Lengths that end inside a group of four blocks, on its edge, and past it.
    x = np.diff(np.log(np.cumsum(np.random.default_rng(window).random(1_000)) + 100.0))
    for n in (window - 1, window, 4 * window, 4 * window + 1, 9 * window + 3, x.size):
        got = kernels.rolling_var(x[:n], window, 1, out(n))
        np.testing.assert_allclose(got, _sequential_var(x[:n], window, 1), rtol=1e-12)
        assert np.isnan(got[: window - 1]).all()
