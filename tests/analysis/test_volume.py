"""VWAP, CMF, VPT and NVI against independent pandas / plain-Python versions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis.indicators import cmf, nvi, rolling_vwap, vpt, vwap
from mftbot.analysis.registry import CandleArrays

NAN = float("nan")
DAY_NS = 86_400 * 10**9


def _frame(bars: CandleArrays) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(bars.time_ns, unit="ns", utc=True),
            "high": bars.high,
            "low": bars.low,
            "close": bars.close,
            "volume": bars.volume,
        }
    )


def test_session_vwap_matches_pandas_groupby(bars: CandleArrays) -> None:
    df = _frame(bars)
    tp = (df.high + df.low + df.close) / 3
    day = df.date.dt.floor("D")
    want = (tp * df.volume).groupby(day).cumsum() / df.volume.groupby(day).cumsum()
    got = vwap(bars.high, bars.low, bars.close, bars.volume, bars.time_ns)
    assert day.nunique() >= 3  # the slice crosses UTC midnights
    np.testing.assert_allclose(got, want.to_numpy(), rtol=1e-12)
    # Right after midnight the VWAP is that bar's typical price alone.
    first_of_day = np.flatnonzero(np.diff(bars.time_ns // DAY_NS)) + 1
    np.testing.assert_allclose(got[first_of_day], tp.to_numpy()[first_of_day], rtol=1e-15)


def test_session_vwap_accepts_datetime64_and_rejects_bad_times(btc: CandleArrays) -> None:
    args = (btc.high, btc.low, btc.close, btc.volume)
    as_dt = btc.time_ns.view("datetime64[ns]")
    np.testing.assert_array_equal(vwap(*args, as_dt), vwap(*args, btc.time_ns))
    backwards = btc.time_ns.copy()
    backwards[10] = backwards[9] - 1
    with pytest.raises(ValueError, match="backwards at index 10"):
        vwap(*args, backwards)
    with pytest.raises(ValueError, match="time_ns has"):
        vwap(*args, btc.time_ns[:-1])
    with pytest.raises(ValueError, match="int64 ns"):
        vwap(*args, btc.time_ns.astype(np.float64))


def test_session_vwap_zero_volume_is_nan_until_trading() -> None:
    t = np.arange(6, dtype=np.int64) * 60 * 10**9 + DAY_NS - 3 * 60 * 10**9
    price = np.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0])
    vol = np.array([0.0, 2.0, 0.0, 0.0, 1.0, 3.0])  # the day turns before bar 3
    got = vwap(price, price, price, vol, t)
    np.testing.assert_array_equal(got, [NAN, 11.0, 11.0, NAN, 14.0, (14.0 + 45.0) / 4])


def test_rolling_vwap_matches_pandas(bars: CandleArrays) -> None:
    df = _frame(bars)
    tp = (df.high + df.low + df.close) / 3
    for window in (1, 20, 60):
        want = (tp * df.volume).rolling(window).sum() / df.volume.rolling(window).sum()
        got = rolling_vwap(bars.high, bars.low, bars.close, bars.volume, window)
        np.testing.assert_allclose(got, want.to_numpy(), rtol=1e-11, equal_nan=True)
        assert int(np.isnan(got).sum()) == window - 1


def ref_cmf(h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray, n: int) -> list[float]:
    out = [NAN] * len(c)
    for t in range(n - 1, len(c)):
        flow = vol = 0.0
        for i in range(t - n + 1, t + 1):
            mult = ((c[i] - lo[i]) - (h[i] - c[i])) / (h[i] - lo[i]) if h[i] > lo[i] else 0.0
            flow += mult * v[i]
            vol += v[i]
        out[t] = flow / vol if vol > 0 else 0.0
    return out


def test_cmf_matches_plain_python(bars: CandleArrays) -> None:
    got = cmf(bars.high, bars.low, bars.close, bars.volume, 20)
    want = ref_cmf(bars.high, bars.low, bars.close, bars.volume, 20)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    assert np.nanmin(got) >= -1.0
    assert np.nanmax(got) <= 1.0


def test_cmf_flat_bars_and_zero_volume() -> None:
    h = np.array([2.0, 2.0, 3.0, 3.0, 3.0])
    lo = np.array([1.0, 2.0, 1.0, 1.0, 1.0])
    c = np.array([2.0, 2.0, 1.0, 2.0, 3.0])
    v = np.array([1.0, 5.0, 0.0, 0.0, 0.0])
    # bar 0: mult +1, bar 1: flat (mult 0), bars 2..4: no volume
    np.testing.assert_array_equal(cmf(h, lo, c, v, 2), [NAN, 1.0 / 6.0, 0.0, 0.0, 0.0])


def test_vpt_and_nvi_match_plain_python(bars: CandleArrays) -> None:
    c, v = bars.close, bars.volume
    want_vpt = [0.0]
    want_nvi = [1000.0]
    for t in range(1, len(c)):
        ret = (c[t] - c[t - 1]) / c[t - 1]
        want_vpt.append(want_vpt[-1] + v[t] * ret)
        want_nvi.append(want_nvi[-1] * (1 + ret) if v[t] < v[t - 1] else want_nvi[-1])
    np.testing.assert_allclose(vpt(c, v), want_vpt, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nvi(c, v), want_nvi, rtol=1e-12)
    assert nvi(c, v, start=1.0)[0] == 1.0


def test_vpt_nvi_edge_cases() -> None:
    c = np.full(10, 5.0)
    zero = np.zeros(10)
    np.testing.assert_array_equal(vpt(c, zero), 0.0)
    np.testing.assert_array_equal(nvi(c, zero), 1000.0)
    assert vpt(np.empty(0), np.empty(0)).shape == (0,)
    np.testing.assert_array_equal(nvi(np.array([2.0]), np.array([1.0])), [1000.0])
    with pytest.raises(ValueError, match="non-positive"):
        vpt(np.array([1.0, 0.0]), np.ones(2))
    with pytest.raises(ValueError, match="negative volume"):
        nvi(np.ones(3), np.array([1.0, -2.0, 1.0]))


def test_short_input_is_all_nan(btc: CandleArrays) -> None:
    h, lo, c, v = (x[:5] for x in (btc.high, btc.low, btc.close, btc.volume))
    assert np.isnan(rolling_vwap(h, lo, c, v, 20)).all()
    assert np.isnan(cmf(h, lo, c, v, 20)).all()
    assert np.isfinite(vwap(h, lo, c, v, btc.time_ns[:5])).all()


@pytest.mark.parametrize("index", [0, 1_999, 2_999])
def test_checks_made_in_the_kernel_raise_like_prepare(btc: CandleArrays, index: int) -> None:
    # The VWAPs and CMF check their inputs while they compute; a bad value anywhere gives
    # the same error as the separate validation would, and leading NaNs are stripped.
    t = btc.time_ns
    funcs = {
        "vwap": lambda h, lo, c, v: vwap(h, lo, c, v, t),
        "rolling_vwap": lambda h, lo, c, v: rolling_vwap(h, lo, c, v, 20),
        "cmf": lambda h, lo, c, v: cmf(h, lo, c, v, 20),
    }
    bad_values = (
        ("high", NAN, f"high: NaN at index {index}"),
        ("low", np.inf, f"low: infinite value at index {index}"),
        ("close", -np.inf, f"close: infinite value at index {index}"),
        ("volume", -1.0, f"volume: negative volume at index {index}"),
        ("high", 0.0, f"high: high below low at index {index}"),
    )
    for name, func in funcs.items():
        for column, value, message in bad_values:
            if index == 0 and value != value:
                continue  # a leading NaN is accepted
            cols = {k: getattr(btc, k).copy() for k in ("high", "low", "close", "volume")}
            cols[column][index] = value
            with pytest.raises(ValueError, match=message):
                func(*cols.values())
        cols = {k: getattr(btc, k).copy() for k in ("high", "low", "close", "volume")}
        cols["close"][:3] = NAN
        cols["volume"][:5] = NAN
        got = func(*cols.values())
        assert np.isnan(got[:5]).all(), name
        tail = {k: getattr(btc, k)[5:] for k in cols}
        if name == "vwap":
            np.testing.assert_array_equal(got[5:], vwap(*tail.values(), t[5:]))
        else:
            np.testing.assert_array_equal(got[5:], func(*tail.values()))


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_rolling_vwap_and_cmf_across_kernel_chunks(
    btc: CandleArrays, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The compiled kernel works in chunks of whole windows (16,384 bars by default); with
    # small chunks 3,000 real bars cross many of them, and a zero-volume stretch crosses
    # chunk edges. Values match the references and the default chunking exactly.
    from mftbot.analysis.indicators import volume as module

    h, lo, c = btc.high, btc.low, btc.close
    v = btc.volume.copy()
    v[1_000:1_090] = 0.0
    windows = (1, 2, 20, 240)
    want = [(rolling_vwap(h, lo, c, v, w), cmf(h, lo, c, v, w)) for w in windows]
    monkeypatch.setattr(module, "_CHUNK", chunk)
    df = _frame(btc).assign(volume=v)
    tp = (df.high + df.low + df.close) / 3
    for (vwap_w, cmf_w), w in zip(want, windows, strict=True):
        got_vwap = rolling_vwap(h, lo, c, v, w)
        got_cmf = cmf(h, lo, c, v, w)
        np.testing.assert_array_equal(got_vwap, vwap_w)
        np.testing.assert_array_equal(got_cmf, cmf_w)
        ref = (tp * df.volume).rolling(w).sum() / df.volume.rolling(w).sum()
        np.testing.assert_allclose(got_vwap, ref.to_numpy(), rtol=1e-9, equal_nan=True)
        assert np.isnan(got_vwap[1_000 + w - 1 : 1_090]).all()  # windows with no volume
        assert (got_cmf[1_000 + w - 1 : 1_090] == 0.0).all()
    np.testing.assert_allclose(
        cmf(h, lo, c, v, 20), ref_cmf(h, lo, c, v, 20), rtol=1e-9, atol=1e-12, equal_nan=True
    )
