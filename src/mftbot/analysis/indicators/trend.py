"""Hand-written trend indicators: supertrend, Ichimoku, Keltner channels.

Input validation and NaN policy as in :mod:`mftbot.analysis.indicators._validate`. ATR is
Wilder's, as TA-Lib computes it (first value at bar ``period``); EMA is seeded with an SMA.
"""

from __future__ import annotations

from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators import _kernels as k
from mftbot.analysis.indicators._jit import jit
from mftbot.analysis.indicators._validate import (
    FloatArray,
    as_inputs,
    check_float,
    check_int,
    prepare,
)

ArrayLike = npt.ArrayLike


class SupertrendResult(NamedTuple):
    """Supertrend line, direction (+1 up, −1 down) and the two final bands."""

    supertrend: FloatArray
    direction: FloatArray
    upper: FloatArray
    lower: FloatArray


class IchimokuResult(NamedTuple):
    """Ichimoku lines, each aligned so that index t uses data up to t only.

    ``senkou_a``/``senkou_b`` hold at t the value *plotted* at t, computed from data up to
    ``t - displacement``. ``chikou[t]`` is ``close[t]``, meant to be drawn at
    ``t - displacement`` (see :func:`ichimoku`).
    """

    tenkan: FloatArray
    kijun: FloatArray
    senkou_a: FloatArray
    senkou_b: FloatArray
    chikou: FloatArray


class KeltnerResult(NamedTuple):
    """Keltner channel: EMA ± multiplier · ATR."""

    upper: FloatArray
    middle: FloatArray
    lower: FloatArray


@jit
def _supertrend(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    multiplier: float,
    line: FloatArray,
    direction: FloatArray,
    upper: FloatArray,
    lower: FloatArray,
) -> None:
    """One pass: Wilder's ATR (the arithmetic of :func:`_kernels.wilder_atr`), the final
    bands and the direction."""
    n = close.size
    first = min(period, n)
    for out in (line, direction, upper, lower):
        out[:first] = np.nan
    if n <= period:
        return
    total = 0.0
    for i in range(1, period + 1):
        total += k.true_range(high[i], low[i], close[i - 1])
    atr = total / period
    keep = float(period - 1)
    inv = 1.0 / period
    mid = (high[first] + low[first]) * 0.5
    up = mid + multiplier * atr
    lo = mid - multiplier * atr
    d = -1.0
    upper[first] = up
    lower[first] = lo
    direction[first] = d
    line[first] = up
    for i in range(first + 1, n):
        prev_close = close[i - 1]
        h = high[i]
        low_i = low[i]
        atr = (atr * keep + k.true_range(h, low_i, prev_close)) * inv
        mid = (h + low_i) * 0.5
        width = multiplier * atr
        basic_up = mid + width
        basic_lo = mid - width
        # The upper band only falls unless the previous close broke above it; the lower
        # band only rises unless the previous close broke below it.
        up = basic_up if (basic_up < up) | (prev_close > up) else up
        lo = basic_lo if (basic_lo > lo) | (prev_close < lo) else lo
        c = close[i]
        if d < 0.0:
            if c > up:
                d = 1.0
        elif c < lo:
            d = -1.0
        upper[i] = up
        lower[i] = lo
        direction[i] = d
        line[i] = lo if d > 0.0 else up


def supertrend(
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    period: int = 10,
    multiplier: float = 3.0,
    *,
    checked: bool = False,
) -> SupertrendResult:
    """Supertrend on ATR bands around the bar midpoint (TradingView's ``ta.supertrend``).

    Basic bands are ``(high + low) / 2 ± multiplier · ATR(period)``. The final upper band only
    falls (it resets when the previous close broke above it), the final lower band only
    rises. Direction starts at −1 (down) on the first bar with an ATR, turns +1 when the
    close crosses above the upper band and −1 when it crosses below the lower band; the line
    is the lower band in an uptrend and the upper band in a downtrend. Warm-up ``period``.

    ``checked=True`` says the inputs are float64 arrays of one length that already passed
    :func:`~mftbot.analysis.indicators._validate.prepare`'s checks with no leading NaN (e.g.
    one window's candles checked once for several indicators): the scan is skipped and the
    outputs are the same.
    """
    p = check_int("period", period, 1)
    m = check_float("multiplier", multiplier)
    if checked and cast(FloatArray, close).size:
        c = cast(FloatArray, close)
        outputs = SupertrendResult(*(k.empty(c.size) for _ in range(4)))
        _supertrend(cast(FloatArray, high), cast(FloatArray, low), c, p, m, *outputs)
        return outputs
    prep = prepare({"high": high, "low": low, "close": close})
    if prep.empty:
        return SupertrendResult(prep.nan(), prep.nan(), prep.nan(), prep.nan())
    h, lo, c = prep.arrays
    outputs = SupertrendResult(*(k.empty(c.size) for _ in range(4)))
    _supertrend(h, lo, c, p, m, *outputs)
    return SupertrendResult(*(prep.pad(out) for out in outputs))


def _midpoint(high: FloatArray, low: FloatArray, window: int) -> FloatArray:
    return k.rolling_midpoint(high, low, window, k.empty(high.size))


def ichimoku(
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    tenkan: int = 9,
    kijun: int = 26,
    senkou_b: int = 52,
    displacement: int = 26,
    *,
    checked: bool = False,
) -> IchimokuResult:
    """Ichimoku Kinko Hyo, every output causal at its index.

    * ``tenkan``/``kijun``: midpoint of the highest high and lowest low over 9 / 26 bars
      (warm-up ``tenkan - 1`` / ``kijun - 1``).
    * ``senkou_a``: (tenkan + kijun) / 2 shifted forward ``displacement`` bars, so
      ``senkou_a[t]`` is the cloud edge drawn at t, computed at ``t - displacement``
      (warm-up ``kijun - 1 + displacement``); ``senkou_b`` likewise for the 52-bar midpoint
      (warm-up ``senkou_b - 1 + displacement``). The part of the cloud drawn beyond the last
      bar is not returned.
    * ``chikou``: the lagging span is the close plotted ``displacement`` bars back. Placing
      ``close[t]`` at ``t - displacement`` would put a later close at an earlier index, so it
      is returned at the bar it was observed: ``chikou[t] = close[t]``, to be drawn at
      ``t - displacement`` and compared with the price then, e.g.
      ``chikou[t] > close[t - displacement]``. It is NaN for the first ``displacement`` bars,
      which have no place to be drawn.

    ``checked=True`` says the inputs are float64 arrays of one length that already passed
    :func:`~mftbot.analysis.indicators._validate.prepare`'s checks with no leading NaN (e.g.
    one window's candles checked once for several indicators): the scan is skipped and the
    outputs are the same.
    """
    t_p = check_int("tenkan", tenkan, 1)
    k_p = check_int("kijun", kijun, 1)
    b_p = check_int("senkou_b", senkou_b, 1)
    disp = check_int("displacement", displacement, 0)
    if checked and cast(FloatArray, close).size:
        return _ichimoku(
            cast(FloatArray, high),
            cast(FloatArray, low),
            cast(FloatArray, close),
            t_p,
            k_p,
            b_p,
            disp,
        )
    prep = prepare({"high": high, "low": low, "close": close})
    if prep.empty:
        return IchimokuResult(*(prep.nan() for _ in range(5)))
    h, lo, c = prep.arrays
    lines = _ichimoku(h, lo, c, t_p, k_p, b_p, disp)
    return IchimokuResult(*(prep.pad(out) for out in lines))


def _ichimoku(
    h: FloatArray, lo: FloatArray, c: FloatArray, t_p: int, k_p: int, b_p: int, disp: int
) -> IchimokuResult:
    """:func:`ichimoku` of checked inputs (no leading NaN)."""
    n = c.size
    shown = max(n - disp, 0)  # bars whose cloud is drawn inside the input
    tenkan_line = _midpoint(h, lo, t_p)
    kijun_line = _midpoint(h, lo, k_p)
    span_a = k.empty(n)
    span_a[: n - shown] = np.nan
    np.add(tenkan_line[:shown], kijun_line[:shown], out=span_a[n - shown :])
    span_a[n - shown :] /= 2.0
    span_b = k.empty(n)
    span_b[: n - shown] = np.nan
    k.rolling_midpoint(h[:shown], lo[:shown], b_p, span_b[n - shown :])
    chikou = c.copy()
    chikou[: min(disp, c.size)] = np.nan
    return IchimokuResult(tenkan_line, kijun_line, span_a, span_b, chikou)


@jit
def _keltner(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    atr_period: int,
    multiplier: float,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> bool:
    """The three lines in one pass: the EMA (:func:`~._kernels.ema`) and Wilder's ATR
    (:func:`~._kernels.wilder_atr`) recursions side by side, so neither waits on the
    other's latency, with the same arithmetic as those kernels. False if a bar fails
    :func:`prepare`'s checks (finite, ``high >= low``)."""
    n = close.size
    bad = False
    alpha = 2.0 / (period + 1)
    keep = float(atr_period - 1)
    inv = 1.0 / atr_period
    ema = 0.0
    atr = np.nan
    prev_close = 0.0
    steady = min(max(period, atr_period + 1), n)
    for i in range(steady):  # warm-up: seeds
        h = high[i]
        lo = low[i]
        c = close[i]
        bad |= (h - h != 0.0) | (lo - lo != 0.0) | (c - c != 0.0) | (h < lo)
        if i < period:
            ema += c
            if i == period - 1:
                ema = ema / period
            mid = ema if i == period - 1 else np.nan
        else:
            ema = (c - ema) * alpha + ema
            mid = ema
        if 0 < i <= atr_period:
            atr = (0.0 if i == 1 else atr) + k.true_range(h, lo, prev_close)
            band = atr / atr_period if i == atr_period else np.nan
        elif i > atr_period:
            atr = (atr * keep + k.true_range(h, lo, prev_close)) * inv
            band = atr
        else:
            band = np.nan
        if i == atr_period:
            atr = band
        prev_close = c
        band *= multiplier
        middle[i] = mid
        upper[i] = mid + band
        lower[i] = mid - band
    for i in range(steady, n):
        h = high[i]
        lo = low[i]
        c = close[i]
        bad |= (h - h != 0.0) | (lo - lo != 0.0) | (c - c != 0.0) | (h < lo)
        ema = (c - ema) * alpha + ema
        atr = (atr * keep + k.true_range(h, lo, prev_close)) * inv
        prev_close = c
        band = atr * multiplier
        middle[i] = ema
        upper[i] = ema + band
        lower[i] = ema - band
    return not bad


def keltner(
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    period: int = 20,
    multiplier: float = 2.0,
    atr_period: int = 10,
) -> KeltnerResult:
    """Keltner channel: middle = EMA(close, period), bands = middle ± multiplier · ATR.

    Warm-up ``max(period - 1, atr_period)``. One compiled pass computes the three lines and
    checks the inputs; only on a failure does :func:`prepare` run (error message, leading
    NaNs stripped).
    """
    p = check_int("period", period, 1)
    a_p = check_int("atr_period", atr_period, 1)
    m = check_float("multiplier", multiplier, minimum=0.0, strict=False)
    arrays = as_inputs({"high": high, "low": low, "close": close})
    h, lo, c = arrays["high"], arrays["low"], arrays["close"]
    lines = KeltnerResult(k.empty(c.size), k.empty(c.size), k.empty(c.size))
    if _keltner(h, lo, c, p, a_p, m, *lines):
        return lines
    prep = prepare(arrays)
    if prep.empty:
        return KeltnerResult(prep.nan(), prep.nan(), prep.nan())
    h, lo, c = prep.arrays
    lines = KeltnerResult(k.empty(c.size), k.empty(c.size), k.empty(c.size))
    if not _keltner(h, lo, c, p, a_p, m, *lines):
        raise RuntimeError("validated input rejected by the Keltner kernel")
    return KeltnerResult(*(prep.pad(line) for line in lines))
