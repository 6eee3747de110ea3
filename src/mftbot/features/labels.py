"""Labels for supervised learning: the only code in mftbot allowed to look forward.

Two families, each for bar data (horizon in bars) and for sampled book data (horizon in
time, e.g. seconds, over a ``time_ns`` column):

* **Forward return and direction.** ``r[t] = p[t + h] / p[t] - 1`` (for time horizons,
  ``p(t + h)`` is the last observation at or before ``time[t] + h``). Direction is ``+1`` when
  ``r >= band``, ``-1`` when ``r <= -band`` and ``0`` inside the dead band ``|r| < band``.
* **Triple barrier** (López de Prado): enter at ``p[t]``, leave at the first of a
  take-profit, a stop-loss or the time limit. Fees are inside the barriers: both barriers are
  on the *net* return (gross return minus the round-trip ``fee``), so the take-profit price is
  ``p · (1 + side · (take_profit + fee))`` (pushed out by the fee) and the stop price
  ``p · (1 - side · (stop_loss - fee))`` (the fee is already lost at entry, so it is reached
  after a gross move of ``stop_loss - fee``; ``stop_loss`` must exceed ``fee``). Barriers are
  checked on the bars after the entry bar, against each bar's high and low (and open):

  - the bar's open already beyond a barrier (a gap) exits there, at the open;
  - otherwise, when the high reaches the upper barrier and the low the lower one within the
    same bar, the order inside the bar is unknown and the **stop is assumed first**
    (conservative), exiting at the stop price;
  - otherwise a barrier touched exits at the barrier price;
  - no barrier by the time limit exits at the close of the last bar inside it, with the label
    the direction of the net exit return (dead band ``band``).

  For book samples, pass no high/low/open: each sample is a bar with all four equal.

The tail where the future is not known (``t + h`` beyond the data, or no barrier hit before
the data ends inside the time limit) gets NaN labels and exit index -1: never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from mftbot.core.errors import DataError

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]

TAKE_PROFIT = 1
"""Barrier code: the take-profit was reached."""
STOP_LOSS = -1
"""Barrier code: the stop-loss was reached."""
TIME_LIMIT = 0
"""Barrier code: neither barrier before the time limit."""


_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(func: _F) -> _F:
    return cast(_F, numba.njit(cache=True)(func))


class LabelError(DataError):
    """Label input is malformed (NaN or non-positive prices, misaligned arrays, bad spec)."""


def _prices(name: str, values: npt.ArrayLike, n: int | None = None) -> FloatArray:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise LabelError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise LabelError(f"{name}: {arr.size} values, expected {n}")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LabelError(f"{name}: NaN, infinite or non-positive value at index {i}")
    return arr


def _times(values: npt.ArrayLike, n: int) -> IntArray:
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        arr = arr.astype("datetime64[ns]").view(np.int64)
    elif not np.issubdtype(arr.dtype, np.integer):
        raise LabelError(f"time_ns: expected int64 ns or datetime64, got {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.ndim != 1 or arr.size != n:
        raise LabelError(f"time_ns: expected {n} values, got shape {arr.shape}")
    if n > 1 and np.any(np.diff(arr) <= 0):
        i = int(np.flatnonzero(np.diff(arr) <= 0)[0]) + 1
        raise LabelError(f"time_ns: not strictly increasing at index {i}")
    return arr


def horizon_index(n: int, bars: int) -> IntArray:
    """Index ``t + bars`` of each row, -1 where it lies beyond the data."""
    if bars < 1:
        raise LabelError(f"horizon must be >= 1 bar, got {bars}")
    idx = np.arange(n, dtype=np.int64) + bars
    idx[idx >= n] = -1
    return idx


def time_horizon_index(time_ns: npt.ArrayLike, horizon_ns: int) -> IntArray:
    """Index of the last observation at or before ``time[t] + horizon_ns``; -1 where the data
    ends before that time (its value there is not yet known)."""
    if horizon_ns <= 0:
        raise LabelError(f"horizon must be > 0 ns, got {horizon_ns}")
    times = np.asarray(time_ns, dtype=np.int64)
    n = times.size
    if n == 0:
        return np.empty(0, dtype=np.int64)
    target = times + horizon_ns
    idx = np.searchsorted(times, target, side="right").astype(np.int64) - 1
    idx[target > times[-1]] = -1
    return idx


def direction(returns: npt.ArrayLike, band: float = 0.0) -> FloatArray:
    """+1 / -1 / 0 by the dead band (``|r| < band`` -> 0); NaN stays NaN."""
    if not (math.isfinite(band) and band >= 0):
        raise LabelError(f"dead band must be finite and >= 0, got {band}")
    r = np.asarray(returns, dtype=np.float64)
    out = np.where(r >= band, 1.0, np.where(r <= -band, -1.0, 0.0))
    if band == 0.0:
        out = np.where(r == 0.0, 0.0, out)
    out[np.isnan(r)] = np.nan
    return out


def _forward(price: FloatArray, idx: IntArray) -> FloatArray:
    out = np.full(price.size, np.nan)
    known = idx >= 0
    out[known] = price[idx[known]] / price[known] - 1.0
    return out


def forward_returns(price: npt.ArrayLike, bars: int) -> FloatArray:
    """``price[t + bars] / price[t] - 1``; NaN for the last ``bars`` rows."""
    p = _prices("price", price)
    return _forward(p, horizon_index(p.size, bars))


def forward_returns_time(
    time_ns: npt.ArrayLike, price: npt.ArrayLike, horizon_ns: int
) -> FloatArray:
    """Return from ``price[t]`` to the price as of ``time[t] + horizon_ns``; NaN where the
    data ends before that time."""
    p = _prices("price", price)
    return _forward(p, time_horizon_index(_times(time_ns, p.size), horizon_ns))


@dataclass(frozen=True, slots=True)
class BarrierSpec:
    """Triple-barrier parameters: fractions of the entry price, round-trip fee included.

    ``take_profit`` and ``stop_loss`` are net returns (after ``fee``); ``side`` is +1 (long)
    or -1 (short); ``band`` is the dead band of the label at the time limit.
    """

    take_profit: float
    stop_loss: float
    fee: float = 0.0
    side: int = 1
    band: float = 0.0

    def __post_init__(self) -> None:
        for name in ("take_profit", "stop_loss", "fee", "band"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise LabelError(f"{name} must be finite and >= 0, got {value}")
        if self.take_profit <= 0:
            raise LabelError(f"take_profit must be > 0, got {self.take_profit}")
        if self.stop_loss <= self.fee:
            raise LabelError(
                f"stop_loss ({self.stop_loss}) must exceed the round-trip fee ({self.fee}): "
                "the net return starts at -fee"
            )
        if self.side not in (1, -1):
            raise LabelError(f"side must be +1 or -1, got {self.side}")

    def barrier_prices(self, entry: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(upper, lower) price barriers for entries at ``entry``."""
        tp = entry * (1.0 + self.side * (self.take_profit + self.fee))
        sl = entry * (1.0 - self.side * (self.stop_loss - self.fee))
        return (tp, sl) if self.side > 0 else (sl, tp)


@dataclass(frozen=True, slots=True)
class BarrierLabels:
    """Triple-barrier outcome per entry row; NaN / -1 where the outcome is not yet known."""

    label: FloatArray
    """+1 take-profit, -1 stop-loss, or the direction of the net return at the time limit."""
    barrier: FloatArray
    """Which barrier ended the trade: 1 take-profit, -1 stop-loss, 0 time limit."""
    exit_index: IntArray
    """Row of the exit, -1 when unknown."""
    exit_time_ns: IntArray
    """Time of the exit row (its ``time_ns``), -1 when unknown."""
    exit_price: FloatArray
    """Price the trade left at (barrier, gapped open, or close at the time limit)."""
    net_return: FloatArray
    """side · (exit / entry - 1) - fee."""


@_jit
def _scan(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    upper: FloatArray,
    lower: FloatArray,
    end: IntArray,
    side: int,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per entry t: (exit index, exit price, code 1 upper / -1 lower / 0 time, NaN unknown).

    ``end[t]`` is the last row inside the time limit, or -1 when the limit lies beyond the
    data (then a barrier hit before the data ends still decides the outcome).
    """
    n = close.size
    exit_idx = np.full(n, -1, dtype=np.int64)
    exit_px = np.full(n, np.nan)
    hit = np.full(n, np.nan)
    for t in range(n):
        up = upper[t]
        lo = lower[t]
        stop = end[t] if end[t] >= 0 else n - 1
        for j in range(t + 1, stop + 1):
            o = open_[j]
            if o >= up:
                exit_idx[t] = j
                exit_px[t] = o
                hit[t] = 1.0
                break
            if o <= lo:
                exit_idx[t] = j
                exit_px[t] = o
                hit[t] = -1.0
                break
            touch_up = high[j] >= up
            touch_lo = low[j] <= lo
            if touch_up and touch_lo:
                # Both inside one bar: assume the stop came first (conservative).
                stop_is_lower = side > 0
                exit_idx[t] = j
                exit_px[t] = lo if stop_is_lower else up
                hit[t] = -1.0 if stop_is_lower else 1.0
                break
            if touch_up:
                exit_idx[t] = j
                exit_px[t] = up
                hit[t] = 1.0
                break
            if touch_lo:
                exit_idx[t] = j
                exit_px[t] = lo
                hit[t] = -1.0
                break
        if exit_idx[t] < 0 and end[t] >= 0:
            exit_idx[t] = end[t]
            exit_px[t] = close[end[t]]
            hit[t] = 0.0
    return exit_idx, exit_px, hit


def _triple_barrier(
    time_ns: IntArray,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    end: IntArray,
    spec: BarrierSpec,
) -> BarrierLabels:
    upper, lower = spec.barrier_prices(close)
    exit_idx, exit_px, side_hit = _scan(open_, high, low, close, upper, lower, end, spec.side)
    # side_hit says which price barrier (upper +1 / lower -1); map it to tp / sl for the side.
    barrier = side_hit * spec.side
    net = spec.side * (exit_px / close - 1.0) - spec.fee
    at_time = barrier == TIME_LIMIT
    label = barrier.copy()
    label[at_time] = direction(net[at_time], spec.band)
    known = exit_idx >= 0
    exit_time = np.full(close.size, -1, dtype=np.int64)
    exit_time[known] = time_ns[exit_idx[known]]
    return BarrierLabels(label, barrier, exit_idx, exit_time, exit_px, net)


def triple_barrier(
    time_ns: npt.ArrayLike,
    close: npt.ArrayLike,
    spec: BarrierSpec,
    *,
    max_bars: int | None = None,
    horizon_ns: int | None = None,
    open_: npt.ArrayLike | None = None,
    high: npt.ArrayLike | None = None,
    low: npt.ArrayLike | None = None,
) -> BarrierLabels:
    """Triple-barrier labels for an entry at every row's ``close``.

    Exactly one time limit: ``max_bars`` (bars) or ``horizon_ns`` (time, as of
    ``time[t] + horizon_ns``). ``open_``/``high``/``low`` default to ``close`` (book samples).
    """
    if (max_bars is None) == (horizon_ns is None):
        raise LabelError("give exactly one time limit: max_bars or horizon_ns")
    c = _prices("close", close)
    n = c.size
    times = _times(time_ns, n)
    o = c if open_ is None else _prices("open", open_, n)
    h = c if high is None else _prices("high", high, n)
    lo = c if low is None else _prices("low", low, n)
    if np.any(h < np.maximum(np.maximum(o, c), lo)) or np.any(lo > np.minimum(o, c)):
        raise LabelError("high/low do not bound open and close on every bar")
    end = horizon_index(n, max_bars) if max_bars is not None else None
    if end is None:
        assert horizon_ns is not None
        end = time_horizon_index(times, horizon_ns)
    return _triple_barrier(times, o, h, lo, c, end, spec)


def parse_duration_ns(text: str) -> int:
    """``'500ms'``, ``'5s'``, ``'2m'``, ``'1h'`` -> nanoseconds (> 0)."""
    units = {"ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
    raw = text.strip().lower()
    for suffix in ("ms", "s", "m", "h"):
        if raw.endswith(suffix):
            number = raw[: -len(suffix)]
            try:
                value = float(number)
            except ValueError:
                break
            ns = round(value * units[suffix])
            if not math.isfinite(value) or ns <= 0:
                break
            return ns
    raise LabelError(f"bad duration {text!r}: expected e.g. 500ms, 5s, 2m, 1h")


def duration_text(ns: int) -> str:
    """The shortest exact spelling of ``ns`` in h/m/s/ms (for column names)."""
    for suffix, size in (("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000)):
        if ns % size == 0:
            return f"{ns // size}{suffix}"
    if ns % 1_000_000 == 0:
        return f"{ns // 1_000_000}ms"
    return f"{ns}ns"
