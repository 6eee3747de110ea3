"""Rolling volatility estimators: close-to-close (realised), Parkinson, Garman–Klass.

Each returns the per-bar volatility (standard deviation of one bar's log return), or the
annualised one when ``periods_per_year`` is given (multiplied by its square root; e.g.
525,600 for 1-minute crypto bars). Prices must be > 0; validation and NaN policy as in
:mod:`mftbot.analysis.indicators._validate`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators import _kernels as k
from mftbot.analysis.indicators._jit import jit, jit_ieee
from mftbot.analysis.indicators._validate import (
    FloatArray,
    as_inputs,
    check_float,
    check_int,
    prepare,
)

ArrayLike = npt.ArrayLike
_LN2 = math.log(2.0)
_CHUNK = 16384
"""Bars per chunk of the range estimators (rounded to whole windows): the chunk's ratios,
logs and terms stay in the CPU cache between the passes over them."""


def _annual_factor(periods_per_year: float | None) -> float:
    if periods_per_year is None:
        return 1.0
    return math.sqrt(check_float("periods_per_year", periods_per_year))


def _scale(per_bar: FloatArray, factor: float) -> FloatArray:
    if factor != 1.0:
        per_bar *= factor
    return per_bar


def realized_vol(
    close: ArrayLike, window: int = 20, *, periods_per_year: float | None = None
) -> FloatArray:
    """Rolling sample standard deviation (ddof 1) of log returns over ``window`` returns.

    Warm-up ``window`` (the first bar has no return).
    """
    w = check_int("window", window, 2)
    factor = _annual_factor(periods_per_year)
    prep = prepare({"close": close}, positive=("close",))
    if prep.n - prep.start < 2:
        return prep.nan()
    (c,) = prep.arrays
    result = np.log(c)
    returns = k.empty(c.size - 1)
    np.subtract(result[1:], result[:-1], out=returns)
    k.rolling_var(returns, w, 1, result[1:])
    result[0] = np.nan
    np.sqrt(result, out=result)
    return _scale(prep.pad(result), factor)


@jit_ieee
def _ratios(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    body: bool,
    range_out: FloatArray,
    body_out: FloatArray,
) -> bool:
    """high / low (and close / open when ``body``) of a chunk, in one pass that also checks
    the inputs as :func:`prepare` would (all finite, low > 0, high >= low, open and close
    > 0 when ``body``); False if any bar fails."""
    bad = False
    for j in range(high.size):
        h = high[j]
        lo = low[j]
        bad |= (h - h != 0.0) | (lo - lo != 0.0) | (h < lo) | (lo <= 0.0)
        range_out[j] = h / lo
    if body:
        for j in range(close.size):
            o = open_[j]
            c = close[j]
            bad |= (o - o != 0.0) | (c - c != 0.0) | (o <= 0.0) | (c <= 0.0)
            body_out[j] = c / o
    return not bad


@jit
def _block_means(terms: FloatArray, window: int, out: FloatArray) -> None:
    """``out[i]``: the mean of ``terms[i : i + window]``, clipped at 0 (exactly 0 for a
    window of zero terms). Outputs go in blocks of ``window``: each starts with an exact
    sum, then adds the new term and removes the old one; four blocks run together (four
    independent running sums, where one would be bound by the latency of its additions)."""
    m = out.size
    full = m // window
    blocks = -(-m // window)
    inv_w = 1.0 / window
    q = 0
    while q + 4 <= full:
        r0 = q * window
        r1 = r0 + window
        r2 = r1 + window
        r3 = r2 + window
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        n0 = 0
        n1 = 0
        n2 = 0
        n3 = 0
        for j in range(window):
            x0 = terms[r0 + j]
            x1 = terms[r1 + j]
            x2 = terms[r2 + j]
            x3 = terms[r3 + j]
            s0 += x0
            s1 += x1
            s2 += x2
            s3 += x3
            n0 += int(x0 != 0.0)
            n1 += int(x1 != 0.0)
            n2 += int(x2 != 0.0)
            n3 += int(x3 != 0.0)
        for j in range(window):
            if j > 0:
                new0 = terms[r0 + j + window - 1]
                new1 = terms[r1 + j + window - 1]
                new2 = terms[r2 + j + window - 1]
                new3 = terms[r3 + j + window - 1]
                old0 = terms[r0 + j - 1]
                old1 = terms[r1 + j - 1]
                old2 = terms[r2 + j - 1]
                old3 = terms[r3 + j - 1]
                s0 += new0 - old0
                s1 += new1 - old1
                s2 += new2 - old2
                s3 += new3 - old3
                n0 += int(new0 != 0.0) - int(old0 != 0.0)
                n1 += int(new1 != 0.0) - int(old1 != 0.0)
                n2 += int(new2 != 0.0) - int(old2 != 0.0)
                n3 += int(new3 != 0.0) - int(old3 != 0.0)
            mean0 = s0 * inv_w
            mean1 = s1 * inv_w
            mean2 = s2 * inv_w
            mean3 = s3 * inv_w
            out[r0 + j] = mean0 if (n0 > 0 and mean0 > 0.0) else 0.0
            out[r1 + j] = mean1 if (n1 > 0 and mean1 > 0.0) else 0.0
            out[r2 + j] = mean2 if (n2 > 0 and mean2 > 0.0) else 0.0
            out[r3 + j] = mean3 if (n3 > 0 and mean3 > 0.0) else 0.0
        q += 4
    while q < blocks:
        r0 = q * window
        s0 = 0.0
        n0 = 0
        for j in range(window):
            x0 = terms[r0 + j]
            s0 += x0
            n0 += int(x0 != 0.0)
        for j in range(min(window, m - r0)):
            if j > 0:
                new0 = terms[r0 + j + window - 1]
                old0 = terms[r0 + j - 1]
                s0 += new0 - old0
                n0 += int(new0 != 0.0) - int(old0 != 0.0)
            mean0 = s0 * inv_w
            out[r0 + j] = mean0 if (n0 > 0 and mean0 > 0.0) else 0.0
        q += 1


@jit
def _range_chunk(
    log_range: FloatArray,
    log_body: FloatArray,
    wa: float,
    wb: float,
    body: bool,
    window: int,
    factor: float,
    terms: FloatArray,
    head: int,
    out: FloatArray,
) -> None:
    """One chunk of a range estimator: the terms ``wa·a² + wb·b²`` of its new bars (after
    the ``head`` terms carried from the previous chunk), then ``factor · sqrt(mean)`` over
    each window for ``out`` (its bars are the last ``out.size`` of the terms)."""
    m = log_range.size
    if body:
        for j in range(m):
            x = log_range[j]
            y = log_body[j]
            terms[head + j] = wa * x * x + wb * y * y
    else:
        for j in range(m):
            x = log_range[j]
            terms[head + j] = wa * x * x
    _block_means(terms, window, out)
    for j in range(out.size):
        out[j] = math.sqrt(out[j]) * factor


def _range_estimator(
    o: FloatArray,
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    wa: float,
    wb: float,
    window: int,
    factor: float,
    out: FloatArray,
) -> bool:
    """``factor · sqrt(max(0, mean over window of wa·ln(h/lo)² + wb·ln(c/o)²))`` into
    ``out`` (NaN during the warm-up), chunk by chunk; False, ``out`` unfinished, as soon as
    a chunk holds an invalid bar. ``wb == 0`` leaves ``o`` and ``c`` unread.

    Chunks hold whole windows of outputs, so each window's running sum starts exactly at
    the same bars as in one pass over the whole series (every ``window`` bars from the
    first output): the values do not depend on the chunk size.
    """
    n = h.size
    body = wb != 0.0
    span = window * max(1, _CHUNK // window)
    head = window - 1
    cap = min(n, head + span)
    range_buf = np.empty(cap)
    body_buf = np.empty(cap if body else 0)
    terms = np.empty(cap)
    out[: min(head, n)] = np.nan
    start = 0  # first bar whose ratio is still to compute
    carried = 0  # terms kept from the previous chunk
    while start < n:
        stop = min(head + span, n) if start == 0 else min(start + span, n)
        m = stop - start
        a = range_buf[:m]
        b = body_buf[:m] if body else body_buf
        if not _ratios(o[start:stop], h[start:stop], lo[start:stop], c[start:stop], body, a, b):
            return False
        np.log(a, out=a)
        if body:
            np.log(b, out=b)
        first_out = max(start, head)
        _range_chunk(a, b, wa, wb, body, window, factor, terms, carried, out[first_out:stop])
        if head and stop < n:
            used = carried + m
            terms[:head] = terms[used - head : used]
        carried = head
        start = stop
    return True


def _range_vol(
    inputs: dict[str, ArrayLike], wa: float, wb: float, window: int, factor: float
) -> FloatArray:
    """Run :func:`_range_estimator`; on invalid input, :func:`prepare` raises or strips
    the leading NaN bars and the estimator runs on the rest."""
    arrays = as_inputs(inputs)
    high, low = arrays["high"], arrays["low"]
    o = arrays.get("open", high)
    c = arrays.get("close", high)
    out = k.empty(high.size)
    if _range_estimator(o, high, low, c, wa, wb, window, factor, out):
        return out
    positive = ("open", "low", "close") if "open" in arrays else ("low",)
    prep = prepare(arrays, positive=positive)
    if prep.empty:
        return prep.nan()
    tails = dict(zip(arrays, prep.arrays, strict=True))
    high, low = tails["high"], tails["low"]
    o = tails.get("open", high)
    c = tails.get("close", high)
    out = k.empty(high.size)
    if not _range_estimator(o, high, low, c, wa, wb, window, factor, out):
        raise RuntimeError("validated input rejected by the range estimator")
    return prep.pad(out)


def parkinson_vol(
    high: ArrayLike, low: ArrayLike, window: int = 20, *, periods_per_year: float | None = None
) -> FloatArray:
    """Parkinson's range estimator: sqrt(mean(ln(high/low)²) / (4 ln 2)) over ``window`` bars.

    Warm-up ``window - 1``.
    """
    w = check_int("window", window, 1)
    factor = _annual_factor(periods_per_year)
    return _range_vol({"high": high, "low": low}, 1.0 / (4.0 * _LN2), 0.0, w, factor)


def garman_klass_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    window: int = 20,
    *,
    periods_per_year: float | None = None,
) -> FloatArray:
    """Garman–Klass estimator over ``window`` bars.

    sqrt(mean(0.5 · ln(high/low)² − (2 ln 2 − 1) · ln(close/open)²)), the mean clipped at 0
    (a window of bars that closed at their extremes can make it negative). Warm-up
    ``window - 1``.

    One pass per chunk of bars checks the inputs and forms the two ratios, numpy takes
    their logarithms, and a compiled pass forms the terms, their rolling mean and its
    square root, while the chunk is still in the CPU cache.
    """
    w = check_int("window", window, 1)
    factor = _annual_factor(periods_per_year)
    inputs = {"open": open_, "high": high, "low": low, "close": close}
    return _range_vol(inputs, 0.5, -(2.0 * _LN2 - 1.0), w, factor)
