"""Checked candle inputs and small shared kernels for the strategies' fast paths.

Each built-in strategy computes its indicators, then evaluates its rules in one compiled
pass (``_signals`` in its module) that repeats the numpy expressions of the rules operation
for operation, so the signals are the same bit for bit; :func:`clip01` is ``np.clip(x, 0,
1)`` of one value for those passes, :func:`previous` a one-row shift.

Every indicator wrapper validates its inputs on each call (finite values, ``high >= low``,
``volume >= 0``). A strategy reads the same few columns of one window many times, so it
checks them once here (:func:`candles_ok`, remembered for the last window seen) and, when
they pass, calls the compiled kernels directly: the result is the wrapper's, bit for bit,
because a valid input is exactly the case where the wrapper passes its arrays through
unchanged. A window that fails the check takes the wrappers' path, with their error messages
and leading-NaN handling.

:data:`ta` holds the TA-Lib functions the strategies call, without TA-Lib's pandas / polars
dispatch wrapper (two scans of the arguments per call): numpy arrays take the same compiled
function either way.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
import talib

from mftbot.analysis.indicators._validate import all_valid
from mftbot.analysis.registry import CandleArrays

_F = TypeVar("_F", bound=Callable[..., Any])
T = TypeVar("T", bound=np.generic)
njit_ieee = cast(Callable[[_F], _F], numba.njit(cache=True, error_model="numpy"))
"""``numba.njit(cache=True)`` with numpy's float division (``x / 0`` is ±inf or NaN)."""

_TALIB = ("ADX", "ATR", "MAX", "MIN", "ROC", "RSI", "SAR", "SMA")


def _direct(name: str) -> Any:
    function = getattr(talib, name)
    return getattr(function, "__wrapped__", function)


ta: Any = SimpleNamespace(**{name: _direct(name) for name in _TALIB})
"""``talib.ADX``, ``ATR``, ``MAX``, ``MIN``, ``ROC``, ``RSI``, ``SAR``, ``SMA`` for numpy
arrays (see the module docstring)."""

_last: tuple[CandleArrays | None, bool] = (None, False)


def _contiguous(window: CandleArrays) -> bool:
    return (
        window.high.flags.c_contiguous
        and window.low.flags.c_contiguous
        and window.close.flags.c_contiguous
        and window.volume.flags.c_contiguous
        and window.open.flags.c_contiguous
    )


def candles_ok(window: CandleArrays) -> bool:
    """Whether ``open``, ``high``, ``low``, ``close`` and ``volume`` of ``window`` are
    contiguous and pass every indicator input check with no leading NaN (the last window's
    answer is remembered: the strategies of one bar share it)."""
    global _last
    seen, ok = _last
    if seen is window:
        return ok
    ok = len(window) > 0 and _contiguous(window)
    if ok:
        ok = all_valid(
            {
                "high": window.high,
                "low": window.low,
                "close": window.close,
                "open": window.open,
                "volume": window.volume,
            }
        )
    _last = (window, ok)
    return ok


def previous(x: npt.NDArray[T], fill: float | bool) -> npt.NDArray[T]:
    """``x`` one row later, ``fill`` first."""
    out = np.empty_like(x)
    out[0:1] = fill
    out[1:] = x[:-1]
    return out


@njit_ieee
def clip01(x: float) -> float:
    """``np.clip(x, 0, 1)`` of one value, bit for bit (NaN and −0 stay as they are)."""
    if x != x:
        return x
    low = 0.0 if x < 0.0 else x
    return 1.0 if low > 1.0 else low
