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
