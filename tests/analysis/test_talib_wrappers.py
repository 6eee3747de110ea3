"""The TA-Lib wrappers: warm-up lengths, NaN input, validation, edge cases."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import talib

from mftbot.analysis.indicators import talib_wrappers as tw
from mftbot.analysis.registry import CandleArrays

Outputs = dict[str, np.ndarray]


def _outputs(bars: CandleArrays) -> dict[str, tuple[Callable[[], Outputs], int]]:
    """name -> (call with default parameters, expected leading NaNs), per output."""
    h, lo, c, v = bars.high, bars.low, bars.close, bars.volume
    return {
        "sma": (lambda: {"sma": tw.sma(c)}, 19),
        "ema": (lambda: {"ema": tw.ema(c)}, 19),
        "wma": (lambda: {"wma": tw.wma(c)}, 19),
        "rsi": (lambda: {"rsi": tw.rsi(c)}, 14),
        "macd": (lambda: tw.macd(c)._asdict(), 33),
        "adx": (lambda: {"adx": tw.adx(h, lo, c).adx}, 27),
        "di": (lambda: {"plus": tw.adx(h, lo, c).plus_di, "minus": tw.adx(h, lo, c).minus_di}, 14),
        "atr": (lambda: {"atr": tw.atr(h, lo, c)}, 14),
        "bbands": (lambda: tw.bbands(c)._asdict(), 19),
        "stoch": (lambda: tw.stoch(h, lo, c)._asdict(), 17),
        "willr": (lambda: {"willr": tw.willr(h, lo, c)}, 13),
        "cci": (lambda: {"cci": tw.cci(h, lo, c)}, 19),
        "mfi": (lambda: {"mfi": tw.mfi(h, lo, c, v)}, 14),
        "roc": (lambda: {"roc": tw.roc(c)}, 10),
        "mom": (lambda: {"mom": tw.mom(c)}, 10),
        "obv": (lambda: {"obv": tw.obv(c, v)}, 0),
        "ad": (lambda: {"ad": tw.ad(h, lo, c, v)}, 0),
        "sar": (lambda: {"sar": tw.sar(h, lo)}, 1),
    }


def _leading_nans(arr: np.ndarray) -> int:
    finite = np.flatnonzero(~np.isnan(arr))
    return int(finite[0]) if finite.size else arr.size


def test_warmup_lengths_on_real_candles(bars: CandleArrays) -> None:
    for name, (call, warmup) in _outputs(bars).items():
        for out_name, out in call().items():
            assert out.dtype == np.float64
            assert out.shape == bars.close.shape, name
            assert _leading_nans(out) == warmup, f"{name}.{out_name}"
            assert np.isfinite(out[warmup:]).all(), f"{name}.{out_name}"


def test_values_are_talibs(bars: CandleArrays) -> None:
    h, lo, c, v = bars.high, bars.low, bars.close, bars.volume
    np.testing.assert_array_equal(tw.sma(c, 7), talib.SMA(c, 7))
    np.testing.assert_array_equal(tw.rsi(c, 9), talib.RSI(c, 9))
    np.testing.assert_array_equal(tw.macd(c, 5, 13, 4).signal, talib.MACD(c, 5, 13, 4)[1])
    np.testing.assert_array_equal(tw.bbands(c, 10, 1.5).lower, talib.BBANDS(c, 10, 1.5, 1.5)[2])
    np.testing.assert_array_equal(
        tw.stoch(h, lo, c, 5, 2, 4).d, talib.STOCH(h, lo, c, 5, 2, 0, 4)[1]
    )
    np.testing.assert_array_equal(tw.mfi(h, lo, c, v, 7), talib.MFI(h, lo, c, v, 7))
    np.testing.assert_array_equal(tw.sar(h, lo, 0.01, 0.1), talib.SAR(h, lo, 0.01, 0.1))


def test_leading_nans_delay_the_start(btc: CandleArrays) -> None:
    c = btc.close.copy()
    c[:25] = np.nan
    out = tw.ema(c, 10)
    assert _leading_nans(out) == 25 + 9
    np.testing.assert_array_equal(out[25:], talib.EMA(btc.close[25:], 10))
    # Multi-input: the start is the first bar where every input is finite.
    h = btc.high.copy()
    h[:5] = np.nan
    lo = btc.low.copy()
    lo[:12] = np.nan
    atr = tw.atr(h, lo, btc.close, 14)
    assert _leading_nans(atr) == 12 + 14
    np.testing.assert_array_equal(
        atr[12:], talib.ATR(btc.high[12:], btc.low[12:], btc.close[12:], 14)
    )


def test_all_nan_input_gives_all_nan_output(btc: CandleArrays) -> None:
    c = np.full(50, np.nan)
    assert np.isnan(tw.sma(c, 5)).all()
    assert all(np.isnan(out).all() for out in tw.macd(c))
    assert len(tw.macd(c).signal) == 50


def test_nan_after_the_start_is_an_error(btc: CandleArrays) -> None:
    c = btc.close.copy()
    c[100] = np.nan
    with pytest.raises(ValueError, match=r"close: NaN at index 100"):
        tw.sma(c)
    v = btc.volume.copy()
    v[7] = np.nan
    with pytest.raises(ValueError, match=r"volume: NaN at index 7"):
        tw.obv(btc.close, v)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tw.sma(np.ones((3, 3))), "1-D"),
        (lambda: tw.sma(["a", "b"]), "cannot convert"),
        (lambda: tw.sma(np.array([1.0, np.inf, 2.0])), "infinite"),
        (lambda: tw.atr(np.ones(5), np.ones(4), np.ones(5)), "differ in length"),
        (lambda: tw.atr(np.ones(5), np.full(5, 2.0), np.ones(5)), "high below low"),
        (lambda: tw.obv(np.ones(5), np.array([1.0, -1.0, 1.0, 1.0, 1.0])), "negative volume"),
        (lambda: tw.sma(np.ones(5), 0), "period must be >= 1"),
        (lambda: tw.rsi(np.ones(5), 1), "period must be >= 2"),
        (lambda: tw.sma(np.ones(5), 2.5), "must be an integer"),
        (lambda: tw.sma(np.ones(5), True), "must be an integer"),
        (lambda: tw.macd(np.ones(5), 26, 12), "shorter than slow"),
        (lambda: tw.bbands(np.ones(5), 5, -1.0), "nbdev"),
        (lambda: tw.sar(np.ones(5), np.ones(5), 0.3, 0.2), "must not exceed"),
        (lambda: tw.sar(np.ones(5), np.ones(5), float("nan")), "finite"),
    ],
)
def test_bad_input_is_a_clear_error(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_short_input_is_all_nan() -> None:
    c = np.array([1.0, 2.0, 3.0])
    assert np.isnan(tw.sma(c, 5)).all()
    assert np.isnan(tw.rsi(c)).all()
    assert all(np.isnan(o).all() for o in tw.adx(c, c, c))
    assert tw.sma(np.empty(0)).shape == (0,)
    np.testing.assert_array_equal(tw.obv(c, np.ones(3)), [1.0, 2.0, 3.0])


def test_constant_prices_and_zero_volume() -> None:
    c = np.full(100, 50.0)
    zero = np.zeros(100)
    assert np.allclose(tw.sma(c, 10)[9:], 50.0)
    np.testing.assert_array_equal(tw.atr(c, c, c)[14:], 0.0)
    np.testing.assert_array_equal(tw.rsi(c)[14:], 0.0)
    np.testing.assert_array_equal(tw.mfi(c, c, c, zero)[14:], 0.0)
    np.testing.assert_array_equal(tw.obv(c, zero), 0.0)
    bands = tw.bbands(c, 10)
    np.testing.assert_array_equal(bands.upper[9:], bands.lower[9:])


def test_accepts_lists_ints_and_read_only_arrays(btc: CandleArrays) -> None:
    c = btc.close[:60].copy()
    c.setflags(write=False)
    np.testing.assert_array_equal(tw.sma(c, 5), tw.sma(list(btc.close[:60]), 5))
    assert tw.sma(np.arange(10), 3).dtype == np.float64
    np.testing.assert_array_equal(tw.sma(np.arange(10), 3)[2:], np.arange(1.0, 9.0))
