"""Support and resistance levels from swing points clustered with DBSCAN, and breakouts.

Method (every step causal; defaults in :class:`LevelConfig`):

1. **Swing points.** Bar ``i`` is a swing high when ``high[i]`` is above each of the ``left``
   bars before it and at least each of the ``right`` bars after it (a swing low mirrors this);
   the strict/non-strict split keeps one pivot per plateau. A pivot is only *known* at bar
   ``i + right`` (``SwingPoints.confirmed``): nothing below uses it before that bar.
2. **Clustering.** At bar ``t`` the swings confirmed by ``t`` whose pivot lies within the last
   ``lookback`` bars are clustered by DBSCAN on log price, so ``eps`` is relative:
   ``eps = max(eps_atr * ATR(t) / close(t), eps_min)`` (a fraction of price tied to the current
   volatility; 0.5 ATR by default). ``min_samples = min_touches``: a level needs that many
   swings; lone swings are noise. Highs and lows cluster together (a broken resistance becomes
   support). Clusters are recomputed only when the swing set changes (a swing confirmed or
   one leaving the lookback), with ATR and volume as of that bar.
3. **Levels.** A cluster's price is the geometric mean of its swing prices; ``touches`` the
   number of swings; ``volume`` the volume of the bars in the lookback whose range came within
   ``eps`` of the price; ``rel_volume`` their mean volume over the mean bar volume of the
   lookback (1 when the lookback traded nothing); ``strength = touches * rel_volume``.
   At each bar, support is the highest level at or below the close, resistance the lowest
   above it.
4. **Breakouts.** With the levels known at ``t - 1`` and ``thr = breakout_atr * ATR(t-1) /
   close(t-1)``, bar ``t`` breaks a level ``L`` upwards when ``close[t] > L * (1 + thr)``,
   ``close[t-1] <= L * (1 + thr)`` and some close of the ``approach_bars`` bars before ``t``
   was below ``L`` (the price came from the other side); downwards mirrors it. Of several
   broken levels the one nearest the close is reported. It is volume-confirmed when
   ``volume[t] >= volume_mult *`` the mean volume of the ``volume_period`` bars before ``t``;
   with ``require_volume`` unconfirmed breakouts are not reported.

Defaults: pivots 5 bars each side (known 5 bars late), lookback 300 bars, ATR(14), eps 0.5 ATR
(at least 0.05 %), 2 touches per level, breakout 1 ATR beyond the level with the price on the
other side within 5 bars, volume-confirmed at 1.5 × the mean of the 20 bars before.

The clustering runs an exact one-dimensional DBSCAN (:func:`dbscan_1d`, a sorted sweep that
gives the same labels as :class:`sklearn.cluster.DBSCAN`, tested) because scikit-learn's call
overhead (milliseconds) is too high to recluster thousands of times per series;
``clusterer="sklearn"`` uses scikit-learn itself.

Importing this module registers ``levels`` (kind ``indicator``) into
:data:`mftbot.analysis.registry.REGISTRY` with the default configuration.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from mftbot.analysis.indicators import atr as atr_indicator
from mftbot.analysis.indicators._jit import jit
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Clusterer = Literal["sweep", "sklearn"]


@dataclass(frozen=True, slots=True)
class LevelConfig:
    """Parameters of the level finder (see the module docstring for their roles)."""

    left_bars: int = 5
    """Bars before a pivot that must all be lower (highs) / higher (lows)."""
    right_bars: int = 5
    """Bars after a pivot that must not exceed it: the confirmation delay."""
    lookback: int = 300
    """Swings whose pivot is within this many bars of ``t`` form the levels at ``t``."""
    atr_period: int = 14
    """ATR period (Wilder) for ``eps`` and the breakout threshold."""
    eps_atr: float = 0.5
    """DBSCAN ``eps`` as a multiple of ATR / close (relative price distance)."""
    eps_min: float = 0.0005
    """Floor on the relative ``eps`` (0.05 %)."""
    min_touches: int = 2
    """DBSCAN ``min_samples``: swings needed to make a level."""
    breakout_atr: float = 1.0
    """A breakout closes beyond the level by this multiple of ATR (relative to the close)."""
    approach_bars: int = 5
    """The price must have closed on the other side of the level within these bars."""
    volume_period: int = 20
    """Bars of the mean volume a breakout's volume is compared with."""
    volume_mult: float = 1.5
    """A breakout is volume-confirmed when its bar's volume is at least this times the mean."""
    require_volume: bool = False
    """Report only volume-confirmed breakouts."""
    clusterer: Clusterer = "sweep"
    """``"sweep"`` (exact 1-D DBSCAN, fast) or ``"sklearn"`` (scikit-learn's DBSCAN)."""

    def __post_init__(self) -> None:
        for name in ("left_bars", "right_bars", "atr_period", "min_touches", "approach_bars"):
            if getattr(self, name) < 1:
                raise ValueError(f"LevelConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.volume_period < 1:
            raise ValueError(f"LevelConfig.volume_period must be >= 1, got {self.volume_period}")
        if self.lookback <= self.right_bars:
            raise ValueError(
                f"LevelConfig.lookback ({self.lookback}) must exceed right_bars ({self.right_bars})"
            )
        for name in ("eps_atr", "eps_min", "breakout_atr", "volume_mult"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"LevelConfig.{name} must be finite and >= 0, got {value}")
        if self.eps_atr == 0.0 and self.eps_min == 0.0:
            raise ValueError("LevelConfig: eps_atr and eps_min cannot both be 0")
        if self.clusterer not in ("sweep", "sklearn"):
            raise ValueError(
                f"LevelConfig.clusterer must be sweep or sklearn, not {self.clusterer}"
            )

    @property
    def warmup(self) -> int:
        """Bars before the first level can exist (ATR warm-up or two confirmed pivots)."""
        return max(self.atr_period, self.left_bars + self.right_bars + 1)


class SwingPoints(NamedTuple):
    """Swing highs and lows in pivot order."""

    bar: IntArray
    """Bar of the pivot."""
    confirmed: IntArray
    """Bar at which the pivot becomes known: ``bar + right_bars``."""
    price: FloatArray
    """The high (swing high) or low (swing low) at the pivot."""
    kind: npt.NDArray[np.int8]
    """+1 swing high, -1 swing low."""


@dataclass(frozen=True, slots=True)
class Level:
    """A support/resistance level: a DBSCAN cluster of swing prices."""

    price: float
    """Geometric mean of the member swing prices."""
    low: float
    """Lowest member swing price."""
    high: float
    """Highest member swing price."""
    touches: int
    """Member swings (highs + lows)."""
    highs: int
    """Member swing highs."""
    lows: int
    """Member swing lows."""
    volume: float
    """Volume of the lookback bars whose range came within ``eps`` of the price."""
    rel_volume: float
    """Mean volume of those bars over the mean bar volume of the lookback."""
    strength: float
    """``touches * rel_volume``."""
    first_index: int
    """Pivot bar of the oldest member."""
    last_index: int
    """Pivot bar of the newest member."""


class LevelArrays(NamedTuple):
    """Per-bar outputs of :func:`rolling_levels`, aligned to the input (NaN where none)."""

    support: FloatArray
    resistance: FloatArray
    support_strength: FloatArray
    resistance_strength: FloatArray
    support_touches: FloatArray
    resistance_touches: FloatArray
    breakout: npt.NDArray[np.int8]
    """+1 upward breakout at this bar, -1 downward, 0 none."""
    breakout_level: FloatArray
    """The level broken at this bar, NaN when none."""
    breakout_confirmed: npt.NDArray[np.bool_]
    """True where a reported breakout was volume-confirmed."""
    levels: npt.NDArray[np.int64]
    """Number of levels known at this bar."""


# -- inputs -----------------------------------------------------------------------------------


@jit
def _all_finite(arr: FloatArray) -> bool:
    bad = False
    for i in range(arr.size):
        v = arr[i]
        bad |= v - v != 0.0
    return not bad


def _series(name: str, values: npt.ArrayLike) -> FloatArray:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if _all_finite(arr):
        return arr
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name}: non-finite value {arr[bad[0]]} at index {int(bad[0])}")
    return arr


def _candles(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, volume: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    h, lo, c, v = (
        _series(n, a)
        for n, a in (("high", high), ("low", low), ("close", close), ("volume", volume))
    )
    if not h.shape == lo.shape == c.shape == v.shape:
        raise ValueError(
            f"lengths differ: high {h.size}, low {lo.size}, close {c.size}, volume {v.size}"
        )
    for name, mask in (
        ("high below low", h < lo),
        ("non-positive price", (lo <= 0.0) | (c <= 0.0)),
        ("negative volume", v < 0.0),
    ):
        if mask.any():
            raise ValueError(f"{name} at index {int(np.flatnonzero(mask)[0])}")
    return h, lo, c, v


# -- swings -----------------------------------------------------------------------------------


def swing_points(
    high: npt.ArrayLike, low: npt.ArrayLike, *, left: int = 5, right: int = 5
) -> SwingPoints:
    """Swing highs and lows (see the module docstring); each known ``right`` bars late."""
    if left < 1 or right < 1:
        raise ValueError(f"left and right must be >= 1, got {left}, {right}")
    h = _series("high", high)
    lo = _series("low", low)
    if h.shape != lo.shape:
        raise ValueError(f"lengths differ: high {h.size}, low {lo.size}")
    width = left + right + 1
    if h.size < width:
        empty = np.empty(0, dtype=np.int64)
        return SwingPoints(empty, empty.copy(), np.empty(0), np.empty(0, dtype=np.int8))
    index, price, kind = _swings(h, lo, left, right)
    return SwingPoints(index, index + right, price, kind)


@jit
def _swings(
    h: FloatArray, lo: FloatArray, left: int, right: int
) -> tuple[IntArray, FloatArray, npt.NDArray[np.int8]]:
    """Pivot bars, prices and kinds of :func:`swing_points` (finite input), by pivot bar,
    a high before a low on the same bar."""
    n = h.size
    bar = np.empty(2 * n, dtype=np.int64)
    price = np.empty(2 * n)
    kind = np.empty(2 * n, dtype=np.int8)
    k = 0
    for i in range(left, n - right):
        x = h[i]
        top = True
        for j in range(i - left, i):
            if not x > h[j]:
                top = False
                break
        if top:
            for j in range(i + 1, i + right + 1):
                if not x >= h[j]:
                    top = False
                    break
        if top:
            bar[k] = i
            price[k] = x
            kind[k] = 1
            k += 1
        y = lo[i]
        bottom = True
        for j in range(i - left, i):
            if not y < lo[j]:
                bottom = False
                break
        if bottom:
            for j in range(i + 1, i + right + 1):
                if not y <= lo[j]:
                    bottom = False
                    break
        if bottom:
            bar[k] = i
            price[k] = y
            kind[k] = -1
            k += 1
    return bar[:k].copy(), price[:k].copy(), kind[:k].copy()


# -- DBSCAN -----------------------------------------------------------------------------------


def dbscan_1d(x: npt.ArrayLike, eps: float, min_samples: int) -> IntArray:
    """Exact DBSCAN on 1-D points, with scikit-learn's labels (noise ``-1``).

    A point is core when at least ``min_samples`` points (itself included) lie within
    ``eps``; consecutive core points (in sorted order) no further than ``eps`` apart form one
    cluster; a non-core point within ``eps`` of a core joins the cluster scikit-learn would
    give it, the one whose first core point (input order) comes first. Clusters are numbered
    by their first core point in input order, as scikit-learn does. Two points are neighbours
    when ``|a - b| <= eps`` as computed in float64; where a distance equals ``eps`` up to
    rounding, scikit-learn's tree may decide the other way (tested equal otherwise).
    """
    pts = np.asarray(x, dtype=np.float64)
    n = pts.size
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    order = np.argsort(pts, kind="stable")
    xs = pts[order]
    lo, hi = _neighbour_bounds(xs, eps)
    counts = hi - lo
    core = counts >= min_samples
    core_pos = np.flatnonzero(core)
    if core_pos.size == 0:
        return labels
    # Components of core points in sorted order.
    new_comp = np.concatenate(([True], np.diff(xs[core_pos]) > eps))
    comp_of_core = np.cumsum(new_comp) - 1
    n_comp = int(comp_of_core[-1]) + 1
    first_core = np.full(n_comp, n, dtype=np.int64)
    np.minimum.at(first_core, comp_of_core, order[core_pos])
    rank = np.empty(n_comp, dtype=np.int64)
    rank[np.argsort(first_core, kind="stable")] = np.arange(n_comp)
    sorted_labels = np.full(n, -1, dtype=np.int64)
    sorted_labels[core_pos] = rank[comp_of_core]
    # Border points: nearest core on each side, the cluster with the earlier first core wins.
    border = np.flatnonzero(~core)
    if border.size:
        right_k = np.searchsorted(core_pos, border, side="right")
        for b, k in zip(border.tolist(), right_k.tolist(), strict=True):
            best = -1
            for j in (k - 1, k):
                if 0 <= j < core_pos.size and abs(xs[core_pos[j]] - xs[b]) <= eps:
                    lab = int(sorted_labels[core_pos[j]])
                    if best < 0 or lab < best:
                        best = lab
            sorted_labels[b] = best
    labels[order] = sorted_labels
    return labels


def _neighbour_bounds(xs: FloatArray, eps: float) -> tuple[IntArray, IntArray]:
    """For sorted ``xs``: ``[lo, hi)`` of the points with ``|xs[j] - xs[i]| <= eps``, exactly
    as the difference is computed (``xs[i] + eps`` may round the other way)."""
    pad = eps * (1.0 + 1e-9) + 1e-300
    lo = np.searchsorted(xs, xs - pad, side="left")
    hi = np.searchsorted(xs, xs + pad, side="right")
    while True:
        shrink = xs[hi - 1] - xs > eps
        if not shrink.any():
            break
        hi = hi - shrink
    while True:
        shrink = xs - xs[lo] > eps
        if not shrink.any():
            break
        lo = lo + shrink
    return lo, hi


def _dbscan_sklearn(x: FloatArray, eps: float, min_samples: int) -> IntArray:
    from sklearn.cluster import DBSCAN  # type: ignore[import-untyped]

    fitted = DBSCAN(eps=eps, min_samples=min_samples).fit(x.reshape(-1, 1))
    return np.asarray(fitted.labels_, dtype=np.int64)


# -- the scan ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Inputs:
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    atr: FloatArray
    swings: SwingPoints


def _prepare(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    config: LevelConfig,
) -> _Inputs:
    h, lo, c, v = _candles(high, low, close, volume)
    atr = atr_indicator(h, lo, c, config.atr_period)
    swings = swing_points(h, lo, left=config.left_bars, right=config.right_bars)
    return _Inputs(h, lo, c, v, atr, swings)


def _cluster(inp: _Inputs, members: list[int], t: int, config: LevelConfig) -> list[Level]:
    """Levels from the swings ``members`` with ATR and volume as of bar ``t``."""
    sw = inp.swings
    idx = np.asarray(members, dtype=np.int64)
    logp = np.log(sw.price[idx])
    eps = max(config.eps_atr * inp.atr[t] / inp.close[t], config.eps_min)
    if config.clusterer == "sklearn":
        labels = _dbscan_sklearn(logp, eps, config.min_touches)
    else:
        labels = dbscan_1d(logp, eps, config.min_touches)
    if labels.size == 0 or labels.max() < 0:
        return []
    start = max(0, t - config.lookback + 1)
    win_h = inp.high[start : t + 1]
    win_l = inp.low[start : t + 1]
    win_v = inp.volume[start : t + 1]
    mean_vol = float(win_v.mean())
    factor = math.exp(eps)
    levels = []
    for lab in range(int(labels.max()) + 1):
        sel = labels == lab
        price = float(np.exp(logp[sel].mean()))
        near = (win_l <= price * factor) & (win_h >= price / factor)
        count = int(near.sum())
        vol = float(win_v[near].sum())
        rel = (vol / count) / mean_vol if mean_vol > 0.0 and count else 1.0
        kinds = sw.kind[idx[sel]]
        pivots = sw.bar[idx[sel]]
        touches = int(sel.sum())
        levels.append(
            Level(
                price=price,
                low=float(sw.price[idx[sel]].min()),
                high=float(sw.price[idx[sel]].max()),
                touches=touches,
                highs=int((kinds > 0).sum()),
                lows=int((kinds < 0).sum()),
                volume=vol,
                rel_volume=rel,
                strength=touches * rel,
                first_index=int(pivots.min()),
                last_index=int(pivots.max()),
            )
        )
    levels.sort(key=lambda lv: lv.price)
    return levels


def _scan(inp: _Inputs, config: LevelConfig, stop: int) -> Iterator[tuple[int, list[Level]]]:
    """Yield ``(t, levels known at the close of bar t)`` for ``t < stop``."""
    sw = inp.swings
    conf = sw.confirmed
    pivot = sw.bar
    m = conf.size
    ptr = 0
    active: deque[int] = deque()
    levels: list[Level] = []
    pending = False
    for t in range(stop):
        changed = False
        while ptr < m and conf[ptr] <= t:
            active.append(ptr)
            ptr += 1
            changed = True
        while active and pivot[active[0]] <= t - config.lookback:
            active.popleft()
            changed = True
        if changed or pending:
            if not math.isfinite(inp.atr[t]):
                levels = []
                pending = True
            else:
                levels = _cluster(inp, list(active), t, config) if active else []
                pending = False
        yield t, levels


def _prior_mean(values: FloatArray, period: int) -> FloatArray:
    """Mean of the ``period`` values before each index (NaN until there are that many)."""
    out = np.full(values.size, np.nan)
    if values.size > period:
        csum = np.concatenate(([0.0], np.cumsum(values)))
        out[period:] = (csum[period:-1] - csum[: -period - 1]) / period
    return out


def _prior_extreme(values: FloatArray, bars: int) -> tuple[FloatArray, FloatArray]:
    """Min and max of up to ``bars`` values before each index (NaN at index 0)."""
    n = values.size
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    if n < 2:
        return lo, hi
    padded = np.concatenate((np.full(bars - 1, np.nan), values[:-1]))
    win = sliding_window_view(padded, bars)
    lo[1:] = np.nanmin(win, axis=1)
    hi[1:] = np.nanmax(win, axis=1)
    return lo, hi


def rolling_levels(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    config: LevelConfig | None = None,
) -> LevelArrays:
    """Nearest support/resistance and breakouts at every bar, using bars up to it only."""
    cfg = config or LevelConfig()
    inp = _prepare(high, low, close, volume, cfg)
    c = inp.close
    n = c.size
    out = {name: np.full(n, np.nan) for name in LevelArrays._fields[:6]}
    breakout = np.zeros(n, dtype=np.int8)
    broken = np.full(n, np.nan)
    confirmed = np.zeros(n, dtype=bool)
    counts = np.zeros(n, dtype=np.int64)
    vol_mean = _prior_mean(inp.volume, cfg.volume_period)
    prev_min, prev_max = _prior_extreme(c, cfg.approach_bars)
    prices: list[float] = []
    for t, levels in _scan(inp, cfg, n):
        # Breakouts are judged against the levels known at t - 1 (``prices`` still holds them).
        if t > 0 and prices and math.isfinite(inp.atr[t - 1]):
            thr = cfg.breakout_atr * inp.atr[t - 1] / c[t - 1]
            side, level = _breakout(prices, c[t - 1], c[t], prev_min[t], prev_max[t], thr)
            if side:
                ok = bool(inp.volume[t] >= cfg.volume_mult * vol_mean[t])  # NaN mean: False
                if ok or not cfg.require_volume:
                    breakout[t] = side
                    broken[t] = level
                    confirmed[t] = ok
        prices = [lv.price for lv in levels]
        counts[t] = len(levels)
        k = bisect_right(prices, c[t])
        if k > 0:
            sup = levels[k - 1]
            out["support"][t] = sup.price
            out["support_strength"][t] = sup.strength
            out["support_touches"][t] = sup.touches
        if k < len(levels):
            res = levels[k]
            out["resistance"][t] = res.price
            out["resistance_strength"][t] = res.strength
            out["resistance_touches"][t] = res.touches
    return LevelArrays(
        **out, breakout=breakout, breakout_level=broken, breakout_confirmed=confirmed, levels=counts
    )


def _breakout(
    prices: list[float], prev: float, now: float, low_before: float, high_before: float, thr: float
) -> tuple[int, float]:
    """(+1/-1/0, level) for the bar closing at ``now`` after ``prev`` (see module docstring)."""
    if now > prev:
        # Levels L with prev <= L * (1 + thr) < now; the highest one is nearest the close.
        lo = bisect_left(prices, prev / (1.0 + thr))
        hi = bisect_left(prices, now / (1.0 + thr))
        for j in range(hi - 1, lo - 1, -1):
            level = prices[j]
            if level * (1.0 + thr) < now and prev <= level * (1.0 + thr):
                return (1, level) if low_before < level else (0, math.nan)
        return 0, math.nan
    if now < prev and thr < 1.0:
        lo = bisect_right(prices, now / (1.0 - thr))
        hi = bisect_right(prices, prev / (1.0 - thr))
        for j in range(lo, hi):
            level = prices[j]
            if level * (1.0 - thr) > now and prev >= level * (1.0 - thr):
                return (-1, level) if high_before > level else (0, math.nan)
    return 0, math.nan


def levels_at(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    t: int,
    config: LevelConfig | None = None,
) -> list[Level]:
    """The levels known at the close of bar ``t`` (price order), from bars ``0..t`` only.

    The same state :func:`rolling_levels` uses at ``t``. Negative ``t`` counts from the end.
    """
    cfg = config or LevelConfig()
    n = np.asarray(close).shape[0]
    pos = t + n if t < 0 else t
    if not 0 <= pos < n:
        raise IndexError(f"bar {t} outside 0..{n - 1}")
    inp = _prepare(
        np.asarray(high)[: pos + 1],
        np.asarray(low)[: pos + 1],
        np.asarray(close)[: pos + 1],
        np.asarray(volume)[: pos + 1],
        cfg,
    )
    last: deque[tuple[int, list[Level]]] = deque(_scan(inp, cfg, pos + 1), maxlen=1)
    return last[0][1]


def find_levels(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    config: LevelConfig | None = None,
) -> list[Level]:
    """The levels known at the last bar."""
    return levels_at(high, low, close, volume, -1, config)


# -- registration -----------------------------------------------------------------------------

_OUTPUTS = (
    "support",
    "resistance",
    "support_strength",
    "resistance_strength",
    "support_touches",
    "resistance_touches",
    "breakout",
    "breakout_level",
    "breakout_confirmed",
)


def _compute(candles: CandleArrays) -> dict[str, npt.NDArray[np.generic]]:
    result = rolling_levels(candles.high, candles.low, candles.close, candles.volume)
    return {name: getattr(result, name) for name in _OUTPUTS}


if "levels" not in REGISTRY:
    REGISTRY.register(
        "levels",
        _compute,
        outputs=_OUTPUTS,
        kind=Kind.INDICATOR,
        warmup=LevelConfig().warmup,
        description="nearest DBSCAN support/resistance levels and breakouts",
        params=asdict(LevelConfig()),
    )
