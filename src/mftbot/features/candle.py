"""The candle channel: 25 features of each closed candle and its recent past.

Input is a :class:`~mftbot.analysis.registry.CandleArrays` (closed candles only, in time
order); output is one row per candle, aligned to it: row ``t`` uses candles ``0..t`` only.
:func:`latest_candle_features` computes the newest row alone, in one compiled pass over the
last few candles (the live pipeline's path; equal to the batch row to rounding).
Price-level features are expressed relative to the candle's close, so a model does not learn
the price level; ``close`` and ``volume`` are the only raw values (flagged in
:data:`CANDLE_SCALE_FREE`). Rolling statistics use the indicator library
(:mod:`mftbot.analysis.indicators`).

NaN policy: NaN during each feature's warm-up (see :data:`CANDLE_WARMUP`) and where a
feature is undefined (a ratio whose denominator is 0, e.g. a candle with high == low);
never a filled-in 0. Candles with a NaN, an infinity, a non-positive price, a negative
volume or a high/low that does not bound the open and close raise :class:`FeatureError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.analysis import indicators as ind
from mftbot.analysis.indicators import _kernels as k
from mftbot.analysis.indicators._jit import jit
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind, Registry
from mftbot.core.errors import DataError

FloatArray: TypeAlias = npt.NDArray[np.float64]

VOLUME_WINDOW = 20
"""Bars of the volume average behind ``volume_ma_ratio``, ``price_volume_trend`` and
``money_flow``."""
VOLATILITY_WINDOW = 20
"""Bars of the three volatility estimators and of ``volume_weighted_price``."""

ENTRY_NAME = "candle_features"
"""Name of the channel's entry in :data:`~mftbot.analysis.registry.REGISTRY`."""


class FeatureError(DataError):
    """Input to a feature computation is malformed (bad candles, misaligned arrays)."""


CANDLE_FEATURE_DOCS: Mapping[str, str] = {
    "open": "open / close - 1 of the candle",
    "high": "high / close - 1 of the candle",
    "low": "low / close - 1 of the candle",
    "close": "close price of the candle (raw, quote currency)",
    "volume": "traded volume of the candle (raw, base asset)",
    "typical_price": "(high + low + close) / 3 / close - 1",
    "returns": "simple return close / previous close - 1",
    "log_returns": "log return ln(close / previous close)",
    "high_low_range": "(high - low) / close",
    "close_open_diff": "close / open - 1 (the candle's own return)",
    "upper_shadow": "(high - max(open, close)) / close",
    "lower_shadow": "(min(open, close) - low) / close",
    "body_size": "|close - open| / close",
    "realized_volatility": "sample std (ddof 1) of the last 20 log returns, per bar",
    "parkinson_volatility": "Parkinson range volatility over 20 bars, per bar",
    "garman_klass_volatility": "Garman-Klass OHLC volatility over 20 bars, per bar",
    "volume_ma_ratio": "volume / SMA(volume, 20); NaN when that average is 0",
    "volume_change_rate": "volume / previous volume - 1; NaN when the previous volume is 0",
    "price_volume_trend": (
        "the candle's price-volume-trend step, returns * volume / SMA(volume, 20)"
    ),
    "volume_weighted_price": "VWAP of the typical price over 20 bars / close - 1",
    "money_flow": (
        "Chaikin money-flow multiplier ((c-l)-(h-c))/(h-l) (0 if h == l) * volume_ma_ratio"
    ),
    "doji_strength": "1 - |close - open| / (high - low) in [0, 1]; NaN if high == low",
    "hammer_strength": (
        "(lower shadow - upper shadow) / (high - low) in [-1, 1]: +1 hammer, -1 shooting star; "
        "NaN if high == low"
    ),
    "engulfing_strength": (
        "+-(1 - previous body / body) when the body engulfs the previous opposite-coloured "
        "body (+ bullish, - bearish), else 0"
    ),
    "gap_size": "open / previous close - 1",
}
"""Name -> one-line definition, in channel order."""

CANDLE_FEATURE_NAMES: tuple[str, ...] = tuple(CANDLE_FEATURE_DOCS)
"""The 25 candle feature names, in vector order."""

CANDLE_SCALE_FREE: Mapping[str, bool] = {
    name: name not in ("close", "volume") for name in CANDLE_FEATURE_NAMES
}
"""Whether each feature is free of the price / volume level of the asset."""

CANDLE_WARMUP: Mapping[str, int] = {
    **dict.fromkeys(CANDLE_FEATURE_NAMES, 0),
    **dict.fromkeys(
        ("returns", "log_returns", "volume_change_rate", "engulfing_strength", "gap_size"), 1
    ),
    "realized_volatility": VOLATILITY_WINDOW,
    "parkinson_volatility": VOLATILITY_WINDOW - 1,
    "garman_klass_volatility": VOLATILITY_WINDOW - 1,
    "volume_ma_ratio": VOLUME_WINDOW - 1,
    "price_volume_trend": VOLUME_WINDOW - 1,
    "volume_weighted_price": VOLATILITY_WINDOW - 1,
    "money_flow": VOLUME_WINDOW - 1,
}
"""Leading bars that are NaN for each feature (finite input)."""


def validate_candles(candles: CandleArrays) -> None:
    """Raise :class:`FeatureError` unless every candle is finite and consistent.

    Prices must be > 0, volume >= 0, high >= max(open, close, low), low <= min(open, close),
    and open times strictly increasing.
    """
    o, h, lo, c, v = candles.open, candles.high, candles.low, candles.close, candles.volume
    checks = (
        (~np.isfinite(o) | (o <= 0), "open is NaN, infinite or <= 0"),
        (~np.isfinite(h) | (h <= 0), "high is NaN, infinite or <= 0"),
        (~np.isfinite(lo) | (lo <= 0), "low is NaN, infinite or <= 0"),
        (~np.isfinite(c) | (c <= 0), "close is NaN, infinite or <= 0"),
        (~np.isfinite(v) | (v < 0), "volume is NaN, infinite or < 0"),
        (h < np.maximum(np.maximum(o, c), lo), "high below open, close or low"),
        (lo > np.minimum(o, c), "low above open or close"),
    )
    for bad, what in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FeatureError(f"candle {i} (open time {int(candles.time_ns[i])} ns): {what}")
    if len(candles) > 1 and np.any(np.diff(candles.time_ns) <= 0):
        i = int(np.flatnonzero(np.diff(candles.time_ns) <= 0)[0]) + 1
        raise FeatureError(f"candle {i}: open time not after the previous candle's")


def validate_candle(
    open_ns: int, open_: float, high: float, low: float, close: float, volume: float
) -> None:
    """:func:`validate_candles` for one candle given as scalars (no arrays built): raise
    :class:`FeatureError`, with the same messages, unless it is finite and consistent."""
    checks = (
        (not (math.isfinite(open_) and open_ > 0.0), "open is NaN, infinite or <= 0"),
        (not (math.isfinite(high) and high > 0.0), "high is NaN, infinite or <= 0"),
        (not (math.isfinite(low) and low > 0.0), "low is NaN, infinite or <= 0"),
        (not (math.isfinite(close) and close > 0.0), "close is NaN, infinite or <= 0"),
        (not (math.isfinite(volume) and volume >= 0.0), "volume is NaN, infinite or < 0"),
        (high < max(open_, close, low), "high below open, close or low"),
        (low > min(open_, close), "low above open or close"),
    )
    for bad, what in checks:
        if bad:
            raise FeatureError(f"candle 0 (open time {int(open_ns)} ns): {what}")


def window_mean(x: FloatArray, window: int) -> FloatArray:
    """Mean of the last ``window`` values, NaN in the warm-up; exactly 0 over a window of
    zeros (a running sum would leave a rounding residue there and a ratio over it would
    be a huge number instead of NaN)."""
    total = k.rolling_sum(x, window, k.empty(x.size))
    total /= window
    return total


def ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` with NaN (not inf, not 0) where ``den`` is 0."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def previous(x: FloatArray) -> FloatArray:
    """``x`` shifted one bar later: ``out[t] = x[t-1]``, NaN at 0."""
    out = np.empty_like(x)
    out[:1] = np.nan
    out[1:] = x[:-1]
    return out


def _engulfing(o: FloatArray, c: FloatArray) -> FloatArray:
    po, pc = previous(o), previous(c)
    body = np.abs(c - o)
    prev_body = np.abs(pc - po)
    bullish = (c > o) & (pc < po) & (o <= pc) & (c >= po)
    bearish = (c < o) & (pc > po) & (o >= pc) & (c <= po)
    strength = 1.0 - ratio(prev_body, body)
    out = np.where(bullish, strength, np.where(bearish, -strength, 0.0))
    out[:1] = np.nan
    return out


def candle_feature_columns(
    candles: CandleArrays, *, validate: bool = True
) -> dict[str, FloatArray]:
    """Every candle feature as a column aligned to ``candles`` (name -> array).

    ``validate=False`` skips :func:`validate_candles`, for callers that already ran it.
    """
    if validate:
        validate_candles(candles)
    o, h, lo, c, v = candles.open, candles.high, candles.low, candles.close, candles.volume
    prev_c = previous(c)
    span = h - lo
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    returns = c / prev_c - 1.0
    volume_ratio = ratio(v, window_mean(v, VOLUME_WINDOW))
    multiplier = ratio((c - lo) - (h - c), span)
    multiplier[span == 0] = 0.0  # Chaikin's convention for a flat candle, as ind.cmf uses
    cols: dict[str, FloatArray] = {
        "open": o / c - 1.0,
        "high": h / c - 1.0,
        "low": lo / c - 1.0,
        "close": c.copy(),
        "volume": v.copy(),
        "typical_price": (h + lo + c) / 3.0 / c - 1.0,
        "returns": returns,
        "log_returns": np.log(c / prev_c),
        "high_low_range": span / c,
        "close_open_diff": c / o - 1.0,
        "upper_shadow": (h - top) / c,
        "lower_shadow": (bottom - lo) / c,
        "body_size": np.abs(c - o) / c,
        "realized_volatility": ind.realized_vol(c, VOLATILITY_WINDOW),
        "parkinson_volatility": ind.parkinson_vol(h, lo, VOLATILITY_WINDOW),
        "garman_klass_volatility": ind.garman_klass_vol(o, h, lo, c, VOLATILITY_WINDOW),
        "volume_ma_ratio": volume_ratio,
        "volume_change_rate": ratio(v, previous(v)) - 1.0,
        "price_volume_trend": returns * volume_ratio,
        "volume_weighted_price": ind.rolling_vwap(h, lo, c, v, VOLATILITY_WINDOW) / c - 1.0,
        "money_flow": multiplier * volume_ratio,
        "doji_strength": 1.0 - ratio(np.abs(c - o), span),
        "hammer_strength": ratio((bottom - lo) - (h - top), span),
        "engulfing_strength": _engulfing(o, c),
        "gap_size": o / prev_c - 1.0,
    }
    return cols


def candle_features(candles: CandleArrays, *, validate: bool = True) -> FloatArray:
    """The candle channel as an ``(n, 25)`` float64 matrix, columns in
    :data:`CANDLE_FEATURE_NAMES` order."""
    cols = candle_feature_columns(candles, validate=validate)
    out = np.empty((len(candles), len(CANDLE_FEATURE_NAMES)))
    for j, name in enumerate(CANDLE_FEATURE_NAMES):
        out[:, j] = cols[name]
    return out


_LN2 = math.log(2.0)
LATEST_LOOKBACK = max(VOLATILITY_WINDOW, VOLUME_WINDOW) + 1
"""Candles :func:`latest_candle_features` reads (the newest and the ones before it)."""


@jit
def _ratio(num: float, den: float) -> float:
    """``num / den``, NaN where ``den`` is 0 (as :func:`ratio`)."""
    return num / den if den != 0.0 else np.nan


@jit
def _mean_last(x: FloatArray, count: int) -> float:
    """Mean of the last ``count`` values (sum in order, then divided), NaN if fewer."""
    n = x.size
    if n < count:
        return np.nan
    total = 0.0
    for i in range(n - count, n):
        total += x[i]
    return total / count


@jit
def _realized(close: FloatArray, window: int) -> float:
    """Sample std (ddof 1) of the last ``window`` log-close differences, NaN if fewer."""
    n = close.size
    if n < window + 1:
        return np.nan
    total = 0.0
    for i in range(n - window, n):
        total += math.log(close[i]) - math.log(close[i - 1])
    mean = total * (1.0 / window)
    m2 = 0.0
    for i in range(n - window, n):
        d = (math.log(close[i]) - math.log(close[i - 1])) - mean
        m2 += d * d
    return math.sqrt((m2 if m2 > 0.0 else 0.0) * (1.0 / (window - 1)))


@jit
def _range_vol(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    window: int,
    wa: float,
    wb: float,
) -> float:
    """sqrt(mean of ``wa·ln(h/l)² + wb·ln(c/o)²``) over the last ``window`` bars, the mean
    clipped at 0 (Parkinson: ``wb = 0``; Garman–Klass), NaN if fewer bars."""
    n = close.size
    if n < window:
        return np.nan
    total = 0.0
    nonzero = 0
    for i in range(n - window, n):
        x = math.log(high[i] / low[i])
        y = math.log(close[i] / open_[i])
        term = wa * x * x + wb * y * y
        total += term
        nonzero += int(term != 0.0)
    mean = total * (1.0 / window)
    return math.sqrt(mean if (nonzero > 0 and mean > 0.0) else 0.0)


@jit
def _candle_row(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    out: FloatArray,
) -> None:
    """The 25 features of the last candle of the arrays (see :func:`candle_feature_columns`
    for each definition; same arithmetic, windows summed afresh)."""
    t = close.size - 1
    o = open_[t]
    h = high[t]
    lo = low[t]
    c = close[t]
    v = volume[t]
    prev_c = close[t - 1] if t >= 1 else np.nan
    prev_o = open_[t - 1] if t >= 1 else np.nan
    prev_v = volume[t - 1] if t >= 1 else np.nan
    span = h - lo
    top = max(o, c)
    bottom = min(o, c)
    returns = c / prev_c - 1.0
    volume_ratio = _ratio(v, _mean_last(volume, VOLUME_WINDOW))
    multiplier = _ratio((c - lo) - (h - c), span) if span != 0.0 else 0.0
    vw_top = 0.0
    vw_bottom = 0.0
    nonzero = 0
    vwap = np.nan
    if t + 1 >= VOLATILITY_WINDOW:
        for i in range(t + 1 - VOLATILITY_WINDOW, t + 1):
            vw_top += (high[i] + low[i] + close[i]) / 3.0 * volume[i]
            vw_bottom += volume[i]
            nonzero += int(volume[i] != 0.0)
        vwap = vw_top / vw_bottom if nonzero > 0 else np.nan
    body = abs(c - o)
    engulf = np.nan
    if t >= 1:
        bullish = (c > o) and (prev_c < prev_o) and (o <= prev_c) and (c >= prev_o)
        bearish = (c < o) and (prev_c > prev_o) and (o >= prev_c) and (c <= prev_o)
        strength = 1.0 - _ratio(abs(prev_c - prev_o), body)
        engulf = strength if bullish else (-strength if bearish else 0.0)
    out[0] = o / c - 1.0
    out[1] = h / c - 1.0
    out[2] = lo / c - 1.0
    out[3] = c
    out[4] = v
    out[5] = (h + lo + c) / 3.0 / c - 1.0
    out[6] = returns
    out[7] = math.log(c / prev_c) if t >= 1 else np.nan
    out[8] = span / c
    out[9] = c / o - 1.0
    out[10] = (h - top) / c
    out[11] = (bottom - lo) / c
    out[12] = body / c
    out[13] = _realized(close, VOLATILITY_WINDOW)
    out[14] = _range_vol(open_, high, low, close, VOLATILITY_WINDOW, 1.0 / (4.0 * _LN2), 0.0)
    out[15] = _range_vol(open_, high, low, close, VOLATILITY_WINDOW, 0.5, -(2.0 * _LN2 - 1.0))
    out[16] = volume_ratio
    out[17] = _ratio(v, prev_v) - 1.0
    out[18] = returns * volume_ratio
    out[19] = vwap / c - 1.0
    out[20] = multiplier * volume_ratio
    out[21] = 1.0 - _ratio(body, span)
    out[22] = _ratio((bottom - lo) - (h - top), span)
    out[23] = engulf
    out[24] = o / prev_c - 1.0


def latest_candle_features(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    out: FloatArray,
) -> FloatArray:
    """The 25 features of the newest candle (the arrays' last element) into ``out``, in
    :data:`CANDLE_FEATURE_NAMES` order: the last row of :func:`candle_features` over the
    same candles, to rounding (rolling sums are taken afresh instead of carried).

    The arrays are float64, contiguous, oldest first and already validated
    (:func:`validate_candles`); only their last :data:`LATEST_LOOKBACK` elements are read,
    so a history shorter than that must be given whole (its warm-up is then NaN).
    """
    if close.size == 0:
        raise FeatureError("no candle to compute features of")
    _candle_row(open_, high, low, close, volume, out)
    return out


def register_candle_features(registry: Registry, *, replace: bool = False) -> None:
    """Register the channel as one ``feature`` entry (25 outputs) for the look-ahead check."""
    registry.register(
        ENTRY_NAME,
        candle_feature_columns,
        outputs=CANDLE_FEATURE_NAMES,
        kind=Kind.FEATURE,
        warmup=max(CANDLE_WARMUP.values()),
        description="the 25-feature candle channel",
        params={"volume_window": VOLUME_WINDOW, "volatility_window": VOLATILITY_WINDOW},
        replace=replace,
    )


if ENTRY_NAME not in REGISTRY:
    register_candle_features(REGISTRY)
