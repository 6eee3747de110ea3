"""Supertrend, Ichimoku and Keltner against independent plain-Python / pandas versions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib

from mftbot.analysis.indicators import ichimoku, keltner, supertrend
from mftbot.analysis.registry import CandleArrays

NAN = float("nan")


def ref_supertrend(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, mult: float
) -> tuple[list[float], list[float]]:
    """TradingView's ``ta.supertrend`` transcribed (its direction: -1 up, +1 down), on
    TA-Lib's ATR. Returns (line, direction with +1 = up)."""
    atr = talib.ATR(high, low, close, period)
    line = [NAN] * len(close)
    direction = [NAN] * len(close)
    prev_up = prev_lo = prev_st = NAN
    for i in range(len(close)):
        if math.isnan(atr[i]):
            continue
        src = (high[i] + low[i]) / 2
        up = src + mult * atr[i]
        lo = src - mult * atr[i]
        if math.isnan(prev_st):
            tv_dir = 1
        else:
            up = up if (up < prev_up or close[i - 1] > prev_up) else prev_up
            lo = lo if (lo > prev_lo or close[i - 1] < prev_lo) else prev_lo
            if prev_st == prev_up:
                tv_dir = -1 if close[i] > up else 1
            else:
                tv_dir = 1 if close[i] < lo else -1
        st = lo if tv_dir == -1 else up
        line[i] = st
        direction[i] = -tv_dir
        prev_up, prev_lo, prev_st = up, lo, st
    return line, direction


def test_supertrend_matches_reference(bars: CandleArrays) -> None:
    h, lo, c = bars.high, bars.low, bars.close
    for period, mult in [(10, 3.0), (7, 1.5)]:
        got = supertrend(h, lo, c, period, mult)
        line, direction = ref_supertrend(h, lo, c, period, mult)
        np.testing.assert_allclose(got.supertrend, line, rtol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(got.direction, direction)
        up = got.direction == 1.0
        np.testing.assert_array_equal(got.supertrend[up], got.lower[up])
        np.testing.assert_array_equal(got.supertrend[~up], got.upper[~up])
        # Both directions occur on a real 3,000-bar slice.
        assert {-1.0, 1.0} <= set(np.unique(got.direction[period:]))
        assert np.isnan(got.supertrend[:period]).all()
        assert np.isfinite(got.supertrend[period:]).all()


def ref_midpoint(high: pd.Series, low: pd.Series, window: int) -> pd.Series:
    return (high.rolling(window).max() + low.rolling(window).min()) / 2


def test_ichimoku_matches_pandas(bars: CandleArrays) -> None:
    high, low, close = pd.Series(bars.high), pd.Series(bars.low), pd.Series(bars.close)
    got = ichimoku(bars.high, bars.low, bars.close)
    tenkan = ref_midpoint(high, low, 9)
    kijun = ref_midpoint(high, low, 26)
    np.testing.assert_array_equal(got.tenkan, tenkan.to_numpy())
    np.testing.assert_array_equal(got.kijun, kijun.to_numpy())
    np.testing.assert_array_equal(got.senkou_a, ((tenkan + kijun) / 2).shift(26).to_numpy())
    np.testing.assert_array_equal(got.senkou_b, ref_midpoint(high, low, 52).shift(26).to_numpy())
    expected_chikou = close.where(close.index >= 26).to_numpy()
    np.testing.assert_array_equal(got.chikou, expected_chikou)
    assert [int(np.isnan(x).sum()) for x in got] == [8, 25, 51, 77, 26]


def test_ichimoku_chikou_drawn_back_is_the_classic_lagging_span(btc: CandleArrays) -> None:
    got = ichimoku(btc.high, btc.low, btc.close, displacement=26)
    # Drawing chikou[t] at t - 26 gives the classic span: close shifted 26 bars back.
    drawn = np.full(len(btc), np.nan)
    drawn[:-26] = got.chikou[26:]
    classic = pd.Series(btc.close).shift(-26).to_numpy()
    np.testing.assert_array_equal(drawn, classic)


def test_keltner_is_talib_ema_plus_minus_atr(bars: CandleArrays) -> None:
    h, lo, c = bars.high, bars.low, bars.close
    got = keltner(h, lo, c, period=20, multiplier=2.0, atr_period=10)
    ema = talib.EMA(c, 20)
    atr = talib.ATR(h, lo, c, 10)
    np.testing.assert_allclose(got.middle, ema, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got.upper, ema + 2.0 * atr, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got.lower, ema - 2.0 * atr, rtol=1e-12, equal_nan=True)
    assert int(np.isnan(got.middle).sum()) == 19
    assert int(np.isnan(got.upper).sum()) == 19


@pytest.mark.parametrize("fn", ["supertrend", "ichimoku", "keltner"])
def test_short_constant_and_nan_prefixed_input(fn: str) -> None:
    call = {"supertrend": supertrend, "ichimoku": ichimoku, "keltner": keltner}[fn]
    short = np.array([1.0, 2.0, 3.0])
    assert all(np.isnan(out).all() for out in call(short, short, short)[:-1])
    const = np.full(200, 10.0)
    outs = call(const, const, const)._asdict()
    outs.pop("direction", None)
    for name, out in outs.items():
        finite = out[~np.isnan(out)]
        assert finite.size > 100, name
        np.testing.assert_array_equal(finite, 10.0)
    prefixed = np.concatenate((np.full(5, np.nan), np.linspace(1.0, 2.0, 195)))
    shifted = call(prefixed, prefixed, prefixed)
    plain = call(prefixed[5:], prefixed[5:], prefixed[5:])
    for a, b in zip(shifted, plain, strict=True):
        assert np.isnan(a[:5]).all()
        np.testing.assert_array_equal(a[5:], b)


def test_parameter_validation() -> None:
    x = np.ones(10)
    with pytest.raises(ValueError, match="multiplier"):
        supertrend(x, x, x, multiplier=0.0)
    with pytest.raises(ValueError, match="displacement"):
        ichimoku(x, x, x, displacement=-1)
    with pytest.raises(ValueError, match="atr_period"):
        keltner(x, x, x, atr_period=0)


@pytest.mark.parametrize(("period", "atr_period"), [(1, 1), (2, 5), (20, 10), (5, 30)])
def test_keltner_single_pass_matches_talib_at_every_warm_up(
    btc: CandleArrays, period: int, atr_period: int
) -> None:
    # The compiled pass runs the EMA and the ATR side by side, each with its own warm-up.
    h, lo, c = btc.high, btc.low, btc.close
    ema = talib.EMA(c, period) if period > 1 else c
    band = 1.5 * talib.ATR(h, lo, c, atr_period)
    for n in (1, period, atr_period, atr_period + 1, len(c)):
        got = keltner(h[:n], lo[:n], c[:n], period, 1.5, atr_period)
        np.testing.assert_allclose(got.middle, ema[:n], rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(got.upper, (ema + band)[:n], rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(got.lower, (ema - band)[:n], rtol=1e-12, equal_nan=True)
        assert int(np.isnan(got.upper).sum()) == min(n, max(period - 1, atr_period))


def test_keltner_checks_every_bar(btc: CandleArrays) -> None:
    h, lo, c = btc.high, btc.low, btc.close
    for column, index, value, message in (
        ("high", 2_500, np.nan, "high: NaN at index 2500"),
        ("low", 7, np.inf, "low: infinite value at index 7"),
        ("close", 2_999, -np.inf, "close: infinite value at index 2999"),
        ("high", 1_234, 0.0, "high: high below low at index 1234"),
    ):
        cols = {"high": h.copy(), "low": lo.copy(), "close": c.copy()}
        cols[column][index] = value
        with pytest.raises(ValueError, match=message):
            keltner(*cols.values())
