"""Order flow from trades (and the book): aggressive volume, CVD, whales, walls, tape.

Trades are given as arrays (times in ns, sizes, prices, aggressor side as ``is_buy``) or one
at a time to the incremental classes. Each batch function has an incremental twin that
gives the same values when fed the same data in order.

Rules (every threshold is a parameter):

* **Aggressive delta** over a window: ``(buy - sell) / (buy + sell)`` of taker volume, in
  [-1, 1]; NaN when nothing traded.
* **CVD** is the running sum of signed taker volume (buy +, sell -).
* **CVD–price divergence** over the last ``window`` points: the price move
  ``(p_t / p_{t-window} - 1) * 1e4`` bps against the flow, the aggressive delta of the
  volume traded in points ``t-window+1 .. t`` (the CVD change over the window divided by
  the volume). +1 (bullish) when the price fell by at least ``min_move_bps`` while the flow
  was at least ``+min_flow`` (buyers absorbing the decline); -1 (bearish) when the price rose
  by at least ``min_move_bps`` while the flow was at most ``-min_flow``; 0 otherwise; NaN in
  the warm-up, when a price is NaN, or when nothing traded in the window.
* **Whale trade**: size >= ``k`` x the median size of the previous ``window`` trades (once
  at least ``min_history`` trades are known), or notional >= ``min_notional`` when set.
* **Wall**: a level whose size is >= ``k`` x the median size of the levels given for its
  side, within ``within_bps`` of the mid. A wall persists from the first book where it
  qualifies to the first book where it no longer does (or its level is gone).
* **Tape pattern** over a window: accumulation when the aggressive delta is >=
  ``delta_threshold`` while the price moved by at most ``max_move_bps`` either way (buying
  absorbed inside a range); distribution when the delta is <= ``-delta_threshold`` with the
  same range condition; neutral otherwise (a trend, balanced flow, or no trades).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, TypeAlias, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from sortedcontainers import SortedList

from mftbot.analysis.book_metrics import BPS, as_levels, rolling_sum, window_sum

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
_F = TypeVar("_F", bound=Callable[..., Any])
_jit_ieee = cast(Callable[[_F], _F], numba.njit(cache=True, error_model="numpy"))
"""``numba.njit(cache=True)`` with numpy's float division (``x / 0`` is ±inf or NaN)."""


def _floats(name: str, x: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr


def _trades(sizes: npt.ArrayLike, is_buy: npt.ArrayLike) -> tuple[FloatArray, BoolArray]:
    q = _floats("sizes", sizes)
    side = np.asarray(is_buy)
    if side.dtype != np.bool_ or side.shape != q.shape:
        raise ValueError("is_buy must be a boolean array as long as sizes")
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("sizes must be finite and >= 0")
    return q, side


# -- aggressive volume and CVD ---------------------------------------------------------------


def delta_ratio(buy: float, sell: float) -> float:
    """``(buy - sell) / (buy + sell)``; NaN when both are 0."""
    total = buy + sell
    return (buy - sell) / total if total > 0 else math.nan


def signed_volume(sizes: npt.ArrayLike, is_buy: npt.ArrayLike) -> FloatArray:
    """Taker volume signed by aggressor: buys +, sells -."""
    q, side = _trades(sizes, is_buy)
    return np.where(side, q, -q)


def cumulative_volume_delta(sizes: npt.ArrayLike, is_buy: npt.ArrayLike) -> FloatArray:
    """CVD: the running sum of signed taker volume."""
    return np.cumsum(signed_volume(sizes, is_buy))


@dataclass(frozen=True, slots=True)
class AggressiveFlow:
    """Taker buy and sell volume over a window and their delta in [-1, 1]."""

    buy: FloatArray
    sell: FloatArray
    delta: FloatArray


def aggressive_flow(
    times_ns: npt.ArrayLike, sizes: npt.ArrayLike, is_buy: npt.ArrayLike, window_ns: int
) -> AggressiveFlow:
    """At each trade: taker buy/sell volume of the trades in ``(t - window_ns, t]`` up to and
    including it (later trades with the same time are not counted yet)."""
    t = np.asarray(times_ns, dtype=np.int64)
    q, side = _trades(sizes, is_buy)
    if t.shape != q.shape:
        raise ValueError("times_ns and sizes differ in length")
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise ValueError("times_ns must not decrease")
    if window_ns <= 0:
        raise ValueError(f"window_ns must be > 0, got {window_ns}")
    cum_buy = np.concatenate(([0.0], np.cumsum(np.where(side, q, 0.0))))
    cum_sell = np.concatenate(([0.0], np.cumsum(np.where(side, 0.0, q))))
    hi = np.arange(1, t.size + 1)  # up to this trade: not later ones with the same time
    lo = np.searchsorted(t, t - window_ns, side="right")
    buy = cum_buy[hi] - cum_buy[lo]
    sell = cum_sell[hi] - cum_sell[lo]
    total = buy + sell
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where(total > 0, (buy - sell) / total, np.nan)
    return AggressiveFlow(buy, sell, delta)


class AggressiveFlowState:
    """Incremental taker buy/sell volume over a trailing time window.

    Sums are recomputed over the trades still in the window, so they do not drift.
    """

    __slots__ = ("_trades", "window_ns")

    def __init__(self, window_ns: int) -> None:
        if window_ns <= 0:
            raise ValueError(f"window_ns must be > 0, got {window_ns}")
        self.window_ns = window_ns
        self._trades: deque[tuple[int, float, bool]] = deque()

    def update(self, time_ns: int, size: float, is_buy: bool) -> tuple[float, float, float]:
        """Add a trade; (buy, sell, delta) over ``(time - window, time]``."""
        if not (math.isfinite(size) and size >= 0):
            raise ValueError(f"size must be finite and >= 0, got {size}")
        trades = self._trades
        if trades and time_ns < trades[-1][0]:
            raise ValueError(f"trade time {time_ns} before the previous {trades[-1][0]}")
        trades.append((time_ns, size, is_buy))
        while trades[0][0] <= time_ns - self.window_ns:
            trades.popleft()
        buy = sum(q for _, q, b in trades if b)
        sell = sum(q for _, q, b in trades if not b)
        return buy, sell, delta_ratio(buy, sell)


# -- CVD–price divergence --------------------------------------------------------------------


class Divergence(IntEnum):
    """CVD–price divergence verdict."""

    BEARISH = -1
    NONE = 0
    BULLISH = 1


def classify_divergence(
    move_bps: float, flow: float, min_move_bps: float, min_flow: float
) -> Divergence:
    """The divergence rule for one window (see the module docstring)."""
    if move_bps <= -min_move_bps and flow >= min_flow:
        return Divergence.BULLISH
    if move_bps >= min_move_bps and flow <= -min_flow:
        return Divergence.BEARISH
    return Divergence.NONE


def _check_thresholds(min_move_bps: float, min_flow: float) -> None:
    if not min_move_bps > 0:
        raise ValueError(f"min_move_bps must be > 0, got {min_move_bps}")
    if not 0 < min_flow <= 1:
        raise ValueError(f"min_flow must be in (0, 1], got {min_flow}")


def cvd_divergence(
    price: npt.ArrayLike,
    buy_volume: npt.ArrayLike,
    sell_volume: npt.ArrayLike,
    window: int,
    *,
    min_move_bps: float = 5.0,
    min_flow: float = 0.2,
) -> FloatArray:
    """Divergence (+1, -1, 0; NaN where undefined) at each point of a series.

    ``price`` is the price at each point (e.g. the mid of each sample), ``buy_volume`` and
    ``sell_volume`` the taker volume traded since the previous point.
    """
    p = _floats("price", price)
    b = _floats("buy_volume", buy_volume)
    s = _floats("sell_volume", sell_volume)
    if not p.shape == b.shape == s.shape:
        raise ValueError("price, buy_volume and sell_volume differ in length")
    _check_thresholds(min_move_bps, min_flow)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    return _divergence(p, b, s, window, float(min_move_bps), float(min_flow))


@_jit_ieee
def _divergence(
    p: FloatArray, b: FloatArray, s: FloatArray, window: int, min_move_bps: float, min_flow: float
) -> FloatArray:
    """:func:`cvd_divergence` after its checks, in one compiled pass (the window sums of
    :func:`~mftbot.analysis.book_metrics.window_sum`, then the rule row by row)."""
    n = p.shape[0]
    out = np.full(n, np.nan)
    if n <= window:
        return out
    sb = rolling_sum(b, window)
    ss = rolling_sum(s, window)
    for t in range(window, n):
        total = sb[t] + ss[t]
        flow = (sb[t] - ss[t]) / total
        move = (p[t] / p[t - window] - 1.0) * BPS
        if total > 0 and np.isfinite(move):
            if move <= -min_move_bps and flow >= min_flow:
                out[t] = 1.0
            elif move >= min_move_bps and flow <= -min_flow:
                out[t] = -1.0
            else:
                out[t] = 0.0
    return out


class CvdDivergence:
    """Incremental :func:`cvd_divergence`."""

    __slots__ = ("_buy", "_price", "_sell", "min_flow", "min_move_bps", "window")

    def __init__(self, window: int, *, min_move_bps: float = 5.0, min_flow: float = 0.2) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        _check_thresholds(min_move_bps, min_flow)
        self.window = window
        self.min_move_bps = min_move_bps
        self.min_flow = min_flow
        self._price: deque[float] = deque(maxlen=window + 1)
        self._buy: deque[float] = deque(maxlen=window)
        self._sell: deque[float] = deque(maxlen=window)

    def update(self, price: float, buy_volume: float, sell_volume: float) -> float:
        """Verdict at this point as a float (NaN where undefined)."""
        self._price.append(price)
        self._buy.append(buy_volume)
        self._sell.append(sell_volume)
        if len(self._price) <= self.window:
            return math.nan
        buy = sell = 0.0
        for x in self._buy:
            buy += x
        for x in self._sell:
            sell += x
        move = (price / self._price[0] - 1.0) * BPS
        if not (buy + sell > 0) or not math.isfinite(move):
            return math.nan
        flow = (buy - sell) / (buy + sell)
        return float(classify_divergence(move, flow, self.min_move_bps, self.min_flow))


# -- whale trades ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WhaleRule:
    """A trade is a whale when ``size >= k * median(previous window sizes)`` (with at least
    ``min_history`` previous trades) or, when set, ``price * size >= min_notional``.

    The default ``k`` is high because the median crypto trade is dust: on Binance BTC/USDT
    spot, trades of 10x the median are a third of all trades, of 100x about 8 %.
    """

    k: float = 100.0
    window: int = 500
    min_history: int = 50
    min_notional: float | None = None

    def __post_init__(self) -> None:
        if not self.k > 0:
            raise ValueError(f"WhaleRule.k must be > 0, got {self.k}")
        if not 1 <= self.min_history <= self.window:
            raise ValueError(
                f"WhaleRule needs 1 <= min_history <= window, got {self.min_history}, {self.window}"
            )
        if self.min_notional is not None and not self.min_notional > 0:
            raise ValueError(f"WhaleRule.min_notional must be > 0, got {self.min_notional}")


def whale_trades(
    sizes: npt.ArrayLike, prices: npt.ArrayLike, rule: WhaleRule | None = None
) -> BoolArray:
    """Whale mask over a trade series (see :class:`WhaleRule`)."""
    r = rule or WhaleRule()
    q = _floats("sizes", sizes)
    p = _floats("prices", prices)
    if q.shape != p.shape:
        raise ValueError("sizes and prices differ in length")
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("sizes must be finite and >= 0")
    n = q.size
    median = np.full(n, np.nan)
    w = r.window
    for i in range(r.min_history, min(w, n)):
        median[i] = np.median(q[:i])
    chunk = 4096
    for start in range(w, n, chunk):
        stop = min(start + chunk, n)
        windows = np.lib.stride_tricks.sliding_window_view(q[start - w : stop - 1], w)
        median[start:stop] = np.median(windows, axis=1)
    whale = q >= r.k * median
    if r.min_notional is not None:
        whale |= p * q >= r.min_notional
    return np.asarray(whale, dtype=np.bool_)


class WhaleDetector:
    """Incremental :func:`whale_trades`: :meth:`update` with each trade in order."""

    __slots__ = ("_recent", "_sorted", "rule")

    def __init__(self, rule: WhaleRule | None = None) -> None:
        self.rule = rule or WhaleRule()
        self._recent: deque[float] = deque()
        self._sorted = SortedList()

    def median(self) -> float:
        """Median size of the trades in the window (NaN below ``min_history``)."""
        s = self._sorted
        n = len(s)
        if n < self.rule.min_history:
            return math.nan
        return float((s[(n - 1) // 2] + s[n // 2]) / 2.0)

    def update(self, size: float, price: float) -> bool:
        """Whether this trade is a whale; then it joins the history."""
        if not (math.isfinite(size) and size >= 0):
            raise ValueError(f"size must be finite and >= 0, got {size}")
        rule = self.rule
        whale = size >= rule.k * self.median()
        if rule.min_notional is not None and price * size >= rule.min_notional:
            whale = True
        self._recent.append(size)
        self._sorted.add(size)
        if len(self._recent) > rule.window:
            self._sorted.remove(self._recent.popleft())
        return whale


# -- walls -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WallRule:
    """A level is a wall when its size is >= ``k`` x the median level size of its side and
    it lies within ``within_bps`` of the mid."""

    k: float = 5.0
    within_bps: float = 50.0

    def __post_init__(self) -> None:
        if not self.k > 0:
            raise ValueError(f"WallRule.k must be > 0, got {self.k}")
        if not self.within_bps > 0:
            raise ValueError(f"WallRule.within_bps must be > 0, got {self.within_bps}")


def wall_mask(levels: npt.ArrayLike, mid: npt.ArrayLike, rule: WallRule | None = None) -> BoolArray:
    """``(..., N)`` mask of the levels of one side ``(..., N, 2)`` that are walls."""
    r = rule or WallRule()
    arr = as_levels("levels", levels)
    m = np.asarray(mid, dtype=np.float64)
    price, size = arr[..., 0], arr[..., 1]
    with np.errstate(invalid="ignore"):
        ordered = np.sort(size, axis=-1)  # NaN padding last
        valid = np.isfinite(size).sum(axis=-1)
        lo = np.maximum((valid - 1) // 2, 0)[..., None]
        hi = np.maximum(valid // 2, 0)[..., None]
        median = (
            np.take_along_axis(ordered, lo, axis=-1) + np.take_along_axis(ordered, hi, axis=-1)
        ) / 2.0
        near = np.abs(price - m[..., None]) / m[..., None] * BPS <= r.within_bps
        mask = (size >= r.k * median) & near
    return np.asarray(mask, dtype=np.bool_)


class WallSide(StrEnum):
    """Book side of a wall."""

    BID = "bid"
    ASK = "ask"


@dataclass(slots=True)
class Wall:
    """A wall and how long it has lasted (``ended_ns`` is set once it is gone)."""

    side: WallSide
    price: float
    size: float
    first_seen_ns: int
    last_seen_ns: int
    ended_ns: int | None = None

    @property
    def duration_ns(self) -> int:
        """From the first book it was seen in to its end (or the last book it was seen in)."""
        return (self.ended_ns if self.ended_ns is not None else self.last_seen_ns) - (
            self.first_seen_ns
        )


@dataclass
class WallTracker:
    """Follows walls over successive books: :meth:`update` returns the walls present now.

    Walls that ended are moved to ``ended`` (the latest ``keep``) with their duration.
    """

    rule: WallRule = field(default_factory=WallRule)
    keep: int = 1000
    active: dict[tuple[WallSide, float], Wall] = field(default_factory=dict)
    ended: deque[Wall] = field(default_factory=deque)
    _last_ns: int | None = field(default=None, init=False, repr=False)

    def update(self, time_ns: int, bids: npt.ArrayLike, asks: npt.ArrayLike) -> list[Wall]:
        """Walls in this book (``(N, 2)`` levels per side), oldest first."""
        if self._last_ns is not None and time_ns < self._last_ns:
            raise ValueError(f"book time {time_ns} before the previous {self._last_ns}")
        self._last_ns = time_ns
        b = as_levels("bids", bids)
        a = as_levels("asks", asks)
        if b.ndim != 2 or a.ndim != 2:
            raise ValueError("WallTracker.update takes one book: (N, 2) levels per side")
        mid = (b[0, 0] + a[0, 0]) / 2.0
        seen: set[tuple[WallSide, float]] = set()
        if math.isfinite(mid):
            for side, levels in ((WallSide.BID, b), (WallSide.ASK, a)):
                for price, size in levels[wall_mask(levels, mid, self.rule)]:
                    key = (side, float(price))
                    seen.add(key)
                    wall = self.active.get(key)
                    if wall is None:
                        self.active[key] = Wall(side, float(price), float(size), time_ns, time_ns)
                    else:
                        wall.size = float(size)
                        wall.last_seen_ns = time_ns
        for key in [k for k in self.active if k not in seen]:
            wall = self.active.pop(key)
            wall.ended_ns = time_ns
            self.ended.append(wall)
            if len(self.ended) > self.keep:
                self.ended.popleft()
        return sorted(self.active.values(), key=lambda w: (w.first_seen_ns, w.side, w.price))


# -- tape ------------------------------------------------------------------------------------


class TapePattern(StrEnum):
    """What the tape shows over a window."""

    ACCUMULATION = "accumulation"
    DISTRIBUTION = "distribution"
    NEUTRAL = "neutral"


def classify_tape(
    buy_volume: float,
    sell_volume: float,
    move_bps: float,
    *,
    delta_threshold: float = 0.2,
    max_move_bps: float = 5.0,
) -> TapePattern:
    """The tape rule for one window (see the module docstring)."""
    delta = delta_ratio(buy_volume, sell_volume)
    if math.isnan(delta) or not abs(move_bps) <= max_move_bps:
        return TapePattern.NEUTRAL
    if delta >= delta_threshold:
        return TapePattern.ACCUMULATION
    if delta <= -delta_threshold:
        return TapePattern.DISTRIBUTION
    return TapePattern.NEUTRAL


def tape_pattern(
    price: npt.ArrayLike,
    buy_volume: npt.ArrayLike,
    sell_volume: npt.ArrayLike,
    window: int,
    *,
    delta_threshold: float = 0.2,
    max_move_bps: float = 5.0,
) -> FloatArray:
    """Tape pattern at each point as +1 (accumulation), -1 (distribution), 0 (neutral);
    NaN in the warm-up and where a price is NaN. Inputs as for :func:`cvd_divergence`;
    the window covers points ``t-window+1 .. t`` and the move ``p_{t-window} -> p_t``."""
    p = _floats("price", price)
    b = _floats("buy_volume", buy_volume)
    s = _floats("sell_volume", sell_volume)
    if not p.shape == b.shape == s.shape:
        raise ValueError("price, buy_volume and sell_volume differ in length")
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if not 0 < delta_threshold <= 1:
        raise ValueError(f"delta_threshold must be in (0, 1], got {delta_threshold}")
    out = np.full(p.size, np.nan)
    if p.size <= window:
        return out
    sb = window_sum(b, window)[window:]
    ss = window_sum(s, window)[window:]
    total = sb + ss
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where(total > 0, (sb - ss) / total, np.nan)
        move = (p[window:] / p[:-window] - 1.0) * BPS
        ranged = np.abs(move) <= max_move_bps
    code = np.where(ranged & (delta >= delta_threshold), 1.0, 0.0)
    code = np.where(ranged & (delta <= -delta_threshold), -1.0, code)
    out[window:] = np.where(np.isfinite(move), code, np.nan)
    return out
