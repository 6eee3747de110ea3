"""The newest-value kernels (``*_last``) against TA-Lib's last output, at every prefix of
real candles and of built series that hit TA-Lib's zero conventions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import talib

from mftbot.analysis.indicators import _kernels as kernels
from mftbot.analysis.registry import CandleArrays

Series = tuple[np.ndarray, np.ndarray, np.ndarray]
KernelCase = tuple[str, Callable[..., object], Callable[..., object]]


def built_series() -> dict[str, Series]:
    """Flat prices (zero ranges and changes), prices near 1e-4 (ranges below TA-Lib's 1e-8
    zero test) and a stretch where the bar repeats itself."""
    rng = np.random.default_rng(11)
    flat = np.full(120, 5.0)
    tiny = 1e-4 * (1.0 + np.cumsum(rng.normal(0.0, 0.01, 300)))
    walk = 100.0 + np.cumsum(rng.normal(0.0, 0.5, 300))
    high, low, close = walk + rng.uniform(0, 1, 300), walk - rng.uniform(0, 1, 300), walk.copy()
    high[100:160], low[100:160], close[100:160] = 101.0, 101.0, 101.0
    return {
        "flat": (flat.copy(), flat.copy(), flat.copy()),
        "tiny": (tiny * 1.0004, tiny * 0.9996, tiny),
        "stuck": (high, low, close),
    }


def cases() -> list[KernelCase]:
    """(name, ours at the last element, TA-Lib's last output) over (high, low, close)."""
    return [
        ("sma", lambda h, lo, c: kernels.sma_last(c, 20), lambda h, lo, c: talib.SMA(c, 20)),
        ("ema", lambda h, lo, c: kernels.ema_last(c, 13), lambda h, lo, c: talib.EMA(c, 13)),
        (
            "macd",
            lambda h, lo, c: kernels.macd_last(c, 12, 26, 9),
            lambda h, lo, c: talib.MACD(c, 12, 26, 9)[:2],
        ),
        (
            "macd(5, 13, 4)",
            lambda h, lo, c: kernels.macd_last(c, 5, 13, 4),
            lambda h, lo, c: talib.MACD(c, 5, 13, 4)[:2],
        ),
        (
            "atr",
            lambda h, lo, c: kernels.wilder_atr_last(h, lo, c, 14),
            lambda h, lo, c: talib.ATR(h, lo, c, 14),
        ),
        ("rsi", lambda h, lo, c: kernels.rsi_last(c, 14), lambda h, lo, c: talib.RSI(c, 14)),
        ("rsi 28", lambda h, lo, c: kernels.rsi_last(c, 28), lambda h, lo, c: talib.RSI(c, 28)),
        (
            "adx, +di, -di",
            lambda h, lo, c: kernels.dmi_last(h, lo, c, 14),
            lambda h, lo, c: (
                talib.ADX(h, lo, c, 14),
                talib.PLUS_DI(h, lo, c, 14),
                talib.MINUS_DI(h, lo, c, 14),
            ),
        ),
        (
            "adx(5)",
            lambda h, lo, c: kernels.dmi_last(h, lo, c, 5),
            lambda h, lo, c: (
                talib.ADX(h, lo, c, 5),
                talib.PLUS_DI(h, lo, c, 5),
                talib.MINUS_DI(h, lo, c, 5),
            ),
        ),
        (
            "stoch",
            lambda h, lo, c: kernels.stoch_last(h, lo, c, 14, 3, 3),
            lambda h, lo, c: talib.STOCH(h, lo, c, 14, 3, 0, 3, 0),
        ),
        (
            "stoch(9, 2, 4)",
            lambda h, lo, c: kernels.stoch_last(h, lo, c, 9, 2, 4),
            lambda h, lo, c: talib.STOCH(h, lo, c, 9, 2, 0, 4, 0),
        ),
        (
            "willr",
            lambda h, lo, c: kernels.willr_last(h, lo, c, 14),
            lambda h, lo, c: talib.WILLR(h, lo, c, 14),
        ),
        (
            "bbands",
            lambda h, lo, c: kernels.bbands_last(c, 20, 2.0),
            lambda h, lo, c: talib.BBANDS(c, 20, 2.0, 2.0, 0),
        ),
    ]


def check_every_prefix(series: Series, stride: int = 1) -> dict[str, float]:
    """Worst |ours - TA-Lib| / max(|TA-Lib|, scale) per case over the prefixes; NaN
    exactly where TA-Lib's is NaN (asserted)."""
    high, low, close = (np.ascontiguousarray(x, dtype=np.float64) for x in series)
    scale = float(np.median(np.abs(close))) * 1e-6
    worst: dict[str, float] = {}
    for name, ours, theirs in cases():
        for t in range(0, close.size, stride):
            s = slice(0, t + 1)
            got = np.atleast_1d(np.asarray(ours(high[s], low[s], close[s]), dtype=float))
            ref = theirs(high[s], low[s], close[s])
            refs = ref if isinstance(ref, tuple) else (ref,)
            want = np.array([np.asarray(r)[-1] for r in refs], dtype=float)
            assert np.array_equal(np.isnan(got), np.isnan(want)), (name, t, got, want)
            ok = ~np.isnan(want)
            if ok.any():
                err = np.abs(got[ok] - want[ok]) / np.maximum(np.abs(want[ok]), scale)
                worst[name] = max(worst.get(name, 0.0), float(err.max()))
    return worst


def test_newest_values_match_talib_on_real_candles(btc: CandleArrays) -> None:
    series = (btc.high[:700], btc.low[:700], btc.close[:700])
    worst = check_every_prefix(series)
    assert set(worst) == {name for name, _, _ in cases()}
    assert {name: err for name, err in worst.items() if err > 1e-9} == {}


@pytest.mark.parametrize("kind", sorted(built_series()))
def test_newest_values_match_talib_on_zero_conventions(kind: str) -> None:
    worst = check_every_prefix(built_series()[kind])
    assert {name: err for name, err in worst.items() if err > 1e-9} == {}


def test_too_short_input_gives_nan() -> None:
    x = np.linspace(1.0, 2.0, 10)
    assert np.isnan(kernels.sma_last(x, 11))
    assert np.isnan(kernels.ema_last(x, 11))
    assert np.isnan(kernels.rsi_last(x, 10))
    assert all(np.isnan(v) for v in kernels.macd_last(x, 3, 6, 6))  # first at index 10
    assert not any(np.isnan(v) for v in kernels.macd_last(x, 3, 6, 5))
    assert all(np.isnan(v) for v in kernels.dmi_last(x + 1, x, x, 14))
    adx, plus_di, _ = kernels.dmi_last(x + 1, x, x, 6)
    assert np.isnan(adx)
    assert not np.isnan(plus_di)
