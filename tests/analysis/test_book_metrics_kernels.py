"""The compiled rolling sums of :mod:`mftbot.analysis.book_metrics` and the compiled
:func:`~mftbot.analysis.orderflow.cvd_divergence` give their numpy definitions bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mftbot.analysis.book_metrics import BPS, rolling_sum, window_sum
from mftbot.analysis.orderflow import cvd_divergence

Array = np.ndarray[Any, Any]


def numpy_window_sum(x: Array, window: int) -> Array:
    """Every row's sum advanced one lag at a time with numpy adds, oldest first."""
    out = np.full(x.size, np.nan)
    if x.size >= window:
        m = x.size - window + 1
        acc = x[:m].copy()
        for j in range(1, window):
            acc += x[j : j + m]
        out[window - 1 :] = acc
    return out


def numpy_divergence(
    p: Array, b: Array, s: Array, window: int, move_bps: float, flow: float
) -> Array:
    """The divergence rule as whole-array numpy expressions."""
    out = np.full(p.size, np.nan)
    if p.size <= window:
        return out
    sb = numpy_window_sum(b, window)[window:]
    ss = numpy_window_sum(s, window)[window:]
    total = sb + ss
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (sb - ss) / total
        move = (p[window:] / p[:-window] - 1.0) * BPS
    verdict = np.where(
        (move <= -move_bps) & (f >= flow),
        1.0,
        np.where((move >= move_bps) & (f <= -flow), -1.0, 0.0),
    )
    out[window:] = np.where((total > 0) & np.isfinite(move), verdict, np.nan)
    return out


def same(a: Array, b: Array) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def magnitudes(rng: np.random.Generator, n: int) -> Array:
    """Values over ten orders of magnitude, so that the order of the adds shows."""
    return np.asarray(rng.standard_normal(n) * 10.0 ** rng.uniform(-5, 5, n))


@pytest.mark.parametrize("n", [0, 1, 4, 31, 500])
@pytest.mark.parametrize("window", [1, 2, 3, 30, 240])
def test_window_sum_is_the_numpy_sum(n: int, window: int) -> None:
    rng = np.random.default_rng(n * 1000 + window)
    x = magnitudes(rng, n)
    if n > 3:
        x[n // 2] = np.nan
    assert same(window_sum(x, window), numpy_window_sum(x, window))
    assert same(rolling_sum(x, window), numpy_window_sum(x, window))
    strided = magnitudes(rng, 2 * n)[::2]  # not contiguous
    assert same(window_sum(strided, window), numpy_window_sum(strided, window))


def test_window_sum_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        window_sum(np.ones(5), 0)
    with pytest.raises(ValueError, match="expected a 1-D array"):
        window_sum(np.ones((2, 2)), 1)
    assert same(window_sum([1, 2, 3], 2), np.array([np.nan, 3.0, 5.0]))


@pytest.mark.parametrize("window", [1, 3, 10, 60])
def test_cvd_divergence_is_the_numpy_rule(window: int) -> None:
    rng = np.random.default_rng(window)
    n = 600
    price = 100.0 * np.exp(np.cumsum(rng.standard_normal(n) * 5e-4))
    buy = rng.exponential(1.0, n) * (rng.random(n) > 0.3)  # zeros: windows with no trades
    sell = rng.exponential(1.0, n) * (rng.random(n) > 0.3)
    price[[40, 41]] = np.nan
    buy[200] = np.nan
    for move_bps, flow in ((0.5, 0.05), (2.0, 0.2), (5.0, 1.0)):
        got = cvd_divergence(price, buy, sell, window, min_move_bps=move_bps, min_flow=flow)
        want = numpy_divergence(price, buy, sell, window, move_bps, flow)
        assert same(got, want)
        assert set(np.unique(got[~np.isnan(got)])) <= {-1.0, 0.0, 1.0}
    fired = cvd_divergence(price, buy, sell, window, min_move_bps=0.5, min_flow=0.05)
    assert (fired == 1.0).any()
    assert (fired == -1.0).any()


def test_cvd_divergence_short_series_is_nan() -> None:
    out = cvd_divergence(np.ones(3), np.ones(3), np.ones(3), 3)
    assert out.shape == (3,)
    assert np.isnan(out).all()
