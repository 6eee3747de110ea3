"""Technical indicators: numpy float64 arrays in, numpy arrays of the same length out.

TA-Lib provides the standard ones (:mod:`.talib_wrappers`); supertrend, Ichimoku, Keltner,
VWAP, CMF, VPT, NVI, the volume profile and the volatility estimators are written here
(numpy, numba where a loop is sequential). Outputs are NaN during the warm-up. Leading NaNs in
the input are accepted; any later NaN, an infinity, a negative volume or a high below the low
raises ``ValueError`` (see :mod:`._validate`).

Importing this package registers every indicator output, with default parameters, into
:data:`mftbot.analysis.registry.REGISTRY` (``"macd.signal"``, ``"ichimoku.chikou"``, ...).
"""

from __future__ import annotations

from mftbot.analysis.indicators._registration import register_indicators
from mftbot.analysis.indicators.talib_wrappers import (
    ADXResult,
    BBandsResult,
    MACDResult,
    StochResult,
    ad,
    adx,
    atr,
    bbands,
    cci,
    ema,
    macd,
    mfi,
    mom,
    obv,
    roc,
    rsi,
    sar,
    sma,
    stoch,
    willr,
    wma,
)
from mftbot.analysis.indicators.trend import (
    IchimokuResult,
    KeltnerResult,
    SupertrendResult,
    ichimoku,
    keltner,
    supertrend,
)
from mftbot.analysis.indicators.volatility import garman_klass_vol, parkinson_vol, realized_vol
from mftbot.analysis.indicators.volume import cmf, nvi, rolling_vwap, vpt, vwap
from mftbot.analysis.indicators.volume_profile import (
    RollingVolumeProfile,
    VolumeProfile,
    rolling_volume_profile,
    volume_profile,
)
from mftbot.analysis.registry import REGISTRY

__all__ = [
    "ADXResult",
    "BBandsResult",
    "IchimokuResult",
    "KeltnerResult",
    "MACDResult",
    "RollingVolumeProfile",
    "StochResult",
    "SupertrendResult",
    "VolumeProfile",
    "ad",
    "adx",
    "atr",
    "bbands",
    "cci",
    "cmf",
    "ema",
    "garman_klass_vol",
    "ichimoku",
    "keltner",
    "macd",
    "mfi",
    "mom",
    "nvi",
    "obv",
    "parkinson_vol",
    "realized_vol",
    "register_indicators",
    "roc",
    "rolling_volume_profile",
    "rolling_vwap",
    "rsi",
    "sar",
    "sma",
    "stoch",
    "supertrend",
    "volume_profile",
    "vpt",
    "vwap",
    "willr",
    "wma",
]

if "sma" not in REGISTRY:
    register_indicators(REGISTRY)
