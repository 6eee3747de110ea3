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
from mftbot.analysis.indicators._validate import FloatArray, check_float, check_int, prepare

ArrayLike = npt.ArrayLike
_LN2 = math.log(2.0)


def _annual_factor(periods_per_year: float | None) -> float:
    if periods_per_year is None:
        return 1.0
    return math.sqrt(check_float("periods_per_year", periods_per_year))


def _scale(per_bar: FloatArray, factor: float) -> FloatArray:
    if factor != 1.0:
        per_bar *= factor
    return per_bar


def _log_ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.divide(num, den)
    return np.log(out, out=out)


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


def parkinson_vol(
    high: ArrayLike, low: ArrayLike, window: int = 20, *, periods_per_year: float | None = None
) -> FloatArray:
    """Parkinson's range estimator: sqrt(mean(ln(high/low)²) / (4 ln 2)) over ``window`` bars.

    Warm-up ``window - 1``.
    """
    w = check_int("window", window, 1)
    factor = _annual_factor(periods_per_year)
    prep = prepare({"high": high, "low": low}, positive=("low",))  # high >= low is checked
    if prep.empty:
        return prep.nan()
    h, lo = prep.arrays
    hl = _log_ratio(h, lo)
    per_bar = k.rolling_quadratic_mean(hl, hl, 1.0 / (4.0 * _LN2), 0.0, w, k.empty(hl.size))
    np.sqrt(per_bar, out=per_bar)
    return _scale(prep.pad(per_bar), factor)


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
    """
    w = check_int("window", window, 1)
    factor = _annual_factor(periods_per_year)
    prep = prepare(
        {"open": open_, "high": high, "low": low, "close": close},
        positive=("open", "low", "close"),  # high >= low is checked
    )
    if prep.empty:
        return prep.nan()
    o, h, lo, c = prep.arrays
    hl = _log_ratio(h, lo)
    co = _log_ratio(c, o)
    per_bar = k.rolling_quadratic_mean(hl, co, 0.5, -(2.0 * _LN2 - 1.0), w, k.empty(hl.size))
    np.sqrt(per_bar, out=per_bar)
    return _scale(prep.pad(per_bar), factor)
