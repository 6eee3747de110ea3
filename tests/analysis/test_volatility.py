"""Realised, Parkinson and Garman–Klass volatility against pandas / plain Python."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis.indicators import garman_klass_vol, parkinson_vol, realized_vol
from mftbot.analysis.registry import CandleArrays

NAN = float("nan")
MINUTES_PER_YEAR = 525_600


def test_realized_vol_matches_pandas(bars: CandleArrays) -> None:
    returns = np.log(pd.Series(bars.close)).diff()
    for window in (2, 20, 60):
        want = returns.rolling(window).std(ddof=1).to_numpy()
        got = realized_vol(bars.close, window)
        np.testing.assert_allclose(got, want, rtol=1e-9, equal_nan=True)
        assert int(np.isnan(got).sum()) == window
    annual = realized_vol(bars.close, 20, periods_per_year=MINUTES_PER_YEAR)
    np.testing.assert_allclose(
        annual, realized_vol(bars.close, 20) * math.sqrt(MINUTES_PER_YEAR), rtol=1e-15
    )


def ref_range_vols(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int
) -> tuple[list[float], list[float]]:
    park = [NAN] * len(c)
    gk = [NAN] * len(c)
    for t in range(n - 1, len(c)):
        sq_range = [math.log(h[i] / lo[i]) ** 2 for i in range(t - n + 1, t + 1)]
        sq_body = [math.log(c[i] / o[i]) ** 2 for i in range(t - n + 1, t + 1)]
        park[t] = math.sqrt(sum(sq_range) / n / (4 * math.log(2)))
        terms = [
            0.5 * r - (2 * math.log(2) - 1) * b for r, b in zip(sq_range, sq_body, strict=True)
        ]
        gk[t] = math.sqrt(max(sum(terms) / n, 0.0))
    return park, gk


def test_range_estimators_match_plain_python(bars: CandleArrays) -> None:
    o, h, lo, c = bars.open, bars.high, bars.low, bars.close
    park, gk = ref_range_vols(o, h, lo, c, 20)
    np.testing.assert_allclose(parkinson_vol(h, lo, 20), park, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(garman_klass_vol(o, h, lo, c, 20), gk, rtol=1e-9, equal_nan=True)
    annual = parkinson_vol(h, lo, 20, periods_per_year=MINUTES_PER_YEAR)
    np.testing.assert_allclose(annual, np.array(park) * math.sqrt(MINUTES_PER_YEAR), rtol=1e-9)


def test_estimators_agree_in_magnitude(btc: CandleArrays) -> None:
    # Three estimators of one quantity on 3,000 real bars: same order of magnitude.
    cc = np.nanmean(realized_vol(btc.close, 240))
    pk = np.nanmean(parkinson_vol(btc.high, btc.low, 240))
    gk = np.nanmean(garman_klass_vol(btc.open, btc.high, btc.low, btc.close, 240))
    assert 0.3 < pk / cc < 3.0
    assert 0.3 < gk / cc < 3.0


def test_constant_prices_give_zero_and_short_input_nan() -> None:
    const = np.full(50, 7.0)
    np.testing.assert_array_equal(realized_vol(const, 10)[10:], 0.0)
    np.testing.assert_array_equal(parkinson_vol(const, const, 10)[9:], 0.0)
    np.testing.assert_array_equal(garman_klass_vol(const, const, const, const, 10)[9:], 0.0)
    assert np.isnan(realized_vol(const[:5], 10)).all()
    assert np.isnan(realized_vol(const[:1], 2)).all()
    assert realized_vol(np.empty(0), 2).shape == (0,)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="non-positive"):
        realized_vol(np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="window must be >= 2"):
        realized_vol(np.ones(5), 1)
    with pytest.raises(ValueError, match="periods_per_year"):
        parkinson_vol(np.ones(5), np.ones(5), 2, periods_per_year=-1.0)


def _walk(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A positive OHLC random walk with some flat (high == low == open == close) bars."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1.0 + rng.exponential(5e-4, n))
    low = np.minimum(open_, close) * (1.0 - rng.exponential(5e-4, n))
    flat = rng.random(n) < 0.05
    for arr in (open_, high, low):
        arr[flat] = close[flat]
    return open_, high, low, close


def _ref_range_mean(terms: np.ndarray, window: int) -> np.ndarray:
    """sqrt(max(0, rolling mean)) of ``terms`` by pandas, NaN during the warm-up."""
    mean = pd.Series(terms).rolling(window).mean().to_numpy()
    return np.sqrt(np.where(np.isnan(mean), np.nan, np.maximum(mean, 0.0)))


@pytest.mark.parametrize("window", [1, 2, 7, 20, 240])
def test_range_estimators_over_many_chunks(window: int) -> None:
    # 40,000 bars cross the compiled kernel's chunks (16,380 bars for window 20) and its
    # blocks of four windows; the values must match a plain rolling mean everywhere.
    o, h, lo, c = _walk(40_000, window)
    hl2 = np.log(h / lo) ** 2
    co2 = np.log(c / o) ** 2
    gk_terms = 0.5 * hl2 - (2.0 * math.log(2.0) - 1.0) * co2
    np.testing.assert_allclose(
        garman_klass_vol(o, h, lo, c, window), _ref_range_mean(gk_terms, window), rtol=1e-9
    )
    park = _ref_range_mean(hl2 / (4.0 * math.log(2.0)), window)
    np.testing.assert_allclose(parkinson_vol(h, lo, window), park, rtol=1e-9)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_range_estimators_do_not_depend_on_chunk_size(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mftbot.analysis.indicators import volatility as module

    o, h, lo, c = _walk(3_000, 11)
    want = [(garman_klass_vol(o, h, lo, c, w), parkinson_vol(h, lo, w)) for w in (1, 3, 20, 240)]
    monkeypatch.setattr(module, "_CHUNK", chunk)
    for (gk, park), w in zip(want, (1, 3, 20, 240), strict=True):
        np.testing.assert_array_equal(garman_klass_vol(o, h, lo, c, w), gk)
        np.testing.assert_array_equal(parkinson_vol(h, lo, w), park)


def test_range_estimators_window_one_short_input_and_zero_windows() -> None:
    o, h, lo, c = _walk(50, 3)
    hl2 = np.log(h / lo) ** 2
    park = np.sqrt(hl2 / (4.0 * math.log(2.0)))
    np.testing.assert_allclose(parkinson_vol(h, lo, 1), park, rtol=1e-12)
    gk_terms = 0.5 * hl2 - (2.0 * math.log(2.0) - 1.0) * np.log(c / o) ** 2
    np.testing.assert_allclose(
        garman_klass_vol(o, h, lo, c, 1), np.sqrt(np.maximum(gk_terms, 0.0)), rtol=1e-12
    )
    for n in (0, 1, 19):
        assert np.isnan(garman_klass_vol(o[:n], h[:n], lo[:n], c[:n], 20)).all()
        assert parkinson_vol(h[:n], lo[:n], 20).shape == (n,)
    out = garman_klass_vol(o[:20], h[:20], lo[:20], c[:20], 20)
    assert np.isnan(out[:19]).all()
    assert out[19] >= 0.0
    # Ranged bars, then 30 flat bars: once the window holds only flat bars the value is
    # exactly 0 (no residue of the running sum).
    flat = np.full(30, c[-1])
    o2, h2, lo2, c2 = (np.concatenate((x, flat)) for x in (o, h, lo, c))
    for w in (5, 10):
        gk = garman_klass_vol(o2, h2, lo2, c2, w)
        np.testing.assert_array_equal(gk[50 + w - 1 :], 0.0)
        assert (gk[w - 1 : 50] > 0.0).any()
        np.testing.assert_array_equal(parkinson_vol(h2, lo2, w)[50 + w - 1 :], 0.0)


def test_range_estimators_leading_nan_and_bad_values_anywhere() -> None:
    o, h, lo, c = _walk(40_000, 5)
    clean = garman_klass_vol(o, h, lo, c, 20)
    o2, h2, lo2, c2 = (x.copy() for x in (o, h, lo, c))
    o2[:3] = np.nan  # leading NaN in one input: NaN there, the rest as on the suffix
    h2[:7] = np.nan
    got = garman_klass_vol(o2, h2, lo2, c2, 20)
    assert np.isnan(got[: 7 + 19]).all()
    np.testing.assert_array_equal(got[7:], garman_klass_vol(o[7:], h[7:], lo[7:], c[7:], 20))
    assert np.isfinite(clean[19:]).all()
    np.testing.assert_array_equal(parkinson_vol(h2, lo, 20)[7:], parkinson_vol(h[7:], lo[7:], 20))
    assert np.isnan(garman_klass_vol(np.full(5, np.nan), h[:5], lo[:5], c[:5], 2)).all()
    # Bad values past the first chunk of the kernel are found too.
    for name, index, value, message in (
        ("close", 30_000, np.nan, "close: NaN at index 30000"),
        ("low", 25_000, 0.0, "low: non-positive value at index 25000"),
        ("high", 39_999, 1.0, "high: high below low at index 39999"),
        ("open", 17_000, -1.0, "open: non-positive value at index 17000"),
        ("high", 20_000, np.inf, "high: infinite value at index 20000"),
    ):
        arrays = {"open_": o.copy(), "high": h.copy(), "low": lo.copy(), "close": c.copy()}
        arrays[name if name != "open" else "open_"][index] = value
        with pytest.raises(ValueError, match=message):
            garman_klass_vol(**arrays, window=20)
    bad = h.copy()
    bad[33_333] = lo[33_333] * 0.5
    with pytest.raises(ValueError, match="high below low at index 33333"):
        parkinson_vol(bad, lo, 20)
    with pytest.raises(ValueError, match="differ in length"):
        garman_klass_vol(o, h, lo, c[:-1], 20)
    with pytest.raises(ValueError, match="window must be >= 1"):
        garman_klass_vol(o, h, lo, c, 0)
