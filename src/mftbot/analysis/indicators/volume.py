"""Hand-written volume indicators: session and rolling VWAP, CMF, VPT, NVI.

Input validation and NaN policy as in :mod:`mftbot.analysis.indicators._validate`;
``volume`` must be ≥ 0. The typical price is ``(high + low + close) / 3``. Each indicator is
one numba pass over its inputs; the VWAPs and CMF check their inputs in that pass too and
only on a failure take :func:`prepare`'s path (error message, or leading NaNs stripped).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators._jit import jit, jit_ieee
from mftbot.analysis.indicators._kernels import empty
from mftbot.analysis.indicators._validate import (
    FloatArray,
    IntArray,
    as_inputs,
    as_time_ns,
    check_float,
    check_int,
    invalid_hlcv,
    prepare,
)

ArrayLike = npt.ArrayLike
NS_PER_DAY = 86_400 * 1_000_000_000
_VWAP = 0
_CMF = 1
_OK = -1
_INVALID = -2
_CHUNK = 16384
"""Bars per chunk of the rolling VWAP and CMF (rounded to whole windows)."""


@jit_ieee
def _session_vwap(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    time_ns: IntArray,
    out: FloatArray,
) -> int:
    """Fill ``out``; return ``_OK``, ``_INVALID`` (a bar fails :func:`invalid_hlcv`) or
    the index where time went backwards.

    Chunk by chunk: the checks and ``typical price · volume`` in a loop the compiler
    vectorises, the session sums in a sequential one, their ratio in a vectorised one
    (two divisions per bar in the sequential loop would cost more than the sums).
    """
    n = close.size
    if n == 0:
        return _OK
    pv = 0.0
    vol = 0.0
    bad = False
    prev_t = time_ns[0]
    next_day = (prev_t // NS_PER_DAY + 1) * NS_PER_DAY
    vols = np.empty(min(n, _CHUNK))
    for s in range(0, n, _CHUNK):
        e = min(s + _CHUNK, n)
        hs = high[s:e]
        ls = low[s:e]
        cs = close[s:e]
        vs = volume[s:e]
        ts = time_ns[s:e]
        outs = out[s:e]
        for j in range(e - s):
            h = hs[j]
            lo = ls[j]
            c = cs[j]
            v = vs[j]
            bad |= invalid_hlcv(h, lo, c, v)
            outs[j] = (h + lo + c) / 3.0 * v
        for j in range(e - s):
            t = ts[j]
            if t < prev_t:
                return s + j
            prev_t = t
            if t >= next_day:
                pv = 0.0
                vol = 0.0
                next_day = (t // NS_PER_DAY + 1) * NS_PER_DAY
            pv += outs[j]
            vol += vs[j]
            outs[j] = pv
            vols[j] = vol
        for j in range(e - s):
            total = vols[j]
            outs[j] = outs[j] / total if total > 0.0 else np.nan
    return _INVALID if bad else _OK


@jit_ieee
def _weighted_volumes(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    mode: int,
    out: FloatArray,
) -> bool:
    """``w · volume`` of each bar of a chunk (a loop the compiler vectorises): ``w`` the
    typical price (VWAP) or the money-flow multiplier ``((close − low) − (high − close)) /
    (high − low)``, 0 when high == low (CMF). False if a bar fails :func:`invalid_hlcv`."""
    bad = False
    for j in range(close.size):
        h = high[j]
        lo = low[j]
        c = close[j]
        v = volume[j]
        bad |= invalid_hlcv(h, lo, c, v)
        if mode == _VWAP:
            weight = (h + lo + c) / 3.0
        else:
            spread = h - lo
            weight = ((c - lo) - (h - c)) / spread if spread > 0.0 else 0.0
        out[j] = weight * v
    return not bad


@jit
def _window_ratios(
    weighted: FloatArray, volume: FloatArray, window: int, no_volume: float, out: FloatArray
) -> None:
    """``out[k] = Σ weighted[k : k + window] / Σ volume[k : k + window]``, ``no_volume``
    where those volumes are all 0 (a count of non-zero volumes makes that exact).

    Outputs go in blocks of ``window``: each starts with exact sums, then adds the new bar
    and removes the old one; four blocks run together (four independent pairs of running
    sums, where one pair would be bound by the latency of its additions).
    """
    m = out.size
    full = m // window
    q = 0
    while q + 4 <= full:
        r0 = q * window
        r1 = r0 + window
        r2 = r1 + window
        r3 = r2 + window
        t0 = t1 = t2 = t3 = 0.0
        b0 = b1 = b2 = b3 = 0.0
        n0 = n1 = n2 = n3 = 0
        for j in range(window):
            t0 += weighted[r0 + j]
            t1 += weighted[r1 + j]
            t2 += weighted[r2 + j]
            t3 += weighted[r3 + j]
            v0 = volume[r0 + j]
            v1 = volume[r1 + j]
            v2 = volume[r2 + j]
            v3 = volume[r3 + j]
            b0 += v0
            b1 += v1
            b2 += v2
            b3 += v3
            n0 += int(v0 != 0.0)
            n1 += int(v1 != 0.0)
            n2 += int(v2 != 0.0)
            n3 += int(v3 != 0.0)
        for j in range(window):
            if j > 0:
                new = j + window - 1
                old = j - 1
                t0 += weighted[r0 + new] - weighted[r0 + old]
                t1 += weighted[r1 + new] - weighted[r1 + old]
                t2 += weighted[r2 + new] - weighted[r2 + old]
                t3 += weighted[r3 + new] - weighted[r3 + old]
                v0 = volume[r0 + new]
                v1 = volume[r1 + new]
                v2 = volume[r2 + new]
                v3 = volume[r3 + new]
                w0 = volume[r0 + old]
                w1 = volume[r1 + old]
                w2 = volume[r2 + old]
                w3 = volume[r3 + old]
                b0 += v0 - w0
                b1 += v1 - w1
                b2 += v2 - w2
                b3 += v3 - w3
                n0 += int(v0 != 0.0) - int(w0 != 0.0)
                n1 += int(v1 != 0.0) - int(w1 != 0.0)
                n2 += int(v2 != 0.0) - int(w2 != 0.0)
                n3 += int(v3 != 0.0) - int(w3 != 0.0)
            out[r0 + j] = t0 / b0 if n0 > 0 else no_volume
            out[r1 + j] = t1 / b1 if n1 > 0 else no_volume
            out[r2 + j] = t2 / b2 if n2 > 0 else no_volume
            out[r3 + j] = t3 / b3 if n3 > 0 else no_volume
        q += 4
    while q * window < m:
        r0 = q * window
        t0 = 0.0
        b0 = 0.0
        n0 = 0
        for j in range(window):
            t0 += weighted[r0 + j]
            v0 = volume[r0 + j]
            b0 += v0
            n0 += int(v0 != 0.0)
        for j in range(min(window, m - r0)):
            if j > 0:
                new = r0 + j + window - 1
                old = r0 + j - 1
                t0 += weighted[new] - weighted[old]
                v0 = volume[new]
                w0 = volume[old]
                b0 += v0 - w0
                n0 += int(v0 != 0.0) - int(w0 != 0.0)
            out[r0 + j] = t0 / b0 if n0 > 0 else no_volume
        q += 1


def _volume_weighted(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    window: int,
    mode: int,
    no_volume: float,
    out: FloatArray,
) -> bool:
    """Σ w·volume / Σ volume over the last ``window`` bars into ``out`` (``w`` as in
    :func:`_weighted_volumes`), ``no_volume`` where the window traded nothing, NaN in the
    warm-up; False, ``out`` unfinished, as soon as a chunk holds an invalid bar.

    Chunk by chunk (whole windows of outputs, so the values do not depend on the chunk
    size), the weighted volumes stay in the CPU cache between the two passes over them.
    """
    n = close.size
    head = window - 1
    span = window * max(1, _CHUNK // window)
    weighted = np.empty(min(n, head + span))
    out[: min(head, n)] = np.nan
    start = 0  # first bar whose weighted volume is still to compute
    carried = 0  # weighted volumes kept from the previous chunk
    while start < n:
        stop = min(head + span, n) if start == 0 else min(start + span, n)
        m = stop - start
        chunk = (high[start:stop], low[start:stop], close[start:stop], volume[start:stop])
        if not _weighted_volumes(*chunk, mode, weighted[carried : carried + m]):
            return False
        first_out = max(start, head)
        _window_ratios(
            weighted[: carried + m],
            volume[start - carried : stop],
            window,
            no_volume,
            out[first_out:stop],
        )
        if head and stop < n:
            used = carried + m
            weighted[:head] = weighted[used - head : used]
        carried = head
        start = stop
    return True


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
    arrays = as_inputs({"high": high, "low": low, "close": close, "volume": volume})
    times = as_time_ns("time_ns", time_ns, check_order=False)
    n = arrays["close"].size
    if times.size != n:
        raise ValueError(f"time_ns has {times.size} values, prices have {n}")
    out = empty(n)
    h, lo, c, v = arrays["high"], arrays["low"], arrays["close"], arrays["volume"]
    if _session_vwap(h, lo, c, v, times, out) == _OK:
        return out
    prep = prepare(arrays)
    if prep.empty:
        return prep.nan()
    h, lo, c, v = prep.arrays
    out = empty(c.size)
    status = _session_vwap(h, lo, c, v, times[prep.start :], out)
    if status >= 0:
        raise ValueError(f"time_ns: timestamps go backwards at index {prep.start + status}")
    return prep.pad(out)


def _weighted(inputs: dict[str, ArrayLike], window: int, mode: int) -> FloatArray:
    """:func:`_volume_weighted` over validated inputs (see the module docstring)."""
    arrays = as_inputs(inputs)
    no_volume = np.nan if mode == _VWAP else 0.0
    h, lo, c, v = arrays["high"], arrays["low"], arrays["close"], arrays["volume"]
    out = empty(c.size)
    if _volume_weighted(h, lo, c, v, window, mode, no_volume, out):
        return out
    prep = prepare(arrays)
    if prep.empty:
        return prep.nan()
    h, lo, c, v = prep.arrays
    out = empty(c.size)
    if not _volume_weighted(h, lo, c, v, window, mode, no_volume, out):
        raise RuntimeError("validated input rejected by the volume-weighted kernel")
    return prep.pad(out)


def rolling_vwap(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike, window: int = 20
) -> FloatArray:
    """VWAP of the typical price over the last ``window`` bars.

    Warm-up ``window - 1``; NaN where the window traded no volume.
    """
    w = check_int("window", window, 1)
    return _weighted({"high": high, "low": low, "close": close, "volume": volume}, w, _VWAP)


def cmf(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike, period: int = 20
) -> FloatArray:
    """Chaikin money flow: Σ(multiplier · volume) / Σ volume over ``period`` bars.

    The multiplier is ``((close − low) − (high − close)) / (high − low)``, 0 on a bar with
    high == low. Warm-up ``period - 1``; 0 where the window traded no volume.
    """
    p = check_int("period", period, 1)
    return _weighted({"high": high, "low": low, "close": close, "volume": volume}, p, _CMF)


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
