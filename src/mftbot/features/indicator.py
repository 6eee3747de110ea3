"""The indicator channel: 35 technical indicators of the closed candles, model-ready.

Every value comes from the indicator library (:mod:`mftbot.analysis.indicators`: TA-Lib and
the hand-written ones) with its standard parameters; row ``t`` uses candles ``0..t`` only.
What is made of each indicator so that a model never sees the price level:

* price-level lines (SMA, EMA, Bollinger and Keltner bands, session VWAP) are given as their
  relative distance from the close, ``line / close - 1``; MACD and its lines and ATR are
  divided by the close;
* bounded oscillators (RSI, stochastic, Williams %R, CCI, MFI, ADX and the DIs, CMF, %B) are
  kept as they are;
* the cumulative lines (OBV, A/D, VPT, NVI), whose level depends on where the history starts,
  are replaced by a standard windowed form: OBV and VPT by their change over 20 bars divided
  by the volume of those bars, A/D by the Chaikin oscillator (EMA3 - EMA10 of A/D) divided by
  the 10-bar mean volume, NVI by its distance from its 255-bar SMA.

So each feature depends on a bounded stretch of history (plus exponentially decaying memory
in the EMA / Wilder recursions), which is what lets the incremental pipeline work on a
rolling window (:mod:`mftbot.features.pipeline`). :func:`latest_indicator_features`
computes the newest row alone for it, in one compiled call: the ``*_last`` kernels of
:mod:`mftbot.analysis.indicators._kernels` repeat TA-Lib's algorithms (seeds, recursions,
zero conventions) for the last value only, the windowed features are summed afresh, and
only CCI and MFI are read from TA-Lib itself; over the same candles it equals the batch
row to rounding. NaN policy as in
:mod:`mftbot.features.candle`: NaN in the warm-up (:data:`INDICATOR_WARMUP`) and where a
ratio is undefined.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from talib import _ta_lib  # the compiled functions, without talib's pandas wrapper

from mftbot.analysis import indicators as ind
from mftbot.analysis.indicators import _kernels as k
from mftbot.analysis.indicators._jit import jit
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind, Registry
from mftbot.features.candle import (
    FeatureError,
    FloatArray,
    ratio,
    validate_candles,
    window_mean,
)

IntArray = npt.NDArray[np.int64]

FLOW_WINDOW = 20
"""Bars over which the OBV and VPT changes are measured."""
NVI_AVERAGE = 255
"""Bars of the simple moving average NVI is compared with (Fosback's one-year average)."""
CHAIKIN_FAST, CHAIKIN_SLOW = 3, 10
"""EMA periods of the Chaikin oscillator over the A/D line."""

ENTRY_NAME = "indicator_features"
"""Name of the channel's entry in :data:`~mftbot.analysis.registry.REGISTRY`."""

INDICATOR_FEATURE_DOCS: Mapping[str, str] = {
    "sma_10": "SMA(close, 10) / close - 1",
    "sma_20": "SMA(close, 20) / close - 1",
    "sma_50": "SMA(close, 50) / close - 1",
    "ema_10": "EMA(close, 10) / close - 1 (alpha 2/(n+1), SMA seed)",
    "ema_20": "EMA(close, 20) / close - 1",
    "ema_50": "EMA(close, 50) / close - 1",
    "macd": "MACD line EMA12 - EMA26 of the close, divided by the close",
    "macd_signal": "MACD signal line EMA9(MACD), divided by the close",
    "macd_histogram": "MACD - signal, divided by the close",
    "adx": "Wilder's average directional index, 14 bars, in [0, 100]",
    "plus_di": "Wilder's +DI, 14 bars, in [0, 100]",
    "minus_di": "Wilder's -DI, 14 bars, in [0, 100]",
    "rsi_14": "Wilder's RSI, 14 bars, in [0, 100]",
    "rsi_28": "Wilder's RSI, 28 bars, in [0, 100]",
    "stochastic_k": "slow stochastic %K (14, smoothed by SMA 3), in [0, 100]",
    "stochastic_d": "slow stochastic %D, SMA 3 of %K, in [0, 100]",
    "williams_r": "Williams %R, 14 bars, in [-100, 0]",
    "cci": "commodity channel index, 20 bars (0.015 constant)",
    "momentum_10": "momentum close - close 10 bars ago, divided by the close",
    "roc": "rate of change over 10 bars in percent, 100 * (close / close[t-10] - 1)",
    "mfi": "money flow index, 14 bars, in [0, 100]",
    "bollinger_upper": "Bollinger upper band SMA20 + 2 population std, / close - 1",
    "bollinger_middle": "Bollinger middle band SMA20, / close - 1",
    "bollinger_lower": "Bollinger lower band SMA20 - 2 population std, / close - 1",
    "bollinger_width": "Bollinger bandwidth (upper - lower) / middle",
    "bollinger_pct": "Bollinger %B (close - lower) / (upper - lower); NaN if the bands meet",
    "atr_14": "Wilder's average true range, 14 bars, divided by the close",
    "keltner_upper": "Keltner upper band EMA20 + 2 * ATR10, / close - 1",
    "keltner_lower": "Keltner lower band EMA20 - 2 * ATR10, / close - 1",
    "obv": "on-balance volume change over 20 bars / volume of those bars, in [-1, 1]",
    "vwap": "session VWAP (typical price, reset 00:00 UTC) / close - 1",
    "ad_line": "Chaikin oscillator (EMA3(A/D) - EMA10(A/D)) / SMA(volume, 10)",
    "cmf": "Chaikin money flow, 20 bars, in [-1, 1]",
    "vpt": "volume price trend change over 20 bars / volume of those bars",
    "nvi": "negative volume index / SMA(NVI, 255) - 1",
}
"""Name -> one-line definition, in channel order."""

INDICATOR_FEATURE_NAMES: tuple[str, ...] = tuple(INDICATOR_FEATURE_DOCS)
"""The 35 indicator feature names, in vector order."""

INDICATOR_SCALE_FREE: Mapping[str, bool] = dict.fromkeys(INDICATOR_FEATURE_NAMES, True)
"""Whether each feature is free of the price / volume level (all are)."""

INDICATOR_WARMUP: Mapping[str, int] = {
    "sma_10": 9,
    "sma_20": 19,
    "sma_50": 49,
    "ema_10": 9,
    "ema_20": 19,
    "ema_50": 49,
    "macd": 33,
    "macd_signal": 33,
    "macd_histogram": 33,
    "adx": 27,
    "plus_di": 14,
    "minus_di": 14,
    "rsi_14": 14,
    "rsi_28": 28,
    "stochastic_k": 17,
    "stochastic_d": 17,
    "williams_r": 13,
    "cci": 19,
    "momentum_10": 10,
    "roc": 10,
    "mfi": 14,
    "bollinger_upper": 19,
    "bollinger_middle": 19,
    "bollinger_lower": 19,
    "bollinger_width": 19,
    "bollinger_pct": 19,
    "atr_14": 14,
    "keltner_upper": 19,
    "keltner_lower": 19,
    "obv": FLOW_WINDOW,
    "vwap": 0,
    "ad_line": CHAIKIN_SLOW - 1,
    "cmf": 19,
    "vpt": FLOW_WINDOW,
    "nvi": NVI_AVERAGE - 1,
}
"""Leading bars that are NaN for each feature (finite input)."""


def _change(line: FloatArray, window: int) -> FloatArray:
    """``line[t] - line[t - window]``, NaN for the first ``window`` bars."""
    out = np.full_like(line, np.nan)
    out[window:] = line[window:] - line[:-window]
    return out


def _relative(line: FloatArray, close: FloatArray) -> FloatArray:
    return line / close - 1.0


def indicator_feature_columns(
    candles: CandleArrays, *, validate: bool = True
) -> dict[str, FloatArray]:
    """Every indicator feature as a column aligned to ``candles`` (name -> array).

    ``validate=False`` skips :func:`~mftbot.features.candle.validate_candles`, for callers
    that already ran it.
    """
    if validate:
        validate_candles(candles)
    h, lo, c, v = candles.high, candles.low, candles.close, candles.volume
    macd = ind.macd(c)
    adx = ind.adx(h, lo, c)
    stoch = ind.stoch(h, lo, c)
    bands = ind.bbands(c, 20, 2.0)
    keltner = ind.keltner(h, lo, c)
    flow_volume = window_mean(v, FLOW_WINDOW) * FLOW_WINDOW
    ad = ind.ad(h, lo, c, v)
    chaikin = ind.ema(ad, CHAIKIN_FAST) - ind.ema(ad, CHAIKIN_SLOW)
    nvi = ind.nvi(c, v)
    return {
        "sma_10": _relative(ind.sma(c, 10), c),
        "sma_20": _relative(ind.sma(c, 20), c),
        "sma_50": _relative(ind.sma(c, 50), c),
        "ema_10": _relative(ind.ema(c, 10), c),
        "ema_20": _relative(ind.ema(c, 20), c),
        "ema_50": _relative(ind.ema(c, 50), c),
        "macd": macd.macd / c,
        "macd_signal": macd.signal / c,
        "macd_histogram": macd.hist / c,
        "adx": adx.adx,
        "plus_di": adx.plus_di,
        "minus_di": adx.minus_di,
        "rsi_14": ind.rsi(c, 14),
        "rsi_28": ind.rsi(c, 28),
        "stochastic_k": stoch.k,
        "stochastic_d": stoch.d,
        "williams_r": ind.willr(h, lo, c, 14),
        "cci": ind.cci(h, lo, c, 20),
        "momentum_10": ind.mom(c, 10) / c,
        "roc": ind.roc(c, 10),
        "mfi": ind.mfi(h, lo, c, v, 14),
        "bollinger_upper": _relative(bands.upper, c),
        "bollinger_middle": _relative(bands.middle, c),
        "bollinger_lower": _relative(bands.lower, c),
        "bollinger_width": ratio(bands.upper - bands.lower, bands.middle),
        "bollinger_pct": ratio(c - bands.lower, bands.upper - bands.lower),
        "atr_14": ind.atr(h, lo, c, 14) / c,
        "keltner_upper": _relative(keltner.upper, c),
        "keltner_lower": _relative(keltner.lower, c),
        "obv": ratio(_change(ind.obv(c, v), FLOW_WINDOW), flow_volume),
        "vwap": _relative(ind.vwap(h, lo, c, v, candles.time_ns), c),
        "ad_line": ratio(chaikin, window_mean(v, CHAIKIN_SLOW)),
        "cmf": ind.cmf(h, lo, c, v, 20),
        "vpt": ratio(_change(ind.vpt(c, v), FLOW_WINDOW), flow_volume),
        "nvi": ratio(nvi, ind.sma(nvi, NVI_AVERAGE)) - 1.0,
    }


def indicator_features(candles: CandleArrays, *, validate: bool = True) -> FloatArray:
    """The indicator channel as an ``(n, 35)`` float64 matrix, columns in
    :data:`INDICATOR_FEATURE_NAMES` order."""
    cols = indicator_feature_columns(candles, validate=validate)
    out = np.empty((len(candles), len(INDICATOR_FEATURE_NAMES)))
    for j, name in enumerate(INDICATOR_FEATURE_NAMES):
        out[:, j] = cols[name]
    return out


# --------------------------------------------------------------------------- newest row

NS_PER_DAY = 86_400 * 1_000_000_000
MEMORY: Mapping[str, int] = {
    "ema_10": 150,
    "ema_20": 300,
    "ema_50": 700,
    "macd": 400,
    "atr_14": 400,
    "keltner": 300,
    "ad_line": 150,
    "adx": 500,
    "rsi_14": 400,
    "rsi_28": 800,
}
"""Candles each recursive feature runs over once older candles have been dropped: enough
for its seed to fade below 1e-12 of the value (EMA n: factor (n-1)/(n+1) per candle; Wilder
n: (n-1)/n; the ADX smooths twice; MACD: its slow EMA, then the signal). The slowest is
RSI 28: 27/28 per candle, 1e-12 after ~760 candles."""

_ROW_MEMORY = np.array(list(MEMORY.values()), dtype=np.int64)
_EMA10, _EMA20, _EMA50, _MACD, _ATR14, _KELTNER, _AD, _ADX, _RSI14, _RSI28 = range(len(MEMORY))
_CCI_TAIL, _MFI_TAIL = 20, 15
"""Candles CCI 20 and MFI 14 read for their newest value (their look-back + 1)."""


@jit
def _rel(line: float, close: float) -> float:
    return line / close - 1.0


@jit
def _safe_ratio(num: float, den: float) -> float:
    return num / den if den != 0.0 else np.nan


@jit
def _chaikin(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray) -> float:
    """EMA 3 − EMA 10 of TA-Lib's A/D line (accumulated from the first element) at the last
    element; NaN before index 9."""
    n = close.size
    if n < CHAIKIN_SLOW:
        return np.nan
    ad = 0.0
    fast = 0.0
    slow = 0.0
    k_fast = 2.0 / (CHAIKIN_FAST + 1)
    k_slow = 2.0 / (CHAIKIN_SLOW + 1)
    for i in range(n):
        span = high[i] - low[i]
        if span > 0.0:
            ad += (((close[i] - low[i]) - (high[i] - close[i])) / span) * volume[i]
        if i < CHAIKIN_FAST:
            fast += ad
            if i == CHAIKIN_FAST - 1:
                fast /= CHAIKIN_FAST
        else:
            fast = (ad - fast) * k_fast + fast
        if i < CHAIKIN_SLOW:
            slow += ad
            if i == CHAIKIN_SLOW - 1:
                slow /= CHAIKIN_SLOW
        else:
            slow = (ad - slow) * k_slow + slow
    return fast - slow


@jit
def _flows(close: FloatArray, volume: FloatArray) -> tuple[float, float]:
    """OBV and VPT changes over the last :data:`FLOW_WINDOW` candles (the sums of their
    steps); NaN before index ``FLOW_WINDOW``."""
    n = close.size
    if n <= FLOW_WINDOW:
        return np.nan, np.nan
    obv = 0.0
    vpt = 0.0
    for i in range(n - FLOW_WINDOW, n):
        prev = close[i - 1]
        x = close[i]
        if x > prev:
            obv += volume[i]
        elif x < prev:
            obv -= volume[i]
        vpt += volume[i] * ((x - prev) / prev)
    return obv, vpt


@jit
def _session_vwap(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, time_ns: IntArray
) -> float:
    """VWAP of the typical price over the last candle's UTC day, summed in time order;
    NaN while that day has traded nothing."""
    t = close.size - 1
    day_start = time_ns[t] // NS_PER_DAY * NS_PER_DAY
    first = t
    while first > 0 and time_ns[first - 1] >= day_start:
        first -= 1
    pv = 0.0
    vol = 0.0
    for i in range(first, t + 1):
        v = volume[i]
        pv += (high[i] + low[i] + close[i]) / 3.0 * v
        vol += v
    return pv / vol if vol > 0.0 else np.nan


@jit
def _cmf(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray) -> float:
    """Chaikin money flow over the last 20 candles (0 when they traded nothing)."""
    n = close.size
    if n < 20:
        return np.nan
    top = 0.0
    bottom = 0.0
    nonzero = 0
    for i in range(n - 20, n):
        spread = high[i] - low[i]
        weight = ((close[i] - low[i]) - (high[i] - close[i])) / spread if spread > 0.0 else 0.0
        top += weight * volume[i]
        bottom += volume[i]
        nonzero += int(volume[i] != 0.0)
    return top / bottom if nonzero > 0 else 0.0


@jit
def _nvi_ratio(close: FloatArray, volume: FloatArray) -> float:
    """NVI / SMA(NVI, 255) - 1 at the last candle, the NVI restarted at 1 on the first of
    the 255 (the ratio does not depend on its level)."""
    n = close.size
    if n < NVI_AVERAGE:
        return np.nan
    level = 1.0
    total = level
    for i in range(n - NVI_AVERAGE + 1, n):
        if volume[i] < volume[i - 1]:
            prev = close[i - 1]
            level = level * (1.0 + (close[i] - prev) / prev)
        total += level
    return _safe_ratio(level, total / NVI_AVERAGE) - 1.0


@jit
def _indicator_row(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    time_ns: IntArray,
    cci: float,
    mfi: float,
    memory: IntArray,
    trimmed: bool,
    out: FloatArray,
) -> None:
    """The 35 features of the last candle (definitions in
    :func:`indicator_feature_columns`), given TA-Lib's CCI 20 and MFI 14 there. With
    ``trimmed``, each recursion runs over its last ``memory`` candles (:data:`MEMORY`
    order)."""
    n = close.size
    c = close[n - 1]
    starts = np.zeros(memory.size, np.int64)
    if trimmed:
        for j in range(memory.size):
            starts[j] = max(n - memory[j], 0)
    h, lo, cl, v = high, low, close, volume
    s = starts[_ADX]
    adx, plus_di, minus_di = k.dmi_last(h[s:], lo[s:], cl[s:], 14)
    line, signal = k.macd_last(cl[starts[_MACD] :], 12, 26, 9)
    upper, middle, lower = k.bbands_last(cl, 20, 2.0)
    stoch_k, stoch_d = k.stoch_last(h, lo, cl, 14, 3, 3)
    s = starts[_KELTNER]
    keltner_mid = k.ema_last(cl[s:], 20)
    band = k.wilder_atr_last(h[s:], lo[s:], cl[s:], 10) * 2.0
    s = starts[_ATR14]
    atr14 = k.wilder_atr_last(h[s:], lo[s:], cl[s:], 14)
    s = starts[_AD]
    chaikin = _chaikin(h[s:], lo[s:], cl[s:], v[s:])
    obv, vpt = _flows(cl, v)
    flow_volume = k.sma_last(v, FLOW_WINDOW) * FLOW_WINDOW
    before = cl[n - 11] if n > 10 else np.nan
    out[0] = _rel(k.sma_last(cl, 10), c)
    out[1] = _rel(k.sma_last(cl, 20), c)
    out[2] = _rel(k.sma_last(cl, 50), c)
    out[3] = _rel(k.ema_last(cl[starts[_EMA10] :], 10), c)
    out[4] = _rel(k.ema_last(cl[starts[_EMA20] :], 20), c)
    out[5] = _rel(k.ema_last(cl[starts[_EMA50] :], 50), c)
    out[6] = line / c
    out[7] = signal / c
    out[8] = (line - signal) / c
    out[9] = adx
    out[10] = plus_di
    out[11] = minus_di
    out[12] = k.rsi_last(cl[starts[_RSI14] :], 14)
    out[13] = k.rsi_last(cl[starts[_RSI28] :], 28)
    out[14] = stoch_k
    out[15] = stoch_d
    out[16] = k.willr_last(h, lo, cl, 14)
    out[17] = cci
    out[18] = (c - before) / c
    out[19] = ((c / before) - 1.0) * 100.0 if before != 0.0 else 0.0  # TA-Lib's ROC
    out[20] = mfi
    out[21] = _rel(upper, c)
    out[22] = _rel(middle, c)
    out[23] = _rel(lower, c)
    out[24] = _safe_ratio(upper - lower, middle)
    out[25] = _safe_ratio(c - lower, upper - lower)
    out[26] = atr14 / c
    out[27] = _rel(keltner_mid + band, c)
    out[28] = _rel(keltner_mid - band, c)
    out[29] = _safe_ratio(obv, flow_volume)
    out[30] = _rel(_session_vwap(h, lo, cl, v, time_ns), c)
    out[31] = _safe_ratio(chaikin, k.sma_last(v, CHAIKIN_SLOW))
    out[32] = _cmf(h, lo, cl, v)
    out[33] = _safe_ratio(vpt, flow_volume)
    out[34] = _nvi_ratio(cl, v)


def latest_indicator_features(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    time_ns: IntArray,
    out: FloatArray,
    *,
    trimmed: bool = False,
) -> FloatArray:
    """The 35 features of the newest candle (the arrays' last element) into ``out``, in
    :data:`INDICATOR_FEATURE_NAMES` order, in one compiled call (plus TA-Lib's CCI and
    MFI over their last candles).

    The arrays are contiguous, oldest first and already validated
    (:func:`~mftbot.features.candle.validate_candles`), and hold every candle of the
    newest candle's UTC day (session VWAP). With ``trimmed`` False they are the whole
    history and the result is the last row of :func:`indicator_features` over them, to
    rounding. With ``trimmed`` True older candles were dropped: each recursion then runs
    over its last :data:`MEMORY` candles, long enough to have forgotten where it started,
    which the caller must hold.
    """
    n = close.size
    if n == 0:
        raise FeatureError("no candle to compute features of")
    # TA-Lib's CCI and MFI treat a typical price within ~1e-13 (relative) of the mean or of
    # the previous one as equal, a convention a copy could only guess at: they read their
    # last candles from TA-Lib itself.
    s = max(n - _CCI_TAIL, 0)
    cci = float(_ta_lib.CCI(high[s:], low[s:], close[s:], 20)[-1])
    s = max(n - _MFI_TAIL, 0)
    mfi = float(_ta_lib.MFI(high[s:], low[s:], close[s:], volume[s:], 14)[-1])
    _indicator_row(high, low, close, volume, time_ns, cci, mfi, _ROW_MEMORY, trimmed, out)
    return out


def register_indicator_features(registry: Registry, *, replace: bool = False) -> None:
    """Register the channel as one ``feature`` entry (35 outputs) for the look-ahead check."""
    registry.register(
        ENTRY_NAME,
        indicator_feature_columns,
        outputs=INDICATOR_FEATURE_NAMES,
        kind=Kind.FEATURE,
        warmup=max(INDICATOR_WARMUP.values()),
        description="the 35-feature indicator channel",
        params={"flow_window": FLOW_WINDOW, "nvi_average": NVI_AVERAGE},
        replace=replace,
    )


if ENTRY_NAME not in REGISTRY:
    register_indicator_features(REGISTRY)
