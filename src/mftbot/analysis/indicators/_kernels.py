"""Sequential building blocks compiled with numba, shared by the hand-written indicators.

Every kernel takes finite float64 arrays (the callers validate) and fills ``out``, an array
of the same length, with NaN during its warm-up; it returns ``out``. Each value depends only
on inputs up to its index, so a kernel gives the same values on any prefix of its input.

The ``*_last`` kernels return one indicator's value at the last element instead, repeating
TA-Lib's algorithm (seeds, recursions, zero conventions) so that over the same input they
equal its last output to rounding; a live pipeline calls them once per new bar.

Kernels never allocate large arrays: callers pass numpy-allocated buffers (:func:`empty`).
numpy asks for transparent huge pages on large arrays and numba's allocator does not; on a
million bars the page faults of fresh numba arrays measured costlier than the arithmetic
(``benchmarks/bench_indicators.py``). Hot loops avoid integer division (countdowns instead
of ``%``) and data-dependent branches where a select does.
"""

from __future__ import annotations

import math

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
def _var_start(x: FloatArray, stop: int, window: int, inv_w: float) -> tuple[float, float]:
    """(mean, sum of squared deviations) of ``x[stop - window : stop]``, by two passes."""
    total = 0.0
    for j in range(stop - window, stop):
        total += x[j]
    mean = total * inv_w
    m2 = 0.0
    for j in range(stop - window, stop):
        d = x[j] - mean
        m2 += d * d
    return mean, m2


@jit
def _var_step(
    mean: float, m2: float, old: float, new: float, inv_w: float, inv_w1: float
) -> tuple[float, float]:
    """Welford: remove ``old`` from the window, then add ``new``."""
    delta = old - mean
    mean_less = mean - delta * inv_w1
    m2 -= delta * (old - mean_less)
    delta = new - mean_less
    mean = mean_less + delta * inv_w
    m2 += delta * (new - mean)
    return mean, m2


@jit
def rolling_var(x: FloatArray, window: int, ddof: int, out: FloatArray) -> FloatArray:
    """Variance of the last ``window`` values (``window >= 2``), first at ``window - 1``.

    Outputs go in blocks of ``window``: each starts exactly, by two passes over its first
    window, then makes Welford updates on deviations from the running mean (one removal,
    one addition per bar): accurate even when the variance is tiny next to the mean. Four
    blocks run together, their updates independent (one chain of updates is bound by the
    latency of its arithmetic); each value is the same as in one block after another.
    """
    n = x.size
    out[: min(window - 1, n)] = np.nan
    if n < window:
        return out
    inv_w = 1.0 / window
    inv_w1 = 1.0 / (window - 1)
    inv_dof = 1.0 / (window - ddof)
    outputs = n - window + 1
    full = outputs // window
    q = 0
    while q + 4 <= full:
        r0 = window - 1 + q * window
        r1 = r0 + window
        r2 = r1 + window
        r3 = r2 + window
        mean0, m2_0 = _var_start(x, r0 + 1, window, inv_w)
        mean1, m2_1 = _var_start(x, r1 + 1, window, inv_w)
        mean2, m2_2 = _var_start(x, r2 + 1, window, inv_w)
        mean3, m2_3 = _var_start(x, r3 + 1, window, inv_w)
        for j in range(window):
            if j > 0:
                mean0, m2_0 = _var_step(mean0, m2_0, x[r0 + j - window], x[r0 + j], inv_w, inv_w1)
                mean1, m2_1 = _var_step(mean1, m2_1, x[r1 + j - window], x[r1 + j], inv_w, inv_w1)
                mean2, m2_2 = _var_step(mean2, m2_2, x[r2 + j - window], x[r2 + j], inv_w, inv_w1)
                mean3, m2_3 = _var_step(mean3, m2_3, x[r3 + j - window], x[r3 + j], inv_w, inv_w1)
            out[r0 + j] = (m2_0 if m2_0 > 0.0 else 0.0) * inv_dof
            out[r1 + j] = (m2_1 if m2_1 > 0.0 else 0.0) * inv_dof
            out[r2 + j] = (m2_2 if m2_2 > 0.0 else 0.0) * inv_dof
            out[r3 + j] = (m2_3 if m2_3 > 0.0 else 0.0) * inv_dof
        q += 4
    mean = m2 = 0.0
    for i in range(window - 1 + q * window, n):
        if (i - window + 1) % window == 0:
            mean, m2 = _var_start(x, i + 1, window, inv_w)
        else:
            mean, m2 = _var_step(mean, m2, x[i - window], x[i], inv_w, inv_w1)
        out[i] = (m2 if m2 > 0.0 else 0.0) * inv_dof
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


# --------------------------------------------------------------------------- newest value


@jit
def is_zero(x: float) -> bool:
    """TA-Lib's ``TA_IS_ZERO``: |x| below 1e-8."""
    return -1e-8 < x < 1e-8


@jit
def sma_last(x: FloatArray, period: int) -> float:
    """TA-Lib's SMA at the last element (the ``period`` values summed afresh); NaN if
    fewer."""
    n = x.size
    if n < period:
        return np.nan
    total = 0.0
    for i in range(n - period, n):
        total += x[i]
    return total / period


@jit
def _ema_seeded(x: FloatArray, period: int, seed_end: int) -> float:
    """EMA at the last element, ``k = 2 / (period + 1)``, seeded with the mean of the
    ``period`` values ending at index ``seed_end``."""
    total = 0.0
    for i in range(seed_end + 1 - period, seed_end + 1):
        total += x[i]
    prev = total / period
    k = 2.0 / (period + 1)
    for i in range(seed_end + 1, x.size):
        prev = (x[i] - prev) * k + prev
    return prev


@jit
def ema_last(x: FloatArray, period: int) -> float:
    """TA-Lib's EMA at the last element (seeded with the mean of the first ``period``
    values, as :func:`ema`); NaN if fewer."""
    if x.size < period:
        return np.nan
    return _ema_seeded(x, period, period - 1)


@jit
def macd_last(x: FloatArray, fast: int, slow: int, signal: int) -> tuple[float, float]:
    """TA-Lib's MACD line and signal at the last element (``fast < slow``): both EMAs
    seeded at index ``slow - 1``, the fast one on the ``fast`` values ending there, the
    slow one on the first ``slow``; the signal an EMA of the line from that index, seeded
    with the mean of its first ``signal`` values. NaN before index ``slow + signal - 2``."""
    n = x.size
    start = slow - 1
    if n < start + signal:
        return np.nan, np.nan
    fast_total = 0.0
    for i in range(start + 1 - fast, start + 1):
        fast_total += x[i]
    fast_ema = fast_total / fast
    slow_total = 0.0
    for i in range(start + 1):
        slow_total += x[i]
    slow_ema = slow_total / slow
    k_fast = 2.0 / (fast + 1)
    k_slow = 2.0 / (slow + 1)
    k_signal = 2.0 / (signal + 1)
    line = fast_ema - slow_ema
    sig = line
    seeded = start + signal - 1
    for i in range(start + 1, n):
        v = x[i]
        fast_ema = (v - fast_ema) * k_fast + fast_ema
        slow_ema = (v - slow_ema) * k_slow + slow_ema
        line = fast_ema - slow_ema
        if i < seeded:
            sig += line
        elif i == seeded:
            sig = (sig + line) / signal
        else:
            sig = (line - sig) * k_signal + sig
    return line, sig


@jit
def wilder_atr_last(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> float:
    """:func:`wilder_atr` at the last element (TA-Lib's ATR); NaN up to index ``period``."""
    n = close.size
    if n <= period:
        return np.nan
    total = 0.0
    for i in range(1, period + 1):
        total += true_range(high[i], low[i], close[i - 1])
    prev = total / period
    keep = float(period - 1)
    inv = 1.0 / period
    for i in range(period + 1, n):
        prev = (prev * keep + true_range(high[i], low[i], close[i - 1])) * inv
    return prev


@jit
def rsi_last(x: FloatArray, period: int) -> float:
    """TA-Lib's RSI at the last element: mean gain and loss of the first ``period``
    changes, then Wilder's smoothing; 0 where gain + loss is 0; NaN up to index
    ``period``."""
    n = x.size
    if n <= period:
        return np.nan
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        d = x[i] - x[i - 1]
        if d < 0.0:
            loss -= d
        else:
            gain += d
    loss /= period
    gain /= period
    keep = float(period - 1)
    inv = 1.0 / period  # a multiplication where TA-Lib divides: a rounding apart
    for i in range(period + 1, n):
        d = x[i] - x[i - 1]
        loss = (loss * keep - min(d, 0.0)) * inv
        gain = (gain * keep + max(d, 0.0)) * inv
    total = gain + loss
    return 100.0 * (gain / total) if total != 0.0 else 0.0


@jit
def dmi_last(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> tuple[float, float, float]:
    """TA-Lib's ADX, +DI and -DI at the last element, in one pass: directional movements
    and true ranges summed over bars ``1..period-1``, then Wilder-smoothed as
    ``x - x / period + today``; the DIs from bar ``period`` (0 where the smoothed range is
    0 to 1e-8); the first ADX, at bar ``2·period - 1``, the mean of the DX values so far,
    then Wilder's average. As in TA-Lib, a bar whose range or DI sum is 0 to 1e-8 adds no
    DX and leaves the ADX."""
    n = close.size
    adx = np.nan
    plus_di = np.nan
    minus_di = np.nan
    plus_dm = 0.0
    minus_dm = 0.0
    tr = 0.0
    dx_sum = 0.0
    inv = 1.0 / period  # multiplications where TA-Lib divides: a rounding apart
    for i in range(1, n):
        diff_p = high[i] - high[i - 1]
        diff_m = low[i - 1] - low[i]
        if i >= period:
            plus_dm -= plus_dm * inv
            minus_dm -= minus_dm * inv
        if diff_m > 0.0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0.0 and diff_p > diff_m:
            plus_dm += diff_p
        today = true_range(high[i], low[i], close[i - 1])
        tr = tr - tr * inv + today if i >= period else tr + today
        if i < period:
            continue
        dx = np.nan
        if is_zero(tr):
            plus_di = 0.0
            minus_di = 0.0
        else:
            scale = 100.0 / tr
            minus_di = minus_dm * scale
            plus_di = plus_dm * scale
            total = minus_di + plus_di
            if not is_zero(total):
                dx = 100.0 * (abs(minus_di - plus_di) / total)
        if i < 2 * period - 1:
            if dx == dx:
                dx_sum += dx
        elif i == 2 * period - 1:
            if dx == dx:
                dx_sum += dx
            adx = dx_sum / period
        elif dx == dx:
            adx = (adx * (period - 1) + dx) * inv
    return adx, plus_di, minus_di


@jit
def _extremes(high: FloatArray, low: FloatArray, stop: int, period: int) -> tuple[float, float]:
    """Highest high and lowest low of the ``period`` bars before index ``stop``."""
    top = high[stop - period]
    bottom = low[stop - period]
    for i in range(stop - period + 1, stop):
        top = high[i] if high[i] > top else top
        bottom = low[i] if low[i] < bottom else bottom
    return top, bottom


@jit
def stoch_last(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    k_period: int,
    k_smooth: int,
    d_period: int,
) -> tuple[float, float]:
    """TA-Lib's slow stochastic (SMA smoothing) at the last element: fast %K over
    ``k_period`` bars (0 where the range is 0), %K its mean over ``k_smooth`` bars, %D the
    mean of ``d_period`` %K; NaN before index ``k_period + k_smooth + d_period - 3``."""
    n = close.size
    count = k_smooth + d_period - 1
    if n < k_period + count - 1:
        return np.nan, np.nan
    fast = np.empty(count)
    for j in range(count):
        stop = n - count + 1 + j
        top, bottom = _extremes(high, low, stop, k_period)
        diff = (top - bottom) / 100.0
        fast[j] = (close[stop - 1] - bottom) / diff if diff != 0.0 else 0.0
    slow_k = 0.0
    d_total = 0.0
    for j in range(d_period):
        total = 0.0
        for m in range(j, j + k_smooth):
            total += fast[m]
        slow_k = total / k_smooth
        d_total += slow_k
    return slow_k, d_total / d_period


@jit
def willr_last(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> float:
    """TA-Lib's Williams %R at the last element (0 where the range is 0); NaN if fewer
    than ``period`` bars."""
    n = close.size
    if n < period:
        return np.nan
    top, bottom = _extremes(high, low, n, period)
    diff = (top - bottom) / -100.0
    return (top - close[n - 1]) / diff if diff != 0.0 else 0.0


@jit
def bbands_last(x: FloatArray, period: int, deviations: float) -> tuple[float, float, float]:
    """TA-Lib's Bollinger bands (SMA ± ``deviations`` population standard deviations) at
    the last element; NaN if fewer than ``period`` values. The variance is taken as TA-Lib
    takes it, from sums of the values less the window's first, so a window of equal values
    has exactly none."""
    n = x.size
    if n < period:
        return np.nan, np.nan, np.nan
    shift = x[n - period]
    total = 0.0
    shifted = 0.0
    squares = 0.0
    for i in range(n - period, n):
        total += x[i]
        d = x[i] - shift
        shifted += d
        squares += d * d
    middle = total / period
    mean = shifted / period
    variance = squares / period - mean * mean
    band = (math.sqrt(variance) if variance > 0.0 else 0.0) * deviations
    return middle + band, middle, middle - band
