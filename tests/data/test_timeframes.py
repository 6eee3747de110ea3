"""Timeframe parsing, bucket alignment (Binance grid) and multiples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftbot.core.errors import DataError
from mftbot.data.timeframes import (
    Timeframe,
    is_multiple,
    parse_timeframe,
    timeframe_to_ns,
)

MINUTE = 60 * 10**9
DAY = 86_400 * 10**9
CCXT_FIXED = ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"]
# 1900-01-01 .. 2200-01-01, ns since the epoch: both sides of 1970.
TIMES = st.integers(min_value=-2_208_988_800 * 10**9, max_value=7_258_118_400 * 10**9)


def ts(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


@pytest.mark.parametrize("text", [*CCXT_FIXED, "3d", "1w"])
def test_fixed_timeframes_have_pandas_lengths(text: str) -> None:
    amount, unit = int(text[:-1]), text[-1]
    pandas_unit = {"s": "s", "m": "min", "h": "h", "d": "D", "w": "W"}[unit]
    assert timeframe_to_ns(text) == pd.Timedelta(amount, unit=pandas_unit).value
    assert parse_timeframe(text).text == text


@pytest.mark.parametrize(
    "bad", ["", "m", "0m", "01m", "1.5h", "5 m", "1Y", "1y", "-1m", "1mo", "1000000m", "h1"]
)
def test_malformed_timeframes_are_rejected(bad: str) -> None:
    with pytest.raises(DataError, match="bad timeframe"):
        parse_timeframe(bad)


def test_non_string_timeframe_is_rejected() -> None:
    with pytest.raises(DataError, match="bad timeframe"):
        parse_timeframe(5)  # type: ignore[arg-type]


def test_calendar_month_has_no_fixed_length() -> None:
    month = parse_timeframe("1M")
    assert month.is_calendar
    with pytest.raises(DataError, match="calendar"):
        timeframe_to_ns("1M")


def test_parse_accepts_a_parsed_timeframe() -> None:
    tf = Timeframe(4, "h")
    assert parse_timeframe(tf) is tf
    assert parse_timeframe("4h") == tf


@pytest.mark.parametrize("text", CCXT_FIXED)
@given(t=TIMES)
def test_fixed_buckets_match_pandas_floor_from_the_epoch(text: str, t: int) -> None:
    tf = parse_timeframe(text)
    start = tf.floor(t)
    expected = pd.Timestamp(t, unit="ns", tz="UTC").floor(pd.Timedelta(tf.step_ns)).value
    assert start == expected
    assert start <= t < tf.next_start(start)


@given(t=TIMES)
def test_weeks_start_on_monday_midnight_utc(t: int) -> None:
    start = parse_timeframe("1w").floor(t)
    period = pd.Timestamp(t, unit="ns", tz="UTC").tz_localize(None).to_period("W-SUN")
    assert start == period.start_time.tz_localize("UTC").value
    assert pd.Timestamp(start, unit="ns").day_of_week == 0


@given(t=TIMES)
def test_months_are_calendar_months(t: int) -> None:
    tf = parse_timeframe("1M")
    start = tf.floor(t)
    period = pd.Timestamp(t, unit="ns", tz="UTC").tz_localize(None).to_period("M")
    assert start == period.start_time.tz_localize("UTC").value
    assert tf.next_start(start) == (period + 1).start_time.tz_localize("UTC").value


def test_three_day_buckets_are_epoch_aligned() -> None:
    tf = parse_timeframe("3d")
    assert tf.floor(ts("1970-01-03 23:59")) == 0
    assert tf.floor(ts("1970-01-04")) == 3 * DAY
    assert tf.floor(ts("1969-12-31")) == -3 * DAY


def test_known_dates() -> None:
    assert parse_timeframe("1d").floor(ts("2024-02-29 23:59:59.999")) == ts("2024-02-29")
    assert parse_timeframe("1w").floor(ts("2024-01-07 23:00")) == ts("2024-01-01")  # a Monday
    assert parse_timeframe("1w").floor(ts("2024-01-08")) == ts("2024-01-08")
    assert parse_timeframe("3M").floor(ts("2024-05-31")) == ts("2024-04-01")
    assert parse_timeframe("4h").floor(ts("2024-03-10 03:59")) == ts("2024-03-10")


def test_vectorised_floor_equals_scalar_floor() -> None:
    times = np.array([ts("2024-02-29 12:34"), ts("1969-07-20 20:17"), 0, -1], dtype=np.int64)
    for text in ["1m", "1h", "1w", "1M", "2M"]:
        tf = parse_timeframe(text)
        assert tf.floor_array(times).tolist() == [tf.floor(int(t)) for t in times]
        assert tf.is_aligned(tf.floor_array(times)).all()


def test_bucket_starts_cover_the_span() -> None:
    month = parse_timeframe("1M")
    starts = month.bucket_starts(ts("2023-11-15"), ts("2024-02-01"))
    assert starts.tolist() == [
        ts(d) for d in ["2023-11-01", "2023-12-01", "2024-01-01", "2024-02-01"]
    ]
    hour = parse_timeframe("1h")
    assert hour.bucket_starts(ts("2024-01-01 00:30"), ts("2024-01-01 02:00")).tolist() == [
        ts("2024-01-01 00:00"),
        ts("2024-01-01 01:00"),
        ts("2024-01-01 02:00"),
    ]
    assert len(hour.bucket_starts(10, 5)) == 0


def test_count_starts_knows_month_lengths() -> None:
    feb = np.array([ts("2024-02-01")], dtype=np.int64)
    end = parse_timeframe("1M").next_start_array(feb)
    assert parse_timeframe("1d").count_starts(feb, end).tolist() == [29]
    assert parse_timeframe("1h").count_starts(feb, end).tolist() == [29 * 24]
    year = np.array([ts("2024-01-01")], dtype=np.int64)
    assert parse_timeframe("1M").count_starts(year, np.array([ts("2025-01-01")])).tolist() == [12]


@pytest.mark.parametrize(
    ("higher", "lower", "expected"),
    [
        ("5m", "1m", True),
        ("1h", "15m", True),
        ("1h", "1h", True),
        ("1d", "8h", True),
        ("12h", "8h", False),
        ("10m", "3m", False),
        ("1m", "5m", False),
        ("1w", "1d", True),
        ("1w", "4h", True),
        ("1w", "3d", False),
        ("1w", "2d", False),
        ("2w", "1w", True),
        ("1M", "1d", True),
        ("1M", "4h", True),
        ("1M", "1w", False),
        ("1M", "3d", False),
        ("3M", "1M", True),
        ("2M", "3M", False),
        ("1d", "1M", False),
        ("7d", "1w", False),
    ],
)
def test_is_multiple(higher: str, lower: str, expected: bool) -> None:
    assert is_multiple(higher, lower) is expected


@pytest.mark.parametrize(("higher", "lower"), [("1w", "1d"), ("1M", "6h"), ("1h", "5m")])
@given(t=TIMES)
def test_multiples_share_boundaries(higher: str, lower: str, t: int) -> None:
    hi, lo = parse_timeframe(higher), parse_timeframe(lower)
    start = hi.floor(t)
    assert lo.floor(start) == start
    assert lo.floor(hi.next_start(start)) == hi.next_start(start)
