"""The candle channel: 25 features of each closed candle and its recent past.

Input is a :class:`~mftbot.analysis.registry.CandleArrays` (closed candles only, in time
order); output is one row per candle, aligned to it: row ``t`` uses candles ``0..t`` only.
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

from collections.abc import Mapping
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.analysis import indicators as ind
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
    volume_ratio = ratio(v, ind.sma(v, VOLUME_WINDOW))
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
