"""Hand-written volume indicators: session and rolling VWAP, CMF, VPT, NVI.

Input validation and NaN policy as in :mod:`mftbot.analysis.indicators._validate`;
``volume`` must be ≥ 0. The typical price is ``(high + low + close) / 3``. Each indicator is
one numba pass over its inputs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators._jit import jit
from mftbot.analysis.indicators._kernels import empty
from mftbot.analysis.indicators._validate import (
    FloatArray,
    IntArray,
    as_time_ns,
    check_float,
    check_int,
    prepare,
)

ArrayLike = npt.ArrayLike
NS_PER_DAY = 86_400 * 1_000_000_000
_VWAP = 0
_CMF = 1


@jit
def _session_vwap(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    time_ns: IntArray,
    out: FloatArray,
) -> int:
    """Fill ``out``; return the index where time went backwards, or -1."""
    n = close.size
    if n == 0:
        return -1
    pv = 0.0
    vol = 0.0
    prev_t = time_ns[0]
    next_day = (prev_t // NS_PER_DAY + 1) * NS_PER_DAY
    for i in range(n):
        t = time_ns[i]
        if t < prev_t:
            return i
        prev_t = t
        if t >= next_day:
            pv = 0.0
            vol = 0.0
            next_day = (t // NS_PER_DAY + 1) * NS_PER_DAY
        v = volume[i]
        pv += (high[i] + low[i] + close[i]) / 3.0 * v
        vol += v
        out[i] = pv / vol if vol > 0.0 else np.nan
    return -1


@jit
def _volume_weighted(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    window: int,
    mode: int,
    no_volume: float,
    out: FloatArray,
) -> FloatArray:
    """Σ w·volume / Σ volume over the last ``window`` bars, ``no_volume`` where the window
    traded nothing. ``w`` is the typical price (VWAP) or the money-flow multiplier
    ``((close − low) − (high − close)) / (high − low)``, 0 when high == low (CMF).

    One pass: a ring of the window's ``w·volume`` values, running sums recomputed exactly
    every ``window`` bars, and a count of non-zero volumes so an empty window is exact.
    """
    n = close.size
    out[: min(window - 1, n)] = np.nan
    if n < window:
        return out
    ring = np.zeros(window)
    top = 0.0
    bottom = 0.0
    nonzero = 0
    slot = 0
    countdown = window
    for i in range(n):
        h = high[i]
        lo = low[i]
        c = close[i]
        v = volume[i]
        if mode == _VWAP:
            weight = (h + lo + c) / 3.0
        else:
            spread = h - lo
            weight = ((c - lo) - (h - c)) / spread if spread > 0.0 else 0.0
        x = weight * v
        old_x = ring[slot]
        ring[slot] = x
        slot = slot + 1 if slot + 1 < window else 0
        nonzero += int(v != 0.0)
        old_v = 0.0
        if i >= window:
            old_v = volume[i - window]
            nonzero -= int(old_v != 0.0)
        countdown -= 1
        if countdown == 0:
            countdown = window
            top = 0.0
            bottom = 0.0
            for j in range(window):
                top += ring[j]
                bottom += volume[i - window + 1 + j]
        else:
            top += x - old_x
            bottom += v - old_v
        if i >= window - 1:
            out[i] = top / bottom if nonzero > 0 else no_volume
    return out


@jit
def _vpt(close: FloatArray, volume: FloatArray, out: FloatArray) -> FloatArray:
    n = close.size
    acc = 0.0
    out[0] = acc
    for i in range(1, n):
        prev = close[i - 1]
        acc += volume[i] * ((close[i] - prev) / prev)
        out[i] = acc
    return out


@jit
def _nvi(close: FloatArray, volume: FloatArray, start: float, out: FloatArray) -> FloatArray:
    n = close.size
    acc = start
    out[0] = acc
    for i in range(1, n):
        if volume[i] < volume[i - 1]:
            prev = close[i - 1]
            acc = acc * (1.0 + (close[i] - prev) / prev)
        out[i] = acc
    return out


def vwap(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike, time_ns: ArrayLike
) -> FloatArray:
    """Session VWAP of the typical price, reset at 00:00 UTC.

    ``time_ns`` is each bar's open time (int ns since the epoch, or datetime64),
    non-decreasing; a bar belongs to the UTC day its open time falls in. No warm-up; NaN
    while the session has traded no volume yet.
    """
    prep = prepare({"high": high, "low": low, "close": close, "volume": volume})
    times = as_time_ns("time_ns", time_ns, check_order=False)
    if times.size != prep.n:
        raise ValueError(f"time_ns has {times.size} values, prices have {prep.n}")
    if prep.empty:
        return prep.nan()
    h, lo, c, v = prep.arrays
    out = empty(c.size)
    backwards = _session_vwap(h, lo, c, v, times[prep.start :], out)
    if backwards >= 0:
        raise ValueError(f"time_ns: timestamps go backwards at index {prep.start + backwards}")
    return prep.pad(out)


def rolling_vwap(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike, window: int = 20
) -> FloatArray:
    """VWAP of the typical price over the last ``window`` bars.

    Warm-up ``window - 1``; NaN where the window traded no volume.
    """
    w = check_int("window", window, 1)
    prep = prepare({"high": high, "low": low, "close": close, "volume": volume})
    if prep.empty:
        return prep.nan()
    h, lo, c, v = prep.arrays
    return prep.pad(_volume_weighted(h, lo, c, v, w, _VWAP, np.nan, empty(c.size)))


def cmf(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike, period: int = 20
) -> FloatArray:
    """Chaikin money flow: Σ(multiplier · volume) / Σ volume over ``period`` bars.

    The multiplier is ``((close − low) − (high − close)) / (high − low)``, 0 on a bar with
    high == low. Warm-up ``period - 1``; 0 where the window traded no volume.
    """
    p = check_int("period", period, 1)
    prep = prepare({"high": high, "low": low, "close": close, "volume": volume})
    if prep.empty:
        return prep.nan()
    h, lo, c, v = prep.arrays
    return prep.pad(_volume_weighted(h, lo, c, v, p, _CMF, 0.0, empty(c.size)))


def vpt(close: ArrayLike, volume: ArrayLike) -> FloatArray:
    """Volume price trend: ``vpt[t] = vpt[t-1] + volume[t] · (close[t] / close[t-1] − 1)``.

    Starts at 0 on the first bar (no warm-up). ``close`` must be > 0.
    """
    prep = prepare({"close": close, "volume": volume}, positive=("close",))
    if prep.empty:
        return prep.nan()
    c, v = prep.arrays
    return prep.pad(_vpt(c, v, empty(c.size)))


def nvi(close: ArrayLike, volume: ArrayLike, start: float = 1000.0) -> FloatArray:
    """Negative volume index: moves with the close's return only on bars whose volume fell.

    ``nvi[0] = start``; ``nvi[t] = nvi[t-1] · (1 + close[t] / close[t-1] − 1)`` when
    ``volume[t] < volume[t-1]``, else ``nvi[t-1]``. No warm-up; ``close`` must be > 0.
    """
    base = check_float("start", start)
    prep = prepare({"close": close, "volume": volume}, positive=("close",))
    if prep.empty:
        return prep.nan()
    c, v = prep.arrays
    return prep.pad(_nvi(c, v, base, empty(c.size)))
