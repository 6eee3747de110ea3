"""Volume profile (range rows, grid rows, rolling) against a plain-Python version."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mftbot.analysis.indicators import rolling_volume_profile, volume_profile
from mftbot.analysis.indicators.volume_profile import grid_row_size
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


def ref_grid_size(lowest: float, highest: float, bins: int) -> float:
    """The smallest power of two at least (highest - lowest) / bins (0 for a flat range)."""
    span = (highest - lowest) / bins
    if span <= 0:
        return 0.0
    mantissa, exponent = math.frexp(span)
    return math.ldexp(1.0, exponent - 1) if mantissa == 0.5 else math.ldexp(1.0, exponent)


def ref_grid_histogram(
    high: list[float], low: list[float], volume: list[float], size: float
) -> tuple[int, list[float]]:
    """(first row number, volume per row) on rows [k * size, (k + 1) * size)."""
    first = math.floor(min(low) / size)
    last = math.floor(max(high) / size)
    hist = [0.0] * (last - first + 1)
    for h, low_i, v in zip(high, low, volume, strict=True):
        if v == 0:
            continue
        if math.floor(h / size) == math.floor(low_i / size):
            hist[math.floor(low_i / size) - first] += v
            continue
        for k in range(first, last + 1):
            overlap = min(h, (k + 1) * size) - max(low_i, k * size)
            if overlap > 0:
                hist[k - first] += v * overlap / (h - low_i)
    return first, hist


def ref_grid_levels(
    high: list[float], low: list[float], volume: list[float], bins: int
) -> tuple[float, float, float]:
    """POC, VAH, VAL of one window of the rolling profile (grid rows)."""
    size = ref_grid_size(min(low), max(high), bins)
    if size == 0:
        return (low[0], low[0], low[0]) if sum(volume) > 0 else (NAN, NAN, NAN)
    first, hist = ref_grid_histogram(high, low, volume, size)
    area = ref_value_area(hist, 0.70)
    if area is None:
        return NAN, NAN, NAN
    poc, bottom, top = area
    k = first + poc
    return (k + 0.5) * size, (first + top + 1) * size, (first + bottom) * size


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


def test_range_rows_with_prices_on_row_edges() -> None:
    # Integer prices over 0..120 in 12 rows of 10: many lows and highs fall exactly on an
    # edge, and some bars span three rows or more.
    rng = np.random.default_rng(7)
    low = rng.integers(0, 110, 2000).astype(float)
    high = np.minimum(low + rng.integers(0, 35, 2000), 120.0)
    low[0], high[0] = 0.0, 120.0
    volume = rng.exponential(3.0, 2000)
    volume[::17] = 0.0
    got = volume_profile(high, low, volume, bins=12)
    _, _, hist = ref_histogram(list(high), list(low), list(volume), 12)
    np.testing.assert_allclose(got.volume, hist, rtol=1e-9, atol=1e-12)
    assert (got.poc, got.vah, got.val) == pytest.approx(
        ref_levels(list(high), list(low), list(volume), 12), rel=1e-12
    )


def test_grid_rows_match_reference(bars: CandleArrays) -> None:
    h, lo, v = (list(x[-1440:]) for x in (bars.high, bars.low, bars.volume))
    for size in (8.0, 25.0, 0.5 * (max(h) - min(lo)) / 7):
        got = volume_profile(bars.high, bars.low, bars.volume, window=1440, row_size=size)
        first, hist = ref_grid_histogram(h, lo, v, size)
        np.testing.assert_allclose(got.volume, hist, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.bin_edges, (first + np.arange(len(hist) + 1)) * size)
        assert got.bin_edges[0] <= min(lo)
        assert got.bin_edges[-1] > max(h)
        area = ref_value_area(hist, 0.70)
        assert area is not None
        poc, bottom, top = area
        want = ((first + poc + 0.5) * size, (first + top + 1) * size, (first + bottom) * size)
        assert (got.poc, got.vah, got.val) == pytest.approx(want, rel=1e-12)


def test_grid_row_size() -> None:
    assert grid_row_size(100.0, 124.0, 24) == 1.0
    assert grid_row_size(100.0, 124.5, 24) == 2.0
    assert grid_row_size(0.0, 3.0, 8) == 0.5
    assert grid_row_size(5.0, 5.0, 8) == 0.0
    for lowest, highest, bins in [(98_123.4, 99_001.7, 24), (0.0123, 0.0456, 50), (1.0, 9e9, 3)]:
        assert grid_row_size(lowest, highest, bins) == ref_grid_size(lowest, highest, bins)
        size = grid_row_size(lowest, highest, bins)
        assert size / 2 < (highest - lowest) / bins <= size
    with pytest.raises(ValueError, match="below"):
        grid_row_size(2.0, 1.0, 4)


def test_rolling_profile_matches_reference_at_every_bar(btc: CandleArrays) -> None:
    h, lo, v = btc.high[:400], btc.low[:400], btc.volume[:400]
    window, bins = 120, 16
    got = rolling_volume_profile(h, lo, v, window=window, bins=bins)
    assert np.isnan(got.poc[: window - 1]).all()
    sizes = []
    for t in range(window - 1, 400):
        s = slice(t - window + 1, t + 1)
        want = ref_grid_levels(list(h[s]), list(lo[s]), list(v[s]), bins)
        assert (got.poc[t], got.vah[t], got.val[t]) == pytest.approx(want, rel=1e-12), t
        sizes.append(ref_grid_size(float(lo[s].min()), float(h[s].max()), bins))
    # The row height went both up (rows merged) and down (rebuilt) along the way.
    steps = np.diff(sizes)
    assert (steps > 0).any()
    assert (steps < 0).any()


def test_rolling_profile_is_the_grid_profile_of_each_window(bars: CandleArrays) -> None:
    h, lo, v = bars.high, bars.low, bars.volume
    window, bins = 240, 24
    got = rolling_volume_profile(h, lo, v, window=window, bins=bins)
    sizes = set()
    for t in range(window - 1, len(h)):
        s = slice(t - window + 1, t + 1)
        size = grid_row_size(float(lo[s].min()), float(h[s].max()), bins)
        sizes.add(size)
        static = volume_profile(h[s], lo[s], v[s], row_size=size)
        assert (got.poc[t], got.vah[t], got.val[t]) == (static.poc, static.vah, static.val), t
        rows = static.volume.size
        assert bins // 2 < rows <= bins + 1
        assert static.val <= got.poc[t] <= static.vah
    assert len(sizes) >= 3


def test_rolling_profile_follows_a_trend() -> None:
    # A steady climb keeps the row height fixed while the rows in use drift far upwards.
    rng = np.random.default_rng(3)
    mid = 1000.0 + 0.5 * np.arange(3000) + rng.normal(0.0, 0.2, 3000)
    high, low = mid + rng.uniform(0.0, 1.5, 3000), mid - rng.uniform(0.0, 1.5, 3000)
    volume = rng.exponential(1.0, 3000)
    window, bins = 50, 16
    got = rolling_volume_profile(high, low, volume, window=window, bins=bins)
    for t in range(window - 1, 3000, 7):
        s = slice(t - window + 1, t + 1)
        size = grid_row_size(float(low[s].min()), float(high[s].max()), bins)
        static = volume_profile(high[s], low[s], volume[s], row_size=size)
        assert (got.poc[t], got.vah[t], got.val[t]) == (static.poc, static.vah, static.val), t


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
    flat_rolling = rolling_volume_profile(const, const, np.ones(30), window=5)
    assert (flat_rolling.poc[4:] == 5.0).all()
    assert (flat_rolling.vah[4:] == 5.0).all()
    # A flat stretch, then prices move: the rows are rebuilt when the window widens.
    moving = np.concatenate((const[:10], np.linspace(5.0, 9.0, 20)))
    reach = np.where(np.arange(30) < 10, 0.0, 0.5)
    after = rolling_volume_profile(moving + reach, moving, np.ones(30), window=5, bins=4)
    assert (after.poc[4:10] == 5.0).all()
    assert np.isfinite(after.poc[14:]).all()
    assert (after.val[14:] <= after.poc[14:]).all()
    assert (after.poc[14:] <= after.vah[14:]).all()
    short = rolling_volume_profile(const[:3], const[:3], np.ones(3), window=5)
    assert all(np.isnan(x).all() for x in short)
    empty = volume_profile(np.empty(0), np.empty(0), np.empty(0))
    assert math.isnan(empty.poc)
    with pytest.raises(ValueError, match="value_area"):
        volume_profile(const, const, np.ones(30), value_area=1.5)
    with pytest.raises(ValueError, match="bins"):
        rolling_volume_profile(const, const, np.ones(30), bins=0)
    with pytest.raises(ValueError, match="row_size"):
        volume_profile(const, const, np.ones(30), row_size=0.0)


def test_range_profile_checks_every_bar(btc: CandleArrays) -> None:
    # The range-row histogram checks the bars as it reads them; bars before the window
    # are checked too, and a leading NaN is stripped as by every indicator.
    h, lo, v = btc.high, btc.low, btc.volume
    for window in (None, 100):
        for column, index, value, message in (
            ("high", 2_990, NAN, "high: NaN at index 2990"),
            ("low", 10, NAN, "low: NaN at index 10"),
            ("volume", 2_999, -1.0, "volume: negative volume at index 2999"),
            ("high", 1_500, 1.0, "high: high below low at index 1500"),
            ("low", 2_995, -np.inf, "low: infinite value at index 2995"),
        ):
            cols = {"high": h.copy(), "low": lo.copy(), "volume": v.copy()}
            cols[column][index] = value
            with pytest.raises(ValueError, match=message):
                volume_profile(*cols.values(), window=window)
    lead = h.copy()
    lead[:4] = NAN
    got = volume_profile(lead, lo, v, bins=30)
    want = volume_profile(h[4:], lo[4:], v[4:], bins=30)
    np.testing.assert_array_equal(got.volume, want.volume)
    assert (got.poc, got.vah, got.val) == (want.poc, want.vah, want.val)
    last = volume_profile(lead, lo, v, bins=30, window=50)
    np.testing.assert_array_equal(
        last.volume, volume_profile(h[-50:], lo[-50:], v[-50:], bins=30).volume
    )
    flat = np.full(10, 3.0)
    bent = flat.copy()
    bent[4] = 2.0  # high below low on a window whose prices are otherwise all equal
    with pytest.raises(ValueError, match="high below low at index 4"):
        volume_profile(bent, flat, np.ones(10))
    with pytest.raises(ValueError, match="negative volume at index 6"):
        volume_profile(flat, flat, np.where(np.arange(10) == 6, -1.0, 1.0))
