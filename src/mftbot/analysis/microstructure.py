"""Microstructure: price impact by walking the book, a liquidity score, the spread regime.

Books are ``(..., N, 2)`` level arrays as in :mod:`mftbot.analysis.book_metrics`.

**Price impact** of a market order of ``notional`` (quote currency): the order takes the
levels of the opposite side best first (a buy walks the asks, a sell the bids) until the
notional is spent; the impact is the average fill price against the mid, in bps, positive
for a cost: ``(avg - mid) / mid * 1e4`` for a buy, ``(mid - avg) / mid * 1e4`` for a sell.
An order larger than the levels given is *not* priced: :class:`ImpactResult` says
``complete=False`` and its ``impact_bps`` is NaN (what the visible book could fill is in
the ``filled_*`` and ``partial_impact_bps`` fields); the vectorised form returns NaN there
and a ``complete`` mask.

**Liquidity score** in [0, 1]: ``0.3 * s + 0.4 * d + 0.3 * i`` (:class:`LiquidityParams`)
with ``s = 1 / (1 + spread_bps / 2)``, ``d = depth / (depth + 1e6)`` (quote notional of the
levels counted) and ``i = 1 / (1 + impact_bps / 5)``, impact of a reference order (the
costlier side), ``i = 0`` when the book cannot fill it. Each part is in [0, 1], falls as the
spread or impact grows and rises with depth, so the score does too.

**Spread regime**: the spread against the distribution of the previous ``window`` spreads:
tight when below their ``low_q`` quantile, wide when above their ``high_q`` quantile,
normal otherwise (a constant spread is normal).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.analysis.book_metrics import BPS, as_levels, side_notional
from mftbot.domain.enums import Side

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


# -- price impact ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImpactResult:
    """A market order walked through one side of a book."""

    side: Side
    notional: float
    mid: float
    complete: bool
    filled_notional: float
    filled_quantity: float
    avg_price: float
    partial_impact_bps: float
    levels_used: int

    @property
    def impact_bps(self) -> float:
        """Impact of the whole order in bps; NaN when the book could not fill it."""
        return self.partial_impact_bps if self.complete else math.nan

    @property
    def unfilled_notional(self) -> float:
        """Notional the visible book could not fill (0 when complete)."""
        return 0.0 if self.complete else self.notional - self.filled_notional


def _check_notional(notional: float) -> float:
    value = float(notional)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"notional must be finite and > 0, got {notional!r}")
    return value


def walk_book(
    bids: npt.ArrayLike, asks: npt.ArrayLike, side: Side | str, notional: float
) -> ImpactResult:
    """Walk one book (``(N, 2)`` levels per side) with a market order of ``notional``."""
    order = Side(side)
    q_total = _check_notional(notional)
    b = as_levels("bids", bids)
    a = as_levels("asks", asks)
    if b.ndim != 2 or a.ndim != 2:
        raise ValueError("walk_book takes one book: (N, 2) levels per side")
    mid = (float(b[0, 0]) + float(a[0, 0])) / 2.0
    if not math.isfinite(mid):
        raise ValueError("walk_book: the book has an empty side")
    levels = a if order is Side.BUY else b
    sign = 1.0 if order is Side.BUY else -1.0
    spent = qty = dev = 0.0
    used = 0
    complete = False
    for price, size in levels:
        if not (math.isfinite(price) and math.isfinite(size)):
            break
        d = sign * (price - mid)
        level_notional = price * size
        used += 1
        if spent + level_notional >= q_total:
            take = (q_total - spent) / price
            spent = q_total
            qty += take
            dev += take * d
            complete = True
            break
        spent += level_notional
        qty += size
        dev += size * d
    avg = mid + sign * dev / qty if qty > 0 else math.nan
    partial = dev / qty / mid * BPS if qty > 0 else math.nan
    return ImpactResult(order, q_total, mid, complete, spent, qty, avg, partial, used)


def price_impact_bps(
    levels: npt.ArrayLike, mid: npt.ArrayLike, notional: float, side: Side | str
) -> tuple[FloatArray, BoolArray]:
    """Vectorised :func:`walk_book` over ``(..., N, 2)`` levels of the side the order takes
    (asks for a buy, bids for a sell): (impact in bps, NaN where incomplete; complete mask)."""
    order = Side(side)
    q_total = _check_notional(notional)
    arr = as_levels("levels", levels)
    m = np.asarray(mid, dtype=np.float64)[..., None]
    p, q = arr[..., 0], arr[..., 1]
    present = np.isfinite(p) & np.isfinite(q)
    sign = 1.0 if order is Side.BUY else -1.0
    d = sign * (p - m)
    pq = np.where(present, p * q, 0.0)
    cn = np.cumsum(pq, axis=-1)
    cq = np.cumsum(np.where(present, q, 0.0), axis=-1)
    cd = np.cumsum(np.where(present, q * d, 0.0), axis=-1)
    reach = present & (cn >= q_total)
    complete = reach.any(axis=-1) & np.isfinite(m[..., 0])
    k = np.argmax(reach, axis=-1)[..., None]

    def before(c: FloatArray) -> FloatArray:
        prev = np.concatenate((np.zeros((*c.shape[:-1], 1)), c[..., :-1]), axis=-1)
        return np.take_along_axis(prev, k, axis=-1)[..., 0]

    with np.errstate(invalid="ignore", divide="ignore"):
        take = (q_total - before(cn)) / np.take_along_axis(p, k, axis=-1)[..., 0]
        qty = before(cq) + take
        dev = before(cd) + take * np.take_along_axis(d, k, axis=-1)[..., 0]
        impact = dev / qty / m[..., 0] * BPS
    return np.where(complete, impact, np.nan), np.asarray(complete, dtype=np.bool_)


# -- liquidity score -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiquidityParams:
    """Weights and reference scales of :func:`liquidity_score` (each part is 1/2 at its
    reference: spread ``spread_ref_bps``, depth ``depth_ref`` notional, impact
    ``impact_ref_bps``)."""

    spread_weight: float = 0.3
    depth_weight: float = 0.4
    impact_weight: float = 0.3
    spread_ref_bps: float = 2.0
    depth_ref: float = 1_000_000.0
    impact_ref_bps: float = 5.0

    def __post_init__(self) -> None:
        weights = (self.spread_weight, self.depth_weight, self.impact_weight)
        if min(weights) < 0 or not math.isclose(sum(weights), 1.0, abs_tol=1e-12):
            raise ValueError(f"liquidity weights must be >= 0 and sum to 1, got {weights}")
        for name in ("spread_ref_bps", "depth_ref", "impact_ref_bps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"LiquidityParams.{name} must be > 0")


def liquidity_score(
    spread_bps: npt.ArrayLike,
    depth_notional: npt.ArrayLike,
    impact_bps: npt.ArrayLike,
    params: LiquidityParams | None = None,
) -> FloatArray:
    """Score in [0, 1] (see the module docstring). ``impact_bps`` = inf (or NaN) for an
    order the book could not fill scores 0 on impact; a NaN spread or depth gives NaN."""
    prm = params or LiquidityParams()
    s = np.asarray(spread_bps, dtype=np.float64)
    d = np.asarray(depth_notional, dtype=np.float64)
    i = np.asarray(impact_bps, dtype=np.float64)
    if np.any(s < 0) or np.any(d < 0) or np.any(i < 0):
        raise ValueError("liquidity_score: spread, depth and impact must be >= 0")
    with np.errstate(invalid="ignore"):
        part_s = 1.0 / (1.0 + s / prm.spread_ref_bps)
        part_d = np.where(np.isinf(d), 1.0, d / (d + prm.depth_ref))
        part_i = np.where(np.isfinite(i), 1.0 / (1.0 + i / prm.impact_ref_bps), 0.0)
    score = prm.spread_weight * part_s + prm.depth_weight * part_d + prm.impact_weight * part_i
    return np.asarray(np.clip(score, 0.0, 1.0))


def book_liquidity_score(
    bids: npt.ArrayLike,
    asks: npt.ArrayLike,
    notional: float,
    *,
    levels: int = 10,
    params: LiquidityParams | None = None,
) -> FloatArray:
    """:func:`liquidity_score` of books: spread, quote depth of the best ``levels`` of both
    sides, and the impact of a market order of ``notional`` on the costlier side."""
    b = as_levels("bids", bids)
    a = as_levels("asks", asks)
    mid = (b[..., 0, 0] + a[..., 0, 0]) / 2.0
    spread = (a[..., 0, 0] - b[..., 0, 0]) / mid * BPS
    depth = side_notional(b, levels) + side_notional(a, levels)
    buy, _ = price_impact_bps(a, mid, notional, Side.BUY)
    sell, _ = price_impact_bps(b, mid, notional, Side.SELL)
    impact = np.where(np.isnan(buy) | np.isnan(sell), np.inf, np.maximum(buy, sell))
    score = liquidity_score(np.maximum(spread, 0.0), depth, np.maximum(impact, 0.0), params)
    return np.asarray(np.where(np.isfinite(mid), score, np.nan))


# -- spread regime ---------------------------------------------------------------------------


class SpreadRegime(StrEnum):
    """Spread against its recent distribution."""

    TIGHT = "tight"
    NORMAL = "normal"
    WIDE = "wide"


_REGIME_CODE = {SpreadRegime.TIGHT: -1.0, SpreadRegime.NORMAL: 0.0, SpreadRegime.WIDE: 1.0}


def _check_regime(window: int, low_q: float, high_q: float) -> None:
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    if not 0 <= low_q <= high_q <= 1:
        raise ValueError(f"need 0 <= low_q <= high_q <= 1, got {low_q}, {high_q}")


def spread_regime(
    spread_bps: npt.ArrayLike, window: int = 300, low_q: float = 0.25, high_q: float = 0.75
) -> FloatArray:
    """Regime code at each point: -1 tight, 0 normal, +1 wide; NaN for the first ``window``
    points and where the spread or a spread of the window is NaN."""
    _check_regime(window, low_q, high_q)
    s = np.asarray(spread_bps, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"spread_bps: expected a 1-D array, got shape {s.shape}")
    out = np.full(s.size, np.nan)
    chunk = 4096
    for start in range(window, s.size, chunk):
        stop = min(start + chunk, s.size)
        past = np.lib.stride_tricks.sliding_window_view(s[start - window : stop - 1], window)
        lo, hi = np.quantile(past, [low_q, high_q], axis=1)
        cur = s[start:stop]
        code = np.where(cur < lo, -1.0, np.where(cur > hi, 1.0, 0.0))
        ok = np.isfinite(cur) & np.isfinite(lo) & np.isfinite(hi)
        out[start:stop] = np.where(ok, code, np.nan)
    return out


class SpreadRegimeClassifier:
    """Incremental :func:`spread_regime`: :meth:`update` returns the regime, or ``None`` in
    the warm-up or when undefined."""

    __slots__ = ("_past", "high_q", "low_q", "window")

    def __init__(self, window: int = 300, low_q: float = 0.25, high_q: float = 0.75) -> None:
        _check_regime(window, low_q, high_q)
        self.window = window
        self.low_q = low_q
        self.high_q = high_q
        self._past: deque[float] = deque(maxlen=window)

    def update(self, spread_bps: float) -> SpreadRegime | None:
        """Classify ``spread_bps`` against the previous ``window`` spreads, then keep it."""
        regime = None
        if len(self._past) == self.window and math.isfinite(spread_bps):
            lo, hi = np.quantile(np.fromiter(self._past, np.float64), [self.low_q, self.high_q])
            if math.isfinite(lo) and math.isfinite(hi):
                if spread_bps < lo:
                    regime = SpreadRegime.TIGHT
                elif spread_bps > hi:
                    regime = SpreadRegime.WIDE
                else:
                    regime = SpreadRegime.NORMAL
        self._past.append(spread_bps)
        return regime

    @staticmethod
    def code(regime: SpreadRegime | None) -> float:
        """The numeric code of a regime (NaN for ``None``), as :func:`spread_regime` gives."""
        return math.nan if regime is None else _REGIME_CODE[regime]
