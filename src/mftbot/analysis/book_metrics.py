"""Order-book metrics over L2 level arrays, with incremental state where history is needed.

Books are ``(..., N, 2)`` float64 arrays of (price, size), best level first, padded with NaN
rows where a side has fewer than ``N`` levels (:func:`padded_levels` builds one from an
:class:`~mftbot.domain.orderbook.OrderBook`). Snapshot metrics are vectorised over the leading
axes, so one call covers a whole history of sampled books.

NaN policy: a metric is NaN where it is undefined — an empty side, an empty window, the
warm-up of a rolling metric, a NaN input inside a window — never silently zero.

Sums are accumulated in level order and windows oldest first (:func:`window_sum`), so a
scalar loop over the same values, as the incremental states do, gives identical results.

Definitions (bps = 1e-4 of the mid):

* spread ``a0 - b0``; spread_bps ``(a0 - b0) / mid * 1e4``; mid ``(a0 + b0) / 2``;
  microprice ``(b0 * qa0 + a0 * qb0) / (qb0 + qa0)``.
* order-flow imbalance (Cont, Kukanov & Stoikov 2014) between successive books:
  ``e = 1{b >= b'} qb - 1{b <= b'} qb' - 1{a <= a'} qa + 1{a >= a'} qa'`` (primes: previous).
* Kyle's lambda: OLS slope of price changes on signed volume over a rolling window.
* Amihud illiquidity: mean of ``|return| / notional`` over the intervals of a window that
  traded (intervals without trades are left out).
* Roll spread: ``2 * sqrt(-cov(dp_t, dp_{t-1}))`` (sample covariance of successive trade
  price changes). When the covariance is >= 0 the estimator is undefined: NaN by default,
  or 0 with ``nonnegative="zero"`` (the "modified Roll" convention).
* effective spread: ``2 * |trade price - mid| / mid`` (bps).
* level lifetime (TTL): how long a price stays among the best ``N`` levels of its side,
  measured on the sequence of books given (entry at the first book it is in, exit at the
  first book it is not). Levels already present at the first book (or the first after an
  empty one) have an unknown entry time and are left out.
* rates: events per second over a trailing window ``(t - window, t]``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from mftbot.domain.orderbook import OrderBook

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Nonnegative: TypeAlias = Literal["nan", "zero"]

BPS = 10_000.0
"""Basis points per unit."""
NS_PER_S = 1_000_000_000

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(func: _F) -> _F:
    return cast(_F, numba.njit(cache=True)(func))


# -- level arrays --------------------------------------------------------------------------


def padded_levels(book: OrderBook, depth: int) -> tuple[FloatArray, FloatArray]:
    """The best ``depth`` bids and asks of ``book`` as ``(depth, 2)`` arrays, NaN-padded."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    bids = np.full((depth, 2), np.nan)
    asks = np.full((depth, 2), np.nan)
    top = book.bid_array(depth)
    bids[: top.shape[0]] = top
    top = book.ask_array(depth)
    asks[: top.shape[0]] = top
    return bids, asks


def as_levels(name: str, levels: npt.ArrayLike) -> FloatArray:
    """``levels`` as a float64 ``(..., N, 2)`` array, or ``ValueError``."""
    arr = np.asarray(levels, dtype=np.float64)
    if arr.ndim < 2 or arr.shape[-1] != 2 or arr.shape[-2] < 1:
        raise ValueError(f"{name}: expected (..., N, 2) levels, got shape {arr.shape}")
    return arr


def _top(levels: FloatArray) -> tuple[FloatArray, FloatArray]:
    return levels[..., 0, 0], levels[..., 0, 1]


def _sizes(levels: FloatArray, n: int | None) -> tuple[FloatArray, FloatArray, BoolArray]:
    """(prices, sizes with absent levels as 0, present mask) over the first ``n`` levels."""
    if n is not None and n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    part = levels[..., :n, :] if n is not None else levels
    price = part[..., 0]
    present = np.isfinite(price) & np.isfinite(part[..., 1])
    return price, np.where(present, part[..., 1], 0.0), present


def mid_price(bids: npt.ArrayLike, asks: npt.ArrayLike) -> FloatArray:
    """``(best bid + best ask) / 2``."""
    b, _ = _top(as_levels("bids", bids))
    a, _ = _top(as_levels("asks", asks))
    return np.asarray((b + a) / 2.0)


def spread(bids: npt.ArrayLike, asks: npt.ArrayLike) -> FloatArray:
    """``best ask - best bid`` (price units)."""
    b, _ = _top(as_levels("bids", bids))
    a, _ = _top(as_levels("asks", asks))
    return np.asarray(a - b)


def spread_bps(bids: npt.ArrayLike, asks: npt.ArrayLike) -> FloatArray:
    """Spread relative to the mid, in bps."""
    b, _ = _top(as_levels("bids", bids))
    a, _ = _top(as_levels("asks", asks))
    return np.asarray((a - b) / ((b + a) / 2.0) * BPS)


def microprice(bids: npt.ArrayLike, asks: npt.ArrayLike) -> FloatArray:
    """Size-weighted mid ``(b0 * qa0 + a0 * qb0) / (qb0 + qa0)``."""
    b, qb = _top(as_levels("bids", bids))
    a, qa = _top(as_levels("asks", asks))
    return np.asarray((b * qa + a * qb) / (qb + qa))


def side_depth(levels: npt.ArrayLike, n: int | None = None) -> FloatArray:
    """Summed size of the first ``n`` levels (all when ``None``); NaN for an empty side."""
    _, q, present = _sizes(as_levels("levels", levels), n)
    total = np.cumsum(q, axis=-1)[..., -1]
    return np.where(present[..., 0], total, np.nan)


def side_notional(levels: npt.ArrayLike, n: int | None = None) -> FloatArray:
    """Summed ``price * size`` of the first ``n`` levels; NaN for an empty side."""
    p, q, present = _sizes(as_levels("levels", levels), n)
    total = np.cumsum(np.where(present, p * q, 0.0), axis=-1)[..., -1]
    return np.where(present[..., 0], total, np.nan)


def side_vwap(levels: npt.ArrayLike, n: int | None = None) -> FloatArray:
    """Volume-weighted price of the first ``n`` levels (those present); NaN for an empty side."""
    arr = as_levels("levels", levels)
    return side_notional(arr, n) / side_depth(arr, n)


def depth_imbalance(bids: npt.ArrayLike, asks: npt.ArrayLike, n: int | None = None) -> FloatArray:
    """``(bid depth - ask depth) / (bid depth + ask depth)`` over the first ``n`` levels."""
    bd = side_depth(bids, n)
    ad = side_depth(asks, n)
    return np.asarray((bd - ad) / (bd + ad))


# -- order-flow imbalance -------------------------------------------------------------------


def ofi_increment(
    prev_bid: float,
    prev_bid_size: float,
    prev_ask: float,
    prev_ask_size: float,
    bid: float,
    bid_size: float,
    ask: float,
    ask_size: float,
) -> float:
    """Cont–Kukanov–Stoikov ``e_n`` between two successive best bids/asks (size units)."""
    e = 0.0
    if bid >= prev_bid:
        e += bid_size
    if bid <= prev_bid:
        e -= prev_bid_size
    if ask <= prev_ask:
        e -= ask_size
    if ask >= prev_ask:
        e += prev_ask_size
    return e


def order_flow_imbalance(
    bid: npt.ArrayLike, bid_size: npt.ArrayLike, ask: npt.ArrayLike, ask_size: npt.ArrayLike
) -> FloatArray:
    """``e_n`` between each best bid/ask and the previous one; NaN at 0 and next to a NaN."""
    pb, qb, pa, qa = (np.asarray(x, dtype=np.float64) for x in (bid, bid_size, ask, ask_size))
    if not pb.shape == qb.shape == pa.shape == qa.shape or pb.ndim != 1:
        raise ValueError("order_flow_imbalance: inputs must be 1-D arrays of one length")
    out = np.full(pb.shape, np.nan)
    if pb.size < 2:
        return out
    e = (
        np.where(pb[1:] >= pb[:-1], qb[1:], 0.0)
        - np.where(pb[1:] <= pb[:-1], qb[:-1], 0.0)
        - np.where(pa[1:] <= pa[:-1], qa[1:], 0.0)
        + np.where(pa[1:] >= pa[:-1], qa[:-1], 0.0)
    )
    finite = np.isfinite(pb) & np.isfinite(qb) & np.isfinite(pa) & np.isfinite(qa)
    out[1:] = np.where(finite[1:] & finite[:-1], e, np.nan)
    return out


class OrderFlowImbalance:
    """Incremental OFI: :meth:`update` with each new best bid/ask returns ``e_n`` (NaN first,
    and after a NaN quote or :meth:`reset`, e.g. when the book resynchronises)."""

    __slots__ = ("_prev",)

    def __init__(self) -> None:
        self._prev: tuple[float, float, float, float] | None = None

    def reset(self) -> None:
        """Forget the previous quote."""
        self._prev = None

    def update(self, bid: float, bid_size: float, ask: float, ask_size: float) -> float:
        """``e_n`` against the previous quote."""
        quote = (bid, bid_size, ask, ask_size)
        if not all(math.isfinite(x) for x in quote):
            self._prev = None
            return math.nan
        prev, self._prev = self._prev, quote
        if prev is None:
            return math.nan
        return ofi_increment(*prev, *quote)


# -- rolling windows ------------------------------------------------------------------------


def _series(name: str, x: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr


def _check_window(window: int, minimum: int = 1) -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < minimum:
        raise ValueError(f"window must be an integer >= {minimum}, got {window!r}")
    return int(window)


@_jit
def rolling_sum(x: FloatArray, window: int) -> FloatArray:
    """:func:`window_sum` without the checks (``window >= 1``), callable from compiled code:
    each row's sum is added oldest first, as in :func:`window_sum`."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n < window:
        return out
    m = n - window + 1
    acc = out[window - 1 :]  # every row's sum advances together (one vectorised loop a lag)
    acc[:] = x[:m]
    for j in range(1, window):
        lag = x[j : j + m]
        for i in range(m):
            acc[i] += lag[i]
    return out


def window_sum(x: npt.ArrayLike, window: int) -> FloatArray:
    """Sum of the last ``window`` values at each index, added oldest first (NaN before
    ``window - 1``; NaN when the window holds a NaN); one compiled pass."""
    arr = _series("x", x)
    return rolling_sum(arr, _check_window(window))


def _window_dev_sum(
    x: FloatArray, mean: FloatArray, y: FloatArray, ymean: FloatArray, w: int
) -> FloatArray:
    """Sum over each window of ``(x - mean)(y - ymean)``, oldest first (aligned at the end)."""
    n = x.size
    out = np.full(n, np.nan)
    if n >= w:
        m = n - w + 1
        mx = mean[w - 1 :]
        my = ymean[w - 1 :]
        acc = (x[:m] - mx) * (y[:m] - my)
        for j in range(1, w):
            acc += (x[j : j + m] - mx) * (y[j : j + m] - my)
        out[w - 1 :] = acc
    return out


def window_std(x: npt.ArrayLike, window: int, ddof: int = 1) -> FloatArray:
    """Two-pass standard deviation over the last ``window`` values (NaN in the warm-up)."""
    arr = _series("x", x)
    w = _check_window(window, ddof + 1)
    mean = window_sum(arr, w) / w
    return np.asarray(np.sqrt(_window_dev_sum(arr, mean, arr, mean, w) / (w - ddof)))


def _kyle_from(sxy: float, sxx: float, sx2: float) -> float:
    return sxy / sxx if sxx > 1e-12 * sx2 else math.nan


def kyle_lambda(
    price_change: npt.ArrayLike, signed_volume: npt.ArrayLike, window: int
) -> FloatArray:
    """Rolling OLS slope of ``price_change`` on ``signed_volume`` (Kyle's lambda).

    Over the last ``window`` points: ``sum((x - mx)(y - my)) / sum((x - mx)^2)``. NaN in the
    warm-up, when a window holds a NaN, or when signed volume does not vary in the window
    (``sum((x - mx)^2) <= 1e-12 * sum(x^2)``, e.g. no trades).
    """
    y = _series("price_change", price_change)
    x = _series("signed_volume", signed_volume)
    if x.shape != y.shape:
        raise ValueError("kyle_lambda: price_change and signed_volume differ in length")
    w = _check_window(window, 2)
    mx = window_sum(x, w) / w
    my = window_sum(y, w) / w
    sxy = _window_dev_sum(x, mx, y, my, w)
    sxx = _window_dev_sum(x, mx, x, mx, w)
    sx2 = window_sum(x * x, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sxx > 1e-12 * sx2, sxy / sxx, np.nan)


class KyleLambda:
    """Incremental :func:`kyle_lambda`: :meth:`update` with one (price change, signed volume)."""

    __slots__ = ("_x", "_y", "window")

    def __init__(self, window: int) -> None:
        self.window = _check_window(window, 2)
        self._x: deque[float] = deque(maxlen=self.window)
        self._y: deque[float] = deque(maxlen=self.window)

    def update(self, price_change: float, signed_volume: float) -> float:
        """Lambda over the last ``window`` points, NaN until the window is full."""
        self._x.append(float(signed_volume))
        self._y.append(float(price_change))
        w = self.window
        if len(self._x) < w:
            return math.nan
        sx = sy = sx2 = 0.0
        for a, b in zip(self._x, self._y, strict=True):
            sx += a
            sy += b
            sx2 += a * a
        mx = sx / w
        my = sy / w
        sxy = sxx = 0.0
        for a, b in zip(self._x, self._y, strict=True):
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
        if math.isnan(sxy) or math.isnan(sxx):
            return math.nan
        return _kyle_from(sxy, sxx, sx2)


def amihud_illiquidity(returns: npt.ArrayLike, notional: npt.ArrayLike, window: int) -> FloatArray:
    """Rolling Amihud illiquidity: mean of ``|return| / notional`` over the intervals of the
    last ``window`` that traded (``notional > 0``). NaN in the warm-up, when a window holds a
    NaN return, or when no interval in it traded. Negative notional raises ``ValueError``."""
    r = _series("returns", returns)
    v = _series("notional", notional)
    if r.shape != v.shape:
        raise ValueError("amihud_illiquidity: returns and notional differ in length")
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise ValueError("amihud_illiquidity: notional must be finite and >= 0")
    w = _check_window(window)
    traded = v > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isnan(r), np.nan, np.where(traded, np.abs(r) / v, 0.0))
    total = window_sum(ratio, w)
    count = window_sum(traded.astype(np.float64), w)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


class AmihudIlliquidity:
    """Incremental :func:`amihud_illiquidity`."""

    __slots__ = ("_ratio", "_traded", "window")

    def __init__(self, window: int) -> None:
        self.window = _check_window(window)
        self._ratio: deque[float] = deque(maxlen=self.window)
        self._traded: deque[float] = deque(maxlen=self.window)

    def update(self, ret: float, notional: float) -> float:
        """Illiquidity over the last ``window`` intervals."""
        if not (math.isfinite(notional) and notional >= 0):
            raise ValueError(f"notional must be finite and >= 0, got {notional}")
        traded = notional > 0
        ratio = abs(ret) / notional if traded else 0.0
        if math.isnan(ret):
            ratio = math.nan
        self._ratio.append(ratio)
        self._traded.append(1.0 if traded else 0.0)
        if len(self._ratio) < self.window:
            return math.nan
        total = count = 0.0
        for a, b in zip(self._ratio, self._traded, strict=True):
            total += a
            count += b
        return total / count if count > 0 else math.nan


# -- Roll spread and effective spread --------------------------------------------------------


def roll_from_sums(
    pairs: float, sum_x: float, sum_y: float, sum_xy: float, nonnegative: Nonnegative = "nan"
) -> float:
    """Roll spread from sums over ``pairs`` (dp_t, dp_{t-1}) pairs (price units)."""
    if pairs < 2 or math.isnan(sum_xy):
        return math.nan
    cov = (sum_xy - sum_x * sum_y / pairs) / (pairs - 1)
    if cov >= 0:
        return 0.0 if nonnegative == "zero" else math.nan
    return 2.0 * math.sqrt(-cov)


def roll_spread(prices: npt.ArrayLike, nonnegative: Nonnegative = "nan") -> float:
    """Roll's spread estimate over a whole series of trade prices (price units)."""
    p = _series("prices", prices)
    if p.size < 3:
        return math.nan
    dp = np.diff(p)
    x, y = dp[1:], dp[:-1]
    return roll_from_sums(
        float(x.size), float(x.sum()), float(y.sum()), float((x * y).sum()), nonnegative
    )


def rolling_roll_spread(
    prices: npt.ArrayLike, window: int, nonnegative: Nonnegative = "nan"
) -> FloatArray:
    """Roll spread at each trade over its last ``window`` (dp_t, dp_{t-1}) pairs; the first
    value is at index ``window + 1``."""
    p = _series("prices", prices)
    w = _check_window(window, 2)
    out = np.full(p.size, np.nan)
    if p.size < w + 2:
        return out
    dp = np.diff(p)
    x = np.concatenate(([np.nan, np.nan], dp[1:]))
    y = np.concatenate(([np.nan, np.nan], dp[:-1]))
    sx = window_sum(x, w)
    sy = window_sum(y, w)
    sxy = window_sum(x * y, w)
    for i in range(w + 1, p.size):
        out[i] = roll_from_sums(float(w), sx[i], sy[i], sxy[i], nonnegative)
    return out


class RollSpread:
    """Incremental :func:`rolling_roll_spread`: :meth:`update` with each trade price."""

    __slots__ = ("_dp", "_pairs", "_prev", "nonnegative", "window")

    def __init__(self, window: int, nonnegative: Nonnegative = "nan") -> None:
        self.window = _check_window(window, 2)
        self.nonnegative: Nonnegative = nonnegative
        self._prev: float | None = None
        self._dp: float | None = None
        self._pairs: deque[tuple[float, float]] = deque(maxlen=self.window)

    def update(self, price: float) -> float:
        """Roll spread over the last ``window`` pairs, NaN until there are that many."""
        if self._prev is not None:
            dp = price - self._prev
            if self._dp is not None:
                self._pairs.append((dp, self._dp))
            self._dp = dp
        self._prev = price
        if len(self._pairs) < self.window:
            return math.nan
        sx = sy = sxy = 0.0
        for a, b in self._pairs:
            sx += a
            sy += b
            sxy += a * b
        return roll_from_sums(float(self.window), sx, sy, sxy, self.nonnegative)


def effective_spread_bps(trade_price: npt.ArrayLike, mid: npt.ArrayLike) -> FloatArray:
    """Effective spread of each trade: ``2 * |price - mid| / mid`` in bps."""
    p = np.asarray(trade_price, dtype=np.float64)
    m = np.asarray(mid, dtype=np.float64)
    return np.asarray(2.0 * np.abs(p - m) / m * BPS)


# -- level lifetimes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LifetimeSums:
    """Per book: sum, sum of squares (s, s^2) and count of the lifetimes that ended there."""

    total: FloatArray
    total_sq: FloatArray
    count: FloatArray


@_jit
def _lifetimes(
    times: IntArray, prices: FloatArray, total: FloatArray, total_sq: FloatArray, count: FloatArray
) -> None:  # pragma: no cover - compiled
    n, depth = prices.shape
    prev = np.empty(depth)
    entry = np.zeros(depth, dtype=np.int64)
    censored = np.zeros(depth, dtype=np.bool_)
    new_entry = np.zeros(depth, dtype=np.int64)
    new_censored = np.zeros(depth, dtype=np.bool_)
    n_prev = 0
    fresh = True
    for t in range(n):
        row = prices[t]
        if not np.isfinite(row[0]):
            total[t] = np.nan
            total_sq[t] = np.nan
            count[t] = np.nan
            n_prev = 0
            fresh = True
            continue
        k = 0
        while k < depth and np.isfinite(row[k]):
            k += 1
        s = 0.0
        s2 = 0.0
        c = 0.0
        for i in range(n_prev):
            found = False
            for j in range(k):
                if row[j] == prev[i]:
                    found = True
                    break
            if not found and not censored[i]:
                life = (times[t] - entry[i]) / 1e9
                s += life
                s2 += life * life
                c += 1.0
        for j in range(k):
            new_entry[j] = times[t]
            new_censored[j] = fresh
            for i in range(n_prev):
                if prev[i] == row[j]:
                    new_entry[j] = entry[i]
                    new_censored[j] = censored[i]
                    break
        for j in range(k):
            prev[j] = row[j]
            entry[j] = new_entry[j]
            censored[j] = new_censored[j]
        n_prev = k
        fresh = False
        total[t] = s
        total_sq[t] = s2
        count[t] = c


def level_lifetimes(times_ns: npt.ArrayLike, prices: npt.ArrayLike) -> LifetimeSums:
    """Lifetimes (s) of price levels leaving the top ``N`` of one side, book by book.

    ``prices`` is ``(n, N)``: each book's best ``N`` prices, NaN-padded; a row whose first
    price is NaN (no book) is NaN in the output and restarts the tracking.
    """
    t = np.ascontiguousarray(times_ns, dtype=np.int64)
    p = np.ascontiguousarray(prices, dtype=np.float64)
    if p.ndim != 2 or t.shape != (p.shape[0],):
        raise ValueError(
            f"level_lifetimes: expected times (n,) and prices (n, N), got {t.shape} {p.shape}"
        )
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("level_lifetimes: times must increase strictly")
    n = p.shape[0]
    total, total_sq, count = np.empty(n), np.empty(n), np.empty(n)
    _lifetimes(t, p, total, total_sq, count)
    return LifetimeSums(total, total_sq, count)


class LevelLifetimeTracker:
    """Incremental :func:`level_lifetimes` for one side.

    :meth:`update` takes the time and the side's best prices (``None`` or an empty sequence
    when there is no book) and returns the lifetimes (s) of the levels that left.
    """

    __slots__ = ("_fresh", "_levels")

    def __init__(self) -> None:
        self._levels: dict[float, tuple[int, bool]] = {}
        self._fresh = True

    def reset(self) -> None:
        """Forget every level (the next book's levels get unknown entry times)."""
        self._levels = {}
        self._fresh = True

    def update(self, time_ns: int, prices: Iterable[float] | None) -> list[float]:
        """Lifetimes of the levels not among ``prices`` any more."""
        current = [] if prices is None else [p for p in prices if math.isfinite(p)]
        if not current:
            self.reset()
            return []
        present = set(current)
        ended = [
            (time_ns - entry) / 1e9
            for price, (entry, censored) in self._levels.items()
            if price not in present and not censored
        ]
        levels = {}
        for price in current:
            levels[price] = self._levels.get(price, (time_ns, self._fresh))
        self._levels = levels
        self._fresh = False
        return ended


def ttl_stats(sums: LifetimeSums, window: int) -> tuple[FloatArray, FloatArray]:
    """Rolling (mean, population std) of the lifetimes that ended in the last ``window``
    books; NaN when none (std: fewer than two) ended, or a window holds a missing book."""
    w = _check_window(window)
    s = window_sum(sums.total, w)
    s2 = window_sum(sums.total_sq, w)
    c = window_sum(sums.count, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(c > 0, s / c, np.nan)
        var = np.maximum(s2 / c - mean * mean, 0.0)
        std = np.where(c >= 2, np.sqrt(var), np.nan)
    return mean, std


# -- rates -----------------------------------------------------------------------------------


def event_rate(event_times_ns: npt.ArrayLike, at_ns: npt.ArrayLike, window_ns: int) -> FloatArray:
    """Events per second in ``(t - window_ns, t]`` for each ``t`` in ``at_ns``.

    Use the book's update times for the book update frequency, and the times where the best
    bid/offer changed (:func:`bbo_changed`) for the quote intensity.
    """
    ev = np.asarray(event_times_ns, dtype=np.int64)
    at = np.asarray(at_ns, dtype=np.int64)
    if window_ns <= 0:
        raise ValueError(f"window_ns must be > 0, got {window_ns}")
    if ev.size > 1 and np.any(np.diff(ev) < 0):
        raise ValueError("event_rate: event times must not decrease")
    hi = np.searchsorted(ev, at, side="right")
    lo = np.searchsorted(ev, at - window_ns, side="right")
    return np.asarray((hi - lo) / (window_ns / NS_PER_S), dtype=np.float64)


class EventRate:
    """Incremental :func:`event_rate`: :meth:`add` events, read :meth:`rate` at a time."""

    __slots__ = ("_times", "window_ns")

    def __init__(self, window_ns: int) -> None:
        if window_ns <= 0:
            raise ValueError(f"window_ns must be > 0, got {window_ns}")
        self.window_ns = window_ns
        self._times: deque[int] = deque()

    def add(self, time_ns: int) -> None:
        """Record one event (times must not decrease)."""
        if self._times and time_ns < self._times[-1]:
            raise ValueError(f"event time {time_ns} before the previous {self._times[-1]}")
        self._times.append(time_ns)

    def rate(self, now_ns: int) -> float:
        """Events per second in ``(now - window, now]``; later events are not counted."""
        times = self._times
        while times and times[0] <= now_ns - self.window_ns:
            times.popleft()
        count = sum(1 for t in times if t <= now_ns)
        return count / (self.window_ns / NS_PER_S)


def bbo_changed(
    bid: npt.ArrayLike, bid_size: npt.ArrayLike, ask: npt.ArrayLike, ask_size: npt.ArrayLike
) -> BoolArray:
    """True where the best bid/offer (price or size) differs from the previous one."""
    cols = [np.asarray(x, dtype=np.float64) for x in (bid, bid_size, ask, ask_size)]
    out = np.zeros(cols[0].shape, dtype=np.bool_)
    for c in cols:
        out[1:] |= c[1:] != c[:-1]
    return out


# -- clusters --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterStats:
    """Clusters of one side: their number, and the size-weighted price and total size of
    the cluster with the most size (the one nearest the top on a tie)."""

    count: FloatArray
    price: FloatArray
    volume: FloatArray


def _median_gap(gaps: FloatArray) -> FloatArray:
    """Median of the finite gaps of each row (NaN-free rows first), NaN where none."""
    ordered = np.sort(gaps, axis=-1)  # NaN last
    valid = np.isfinite(gaps).sum(axis=-1)
    lo = np.maximum((valid - 1) // 2, 0)[..., None]
    hi = np.maximum(valid // 2, 0)[..., None]
    a = np.take_along_axis(ordered, lo, axis=-1)[..., 0]
    b = np.take_along_axis(ordered, hi, axis=-1)[..., 0]
    return np.where(valid > 0, (a + b) / 2.0, np.nan)


def level_clusters(levels: npt.ArrayLike, gap_factor: float = 2.0) -> ClusterStats:
    """Group one side's levels into clusters of densely spaced prices.

    Neighbouring levels belong to one cluster unless the price gap between them exceeds
    ``gap_factor`` times the median gap between neighbours of that side. NaN where the side
    is empty.
    """
    if not gap_factor > 0:
        raise ValueError(f"gap_factor must be > 0, got {gap_factor}")
    arr = as_levels("levels", levels)
    lead = arr.shape[:-2]
    flat = arr.reshape(-1, arr.shape[-2], 2)
    m, depth = flat.shape[0], flat.shape[1]
    p, q, present = _sizes(flat, None)
    gaps = np.abs(p[:, 1:] - p[:, :-1])
    thr = gap_factor * _median_gap(gaps)
    breaks = gaps > thr[:, None]
    cid = np.zeros((m, depth), dtype=np.int64)
    cid[:, 1:] = np.cumsum(breaks, axis=1)
    vol = np.zeros((m, depth))
    pq = np.zeros((m, depth))
    rows = np.arange(m)
    pq_level = np.where(present, p * q, 0.0)
    for k in range(depth):
        vol[rows, cid[:, k]] += q[:, k]
        pq[rows, cid[:, k]] += pq_level[:, k]
    best = np.argmax(vol, axis=1)
    top_vol = vol[rows, best]
    empty = ~present[:, 0]
    count = np.where(empty, np.nan, 1.0 + breaks.sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        price = np.where(empty, np.nan, pq[rows, best] / top_vol)
    volume = np.where(empty, np.nan, top_vol)
    return ClusterStats(count.reshape(lead), price.reshape(lead), volume.reshape(lead))
