"""Volume profile: volume by price over a window of bars, POC, value area, volume nodes.

Each bar's volume is spread evenly over its own high–low range, so a row gets the share of
the bar's range it overlaps; a bar with high == low puts all its volume in its row. The
point of control (POC) is the centre of the row with the most volume (the lowest such row on
a tie). The value area grows from the POC row by the standard (CBOT) rule: compare the volume
of the next two rows above with the next two rows below, add the larger pair (above on a
tie), and stop once it holds ``value_area`` (70 %) of the volume.

Rows come in the two layouts of charting platforms:

* **range rows** (:func:`volume_profile` by default): the window's price range, lowest low
  to highest high, split into ``bins`` equal rows (the top row includes the highest high);
* **grid rows** (``row_size``): rows of a fixed height anchored at its multiples,
  ``[k·size, (k+1)·size)``, from the row holding the lowest low to the row holding the
  highest high.

:func:`rolling_volume_profile` uses grid rows whose height is :func:`grid_row_size` of each
window: the smallest power of two at least the window's range / ``bins``, so a window spans
between ``bins / 2`` and ``bins + 1`` rows. Range rows would move with every new high or low
(an eighth of the bars of 1m BTC/USDT for a 240-bar window), each time re-spreading the whole
window; grid rows stay put while the height does (it changes on under 1 % of those bars),
so the histogram moves with the window, one bar out and one in, and a height that doubles
merges pairs of rows. The value at each bar depends on that bar's window only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators import _kernels as k
from mftbot.analysis.indicators._jit import jit
from mftbot.analysis.indicators._validate import (
    FloatArray,
    IntArray,
    all_valid,
    as_inputs,
    check_float,
    check_int,
    prepare,
)

ArrayLike = npt.ArrayLike

_PAD = 2
"""Empty rows kept on each side of the rows in use: the value area reads two rows ahead
of the rows in use, and a bar writes (zeros) to two rows past its own."""
_REFRESH = 8
"""The rolling histogram is rebuilt from its window at least every ``_REFRESH`` windows,
which bounds the rounding drift of its additions and removals."""
_EXP_MASK = 0x7FF
_MANTISSA_MASK = (1 << 52) - 1


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


# --------------------------------------------------------------------------- shared


@jit
def _pow2_at_least(x: float) -> float:
    """The smallest power of two ≥ ``x`` (``x`` > 0, finite), from the bits of ``x``."""
    bits = np.float64(x).view(np.int64)
    exponent = (bits >> 52) & _EXP_MASK
    if exponent == 0:  # subnormal: the smallest normal power of two covers it
        return np.int64(1 << 52).view(np.float64)
    if (bits & _MANTISSA_MASK) == 0:
        return x
    return np.int64((exponent + 1) << 52).view(np.float64)


@jit
def _grid_height(lowest: float, highest: float, bins: int) -> float:
    """:func:`grid_row_size`; 0.0 when ``highest == lowest``."""
    span = (highest - lowest) / bins
    if not span > 0.0:
        return 0.0
    size = _pow2_at_least(span)
    # Keep row numbers (price / size) below 2**60, exactly representable as int64.
    big = max(abs(lowest), abs(highest))
    exponent = (np.float64(big).view(np.int64) >> 52) & _EXP_MASK
    if exponent > 60:
        floor = np.int64((exponent - 60) << 52).view(np.float64)
        size = max(size, floor)
    return size


def grid_row_size(lowest: float, highest: float, bins: int) -> float:
    """Row height :func:`rolling_volume_profile` uses for a window whose prices run from
    ``lowest`` to ``highest``: the smallest power of two ≥ ``(highest - lowest) / bins``
    (0.0 when they are equal)."""
    rows = check_int("bins", bins, 1)
    lo = check_float("lowest", lowest, minimum=-math.inf)
    hi = check_float("highest", highest, minimum=-math.inf)
    if hi < lo:
        raise ValueError(f"highest ({highest!r}) is below lowest ({lowest!r})")
    return float(_grid_height(lo, hi, rows))


@jit
def _expand(
    hist: FloatArray, start: int, stop: int, poc: int, target: float, path: npt.NDArray[np.int8]
) -> tuple[int, int, int]:
    """Grow the value area from ``poc`` by the CBOT rule among rows ``start..stop-1`` until
    it holds ``target``; (lowest row, highest row, steps), each step's choice recorded in
    ``path`` (1: the pair above). The two rows past each end of the range must be 0."""
    acc = hist[poc]
    bottom = poc
    top = poc
    last = stop - 1
    steps = 0
    while acc < target:
        up_rows = min(2, last - top)
        down_rows = min(2, bottom - start)
        if up_rows + down_rows == 0:
            break
        up = hist[top + 1] + hist[top + 2]
        down = hist[bottom - 1] + hist[bottom - 2]
        if up_rows > 0 and (down_rows == 0 or up >= down):
            top += up_rows
            acc += up
            path[steps] = 1
        else:
            bottom -= down_rows
            acc += down
            path[steps] = 0
        steps += 1
    return bottom, top, steps


@jit
def _replay(
    hist: FloatArray,
    start: int,
    stop: int,
    poc: int,
    target: float,
    path: npt.NDArray[np.int8],
    steps: int,
) -> tuple[bool, int, int]:
    """Whether :func:`_expand` from ``poc`` would take exactly the recorded ``steps`` of
    ``path`` (each choice and the stop); with the value area it gives. The rows each step
    reads follow from the record, not from the comparisons, so the steps do not wait on
    each other."""
    acc = hist[poc]
    bottom = poc
    top = poc
    last = stop - 1
    bad = False
    for s in range(steps):
        up_rows = min(2, last - top)
        down_rows = min(2, bottom - start)
        up = hist[top + 1] + hist[top + 2]
        down = hist[bottom - 1] + hist[bottom - 2]
        go_up = up_rows > 0 and (down_rows == 0 or up >= down)
        recorded = path[s] != 0
        bad |= (go_up != recorded) | (acc >= target)
        if recorded:
            top += up_rows
            acc += up
        else:
            bottom -= down_rows
            acc += down
    return (not bad) and acc >= target, bottom, top


@jit
def _value_area(hist: FloatArray, start: int, stop: int, fraction: float) -> tuple[int, int, int]:
    """(poc row, lowest value-area row, highest value-area row) among rows
    ``start..stop-1``; (-1, -1, -1) if they hold no volume. The two rows on each side of
    that range must be 0 (the pairs are read without bounds checks)."""
    total = 0.0
    best = -1.0
    poc = start
    for r in range(start, stop):
        x = hist[r]
        total += x
        if x > best:
            best = x
            poc = r
    if total <= 0.0:
        return -1, -1, -1
    path = np.empty(stop - start, np.int8)
    bottom, top, _ = _expand(hist, start, stop, poc, fraction * total, path)
    return poc, bottom, top


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


# --------------------------------------------------------------------------- range rows


@jit
def _range_bar(
    high: float,
    low: float,
    volume: float,
    lo: float,
    width: float,
    top_row: int,
    hist: FloatArray,
    offset: int,
) -> None:
    """Add one bar to the range rows ``hist[offset:offset + bins]``, rows by the division
    of the definition, ``int((price - lo) / width)`` clamped to the range."""
    first = min(max(int((low - lo) / width), 0), top_row)
    last = min(max(int((high - lo) / width), 0), top_row)
    if first == last:
        hist[offset + first] += volume
        return
    if volume == 0.0:
        return
    span = high - low
    for r in range(first, last + 1):
        bottom = low if r == first else lo + r * width
        top = high if r == last else lo + (r + 1) * width
        if top > bottom:
            hist[offset + r] += volume * (top - bottom) / span


@jit
def _range_shares(
    high: FloatArray,
    low: FloatArray,
    volume: FloatArray,
    lo: float,
    width: float,
    top_row: int,
    first: IntArray,
    share: FloatArray,
    share_next: FloatArray,
) -> bool:
    """One chunk of bars, a loop the compiler vectorises: the first row of each bar and its
    shares of that row and the next (the volume and 0 for a one-row bar). Rows come from a
    multiplication; ``first`` is -1 where a price lies within rounding of a row edge or the
    bar spans three rows or more, which the caller then adds by :func:`_range_bar`. False
    if a bar fails :func:`prepare`'s checks (finite, ``high >= low``, ``volume >= 0``)."""
    inv = 1.0 / width
    bad = False
    for j in range(high.size):
        h = high[j]
        low_j = low[j]
        v = volume[j]
        bad |= (h - h != 0.0) | (low_j - low_j != 0.0) | (v - v != 0.0) | (h < low_j) | (v < 0.0)
        x = (low_j - lo) * inv
        y = (h - lo) * inv
        a = int(x)
        b = int(y)
        fa = x - a
        fb = y - b
        ta = 1e-12 * (1.0 + x)  # far above the rounding error of the product
        tb = 1e-12 * (1.0 + y)
        unsure = (fa < ta) | (fa > 1.0 - ta) | (fb < tb) | (fb > 1.0 - tb) | (b > a + 1)
        unsure |= b > top_row
        a = min(a, top_row)
        span = h - low_j
        per_price = v / (span if span > 0.0 else 1.0)
        one = a == min(b, top_row)
        share[j] = v if one else ((lo + (a + 1) * width) - low_j) * per_price
        share_next[j] = 0.0 if one else (h - (lo + (a + 1) * width)) * per_price
        first[j] = -1 if unsure else a
    return not bad


_CHUNK = 512
_COPIES = 4


@jit
def _range_histogram(
    high: FloatArray, low: FloatArray, volume: FloatArray, lo: float, width: float, hist: FloatArray
) -> bool:
    """Fill ``hist`` (``bins`` rows from ``lo``, each ``width`` high) from every bar; False
    if a bar fails :func:`prepare`'s checks (every price must lie in the rows' range).

    Chunk by chunk: the rows and shares of one- and two-row bars in a vectorised pass
    (:func:`_range_shares`), then added into four interleaved copies of the histogram (so
    successive bars in one row do not wait on each other), summed at the end.
    """
    bins = hist.size
    n = high.size
    ok = True
    if width <= 0.0:
        total = 0.0
        for i in range(n):
            v = volume[i]
            ok &= (v - v == 0.0) & (v >= 0.0) & (high[i] == low[i])
            total += v
        hist[:] = 0.0
        hist[0] = total
        return ok
    top_row = bins - 1
    stride = bins + 1  # a one-row bar adds 0 to the row above its own
    copies = np.zeros(_COPIES * stride)
    first = np.empty(_CHUNK, np.int64)
    share = np.empty(_CHUNK)
    share_next = np.empty(_CHUNK)
    for s in range(0, n, _CHUNK):
        e = min(s + _CHUNK, n)
        hs = high[s:e]
        ls = low[s:e]
        vs = volume[s:e]
        ok &= _range_shares(hs, ls, vs, lo, width, top_row, first, share, share_next)
        for j in range(e - s):
            offset = (j & (_COPIES - 1)) * stride
            a = first[j]
            if a < 0:
                _range_bar(hs[j], ls[j], vs[j], lo, width, top_row, copies, offset)
            else:
                copies[offset + a] += share[j]
                copies[offset + a + 1] += share_next[j]
    hist[:] = 0.0
    for c in range(_COPIES):
        hist += copies[c * stride : c * stride + bins]
    return ok


# --------------------------------------------------------------------------- grid rows


_BLOCK = 64
"""Bars whose grid rows and shares are computed together, in one vectorised pass."""


@jit
def _grid_shares(
    high: FloatArray,
    low: FloatArray,
    volume: FloatArray,
    size: float,
    first: IntArray,
    depth: IntArray,
    share0: FloatArray,
    share1: FloatArray,
    share2: FloatArray,
) -> None:
    """Per bar (a loop the compiler vectorises): its first grid row ``floor(low / size)``,
    how many rows past it it reaches, and its shares of its first three rows (0 where it
    does not reach): the volume itself for a one-row bar, else ``overlap · volume /
    (high - low)``."""
    for j in range(high.size):
        h = high[j]
        low_j = low[j]
        v = volume[j]
        a = math.floor(low_j / size)
        d = math.floor(h / size) - a
        span = h - low_j
        scale = v / (span if span > 0.0 else 1.0)
        edge1 = (a + 1) * size
        edge2 = (a + 2) * size
        full = size * scale
        first[j] = a
        depth[j] = d
        share0[j] = v if d == 0 else max(edge1 - low_j, 0.0) * scale
        share1[j] = 0.0 if d == 0 else (max(h - edge1, 0.0) * scale if d == 1 else full)
        share2[j] = 0.0 if d <= 1 else (max(h - edge2, 0.0) * scale if d == 2 else full)


@jit
def _grid_add(hist: FloatArray, counts: IntArray, j: int, share: float, step: int) -> None:
    """Add ``share`` to row ``j`` and ``step`` to its bar count; a row left with no bar is
    set to exactly 0."""
    c = counts[j] + step
    counts[j] = c
    total = hist[j] + share
    hist[j] = total if c != 0 else 0.0


@jit
def _grid_apply(
    hist: FloatArray,
    counts: IntArray,
    starts: IntArray,
    i: int,
    d: int,
    share0: float,
    share1: float,
    share2: float,
    sign: int,
) -> None:
    """Add (``sign`` 1) or remove (-1) a bar's shares of its first three rows, from index
    ``i`` (zeros where it does not reach, so no branch). ``counts`` holds how many bars
    touch each row, ``starts`` how many begin in it."""
    starts[i] += sign
    _grid_add(hist, counts, i, sign * share0, sign)
    _grid_add(hist, counts, i + 1, sign * share1, sign if d >= 1 else 0)
    _grid_add(hist, counts, i + 2, sign * share2, sign if d >= 2 else 0)


@jit
def _grid_rest(
    first: int,
    last: int,
    high: float,
    low: float,
    volume: float,
    size: float,
    base: int,
    hist: FloatArray,
    counts: IntArray,
    sign: int,
) -> None:
    """The rows past the third of a bar spanning ``first..last`` (arithmetic as in
    :func:`_grid_shares`)."""
    scale = volume / (high - low)
    full = size * scale
    for r in range(first + 3, last):
        _grid_add(hist, counts, r - base, sign * full, sign)
    _grid_add(hist, counts, last - base, sign * (max(high - last * size, 0.0) * scale), sign)


@jit
def _grid_histogram(
    high: FloatArray,
    low: FloatArray,
    volume: FloatArray,
    start: int,
    stop: int,
    size: float,
    base: int,
    hist: FloatArray,
    counts: IntArray,
    starts: IntArray,
) -> None:
    """Rebuild the grid histogram (row ``r`` at index ``r - base``) from the bars
    ``start..stop-1`` that traded."""
    hist[:] = 0.0
    counts[:] = 0
    starts[:] = 0
    first = np.empty(_BLOCK, np.int64)
    depth = np.empty(_BLOCK, np.int64)
    share0 = np.empty(_BLOCK)
    share1 = np.empty(_BLOCK)
    share2 = np.empty(_BLOCK)
    for c0 in range(start, stop, _BLOCK):
        c1 = min(c0 + _BLOCK, stop)
        _grid_shares(
            high[c0:c1], low[c0:c1], volume[c0:c1], size, first, depth, share0, share1, share2
        )
        for j in range(c1 - c0):
            if volume[c0 + j] == 0.0:
                continue
            a = first[j]
            d = depth[j]
            _grid_apply(hist, counts, starts, a - base, d, share0[j], share1[j], share2[j], 1)
            if d > 2:
                i = c0 + j
                _grid_rest(a, a + d, high[i], low[i], volume[i], size, base, hist, counts, 1)


@jit
def _merge_rows(
    hist: FloatArray,
    counts: IntArray,
    starts: IntArray,
    base: int,
    new_base: int,
    scratch: FloatArray,
    scratch_counts: IntArray,
    scratch_starts: IntArray,
) -> None:
    """Re-express the histogram on rows twice as high (row ``K`` = rows ``2K`` and
    ``2K + 1``), now indexed from ``new_base``. Bar counts stay exact: a bar counted in
    both halves is one that touches row ``2K + 1`` without starting there."""
    n = hist.size
    for j in range(n):
        fine = 2 * (new_base + j) - base
        x = 0.0
        c = 0
        s = 0
        if 0 <= fine < n:
            x = hist[fine]
            c = counts[fine]
            s = starts[fine]
        if 0 <= fine + 1 < n:
            x += hist[fine + 1]
            c += starts[fine + 1]
            s += starts[fine + 1]
        scratch[j] = x
        scratch_counts[j] = c
        scratch_starts[j] = s
    hist[:] = scratch
    counts[:] = scratch_counts
    starts[:] = scratch_starts


@jit
def _poc(hist: FloatArray, start: int, stop: int) -> int:
    """The lowest of the rows ``start..stop-1`` with the most volume."""
    best = hist[start]
    poc = start
    for r in range(start + 1, stop):
        x = hist[r]
        if x > best:
            best = x
            poc = r
    return poc


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
    poc_out: FloatArray,
    vah_out: FloatArray,
    val_out: FloatArray,
) -> None:
    """Per bar: the window's grid height; while it holds, move the histogram (one bar out,
    one in); when it doubles, merge pairs of rows; otherwise (and when the rows in use
    drift out of the buffer, or every ``_REFRESH`` windows) rebuild it from the window.

    The POC is carried from bar to bar: only rows the new bar raised can overtake it, and
    only a departing bar that touched the POC row forces a scan. The value area first
    replays the previous bar's expansion (:func:`_replay`) and expands afresh only when a
    choice or the stop differs.
    """
    n = high.size
    poc_out[:] = np.nan
    vah_out[:] = np.nan
    val_out[:] = np.nan
    cap = 4 * (bins + 1) + 4 * _PAD
    hist = np.zeros(cap)
    counts = np.zeros(cap, np.int64)
    starts = np.zeros(cap, np.int64)
    scratch = np.zeros(cap)
    scratch_counts = np.zeros(cap, np.int64)
    scratch_starts = np.zeros(cap, np.int64)
    path = np.zeros(cap, np.int8)
    steps = -1  # length of the recorded path; -1: none
    path_poc = 0  # the POC row the path grew from
    poc = 0  # POC row (absolute), when poc_known
    poc_known = False
    size = -1.0  # row height of the histogram held; -1: none, 0: a flat window
    inv = 0.0
    base = 0
    countdown = 0
    total = 0.0  # volume of the window
    nonzero = 0
    for i in range(min(window - 1, n)):
        nonzero += int(volume[i] != 0.0)
    prev_lo = np.nan
    prev_hi = np.nan
    want = 0.0
    in_first = np.empty(_BLOCK, np.int64)
    in_depth = np.empty(_BLOCK, np.int64)
    in_s0 = np.empty(_BLOCK)
    in_s1 = np.empty(_BLOCK)
    in_s2 = np.empty(_BLOCK)
    out_first = np.empty(_BLOCK, np.int64)
    out_depth = np.empty(_BLOCK, np.int64)
    out_s0 = np.empty(_BLOCK)
    out_s1 = np.empty(_BLOCK)
    out_s2 = np.empty(_BLOCK)
    for c0 in range(window - 1, n, _BLOCK):
        c1 = min(c0 + _BLOCK, n)
        chunk_size = -1.0  # row height of the chunk's shares (-1: none yet)
        for t in range(c0, c1):
            v_in = volume[t]
            v_out = volume[t - window] if t >= window else 0.0
            nonzero += int(v_in != 0.0) - int(v_out != 0.0)
            total += v_in - v_out
            lo = lows[t]
            hi = highs[t]
            if lo != prev_lo or hi != prev_hi:
                want = _grid_height(lo, hi, bins)
                prev_lo = lo
                prev_hi = hi
            if want == 0.0:  # every price of the window equal: one row, at that price
                size = 0.0
                if nonzero > 0:
                    poc_out[t] = lo
                    vah_out[t] = lo
                    val_out[t] = lo
                continue
            rebuild = size <= 0.0 or want < size or countdown <= 0
            if not rebuild and want > size:
                while size < want:  # coarser rows: merge pairs
                    new_base = (base >> 1) - (cap >> 2)
                    _merge_rows(
                        hist,
                        counts,
                        starts,
                        base,
                        new_base,
                        scratch,
                        scratch_counts,
                        scratch_starts,
                    )
                    base = new_base
                    size *= 2.0
                inv = 1.0 / size
                poc_known = False
            elif rebuild:
                size = want
                inv = 1.0 / size
            first = math.floor(lo * inv)
            last = math.floor(hi * inv)
            countdown -= 1
            if rebuild or first - _PAD < base or last + _PAD >= base + cap:
                countdown = _REFRESH * window
                base = first - (cap - (last - first + 1)) // 2
                _grid_histogram(
                    high, low, volume, t - window + 1, t + 1, size, base, hist, counts, starts
                )
                total = 0.0
                for i in range(t - window + 1, t + 1):
                    total += volume[i]
                poc_known = False
            else:
                k = t - c0
                if size != chunk_size:  # the rows and shares of the chunk's bars, in and out
                    _grid_shares(
                        high[t:c1], low[t:c1], volume[t:c1], size,
                        in_first[k:], in_depth[k:], in_s0[k:], in_s1[k:], in_s2[k:],
                    )  # fmt: skip
                    o = max(t, window)
                    if o < c1:
                        ko = o - c0
                        _grid_shares(
                            high[o - window : c1 - window], low[o - window : c1 - window],
                            volume[o - window : c1 - window], size,
                            out_first[ko:], out_depth[ko:], out_s0[ko:], out_s1[ko:], out_s2[ko:],
                        )  # fmt: skip
                    chunk_size = size
                if v_out != 0.0:
                    a = out_first[k]
                    d = out_depth[k]
                    _grid_apply(
                        hist, counts, starts, a - base, d, out_s0[k], out_s1[k], out_s2[k], -1
                    )
                    if d > 2:
                        j = t - window
                        _grid_rest(a, a + d, high[j], low[j], v_out, size, base, hist, counts, -1)
                    if a <= poc <= a + d:
                        poc_known = False
                if v_in != 0.0:
                    a = in_first[k]
                    d = in_depth[k]
                    _grid_apply(hist, counts, starts, a - base, d, in_s0[k], in_s1[k], in_s2[k], 1)
                    if d > 2:
                        _grid_rest(a, a + d, high[t], low[t], v_in, size, base, hist, counts, 1)
                    if poc_known:
                        best = hist[poc - base]
                        for r in range(a, a + d + 1):
                            x = hist[r - base]
                            if x > best or (x == best and r < poc):
                                best = x
                                poc = r
            if nonzero == 0:
                continue
            start = first - base
            stop = last - base + 1
            if not poc_known or not first <= poc <= last:
                poc = _poc(hist, start, stop) + base
                poc_known = True
            target = fraction * total
            ok = False
            if steps >= 0 and poc == path_poc:
                ok, bottom, top = _replay(hist, start, stop, poc - base, target, path, steps)
            if not ok:
                bottom, top, steps = _expand(hist, start, stop, poc - base, target, path)
                path_poc = poc
            poc_out[t] = (poc * size + (poc + 1) * size) / 2.0
            val_out[t] = (bottom + base) * size
            vah_out[t] = (top + base + 1) * size


# --------------------------------------------------------------------------- public


def _check_fraction(value_area: float) -> float:
    fraction = check_float("value_area", value_area)
    if fraction > 1.0:
        raise ValueError(f"value_area must be <= 1, got {value_area!r}")
    return fraction


def _profile(edges: FloatArray, hist: FloatArray, fraction: float) -> VolumeProfile:
    """POC, value area and nodes of a histogram over rows with ``edges``."""
    padded = np.zeros(hist.size + 2 * _PAD)
    padded[_PAD:-_PAD] = hist
    p, first, last = _value_area(padded, _PAD, _PAD + hist.size, fraction)
    nan = float("nan")
    if p < 0:
        return VolumeProfile(edges, hist, nan, nan, nan, np.empty(0), np.empty(0))
    p, first, last = p - _PAD, first - _PAD, last - _PAD
    centers = (edges[:-1] + edges[1:]) / 2.0
    hvn, lvn = _nodes(hist, centers)
    return VolumeProfile(
        edges, hist, float(centers[p]), float(edges[last + 1]), float(edges[first]), hvn, lvn
    )


def volume_profile(
    high: ArrayLike,
    low: ArrayLike,
    volume: ArrayLike,
    *,
    bins: int = 24,
    value_area: float = 0.70,
    window: int | None = None,
    row_size: float | None = None,
) -> VolumeProfile:
    """The volume profile of the last ``window`` bars (all bars when ``None``).

    Range rows (``bins`` of them) by default; grid rows of height ``row_size`` when it is
    given (``bins`` is then not used). Leading NaN bars are left out. With no bar left or no
    volume traded, POC and value area are NaN.
    """
    rows = check_int("bins", bins, 1)
    fraction = _check_fraction(value_area)
    size = None if row_size is None else check_float("row_size", row_size)
    w = None if window is None else check_int("window", window, 1)
    arrays = as_inputs({"high": high, "low": low, "volume": volume})
    if size is None:
        checked = _checked_range_profile(arrays, rows, fraction, w)
        if checked is not None:
            return checked
    prep = prepare(arrays)
    h, lo, v = prep.arrays
    if w is not None:
        h, lo, v = h[-w:], lo[-w:], v[-w:]
    nan = float("nan")
    if h.size == 0:
        empty = np.empty(0)
        count = rows if size is None else 1
        return VolumeProfile(
            np.full(count + 1, np.nan), np.zeros(count), nan, nan, nan, empty, empty
        )
    bottom_price = float(lo.min())
    top_price = float(h.max())
    if size is not None:
        first = math.floor(bottom_price / size)
        last = math.floor(top_price / size)
        count = last - first + 1
        hist = np.zeros(count + 2 * _PAD)
        counts = np.zeros(hist.size, np.int64)
        starts = np.zeros(hist.size, np.int64)
        _grid_histogram(h, lo, v, 0, h.size, size, first - _PAD, hist, counts, starts)
        edges = np.asarray((first + np.arange(count + 1)) * size, dtype=np.float64)
        return _profile(edges, hist[_PAD:-_PAD].copy(), fraction)
    profile = _range_profile(h, lo, v, bottom_price, top_price, rows, fraction)
    if profile is None:
        raise RuntimeError("validated input rejected by the range-row histogram")
    return profile


def _range_profile(
    h: FloatArray,
    lo: FloatArray,
    v: FloatArray,
    bottom_price: float,
    top_price: float,
    rows: int,
    fraction: float,
) -> VolumeProfile | None:
    """The profile on ``rows`` range rows from ``bottom_price`` to ``top_price`` (finite);
    None if a bar fails the input checks."""
    width = (top_price - bottom_price) / rows
    edges = np.asarray(bottom_price + np.arange(rows + 1) * width, dtype=np.float64)
    edges[-1] = top_price
    hist = np.zeros(rows)
    if not _range_histogram(h, lo, v, bottom_price, width, hist):
        return None
    return _profile(edges, hist, fraction)


def _checked_range_profile(
    arrays: dict[str, FloatArray], rows: int, fraction: float, window: int | None
) -> VolumeProfile | None:
    """The range-row profile of the last ``window`` bars with their checks made while the
    histogram reads them (bars before the window get :func:`all_valid`'s pass); None when
    a check fails or no bar is left, for :func:`prepare`'s path (error message, leading
    NaNs)."""
    h, lo, v = arrays["high"], arrays["low"], arrays["volume"]
    start = 0 if window is None else max(h.size - window, 0)
    if start == h.size:
        return None
    if start and not all_valid({"high": h[:start], "low": lo[:start], "volume": v[:start]}):
        return None
    h, lo, v = h[start:], lo[start:], v[start:]
    bottom_price = float(lo.min())  # NaN if a low is NaN, which the check below catches
    top_price = float(h.max())
    if not (math.isfinite(bottom_price) and math.isfinite(top_price)):
        return None
    return _range_profile(h, lo, v, bottom_price, top_price, rows, fraction)


def rolling_volume_profile(
    high: ArrayLike,
    low: ArrayLike,
    volume: ArrayLike,
    *,
    window: int = 240,
    bins: int = 24,
    value_area: float = 0.70,
    checked: bool = False,
) -> RollingVolumeProfile:
    """POC, value-area high and low of the profile of the last ``window`` bars, at every bar.

    The profile at bar ``t`` is ``volume_profile`` of its window on grid rows of height
    ``grid_row_size(lowest low, highest high, bins)`` of that window (see the module
    docstring); a window whose prices are all equal gives that price for all three. Warm-up
    ``window - 1``; NaN where the window traded no volume.

    ``checked=True`` says the inputs are float64 arrays of one length that already passed
    :func:`~mftbot.analysis.indicators._validate.prepare`'s checks with no leading NaN (e.g.
    one window's candles checked once for several indicators): the scan is skipped and the
    outputs are the same.
    """
    w = check_int("window", window, 1)
    rows = check_int("bins", bins, 1)
    fraction = _check_fraction(value_area)
    if checked and cast(FloatArray, high).size:
        h, lo, v = cast(FloatArray, high), cast(FloatArray, low), cast(FloatArray, volume)
        return _rolling_profile(h, lo, v, w, rows, fraction)
    prep = prepare({"high": high, "low": low, "volume": volume})
    if prep.empty:
        return RollingVolumeProfile(prep.nan(), prep.nan(), prep.nan())
    h, lo, v = prep.arrays
    outputs = _rolling_profile(h, lo, v, w, rows, fraction)
    return RollingVolumeProfile(*(prep.pad(out) for out in outputs))


def _rolling_profile(
    h: FloatArray, lo: FloatArray, v: FloatArray, w: int, rows: int, fraction: float
) -> RollingVolumeProfile:
    """:func:`rolling_volume_profile` of checked inputs (no leading NaN)."""
    outputs = RollingVolumeProfile(k.empty(h.size), k.empty(h.size), k.empty(h.size))
    _rolling(h, lo, v, k.window_min(lo, w), k.window_max(h, w), w, rows, fraction, *outputs)
    return outputs


range_histogram = _range_histogram
"""Compiled ``(high, low, volume, lo, width, hist) -> bool``: fill ``hist`` (its size is the
number of rows, from ``lo``, each ``width`` high) with the range-row histogram of the bars
(the one :func:`volume_profile` builds), False if a bar fails the input checks; callable
from other compiled code."""
