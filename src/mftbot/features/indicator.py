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
rolling window (:mod:`mftbot.features.pipeline`). NaN policy as in
:mod:`mftbot.features.candle`: NaN in the warm-up (:data:`INDICATOR_WARMUP`) and where a
ratio is undefined.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mftbot.analysis import indicators as ind
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind, Registry
from mftbot.features.candle import FloatArray, ratio, validate_candles

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
    flow_volume = ind.sma(v, FLOW_WINDOW) * FLOW_WINDOW
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
        "ad_line": ratio(chaikin, ind.sma(v, CHAIKIN_SLOW)),
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
