"""Typed wrappers around TA-Lib for the standard indicators.

Inputs are 1-D arrays of one length, converted to float64; outputs are float64 arrays of the
same length. Parameters outside TA-Lib's valid range raise ``ValueError`` before TA-Lib is
called. "Warm-up" below is the number of leading NaNs for finite input.

NaN input: leading NaNs are accepted and delay the start (the warm-up counts from the first
bar where every input is finite); a NaN after that bar, an infinity, a negative volume or a
high below the low raises ``ValueError``. TA-Lib itself would carry such a NaN into every
later value without a word.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import talib

from mftbot.analysis.indicators._validate import FloatArray, check_float, check_int, prepare

ArrayLike = npt.ArrayLike


class MACDResult(NamedTuple):
    """MACD line, its signal line and the histogram (line − signal)."""

    macd: FloatArray
    signal: FloatArray
    hist: FloatArray


class ADXResult(NamedTuple):
    """Average directional index with the two directional indicators."""

    adx: FloatArray
    plus_di: FloatArray
    minus_di: FloatArray


class BBandsResult(NamedTuple):
    """Bollinger bands: SMA ± k population standard deviations."""

    upper: FloatArray
    middle: FloatArray
    lower: FloatArray


class StochResult(NamedTuple):
    """Slow stochastic: %K (smoothed fast %K) and %D (SMA of %K)."""

    k: FloatArray
    d: FloatArray


def _call(
    fn: Callable[..., Any], count: int, inputs: Mapping[str, ArrayLike], **params: Any
) -> tuple[FloatArray, ...]:
    """Validate, run ``fn`` on the finite suffix and pad its ``count`` outputs to full length."""
    prep = prepare(inputs)
    if prep.empty:
        return tuple(prep.nan() for _ in range(count))
    result = fn(*prep.arrays, **params)
    outputs = result if isinstance(result, tuple) else (result,)
    return tuple(prep.pad(np.asarray(out, dtype=np.float64)) for out in outputs)


def _one(fn: Callable[..., Any], inputs: Mapping[str, ArrayLike], **params: Any) -> FloatArray:
    return _call(fn, 1, inputs, **params)[0]


def sma(close: ArrayLike, period: int = 20) -> FloatArray:
    """Simple moving average. Warm-up ``period - 1``."""
    return _one(talib.SMA, {"close": close}, timeperiod=check_int("period", period, 1))


def ema(close: ArrayLike, period: int = 20) -> FloatArray:
    """Exponential moving average (alpha 2/(period+1), SMA seed). Warm-up ``period - 1``."""
    return _one(talib.EMA, {"close": close}, timeperiod=check_int("period", period, 1))


def wma(close: ArrayLike, period: int = 20) -> FloatArray:
    """Linearly weighted moving average. Warm-up ``period - 1``."""
    return _one(talib.WMA, {"close": close}, timeperiod=check_int("period", period, 1))


def rsi(close: ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's relative strength index in [0, 100]. Warm-up ``period``.

    Constant prices (no gains and no losses) give 0, as TA-Lib defines it.
    """
    return _one(talib.RSI, {"close": close}, timeperiod=check_int("period", period, 2))


def macd(close: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> MACDResult:
    """MACD = EMA(fast) − EMA(slow), signal = EMA(signal) of it, hist = macd − signal.

    All three outputs share the warm-up ``slow + signal - 2``.
    """
    fast_p = check_int("fast", fast, 2)
    slow_p = check_int("slow", slow, 2)
    if fast_p >= slow_p:
        raise ValueError(f"fast ({fast_p}) must be shorter than slow ({slow_p})")
    line, sig, hist = _call(
        talib.MACD,
        3,
        {"close": close},
        fastperiod=fast_p,
        slowperiod=slow_p,
        signalperiod=check_int("signal", signal, 1),
    )
    return MACDResult(line, sig, hist)


def adx(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> ADXResult:
    """Wilder's ADX (warm-up ``2 * period - 1``) with +DI and −DI (warm-up ``period``)."""
    p = check_int("period", period, 2)
    inputs = {"high": high, "low": low, "close": close}
    return ADXResult(
        _one(talib.ADX, inputs, timeperiod=p),
        _one(talib.PLUS_DI, inputs, timeperiod=p),
        _one(talib.MINUS_DI, inputs, timeperiod=p),
    )


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's average true range. Warm-up ``period`` (the first bar has no true range)."""
    return _one(
        talib.ATR,
        {"high": high, "low": low, "close": close},
        timeperiod=check_int("period", period, 1),
    )


def bbands(close: ArrayLike, period: int = 20, nbdev: float = 2.0) -> BBandsResult:
    """Bollinger bands: SMA(period) ± nbdev population std. Warm-up ``period - 1``."""
    dev = check_float("nbdev", nbdev, minimum=0.0, strict=False)
    upper, middle, lower = _call(
        talib.BBANDS,
        3,
        {"close": close},
        timeperiod=check_int("period", period, 2),
        nbdevup=dev,
        nbdevdn=dev,
        matype=0,
    )
    return BBandsResult(upper, middle, lower)


def stoch(
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    k_period: int = 14,
    k_smooth: int = 3,
    d_period: int = 3,
) -> StochResult:
    """Slow stochastic with SMA smoothing. Warm-up ``k_period + k_smooth + d_period - 3``.

    A window with high == low everywhere gives %K = 0 (TA-Lib's convention).
    """
    k, d = _call(
        talib.STOCH,
        2,
        {"high": high, "low": low, "close": close},
        fastk_period=check_int("k_period", k_period, 1),
        slowk_period=check_int("k_smooth", k_smooth, 1),
        slowk_matype=0,
        slowd_period=check_int("d_period", d_period, 1),
        slowd_matype=0,
    )
    return StochResult(k, d)


def willr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """Williams %R in [−100, 0]. Warm-up ``period - 1``."""
    return _one(
        talib.WILLR,
        {"high": high, "low": low, "close": close},
        timeperiod=check_int("period", period, 2),
    )


def cci(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 20) -> FloatArray:
    """Commodity channel index. Warm-up ``period - 1``; 0 when the mean deviation is 0."""
    return _one(
        talib.CCI,
        {"high": high, "low": low, "close": close},
        timeperiod=check_int("period", period, 2),
    )


def mfi(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike, period: int = 14
) -> FloatArray:
    """Money flow index in [0, 100]. Warm-up ``period``; 0 when the window has no flow."""
    return _one(
        talib.MFI,
        {"high": high, "low": low, "close": close, "volume": volume},
        timeperiod=check_int("period", period, 2),
    )


def roc(close: ArrayLike, period: int = 10) -> FloatArray:
    """Rate of change in percent: 100 · (close / close[t − period] − 1). Warm-up ``period``."""
    return _one(talib.ROC, {"close": close}, timeperiod=check_int("period", period, 1))


def mom(close: ArrayLike, period: int = 10) -> FloatArray:
    """Momentum: close − close[t − period]. Warm-up ``period``."""
    return _one(talib.MOM, {"close": close}, timeperiod=check_int("period", period, 1))


def obv(close: ArrayLike, volume: ArrayLike) -> FloatArray:
    """On-balance volume, starting at the first bar's volume. No warm-up."""
    return _one(talib.OBV, {"close": close, "volume": volume})


def ad(high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike) -> FloatArray:
    """Chaikin accumulation/distribution line. No warm-up."""
    return _one(talib.AD, {"high": high, "low": low, "close": close, "volume": volume})


def sar(
    high: ArrayLike, low: ArrayLike, acceleration: float = 0.02, maximum: float = 0.2
) -> FloatArray:
    """Wilder's parabolic SAR. Warm-up 1."""
    acc = check_float("acceleration", acceleration)
    top = check_float("maximum", maximum)
    if acc > top:
        raise ValueError(f"acceleration ({acc}) must not exceed maximum ({top})")
    return _one(talib.SAR, {"high": high, "low": low}, acceleration=acc, maximum=top)
