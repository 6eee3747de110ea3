"""Every indicator output, registered with its default parameters and warm-up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators import talib_wrappers as tw
from mftbot.analysis.indicators.trend import ichimoku, keltner, supertrend
from mftbot.analysis.indicators.volatility import garman_klass_vol, parkinson_vol, realized_vol
from mftbot.analysis.indicators.volume import cmf, nvi, rolling_vwap, vpt, vwap
from mftbot.analysis.indicators.volume_profile import rolling_volume_profile
from mftbot.analysis.registry import CandleArrays, ComputeFn, Kind, Registry, RegistryError

_Result = npt.NDArray[np.float64] | tuple[npt.NDArray[np.float64], ...]
_Call = Callable[[CandleArrays, Mapping[str, Any]], _Result]


def _spec(
    name: str, call: _Call, params: Mapping[str, Any], warmup: int, outputs: tuple[str, ...] = ()
) -> tuple[str, _Call, Mapping[str, Any], int, tuple[str, ...]]:
    return name, call, params, warmup, outputs or (name,)


_SPECS = (
    _spec("sma", lambda c, p: tw.sma(c.close, **p), {"period": 20}, 19),
    _spec("ema", lambda c, p: tw.ema(c.close, **p), {"period": 20}, 19),
    _spec("wma", lambda c, p: tw.wma(c.close, **p), {"period": 20}, 19),
    _spec("rsi", lambda c, p: tw.rsi(c.close, **p), {"period": 14}, 14),
    _spec(
        "macd",
        lambda c, p: tw.macd(c.close, **p),
        {"fast": 12, "slow": 26, "signal": 9},
        33,
        ("macd", "signal", "hist"),
    ),
    _spec(
        "adx",
        lambda c, p: tw.adx(c.high, c.low, c.close, **p),
        {"period": 14},
        27,
        ("adx", "plus_di", "minus_di"),
    ),
    _spec("atr", lambda c, p: tw.atr(c.high, c.low, c.close, **p), {"period": 14}, 14),
    _spec(
        "bbands",
        lambda c, p: tw.bbands(c.close, **p),
        {"period": 20, "nbdev": 2.0},
        19,
        ("upper", "middle", "lower"),
    ),
    _spec(
        "stoch",
        lambda c, p: tw.stoch(c.high, c.low, c.close, **p),
        {"k_period": 14, "k_smooth": 3, "d_period": 3},
        17,
        ("k", "d"),
    ),
    _spec("willr", lambda c, p: tw.willr(c.high, c.low, c.close, **p), {"period": 14}, 13),
    _spec("cci", lambda c, p: tw.cci(c.high, c.low, c.close, **p), {"period": 20}, 19),
    _spec("mfi", lambda c, p: tw.mfi(c.high, c.low, c.close, c.volume, **p), {"period": 14}, 14),
    _spec("roc", lambda c, p: tw.roc(c.close, **p), {"period": 10}, 10),
    _spec("mom", lambda c, p: tw.mom(c.close, **p), {"period": 10}, 10),
    _spec("obv", lambda c, p: tw.obv(c.close, c.volume), {}, 0),
    _spec("ad", lambda c, p: tw.ad(c.high, c.low, c.close, c.volume), {}, 0),
    _spec(
        "sar", lambda c, p: tw.sar(c.high, c.low, **p), {"acceleration": 0.02, "maximum": 0.2}, 1
    ),
    _spec(
        "supertrend",
        lambda c, p: supertrend(c.high, c.low, c.close, **p),
        {"period": 10, "multiplier": 3.0},
        10,
        ("supertrend", "direction", "upper", "lower"),
    ),
    _spec(
        "ichimoku",
        lambda c, p: ichimoku(c.high, c.low, c.close, **p),
        {"tenkan": 9, "kijun": 26, "senkou_b": 52, "displacement": 26},
        77,
        ("tenkan", "kijun", "senkou_a", "senkou_b", "chikou"),
    ),
    _spec(
        "keltner",
        lambda c, p: keltner(c.high, c.low, c.close, **p),
        {"period": 20, "multiplier": 2.0, "atr_period": 10},
        19,
        ("upper", "middle", "lower"),
    ),
    _spec("vwap", lambda c, p: vwap(c.high, c.low, c.close, c.volume, c.time_ns), {}, 0),
    _spec(
        "rolling_vwap",
        lambda c, p: rolling_vwap(c.high, c.low, c.close, c.volume, **p),
        {"window": 20},
        19,
    ),
    _spec("cmf", lambda c, p: cmf(c.high, c.low, c.close, c.volume, **p), {"period": 20}, 19),
    _spec("vpt", lambda c, p: vpt(c.close, c.volume), {}, 0),
    _spec("nvi", lambda c, p: nvi(c.close, c.volume, **p), {"start": 1000.0}, 0),
    _spec(
        "volume_profile",
        lambda c, p: rolling_volume_profile(c.high, c.low, c.volume, **p),
        {"window": 240, "bins": 24, "value_area": 0.70},
        239,
        ("poc", "vah", "val"),
    ),
    _spec("realized_vol", lambda c, p: realized_vol(c.close, **p), {"window": 20}, 20),
    _spec("parkinson_vol", lambda c, p: parkinson_vol(c.high, c.low, **p), {"window": 20}, 19),
    _spec(
        "garman_klass_vol",
        lambda c, p: garman_klass_vol(c.open, c.high, c.low, c.close, **p),
        {"window": 20},
        19,
    ),
)


def _bind(call: _Call, params: Mapping[str, Any], outputs: tuple[str, ...]) -> ComputeFn:
    def compute(candles: CandleArrays) -> dict[str, npt.NDArray[np.float64]]:
        result = call(candles, params)
        if not isinstance(result, tuple):
            return {outputs[0]: result}
        fields = getattr(result, "_fields", outputs)
        if tuple(fields) != outputs:
            raise RegistryError(f"outputs {fields} do not match the declared {outputs}")
        return dict(zip(outputs, result, strict=True))

    return compute


def register_indicators(registry: Registry, *, replace: bool = False) -> None:
    """Register every indicator output (default parameters) into ``registry``."""
    for name, call, params, warmup, outputs in _SPECS:
        registry.register(
            name,
            _bind(call, params, outputs),
            outputs=outputs,
            kind=Kind.INDICATOR,
            warmup=warmup,
            description=f"{name} {dict(params)}" if params else name,
            params=params,
            replace=replace,
        )
