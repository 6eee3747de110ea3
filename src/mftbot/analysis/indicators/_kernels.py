"""Sequential building blocks compiled with numba, shared by the hand-written indicators.

Every kernel takes finite float64 arrays (the callers validate) and fills ``out``, an array
of the same length, with NaN during its warm-up; it returns ``out``. Each value depends only
on inputs up to its index, so a kernel gives the same values on any prefix of its input.

Kernels never allocate large arrays: callers pass numpy-allocated buffers (:func:`empty`).
numpy asks for transparent huge pages on large arrays and numba's allocator does not; on a
million bars the page faults of fresh numba arrays measured costlier than the arithmetic
(``benchmarks/bench_indicators.py``). Hot loops avoid integer division (countdowns instead
of ``%``) and data-dependent branches where a select does.
"""

from __future__ import annotations

import numpy as np

from mftbot.analysis.indicators._jit import jit
from mftbot.analysis.indicators._validate import FloatArray


def empty(n: int) -> FloatArray:
    """An uninitialised float64 buffer for a kernel's output (numpy-allocated)."""
    return np.empty(n)


@jit
def ema(x: FloatArray, period: int, out: FloatArray) -> FloatArray:
    """Exponential moving average, alpha = 2 / (period + 1), seeded with the SMA of the first
    ``period`` values (TA-Lib's convention); first value at index ``period - 1``."""
    n = x.size
    out[: min(period - 1, n)] = np.nan
    if n < period:
        return out
    total = 0.0
    for i in range(period):
        total += x[i]
    prev = total / period
    out[period - 1] = prev
    k = 2.0 / (period + 1)
    for i in range(period, n):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


@jit
def true_range(high: float, low: float, prev_close: float) -> float:
    """max(high − low, |high − previous close|, |low − previous close|)."""
    tr = high - low
    up = abs(high - prev_close)
    down = abs(low - prev_close)
    tr = up if up > tr else tr
    return down if down > tr else tr


@jit
def wilder_atr(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, out: FloatArray
) -> FloatArray:
    """Wilder's average true range as TA-Lib defines it: true ranges from bar 1, the first
    value (their mean) at index ``period``, then ``atr = (atr · (period − 1) + tr) / period``
    (the division done as a multiplication by 1/period)."""
    n = close.size
    out[: min(period, n)] = np.nan
    if n <= period:
        return out
    total = 0.0
    for i in range(1, period + 1):
        total += true_range(high[i], low[i], close[i - 1])
    prev = total / period
    out[period] = prev
    keep = float(period - 1)
    inv = 1.0 / period
    for i in range(period + 1, n):
        prev = (prev * keep + true_range(high[i], low[i], close[i - 1])) * inv
        out[i] = prev
    return out


@jit
def rolling_sum(x: FloatArray, window: int, out: FloatArray) -> FloatArray:
    """Sum of the last ``window`` values, first at index ``window - 1``.

    Updated incrementally and recomputed exactly every ``window`` bars, so rounding drift
    stays bounded; a window holding only zeros sums to exactly 0.
    """
    n = x.size
    out[: min(window - 1, n)] = np.nan
    if n < window:
        return out
    total = 0.0
    nonzero = 0
    for i in range(window):
        total += x[i]
        nonzero += int(x[i] != 0.0)
    out[window - 1] = total if nonzero else 0.0
    countdown = window
    for i in range(window, n):
        old = x[i - window]
        new = x[i]
        nonzero += int(new != 0.0) - int(old != 0.0)
        countdown -= 1
        if countdown == 0:
            countdown = window
            total = 0.0
            for j in range(i - window + 1, i + 1):
                total += x[j]
        else:
            total += new - old
        out[i] = total if nonzero else 0.0
    return out


@jit
def rolling_var(x: FloatArray, window: int, ddof: int, out: FloatArray) -> FloatArray:
    """Variance of the last ``window`` values (``window >= 2``), first at ``window - 1``.

    Welford updates on deviations from the running mean (one removal, one addition per bar),
    recomputed exactly by two passes every ``window`` bars: accurate even when the variance
    is tiny next to the mean.
    """
    n = x.size
    out[: min(window - 1, n)] = np.nan
    if n < window:
        return out
    inv_w = 1.0 / window
    inv_w1 = 1.0 / (window - 1)
    inv_dof = 1.0 / (window - ddof)
    mean = 0.0
    m2 = 0.0
    countdown = 1
    for i in range(window - 1, n):
        countdown -= 1
        if countdown == 0:
            countdown = window
            total = 0.0
            for j in range(i - window + 1, i + 1):
                total += x[j]
            mean = total * inv_w
            m2 = 0.0
            for j in range(i - window + 1, i + 1):
                d = x[j] - mean
                m2 += d * d
        else:
            old = x[i - window]
            delta = old - mean
            mean_less = mean - delta * inv_w1
            m2 -= delta * (old - mean_less)
            new = x[i]
            delta = new - mean_less
            mean = mean_less + delta * inv_w
            m2 += delta * (new - mean)
        out[i] = (m2 if m2 > 0.0 else 0.0) * inv_dof
    return out


@jit
def rolling_quadratic_mean(
    a: FloatArray, b: FloatArray, wa: float, wb: float, window: int, out: FloatArray
) -> FloatArray:
    """max(0, mean over the last ``window`` bars of ``wa·a² + wb·b²``).

    Running sum recomputed exactly every ``window`` bars; a window of zero terms gives 0.
    """
    n = a.size
    out[: min(window - 1, n)] = np.nan
    if n < window:
        return out
    inv_w = 1.0 / window
    total = 0.0
    nonzero = 0
    countdown = 1
    for i in range(n):
        x = a[i]
        y = b[i]
        term = wa * x * x + wb * y * y
        nonzero += int(term != 0.0)
        if i >= window:
            x = a[i - window]
            y = b[i - window]
            old = wa * x * x + wb * y * y
            nonzero -= int(old != 0.0)
        else:
            old = 0.0
        if i < window - 1:
            continue
        countdown -= 1
        if countdown == 0:
            countdown = window
            total = 0.0
            for j in range(i - window + 1, i + 1):
                x = a[j]
                y = b[j]
                total += wa * x * x + wb * y * y
        else:
            total += term - old
        mean = total * inv_w
        out[i] = mean if (nonzero > 0 and mean > 0.0) else 0.0
    return out


@jit
def _block_suffix_max(x: FloatArray, start: int, window: int, suffix: FloatArray) -> None:
    """``suffix[r] = max(x[start + r : start + window])``; ``suffix[window]`` stays −inf."""
    m = x[start + window - 1]
    suffix[window - 1] = m
    for back in range(2, window + 1):
        r = window - back
        v = x[start + r]
        m = v if v > m else m
        suffix[r] = m


@jit
def _block_suffix_min(x: FloatArray, start: int, window: int, suffix: FloatArray) -> None:
    """``suffix[r] = min(x[start + r : start + window])``; ``suffix[window]`` stays +inf."""
    m = x[start + window - 1]
    suffix[window - 1] = m
    for back in range(2, window + 1):
        r = window - back
        v = x[start + r]
        m = v if v < m else m
        suffix[r] = m


@jit
def rolling_max(x: FloatArray, window: int, out: FloatArray) -> FloatArray:
    """Maximum of the last ``window`` values, first at ``window - 1``; O(n), exact.

    Van Herk / Gil–Werman by blocks of ``window`` bars: for bar ``i`` at offset ``r`` in its
    block, the window is the previous block from offset ``r + 1`` (its suffix maxima,
    computed once per block) plus the current block up to ``i`` (a running maximum). Only
    bars up to ``i`` are read.
    """
    n = x.size
    out[: min(window - 1, n)] = np.nan
    if n < window:
        return out
    suffix = np.full(window + 1, -np.inf)
    m = x[0]
    for i in range(1, window):
        v = x[i]
        m = v if v > m else m
    out[window - 1] = m
    for start in range(window, n, window):
        _block_suffix_max(x, start - window, window, suffix)
        running = -np.inf
        for i in range(start, min(start + window, n)):
            v = x[i]
            running = v if v > running else running
            a = suffix[i - start + 1]
            out[i] = a if a > running else running
    return out


@jit
def rolling_min(x: FloatArray, window: int, out: FloatArray) -> FloatArray:
    """Minimum of the last ``window`` values (the method of :func:`rolling_max`)."""
    n = x.size
    out[: min(window - 1, n)] = np.nan
    if n < window:
        return out
    suffix = np.full(window + 1, np.inf)
    m = x[0]
    for i in range(1, window):
        v = x[i]
        m = v if v < m else m
    out[window - 1] = m
    for start in range(window, n, window):
        _block_suffix_min(x, start - window, window, suffix)
        running = np.inf
        for i in range(start, min(start + window, n)):
            v = x[i]
            running = v if v < running else running
            a = suffix[i - start + 1]
            out[i] = a if a < running else running
    return out


@jit
def rolling_midpoint(high: FloatArray, low: FloatArray, window: int, out: FloatArray) -> FloatArray:
    """``(max(high) + min(low)) / 2`` over the last ``window`` bars, first at ``window - 1``
    (the method of :func:`rolling_max`, both extremes in one pass)."""
    n = high.size
    out[: min(window - 1, n)] = np.nan
    if n < window:
        return out
    top = np.full(window + 1, -np.inf)
    bottom = np.full(window + 1, np.inf)
    mx = high[0]
    mn = low[0]
    for i in range(1, window):
        v = high[i]
        mx = v if v > mx else mx
        v = low[i]
        mn = v if v < mn else mn
    out[window - 1] = (mx + mn) * 0.5
    for start in range(window, n, window):
        _block_suffix_max(high, start - window, window, top)
        _block_suffix_min(low, start - window, window, bottom)
        mx = -np.inf
        mn = np.inf
        for i in range(start, min(start + window, n)):
            v = high[i]
            mx = v if v > mx else mx
            v = low[i]
            mn = v if v < mn else mn
            a = top[i - start + 1]
            b = bottom[i - start + 1]
            out[i] = ((a if a > mx else mx) + (b if b < mn else mn)) * 0.5
    return out


def window_max(x: FloatArray, window: int) -> FloatArray:
    """:func:`rolling_max` into a fresh numpy buffer."""
    return rolling_max(x, window, empty(x.size))


def window_min(x: FloatArray, window: int) -> FloatArray:
    """:func:`rolling_min` into a fresh numpy buffer."""
    return rolling_min(x, window, empty(x.size))
