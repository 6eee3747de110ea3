"""Volume profile (static and rolling) against a plain-Python version."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mftbot.analysis.indicators import rolling_volume_profile, volume_profile
from mftbot.analysis.registry import CandleArrays

NAN = float("nan")


def ref_histogram(
    high: list[float], low: list[float], volume: list[float], bins: int
) -> tuple[float, float, list[float]]:
    """(lowest low, row width, volume per row): each bar's volume spread over its range."""
    lo, hi = min(low), max(high)
    width = (hi - lo) / bins
    edges = [lo + k * width for k in range(bins)] + [hi]
    hist = [0.0] * bins
    for h, low_i, v in zip(high, low, volume, strict=True):
        if v == 0:
            continue
        if h == low_i or width == 0:
            row = 0 if width == 0 else min(bins - 1, math.floor((h - lo) / width))
            hist[row] += v
            continue
        for row in range(bins):
            overlap = min(h, edges[row + 1]) - max(low_i, edges[row])
            if overlap > 0:
                hist[row] += v * overlap / (h - low_i)
    return lo, width, hist


def ref_value_area(hist: list[float], fraction: float) -> tuple[int, int, int] | None:
    """CBOT rule: add the larger of the next two rows above / below the POC (above on ties)."""
    total = sum(hist)
    if total <= 0:
        return None
    poc = hist.index(max(hist))
    bottom = top = poc
    acc = hist[poc]
    while acc < fraction * total:
        above = hist[top + 1 : top + 3]
        below = hist[max(bottom - 2, 0) : bottom]
        if not above and not below:
            break
        if above and (not below or sum(above) >= sum(below)):
            top += len(above)
            acc += sum(above)
        else:
            bottom -= len(below)
            acc += sum(below)
    return poc, bottom, top


def ref_levels(
    high: list[float], low: list[float], volume: list[float], bins: int
) -> tuple[float, float, float]:
    lo, width, hist = ref_histogram(high, low, volume, bins)
    area = ref_value_area(hist, 0.70)
    if area is None:
        return NAN, NAN, NAN
    poc, bottom, top = area
    return lo + (poc + 0.5) * width, lo + (top + 1) * width, lo + bottom * width


def test_static_profile_matches_reference(bars: CandleArrays) -> None:
    for window, bins in [(240, 24), (1440, 50), (3000, 100)]:
        h, lo, v = (list(x[-window:]) for x in (bars.high, bars.low, bars.volume))
        got = volume_profile(bars.high, bars.low, bars.volume, bins=bins, window=window)
        _, _, hist = ref_histogram(h, lo, v, bins)
        np.testing.assert_allclose(got.volume, hist, rtol=1e-9, atol=1e-12)
        assert got.volume.sum() == pytest.approx(sum(v), rel=1e-12)
        assert got.bin_edges[0] == min(lo)
        assert got.bin_edges[-1] == max(h)
        poc, vah, val = ref_levels(h, lo, v, bins)
        assert (got.poc, got.vah, got.val) == pytest.approx((poc, vah, val), rel=1e-12)
        assert got.val <= got.poc <= got.vah
        in_area = (got.bin_centers > got.val) & (got.bin_centers < got.vah)
        assert got.volume[in_area].sum() >= 0.70 * got.volume.sum()
        assert got.poc in got.hvn


def test_rolling_profile_matches_reference_at_every_bar(btc: CandleArrays) -> None:
    h, lo, v = btc.high[:400], btc.low[:400], btc.volume[:400]
    window, bins = 120, 16
    got = rolling_volume_profile(h, lo, v, window=window, bins=bins)
    assert np.isnan(got.poc[: window - 1]).all()
    for t in range(window - 1, 400):
        s = slice(t - window + 1, t + 1)
        want = ref_levels(list(h[s]), list(lo[s]), list(v[s]), bins)
        assert (got.poc[t], got.vah[t], got.val[t]) == pytest.approx(want, rel=1e-12), t
        static = volume_profile(h[: t + 1], lo[: t + 1], v[: t + 1], bins=bins, window=window)
        assert (got.poc[t], got.vah[t], got.val[t]) == (static.poc, static.vah, static.val)


def test_value_area_and_nodes_on_a_built_profile() -> None:
    rows = [1.0, 2.0, 9.0, 3.0, 1.0, 1.0, 4.0, 8.0, 2.0, 1.0]
    prices = np.array([0.0, 10.0] + [k + 0.5 for k in range(10)])
    volume = np.array([0.0, 0.0, *rows])
    got = volume_profile(prices, prices, volume, bins=10)
    np.testing.assert_array_equal(got.volume, rows)
    np.testing.assert_array_equal(got.bin_edges, np.arange(11.0))
    assert got.poc == 2.5
    # 9 -> +rows 3,4 (4 vs 3 below) -> +rows 5,6 (5 vs 3) -> +rows 7,8 (10 vs 3): 28 >= 22.4
    assert (got.val, got.vah) == (2.0, 9.0)
    np.testing.assert_array_equal(got.hvn, [2.5, 7.5])
    np.testing.assert_array_equal(got.lvn, [4.5])


def test_bar_volume_is_spread_over_its_range() -> None:
    # One bar from 0 to 4 over 4 rows, one point bar at 3.5.
    got = volume_profile(np.array([4.0, 3.5]), np.array([0.0, 3.5]), np.array([8.0, 1.0]), bins=4)
    np.testing.assert_array_equal(got.volume, [2.0, 2.0, 2.0, 3.0])
    assert got.poc == 3.5


def test_edge_cases() -> None:
    const = np.full(30, 5.0)
    flat = volume_profile(const, const, np.ones(30), bins=8)
    assert (flat.poc, flat.vah, flat.val) == (5.0, 5.0, 5.0)
    assert flat.volume[0] == 30.0
    dry = volume_profile(np.arange(1.0, 31.0), np.arange(0.0, 30.0), np.zeros(30))
    assert math.isnan(dry.poc)
    assert dry.hvn.size == 0
    rolling = rolling_volume_profile(
        np.arange(1.0, 31.0), np.arange(0.0, 30.0), np.zeros(30), window=5
    )
    assert np.isnan(rolling.poc).all()
    short = rolling_volume_profile(const[:3], const[:3], np.ones(3), window=5)
    assert all(np.isnan(x).all() for x in short)
    empty = volume_profile(np.empty(0), np.empty(0), np.empty(0))
    assert math.isnan(empty.poc)
    with pytest.raises(ValueError, match="value_area"):
        volume_profile(const, const, np.ones(30), value_area=1.5)
    with pytest.raises(ValueError, match="bins"):
        rolling_volume_profile(const, const, np.ones(30), bins=0)
