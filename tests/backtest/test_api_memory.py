"""The quick backtest's memory-lean paths: views of the input, a writable equity, fast = step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest.api import BacktestError, backtest, utc_index, validate_candles


def candles(n: int = 400) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC").as_unit("ns")
    close = 100.0 + np.cumsum(np.sin(np.arange(n) / 7.0))
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0},
        index=index,
    )


def test_candle_arrays_are_views_of_the_frame() -> None:
    df = candles()
    arrays = validate_candles(df)
    assert np.shares_memory(arrays.time_ns, df.index.asi8)
    assert np.shares_memory(arrays.close, df["close"].to_numpy())


def test_chunked_checks_find_the_first_bad_row() -> None:
    df = candles(70_000)
    df.iloc[66_000, df.columns.get_loc("high")] = 1.0  # below open and close
    df.iloc[69_000, df.columns.get_loc("volume")] = -1.0
    with pytest.raises(BacktestError, match=r"row 66000\): high is below"):
        validate_candles(df)
    times = df.index.asi8.copy()
    times[67_000] = times[66_999]
    with pytest.raises(BacktestError, match="repeats"):
        validate_candles(df.set_axis(pd.to_datetime(times, utc=True)))


def test_utc_index_shares_the_buffer() -> None:
    times = np.arange(5, dtype=np.int64) * 60_000_000_000
    index = utc_index(times)
    assert np.shares_memory(index.asi8, times)
    assert index.equals(pd.DatetimeIndex(pd.to_datetime(times, utc=True), name="time"))


def test_step_equals_fast_and_its_equity_is_writable() -> None:
    df = candles()
    fast = backtest("sma_cross", df, mode="fast")
    step = backtest("sma_cross", df, mode="step")
    assert len(step.trades) > 2
    pd.testing.assert_frame_equal(step.trades, fast.trades)
    pd.testing.assert_series_equal(step.equity, fast.equity)
    assert step.final_equity == fast.final_equity
    step.equity.iloc[0] = 1.0  # the recorder's buffer is the result's own now
    assert step.equity.iloc[0] == 1.0
