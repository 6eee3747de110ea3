"""Volume profile: volume by price over a window of bars, POC, value area, volume nodes.

The window's price range (lowest low to highest high) is split into ``bins`` equal rows.
Each bar's volume is spread evenly over its own high–low range, so a row gets the share of
the bar's range it overlaps; a bar with high == low puts all its volume in its row. The
point of control (POC) is the centre of the row with the most volume (the lowest such row on
a tie). The value area grows from the POC row by the standard (CBOT) rule: compare the volume
of the next two rows above with the next two rows below, add the larger pair (above on a
tie), and stop once it holds ``value_area`` (70 %) of the volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators import _kernels as k
from mftbot.analysis.indicators._jit import jit
from mftbot.analysis.indicators._validate import (
    FloatArray,
    IntArray,
    check_float,
    check_int,
    prepare,
)

ArrayLike = npt.ArrayLike


@dataclass(frozen=True, slots=True)
class VolumeProfile:
    """A volume profile of one window.

    ``poc``, ``vah`` and ``val`` are NaN and the node arrays empty when the window traded no
    volume. ``vah``/``val`` are the upper/lower edges of the value area's outer rows.
    """

    bin_edges: FloatArray
    volume: FloatArray
    poc: float
    vah: float
    val: float
    hvn: FloatArray
    lvn: FloatArray

    @property
    def bin_centers(self) -> FloatArray:
        """Mid price of each row."""
        centers: FloatArray = (self.bin_edges[:-1] + self.bin_edges[1:]) / 2.0
        return centers


class RollingVolumeProfile(NamedTuple):
    """POC and value-area bounds of the profile of the last ``window`` bars, per bar."""

    poc: FloatArray
    vah: FloatArray
    val: FloatArray


@jit
def _row(price: float, lo: float, width: float, bins: int) -> int:
    if width <= 0.0:
        return 0
    row = int((price - lo) / width)
    return min(max(row, 0), bins - 1)


@jit
def _edge(row: int, lo: float, hi: float, width: float, bins: int) -> float:
    """Lower edge of ``row``; ``row == bins`` is the top of the range."""
    return hi if row >= bins else lo + row * width


@jit
def _spread(
    high: float,
    low: float,
    volume: float,
    lo: float,
    width: float,
    hist: FloatArray,
    counts: IntArray,
    sign: int,
) -> None:
    """Add (``sign`` 1) or remove (-1) one bar's volume, spread over the rows its range
    overlaps. ``counts`` tracks how many bars feed each row, so a row left empty is exactly 0
    (a removal subtracts exactly the share its addition added: same rows, same arithmetic)."""
    if volume == 0.0:
        return
    bins = hist.size
    first = _row(low, lo, width, bins)
    last = _row(high, lo, width, bins)
    if first == last:
        hist[first] += sign * volume
        counts[first] += sign
        if counts[first] == 0:
            hist[first] = 0.0
        return
    span = high - low
    for r in range(first, last + 1):
        bottom = low if r == first else lo + r * width
        top = high if r == last else lo + (r + 1) * width
        if top > bottom:
            hist[r] += sign * (volume * (top - bottom) / span)
            counts[r] += sign
            if counts[r] == 0:
                hist[r] = 0.0


@jit
def _histogram(
    high: FloatArray,
    low: FloatArray,
    volume: FloatArray,
    start: int,
    stop: int,
    lo: float,
    width: float,
    hist: FloatArray,
    counts: IntArray,
) -> None:
    """Rebuild ``hist`` and ``counts`` from bars ``start..stop-1``: the additions of
    :func:`_spread`, unrolled for speed (same rows, same arithmetic)."""
    bins = hist.size
    hist[:] = 0.0
    counts[:] = 0
    for i in range(start, stop):
        v = volume[i]
        if v == 0.0:
            continue
        h = high[i]
        low_i = low[i]
        first = _row(low_i, lo, width, bins)
        last = _row(h, lo, width, bins)
        if first == last:
            hist[first] += v
            counts[first] += 1
            continue
        span = h - low_i
        for r in range(first, last + 1):
            bottom = low_i if r == first else lo + r * width
            top = h if r == last else lo + (r + 1) * width
            if top > bottom:
                hist[r] += v * (top - bottom) / span
                counts[r] += 1


@jit
def _static_histogram(
    high: FloatArray, low: FloatArray, volume: FloatArray, lo: float, width: float, hist: FloatArray
) -> None:
    """:func:`_histogram` of every bar without the per-row bar counts (nothing is removed)."""
    bins = hist.size
    hist[:] = 0.0
    for i in range(high.size):
        v = volume[i]
        h = high[i]
        low_i = low[i]
        first = _row(low_i, lo, width, bins)
        last = _row(h, lo, width, bins)
        if first == last:
            hist[first] += v
            continue
        if v == 0.0:
            continue
        span = h - low_i
        for r in range(first, last + 1):
            bottom = low_i if r == first else lo + r * width
            top = h if r == last else lo + (r + 1) * width
            if top > bottom:
                hist[r] += v * (top - bottom) / span


@jit
def _value_area(hist: FloatArray, fraction: float) -> tuple[int, int, int]:
    """(poc row, lowest value-area row, highest value-area row); (-1, -1, -1) if no volume."""
    bins = hist.size
    total = 0.0
    poc = 0
    for r in range(bins):
        total += hist[r]
        if hist[r] > hist[poc]:
            poc = r
    if total <= 0.0:
        return -1, -1, -1
    target = fraction * total
    acc = hist[poc]
    bottom = poc
    top = poc
    while acc < target and (bottom > 0 or top < bins - 1):
        up_rows = min(2, bins - 1 - top)
        down_rows = min(2, bottom)
        up = 0.0
        for j in range(1, up_rows + 1):
            up += hist[top + j]
        down = 0.0
        for j in range(1, down_rows + 1):
            down += hist[bottom - j]
        if up_rows > 0 and (down_rows == 0 or up >= down):
            top += up_rows
            acc += up
        else:
            bottom -= down_rows
            acc += down
    return poc, bottom, top


@jit
def _rolling(
    high: FloatArray,
    low: FloatArray,
    volume: FloatArray,
    lows: FloatArray,
    highs: FloatArray,
    window: int,
    bins: int,
    fraction: float,
    poc: FloatArray,
    vah: FloatArray,
    val: FloatArray,
) -> None:
    """Per bar: while the window's range (so every row) is unchanged, move the histogram by
    removing the bar that left and adding the new one; rebuild it when the range changes, and
    every ``window`` bars to bound rounding drift."""
    n = high.size
    poc[:] = np.nan
    vah[:] = np.nan
    val[:] = np.nan
    hist = np.zeros(bins)
    counts = np.zeros(bins, np.int64)
    lo = np.nan
    hi = np.nan
    width = 0.0
    countdown = 1
    for t in range(window - 1, n):
        countdown -= 1
        if countdown == 0 or lows[t] != lo or highs[t] != hi:
            countdown = window
            lo = lows[t]
            hi = highs[t]
            width = (hi - lo) / bins
            _histogram(high, low, volume, t - window + 1, t + 1, lo, width, hist, counts)
        else:
            j = t - window
            _spread(high[j], low[j], volume[j], lo, width, hist, counts, -1)
            _spread(high[t], low[t], volume[t], lo, width, hist, counts, 1)
        p, bottom, top = _value_area(hist, fraction)
        if p >= 0:
            poc[t] = (_edge(p, lo, hi, width, bins) + _edge(p + 1, lo, hi, width, bins)) / 2.0
            val[t] = _edge(bottom, lo, hi, width, bins)
            vah[t] = _edge(top + 1, lo, hi, width, bins)


def _nodes(hist: FloatArray, centers: FloatArray) -> tuple[FloatArray, FloatArray]:
    """High-volume nodes: peaks (above both neighbours, or the edge) at or above the mean row
    volume; low-volume nodes: interior troughs at or below it."""
    if hist.size < 2:
        return centers.copy(), centers[:0].copy()
    mean = hist.mean()
    left = np.concatenate(([-np.inf], hist[:-1]))
    right = np.concatenate((hist[1:], [-np.inf]))
    peaks = (hist > left) & (hist >= right) & (hist >= mean) & (hist > 0.0)
    troughs = np.zeros(hist.size, dtype=bool)
    troughs[1:-1] = (hist[1:-1] < hist[:-2]) & (hist[1:-1] <= hist[2:]) & (hist[1:-1] <= mean)
    return centers[peaks], centers[troughs]


def volume_profile(
    high: ArrayLike,
    low: ArrayLike,
    volume: ArrayLike,
    *,
    bins: int = 24,
    value_area: float = 0.70,
    window: int | None = None,
) -> VolumeProfile:
    """The volume profile of the last ``window`` bars (all bars when ``None``).

    Leading NaN bars are left out. With no bar left or no volume traded, POC and value area
    are NaN.
    """
    rows = check_int("bins", bins, 1)
    fraction = check_float("value_area", value_area)
    if fraction > 1.0:
        raise ValueError(f"value_area must be <= 1, got {value_area!r}")
    prep = prepare({"high": high, "low": low, "volume": volume})
    h, lo, v = prep.arrays
    if window is not None:
        w = check_int("window", window, 1)
        h, lo, v = h[-w:], lo[-w:], v[-w:]
    if h.size == 0:
        nan = float("nan")
        empty = np.empty(0)
        return VolumeProfile(np.full(rows + 1, np.nan), np.zeros(rows), nan, nan, nan, empty, empty)
    bottom_price = float(lo.min())
    top_price = float(h.max())
    width = (top_price - bottom_price) / rows
    edges = np.asarray(bottom_price + np.arange(rows + 1) * width, dtype=np.float64)
    edges[-1] = top_price
    hist = np.zeros(rows)
    _static_histogram(h, lo, v, bottom_price, width, hist)
    p, first, last = _value_area(hist, fraction)
    centers = (edges[:-1] + edges[1:]) / 2.0
    if p < 0:
        nan = float("nan")
        return VolumeProfile(edges, hist, nan, nan, nan, np.empty(0), np.empty(0))
    hvn, lvn = _nodes(hist, centers)
    return VolumeProfile(
        edges, hist, float(centers[p]), float(edges[last + 1]), float(edges[first]), hvn, lvn
    )


def rolling_volume_profile(
    high: ArrayLike,
    low: ArrayLike,
    volume: ArrayLike,
    *,
    window: int = 240,
    bins: int = 24,
    value_area: float = 0.70,
) -> RollingVolumeProfile:
    """POC, value-area high and low of the profile of the last ``window`` bars, at every bar.

    The histogram moves with the window (one bar out, one in) while the window's range
    stays the same, and is rebuilt from the window when the range changes. Warm-up
    ``window - 1``; NaN where the window traded no volume.
    """
    w = check_int("window", window, 1)
    rows = check_int("bins", bins, 1)
    fraction = check_float("value_area", value_area)
    if fraction > 1.0:
        raise ValueError(f"value_area must be <= 1, got {value_area!r}")
    prep = prepare({"high": high, "low": low, "volume": volume})
    if prep.empty:
        return RollingVolumeProfile(prep.nan(), prep.nan(), prep.nan())
    h, lo, v = prep.arrays
    outputs = RollingVolumeProfile(k.empty(h.size), k.empty(h.size), k.empty(h.size))
    _rolling(h, lo, v, k.window_min(lo, w), k.window_max(h, w), w, rows, fraction, *outputs)
    return RollingVolumeProfile(*(prep.pad(out) for out in outputs))
