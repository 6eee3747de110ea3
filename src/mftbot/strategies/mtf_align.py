"""Causal multi-timeframe alignment: higher-timeframe bars built from a base-timeframe window,
each visible only from the base bar that closes it.

Buckets are anchored to absolute time (multiples of the timeframe since the epoch, or since a
Monday for weeks), never to the window's first bar, so a rolling window and the full history
cut the same buckets. A base bar opening at ``t`` closes at ``t + base_step``; the bucket
``[b, b + tf)`` is closed at the first base bar whose close reaches ``b + tf`` (its last bar) or,
when that bar is missing (a gap), at the first bar of a later bucket. Until then every base bar
sees the previous closed bucket: a higher timeframe's value never leaks into the bars it is
built from.

:func:`trend_of` is the per-timeframe trend measure (a finite window, so it needs no settling):
up when the bucket's close is above the simple moving average of the last ``period`` closes and
that average rose, down for the mirror, flat otherwise; its strength is the distance of the
close from the average in units of the mean bucket range, capped at 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.analysis.registry import CandleArrays

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ClosedBars:
    """The buckets of one timeframe present in a base window, and what each base row sees.

    ``open high low close`` and ``end_ns`` have one entry per bucket (in time order);
    ``visible[t]`` is the index of the latest bucket closed at base row ``t``'s close
    (−1: none yet).
    """

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    end_ns: IntArray
    visible: IntArray

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def at_rows(self, values: FloatArray) -> FloatArray:
        """Per-bucket ``values`` read at each base row (NaN where no bucket is visible)."""
        if values.shape != self.close.shape:
            raise ValueError(f"values need {len(self)} rows, got {values.shape}")
        out = np.full(self.visible.shape[0], np.nan)
        seen = self.visible >= 0
        out[seen] = values[self.visible[seen]]
        return out


def closed_bars(
    window: CandleArrays, base_step_ns: int, tf_step_ns: int, origin_ns: int = 0
) -> ClosedBars:
    """Resample ``window`` (bars of ``base_step_ns``) to ``tf_step_ns`` buckets, causally."""
    if base_step_ns <= 0 or tf_step_ns < base_step_ns:
        raise ValueError(f"need 0 < base step <= timeframe, got {base_step_ns}, {tf_step_ns}")
    times = window.time_ns.astype(np.int64, copy=False)
    n = times.shape[0]
    spaced = n < 2 or int(np.diff(times).min()) >= base_step_ns
    if tf_step_ns == base_step_ns and origin_ns == 0 and spaced:  # a bucket per base bar
        end = (times // tf_step_ns + 1) * tf_step_ns
        rows = np.arange(n, dtype=np.int64)
        visible = np.where(times + base_step_ns >= end, rows, rows - 1)
        return ClosedBars(window.open, window.high, window.low, window.close, end, visible)
    if n == 0:
        empty = np.empty(0)
        return ClosedBars(empty, empty, empty, empty, np.empty(0, np.int64), np.empty(0, np.int64))
    bucket = (times - origin_ns) // tf_step_ns
    new = np.empty(n, dtype=np.bool_)
    new[0] = True
    np.not_equal(bucket[1:], bucket[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    last = np.empty(starts.shape[0], dtype=np.int64)
    last[:-1] = starts[1:] - 1
    last[-1] = n - 1
    end_ns = (bucket[starts] + 1) * tf_step_ns + origin_ns
    position = np.cumsum(new, dtype=np.int64) - 1
    closes_bucket = times + base_step_ns >= end_ns[position]
    visible = np.where(closes_bucket, position, position - 1)
    return ClosedBars(
        open=window.open[starts],
        high=np.maximum.reduceat(window.high, starts),
        low=np.minimum.reduceat(window.low, starts),
        close=window.close[last],
        end_ns=end_ns,
        visible=visible,
    )


@dataclass(frozen=True, slots=True)
class Trend:
    """A trend per bucket: ``direction`` +1 / −1 / 0 (NaN until ``period + 1`` buckets exist)
    and ``strength`` in [0, 1] (NaN likewise)."""

    direction: FloatArray
    strength: FloatArray


def _window_mean(values: FloatArray, period: int) -> FloatArray:
    """Mean of the last ``period`` values per row (NaN before), each row summed in the same
    fixed order, so the value does not depend on where the input started."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    rows = n - period + 1
    if rows > 0:
        total = values[:rows].copy()
        for j in range(1, period):
            total += values[j : j + rows]
        out[period - 1 :] = total / period
    return out


def trend_of(bars: ClosedBars, period: int) -> Trend:
    """Close against its ``period``-bucket SMA and the SMA's slope (see the module doc)."""
    if period < 2:
        raise ValueError(f"period must be >= 2, got {period}")
    close = bars.close
    average = _window_mean(close, period)
    spread = _window_mean(bars.high - bars.low, period)
    rising = np.full(close.shape[0], np.nan)
    rising[1:] = average[1:] - average[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        above = close - average
        up = (above > 0) & (rising > 0)
        down = (above < 0) & (rising < 0)
        direction = up.astype(np.float64) - down.astype(np.float64)
        strength = np.where(spread > 0, np.minimum(np.abs(above) / spread, 1.0), 0.0)
    ready = np.isfinite(rising)
    direction[~ready] = np.nan
    strength[~ready] = np.nan
    return Trend(direction, strength)
