"""Downsampling of long series for charts: per-bucket extremes plus points that must stay."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]


def downsample_indices(
    values: ArrayLike, max_points: int, keep: ArrayLike | None = None
) -> IntArray:
    """Sorted indices of at most ``max_points`` points that keep the series' shape.

    The series is cut into ``B = (max_points − |keep| − 2) // 2`` equal buckets and each bucket
    contributes its minimum and its maximum (so spikes and drawdown troughs survive); the first
    and last points and every index in ``keep`` (e.g. trade bars) are always kept. When ``keep``
    alone exceeds the budget, all of it is still kept. A series no longer than ``max_points``
    is returned whole.
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if max_points < 4:
        raise ValueError(f"max_points must be >= 4, got {max_points}")
    must = np.unique(np.clip(np.asarray(keep if keep is not None else [], np.int64), 0, n - 1))
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    buckets = max(1, (max_points - len(must) - 2) // 2)
    size = -(-n // buckets)
    padded = np.concatenate((v, np.full(size * buckets - n, v[-1])))
    grid = padded.reshape(buckets, size)
    offsets = np.arange(buckets, dtype=np.int64) * size
    lows = np.minimum(offsets + np.argmin(grid, axis=1), n - 1)
    highs = np.minimum(offsets + np.argmax(grid, axis=1), n - 1)
    picked = np.concatenate(([0, n - 1], lows, highs, must)).astype(np.int64)
    return np.unique(picked)
