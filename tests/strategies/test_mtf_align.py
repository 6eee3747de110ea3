"""Causal multi-timeframe alignment: a higher timeframe's bar is visible only from the base bar
that closes it, buckets sit on absolute time, gaps close a bucket at the next bucket's bar."""

from __future__ import annotations

import numpy as np
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.strategies.mtf_align import closed_bars, trend_of

M = 60_000_000_000
T0 = 1_750_000_000 * 1_000_000_000 // (60 * M) * (60 * M)  # an hour boundary


def minutes(closes: list[float], offsets: list[int] | None = None) -> CandleArrays:
    """1m candles at ``T0 + offset`` minutes (default 0, 1, 2, …), high/low ±1 around close."""
    close = np.asarray(closes, dtype=np.float64)
    at = np.arange(close.size) if offsets is None else np.asarray(offsets)
    return CandleArrays.from_arrays(
        open=close.copy(),
        high=close + 1.0,
        low=close - 1.0,
        close=close,
        volume=np.ones_like(close),
        time_ns=(T0 + at * M).astype(np.int64),
    )


def test_a_bucket_is_visible_from_the_bar_that_closes_it() -> None:
    candles = minutes([float(100 + i) for i in range(12)])
    bars = closed_bars(candles, M, 5 * M)
    assert bars.close.tolist() == [104.0, 109.0, 111.0]
    assert bars.high.tolist() == [105.0, 110.0, 112.0]
    assert bars.low.tolist() == [99.0, 104.0, 109.0]
    assert bars.open.tolist() == [100.0, 105.0, 110.0]
    assert (bars.end_ns - T0).tolist() == [5 * M, 10 * M, 15 * M]
    # rows 0-3 see nothing; row 4 (00:04, closes at 00:05) sees bucket 0; row 9 bucket 1
    assert bars.visible.tolist() == [-1, -1, -1, -1, 0, 0, 0, 0, 0, 1, 1, 1]
    seen = bars.at_rows(bars.close)
    assert np.isnan(seen[:4]).all()
    assert seen[4:].tolist() == [104.0] * 5 + [109.0] * 3


def test_changing_the_closing_bar_changes_only_rows_from_it_on() -> None:
    base = [float(100 + i) for i in range(12)]
    moved = list(base)
    moved[4] = 150.0  # the last bar of the first 5m bucket
    a = closed_bars(minutes(base), M, 5 * M)
    b = closed_bars(minutes(moved), M, 5 * M)
    seen_a, seen_b = a.at_rows(a.close), b.at_rows(b.close)
    np.testing.assert_array_equal(seen_a[:4], seen_b[:4])  # NaN both: not yet visible
    assert seen_a[4] == 104.0
    assert seen_b[4] == 150.0
    # and a bar inside a later, still open bucket never shows through
    later = list(base)
    later[7] = 500.0
    c = closed_bars(minutes(later), M, 5 * M)
    np.testing.assert_array_equal(c.at_rows(c.high)[:9], a.at_rows(a.high)[:9])
    assert c.at_rows(c.high)[9] == 501.0


def test_buckets_are_anchored_to_absolute_time_not_the_window() -> None:
    closes = [float(100 + i) for i in range(40)]
    full = closed_bars(minutes(closes), M, 15 * M)
    tail = closed_bars(minutes(closes[7:], list(range(7, 40))), M, 15 * M)
    assert ((full.end_ns - T0) % (15 * M) == 0).all()
    assert tail.end_ns.tolist() == full.end_ns.tolist()
    # rows past the first (partial) bucket of the tail read the same closed values
    np.testing.assert_array_equal(tail.at_rows(tail.close)[30 - 7 :], full.at_rows(full.close)[30:])


def test_a_missing_closing_bar_closes_the_bucket_at_the_next_buckets_bar() -> None:
    offsets = [0, 1, 2, 3, 6, 7, 8, 9, 10]  # 00:04 and 00:05 are missing
    candles = minutes([float(100 + i) for i in offsets], offsets)
    bars = closed_bars(candles, M, 5 * M)
    assert bars.close.tolist() == [103.0, 109.0, 110.0]
    # 00:06 opens the second bucket: the first one is closed there, one bar late
    assert bars.visible.tolist() == [-1, -1, -1, -1, 0, 0, 0, 1, 1]


def test_the_base_timeframe_is_its_own_closed_bars() -> None:
    candles = minutes([1.0, 2.0, 3.0])
    bars = closed_bars(candles, M, M)
    assert bars.visible.tolist() == [0, 1, 2]
    assert bars.close.tolist() == [1.0, 2.0, 3.0]
    gapped = closed_bars(minutes([1.0, 2.0, 3.0], [0, 1, 4]), M, M)
    assert gapped.visible.tolist() == [0, 1, 2]
    assert (gapped.end_ns - T0).tolist() == [M, 2 * M, 5 * M]
    # the same buckets through the general path (a 2m timeframe over 2m-spaced bars)
    wide = closed_bars(minutes([1.0, 2.0, 3.0], [0, 2, 6]), M, 2 * M)
    assert wide.visible.tolist() == [-1, 0, 1]


def test_bad_steps_are_refused() -> None:
    with pytest.raises(ValueError, match="base step"):
        closed_bars(minutes([1.0]), 5 * M, M)
    empty = closed_bars(minutes([]), M, 5 * M)
    assert len(empty) == 0
    assert empty.visible.size == 0


def test_trend_is_up_above_a_rising_average_and_down_below_a_falling_one() -> None:
    up = closed_bars(minutes([100.0 + i for i in range(30)]), M, M)
    trend = trend_of(up, 5)
    assert np.isnan(trend.direction[:5]).all()  # SMA from row 4, its slope from row 5
    assert (trend.direction[5:] == 1.0).all()
    assert ((trend.strength[5:] > 0) & (trend.strength[5:] <= 1)).all()
    down = trend_of(closed_bars(minutes([200.0 - i for i in range(30)]), M, M), 5)
    assert (down.direction[5:] == -1.0).all()
    flat = trend_of(closed_bars(minutes([100.0] * 30), M, M), 5)
    assert (flat.direction[5:] == 0.0).all()
    assert (flat.strength[5:] == 0.0).all()
    with pytest.raises(ValueError, match="period"):
        trend_of(up, 1)
