"""Trades → candles, candles → higher timeframes, and the incremental builders' parity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mftbot.core.errors import DataError
from mftbot.data.resample import (
    OHLCV,
    CandleAggregator,
    CandleResampler,
    candles_to_frame,
    resample_candles,
    trades_frame_to_candles,
    trades_to_candles,
)
from mftbot.data.timeframes import parse_timeframe
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed, TradeTick

SECOND = 10**9
MINUTE = 60 * SECOND
T0 = int(pd.Timestamp("2024-03-04 10:00", tz="UTC").value)  # a Monday

Trade = tuple[int, float, float, bool]  # time ns, price, amount, taker is buyer


# --------------------------------------------------------------------------- helpers


def reference_candles(trades: Sequence[Trade], step_ns: int) -> pd.DataFrame:
    """A plain-Python OHLCV builder: stable time order, amounts added left to right."""
    buckets: dict[int, list[float]] = {}
    for t, price, amount, is_buy in sorted(trades, key=lambda tr: tr[0]):
        key = t // step_ns * step_ns
        buy = amount if is_buy else 0.0
        c = buckets.get(key)
        if c is None:
            buckets[key] = [price, price, price, price, amount, 1, buy]
        else:
            c[1], c[2], c[3] = max(c[1], price), min(c[2], price), price
            c[4] += amount
            c[5] += 1
            c[6] += buy
    keys = sorted(buckets)
    index = pd.DatetimeIndex(np.array(keys, dtype="datetime64[ns]"), tz="UTC", name="time")
    rows = [buckets[k] for k in keys]
    frame = pd.DataFrame(
        {
            "open": [r[0] for r in rows],
            "high": [r[1] for r in rows],
            "low": [r[2] for r in rows],
            "close": [r[3] for r in rows],
            "volume": [r[4] for r in rows],
            "trades": np.array([r[5] for r in rows], dtype=np.int64),
            "buy_volume": [r[6] for r in rows],
        },
        index=index,
    )
    return frame.astype(dict.fromkeys((*OHLCV, "buy_volume"), np.float64))


def batch(trades: Sequence[Trade], timeframe: str, **kwargs: bool) -> pd.DataFrame:
    return trades_to_candles(
        np.array([t[0] for t in trades], dtype=np.int64),
        np.array([t[1] for t in trades]),
        np.array([t[2] for t in trades]),
        timeframe,
        side=np.array(["buy" if t[3] else "sell" for t in trades]),
        **kwargs,
    )


def tick(t: int, price: float, size: float, symbol: str = "BTC/USDT", n: int = 0) -> TradeTick:
    return TradeTick("binance", symbol, t, t + 5, price, size, Side.BUY, str(n))


def candle_frame(rows: Sequence[tuple[int, float, float, float, float, float]]) -> pd.DataFrame:
    index = pd.DatetimeIndex(
        np.array([r[0] for r in rows], dtype="datetime64[ns]"), tz="UTC", name="time"
    )
    data = {name: [float(r[i + 1]) for r in rows] for i, name in enumerate(OHLCV)}
    return pd.DataFrame(data, index=index)


def minute_candles(n: int, *, start: int = T0, skip: Sequence[int] = ()) -> pd.DataFrame:
    """``n`` one-minute candles with distinct prices/volumes, rows listed in ``skip`` left out."""
    rows = []
    for i in range(n):
        if i in skip:
            continue
        base = 100.0 + i
        rows.append((start + i * MINUTE, base, base + 0.5, base - 0.25, base + 0.25, 1.0 + i))
    return candle_frame(rows)


def events(frame: pd.DataFrame, timeframe: str, symbol: str = "BTC/USDT") -> list[CandleClosed]:
    tf = parse_timeframe(timeframe)
    out = []
    for t, row in zip(frame.index.asi8, frame.itertuples(index=False), strict=True):
        end = tf.next_start(int(t))
        out.append(
            CandleClosed(
                "binance", symbol, tf.text, int(t), end, end, row.open, row.high, row.low,
                row.close, row.volume,
            )
        )  # fmt: skip
    return out


amounts = st.sampled_from([1e16, 1.0, 0.1, 0.2, 3e-8, 123.456, 7.0, 1e-3])
trades_strategy = st.lists(
    st.tuples(
        st.integers(min_value=T0, max_value=T0 + 40 * MINUTE),
        st.sampled_from([99.5, 100.0, 100.25, 101.0, 0.001413]),
        amounts,
        st.booleans(),
    ),
    min_size=1,
    max_size=60,
)


# --------------------------------------------------------------------------- trades → candles


@settings(max_examples=200, deadline=None)
@given(trades=trades_strategy, timeframe=st.sampled_from(["1s", "1m", "5m", "1h"]))
def test_trades_to_candles_matches_a_plain_python_builder(
    trades: list[Trade], timeframe: str
) -> None:
    got = batch(trades, timeframe)
    expected = reference_candles(trades, parse_timeframe(timeframe).step_ns)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_equal_timestamps_keep_input_order_and_volume_adds_in_order() -> None:
    t = T0 + 10 * SECOND
    trades = [(t, 100.0, 1e16, True), (t, 101.0, 1.0, False), (t, 99.0, 1.0, True)]
    got = batch(trades, "1m")
    assert got[["open", "high", "low", "close"]].iloc[0].tolist() == [100.0, 101.0, 99.0, 99.0]
    # Left to right: (1e16 + 1) + 1 == 1e16 in float64; any other order gives 1e16 + 2.
    assert got["volume"].iloc[0] == 1e16
    assert got["buy_volume"].iloc[0] == 1e16 + 1.0 - 1.0
    assert got["trades"].iloc[0] == 3


def test_unsorted_trades_are_sorted_stably() -> None:
    trades = [
        (T0 + 70 * SECOND, 5.0, 1.0, True),
        (T0 + 10 * SECOND, 1.0, 1.0, True),
        (T0 + 70 * SECOND, 6.0, 1.0, True),
        (T0 + 10 * SECOND, 2.0, 1.0, True),
    ]
    got = batch(trades, "1m")
    assert got["open"].tolist() == [1.0, 5.0]
    assert got["close"].tolist() == [2.0, 6.0]


def test_buckets_without_trades_are_absent_or_filled_flat() -> None:
    trades = [(T0 + 5 * SECOND, 10.0, 2.0, True), (T0 + 3 * MINUTE + 1, 12.0, 1.0, False)]
    sparse = batch(trades, "1m")
    assert sparse.index.asi8.tolist() == [T0, T0 + 3 * MINUTE]
    filled = batch(trades, "1m", fill_gaps=True)
    assert filled.index.asi8.tolist() == [T0 + i * MINUTE for i in range(4)]
    flat = filled.iloc[1:3]
    assert (flat[["open", "high", "low", "close"]].to_numpy() == 10.0).all()
    assert flat["volume"].tolist() == [0.0, 0.0]
    assert flat["buy_volume"].tolist() == [0.0, 0.0]
    assert flat["trades"].tolist() == [0, 0]
    pd.testing.assert_frame_equal(filled.iloc[[0, 3]], sparse, check_exact=True)


def test_side_is_optional_and_accepts_booleans() -> None:
    times = np.array([T0, T0 + 1], dtype=np.int64)
    plain = trades_to_candles(times, [1.0, 2.0], [3.0, 4.0], "1m")
    assert list(plain.columns) == [*OHLCV, "trades"]
    flagged = trades_to_candles(times, [1.0, 2.0], [3.0, 4.0], "1m", side=np.array([False, True]))
    assert flagged["buy_volume"].tolist() == [4.0]


def test_datetime64_times_are_accepted() -> None:
    times = np.array([T0, T0 + MINUTE], dtype="datetime64[ns]").astype("datetime64[ms]")
    got = trades_to_candles(times, [1.0, 2.0], [1.0, 1.0], "1m")
    assert got.index.asi8.tolist() == [T0, T0 + MINUTE]
    assert str(got.index.dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize(
    ("times", "prices", "sizes", "side", "message"),
    [
        ([T0], [float("nan")], [1.0], None, "price"),
        ([T0], [-1.0], [1.0], None, "price"),
        ([T0], [1.0], [0.0], None, "amount"),
        ([T0], [1.0], [float("inf")], None, "amount"),
        ([T0, T0], [1.0], [1.0, 1.0], None, "length"),
        ([T0], [1.0], [1.0], ["hold"], "neither 'buy' nor 'sell'"),
        ([1.5], [1.0], [1.0], None, "dtype"),
    ],
)
def test_bad_trades_raise(
    times: list[float],
    prices: list[float],
    sizes: list[float],
    side: list[str] | None,
    message: str,
) -> None:
    with pytest.raises(DataError, match=message):
        trades_to_candles(np.array(times), prices, sizes, "1m", side=side)


def test_empty_trades_give_an_empty_frame() -> None:
    got = trades_to_candles(np.array([], dtype=np.int64), [], [], "5m", side=[])
    assert got.empty
    assert list(got.columns) == [*OHLCV, "trades", "buy_volume"]
    assert str(got.index.dtype) == "datetime64[ns, UTC]"


def test_trades_frame_matches_the_array_form() -> None:
    index = pd.DatetimeIndex(
        pd.to_datetime([T0 + 1, T0 + MINUTE + 2, T0 + 2 * MINUTE], unit="ns", utc=True),
        name="time",
    ).as_unit("us")
    frame = pd.DataFrame(
        {"price": [1.0, 2.0, 3.0], "amount": [0.5, 0.25, 1.0], "side": ["buy", "sell", "buy"]},
        index=index,
    )
    got = trades_frame_to_candles(frame, "1m")
    expected = trades_to_candles(
        index.as_unit("ns").asi8, frame["price"], frame["amount"], "1m", side=frame["side"]
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    no_side = trades_frame_to_candles(frame.assign(side=None), "1m")
    assert "buy_volume" not in no_side.columns
    with pytest.raises(DataError, match="neither"):
        trades_frame_to_candles(frame.assign(side=["buy", None, "sell"]), "1m")
    with pytest.raises(DataError, match="tz-aware"):
        trades_frame_to_candles(frame.tz_localize(None), "1m")
    with pytest.raises(DataError, match="missing columns"):
        trades_frame_to_candles(frame.drop(columns="amount"), "1m")


# --------------------------------------------------------------------------- candles → candles


def test_resample_matches_trades_at_the_higher_timeframe() -> None:
    rng = np.random.default_rng(7)
    span = 6 * 3600 * SECOND
    times = np.sort(np.r_[T0, rng.integers(T0, T0 + span, 5000), T0 + span - 1])
    prices = np.round(rng.lognormal(4.6, 0.01, len(times)), 2)
    sizes = rng.integers(1, 1000, len(times)).astype(np.float64)  # integers: exact in any order
    minute = trades_to_candles(times, prices, sizes, "1m", fill_gaps=True)
    assert len(minute) == 360
    for target in ["5m", "15m", "1h", "2h"]:
        direct = trades_to_candles(times, prices, sizes, target)
        got = resample_candles(minute, target)
        pd.testing.assert_frame_equal(got, direct, check_exact=True)


def test_gap_inside_a_bucket_drops_it_or_flags_it() -> None:
    minute = minute_candles(15, skip=[7])  # 10:07 missing: the 10:05 bucket is incomplete
    dropped = resample_candles(minute, "5m")
    assert dropped.index.asi8.tolist() == [T0, T0 + 10 * MINUTE]
    kept = resample_candles(minute, "5m", partial="keep")
    assert kept["candles"].tolist() == [5, 4, 5]
    assert kept["complete"].tolist() == [True, False, True]
    middle = kept.iloc[1]
    assert (middle["open"], middle["close"]) == (105.0, 109.25)
    assert middle["volume"] == 6.0 + 7.0 + 9.0 + 10.0
    pd.testing.assert_frame_equal(kept.loc[kept["complete"], list(OHLCV)], dropped)


def test_buckets_cut_by_the_edges_of_the_data_are_partial() -> None:
    minute = minute_candles(10, start=T0 + 3 * MINUTE)  # 10:03 .. 10:12
    kept = resample_candles(minute, "5m", partial="keep")
    assert kept.index.asi8.tolist() == [T0, T0 + 5 * MINUTE, T0 + 10 * MINUTE]
    assert kept["candles"].tolist() == [2, 5, 3]
    assert kept["complete"].tolist() == [False, True, False]
    assert resample_candles(minute, "5m").index.asi8.tolist() == [T0 + 5 * MINUTE]


def test_ohlcv_aggregation_rules() -> None:
    rows = [
        (T0, 10.0, 12.0, 9.0, 11.0, 1.5),
        (T0 + MINUTE, 11.0, 15.0, 10.5, 14.0, 2.5),
        (T0 + 2 * MINUTE, 14.0, 14.5, 8.0, 9.5, 4.0),
    ]
    got = resample_candles(candle_frame(rows), "3m")
    assert got.iloc[0].tolist() == [10.0, 15.0, 8.0, 9.5, 8.0]
    assert got.index[0] == pd.Timestamp(T0, unit="ns", tz="UTC")


def test_weekly_buckets_start_on_monday() -> None:
    day = 86_400 * SECOND
    start = int(pd.Timestamp("2024-01-03", tz="UTC").value)  # a Wednesday
    rows = [(start + i * day, 1.0 + i, 2.0 + i, 0.5 + i, 1.5 + i, 1.0) for i in range(14)]
    kept = resample_candles(candle_frame(rows), "1w", partial="keep")
    assert [str(t.date()) for t in kept.index] == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert kept["candles"].tolist() == [5, 7, 2]
    assert kept["complete"].tolist() == [False, True, False]


def test_monthly_buckets_know_month_lengths() -> None:
    day = 86_400 * SECOND
    start = int(pd.Timestamp("2024-02-01", tz="UTC").value)
    rows = [(start + i * day, 2.0, 3.0, 1.0, 2.0, 1.0) for i in range(29 + 31 + 3)]
    kept = resample_candles(candle_frame(rows), "1M", partial="keep")
    assert kept["candles"].tolist() == [29, 31, 3]
    assert kept["complete"].tolist() == [True, True, False]
    assert kept["volume"].tolist() == [29.0, 31.0, 3.0]


def test_extra_additive_columns_are_summed_and_others_dropped() -> None:
    minute = minute_candles(5)
    minute["trades"] = np.arange(5, dtype=np.int64)
    minute["buy_volume"] = 0.5
    minute["note"] = "x"
    got = resample_candles(minute, "5m")
    assert list(got.columns) == [*OHLCV, "buy_volume", "trades"]
    assert got["trades"].tolist() == [10]
    assert got["buy_volume"].tolist() == [2.5]


def test_incomplete_flags_carry_over_to_the_next_level() -> None:
    minute = minute_candles(30, skip=[2])
    five = resample_candles(minute, "5m", partial="keep")
    fifteen = resample_candles(five, "15m", partial="keep")
    assert fifteen["complete"].tolist() == [False, True]
    assert resample_candles(five, "15m").index.asi8.tolist() == [T0 + 15 * MINUTE]


def test_source_timeframe_is_inferred_or_given() -> None:
    minute = minute_candles(20, skip=[1, 3, 5, 7])
    assert resample_candles(minute, "5m", partial="keep")["candles"].tolist() == [3, 3, 5, 5]
    sparse = minute.iloc[::2]  # every other candle: inferred as 2m, which 5m is not a multiple of
    with pytest.raises(DataError, match="multiple"):
        resample_candles(sparse, "5m")
    given_tf = resample_candles(sparse, "5m", source_timeframe="1m", partial="keep")
    assert given_tf["complete"].tolist() == [False] * 4
    with pytest.raises(DataError, match="fewer than two"):
        resample_candles(minute.iloc[:1], "5m")
    one = resample_candles(minute.iloc[:1], "5m", source_timeframe="1m", partial="keep")
    assert one["candles"].tolist() == [1]


def test_mark_candles_with_all_nan_volume_resample() -> None:
    minute = minute_candles(5)
    minute["volume"] = np.nan
    got = resample_candles(minute, "5m")
    assert np.isnan(got["volume"].iloc[0])
    assert got["high"].iloc[0] == 104.5
    minute.iloc[0, minute.columns.get_loc("volume")] = 1.0
    with pytest.raises(DataError, match="volume"):
        resample_candles(minute, "5m")


def test_empty_candles_give_an_empty_frame() -> None:
    got = resample_candles(minute_candles(0), "1h", partial="keep")
    assert got.empty
    assert list(got.columns) == [*OHLCV, "candles", "complete"]


def _with(frame: pd.DataFrame, row: int, column: str, value: float) -> pd.DataFrame:
    out = frame.copy()
    out.iloc[row, out.columns.get_loc(column)] = value
    return out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: f.iloc[[0, 2, 1]], "out-of-order"),
        (lambda f: f.iloc[[0, 1, 1, 2]], "duplicate"),
        (lambda f: f.tz_localize(None), "naive"),
        (lambda f: f.reset_index(drop=True), "DatetimeIndex"),
        (lambda f: f.drop(columns="volume"), "missing columns"),
        (lambda f: _with(f, 1, "close", float("nan")), "bad close"),
        (lambda f: _with(f, 1, "open", 0.0), "bad open"),
        (lambda f: _with(f, 1, "volume", -1.0), "bad volume"),
        (lambda f: _with(f, 1, "high", 50.0), "high below"),
        (lambda f: _with(f, 1, "low", 101.1), "low above"),
        (lambda f: f.set_axis(f.index + pd.Timedelta(seconds=30)), "not on the 1m grid"),
    ],
)
def test_bad_candles_raise(make: object, message: str) -> None:
    bad = make(minute_candles(10))  # type: ignore[operator]
    with pytest.raises(DataError, match=message):
        resample_candles(bad, "5m", source_timeframe="1m")


def test_bad_timeframe_combinations_raise() -> None:
    minute = minute_candles(10)
    with pytest.raises(DataError, match="not a whole multiple"):
        resample_candles(minute, "5m", source_timeframe="3m")
    with pytest.raises(DataError, match="not a whole multiple"):
        resample_candles(resample_candles(minute, "5m"), "1m")
    with pytest.raises(DataError, match="partial"):
        resample_candles(minute, "5m", partial="maybe")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="not on a single timeframe grid"):
        resample_candles(minute.set_axis(minute.index.shift(7, freq="s")), "5m")


# --------------------------------------------------------------------------- incremental


def aggregate_live(trades: Sequence[Trade], timeframe: str, **kwargs: bool) -> pd.DataFrame:
    agg = CandleAggregator(timeframe, **kwargs)
    closed: list[CandleClosed] = []
    ordered = sorted(trades, key=lambda tr: tr[0])
    for n, (t, price, size, _) in enumerate(ordered):
        closed.extend(agg.on_trade(tick(t, price, size, n=n)))
    last_end = parse_timeframe(timeframe).next_start(
        parse_timeframe(timeframe).floor(ordered[-1][0])
    )
    closed.extend(agg.flush(last_end))
    assert agg.rejected == 0
    return candles_to_frame(closed)


@settings(max_examples=200, deadline=None)
@given(
    trades=trades_strategy,
    timeframe=st.sampled_from(["1s", "1m", "5m"]),
    fill_gaps=st.booleans(),
)
def test_aggregator_equals_batch_exactly(
    trades: list[Trade], timeframe: str, fill_gaps: bool
) -> None:
    live = aggregate_live(trades, timeframe, fill_gaps=fill_gaps)
    expected = batch(trades, timeframe, fill_gaps=fill_gaps)[list(OHLCV)]
    pd.testing.assert_frame_equal(live, expected, check_exact=True)


def test_aggregator_equals_batch_with_many_trades_per_candle() -> None:
    rng = np.random.default_rng(11)
    n = 3000  # ~300 trades a minute: float sums depend on the order of the additions
    times = np.sort(rng.integers(T0, T0 + 10 * MINUTE, n))
    trades = [
        (int(t), float(p), float(a), True)
        for t, p, a in zip(times, rng.uniform(99, 101, n), rng.lognormal(0, 3, n), strict=True)
    ]
    live = aggregate_live(trades, "1m")
    expected = batch(trades, "1m")
    pd.testing.assert_frame_equal(live, expected[list(OHLCV)], check_exact=True)
    pd.testing.assert_frame_equal(expected, reference_candles(trades, MINUTE), check_exact=True)


def test_aggregator_closes_a_candle_on_the_next_bucket_or_at_its_end() -> None:
    agg = CandleAggregator("1m")
    assert agg.on_trade(tick(T0 + 1, 10.0, 1.0)) == []
    assert agg.on_trade(tick(T0 + 59 * SECOND, 11.0, 2.0)) == []
    assert agg.flush(T0 + MINUTE - 1) == []
    closed = agg.flush(T0 + MINUTE)
    assert len(closed) == 1
    candle = closed[0]
    assert (candle.open_time, candle.ts_event, candle.ts_recv) == (T0, T0 + MINUTE, T0 + MINUTE)
    assert (candle.open, candle.high, candle.low, candle.close, candle.volume) == (
        10.0, 11.0, 10.0, 11.0, 3.0,
    )  # fmt: skip
    assert candle.timeframe == "1m"
    assert agg.flush(T0 + 10 * MINUTE) == []  # nothing forming, no gap filling
    nxt = agg.on_trade(tick(T0 + 3 * MINUTE, 12.0, 1.0))
    assert nxt == []
    by_trade = agg.on_trade(tick(T0 + 4 * MINUTE, 13.0, 1.0))
    assert [c.open_time for c in by_trade] == [T0 + 3 * MINUTE]
    assert by_trade[0].ts_recv == T0 + 4 * MINUTE + 5  # the closing trade's receive time


def test_aggregator_rejects_late_and_bad_trades() -> None:
    agg = CandleAggregator("1m")
    agg.on_trade(tick(T0 + MINUTE, 10.0, 1.0))
    assert agg.on_trade(tick(T0 + 30 * SECOND, 99.0, 1.0)) == []  # bucket before the forming one
    agg.flush(T0 + 2 * MINUTE)
    assert agg.on_trade(tick(T0 + 90 * SECOND, 99.0, 1.0)) == []  # bucket already emitted
    assert agg.on_trade(tick(T0 + 2 * MINUTE, float("nan"), 1.0)) == []
    assert agg.on_trade(tick(T0 + 2 * MINUTE, 10.0, -1.0)) == []
    assert agg.rejected == 4
    closed = agg.on_trade(tick(T0 + 2 * MINUTE, 10.0, 1.0)) + agg.flush(T0 + 3 * MINUTE)
    assert [(c.open_time, c.high, c.volume) for c in closed] == [(T0 + 2 * MINUTE, 10.0, 1.0)]


def test_aggregator_keeps_symbols_apart_and_fills_gaps_on_flush() -> None:
    agg = CandleAggregator("1m", fill_gaps=True)
    agg.on_trade(tick(T0, 10.0, 1.0, "BTC/USDT"))
    agg.on_trade(tick(T0 + 5, 20.0, 2.0, "ETH/USDT"))
    agg.on_trade(tick(T0 + 10, 11.0, 1.0, "BTC/USDT"))
    closed = agg.flush(T0 + 3 * MINUTE + 1)
    btc = [c for c in closed if c.symbol == "BTC/USDT"]
    eth = [c for c in closed if c.symbol == "ETH/USDT"]
    assert [c.open_time for c in btc] == [T0 + i * MINUTE for i in range(3)]
    assert [(c.close, c.volume) for c in btc] == [(11.0, 2.0), (11.0, 0.0), (11.0, 0.0)]
    assert [(c.close, c.volume) for c in eth] == [(20.0, 2.0), (20.0, 0.0), (20.0, 0.0)]
    assert agg.flush(T0 + 3 * MINUTE + 2) == []


def test_candles_to_frame_refuses_mixed_or_unordered_events() -> None:
    minute = events(minute_candles(3), "1m")
    assert candles_to_frame(minute).index.asi8.tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    with pytest.raises(DataError, match="several streams"):
        candles_to_frame([*minute, *events(minute_candles(1, start=T0 + 5 * MINUTE), "1m", "X/Y")])
    with pytest.raises(DataError, match="increasing"):
        candles_to_frame(minute[::-1])
    assert candles_to_frame([]).empty


def resample_live(candles: list[CandleClosed], source: str, target: str, **kw: str) -> pd.DataFrame:
    resampler = CandleResampler(source, target, **kw)  # type: ignore[arg-type]
    out: list[CandleClosed] = []
    for candle in candles:
        out.extend(resampler.on_candle(candle))
    out.extend(resampler.flush(candles[-1].ts_event + 10**15))
    return candles_to_frame(out)


@settings(max_examples=100, deadline=None)
@given(
    trades=trades_strategy,
    target=st.sampled_from(["2m", "5m", "15m"]),
    partial=st.sampled_from(["drop", "keep"]),
)
def test_resampler_equals_batch_exactly(trades: list[Trade], target: str, partial: str) -> None:
    minute = batch(trades, "1m")[list(OHLCV)]  # minutes without trades are gaps
    expected = resample_candles(minute, target, source_timeframe="1m", partial=partial)  # type: ignore[arg-type]
    live = resample_live(events(minute, "1m"), "1m", target, partial=partial)
    pd.testing.assert_frame_equal(live, expected[list(OHLCV)], check_exact=True)


def test_resampler_emits_when_the_last_constituent_arrives() -> None:
    minute = events(minute_candles(10, skip=[7]), "1m")
    resampler = CandleResampler("1m", "5m")
    outputs = [resampler.on_candle(c) for c in minute]
    assert [len(o) for o in outputs] == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    first = outputs[4][0]
    assert (first.open_time, first.ts_event, first.timeframe) == (T0, T0 + 5 * MINUTE, "5m")
    assert first.ts_recv == minute[4].ts_recv
    assert resampler.dropped == 1  # 10:05 bucket: 10:07 missing, dropped at 10:09


def test_resampler_finishes_a_bucket_whose_last_candle_never_comes() -> None:
    minute = events(minute_candles(12, skip=[4]), "1m")
    keep = CandleResampler("1m", "5m", partial="keep")
    outputs = [keep.on_candle(c) for c in minute]
    assert [len(o) for o in outputs] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert outputs[4][0].open_time == T0  # finished early by the 10:05 candle
    assert outputs[4][0].close == minute[3].close
    assert keep.flush(T0 + 15 * MINUTE - 1) == []
    assert [c.open_time for c in keep.flush(T0 + 15 * MINUTE)] == [T0 + 10 * MINUTE]


def test_resampler_rejects_duplicates_and_wrong_timeframes() -> None:
    minute = events(minute_candles(5), "1m")
    resampler = CandleResampler("1m", "5m")
    resampler.on_candle(minute[0])
    resampler.on_candle(minute[1])
    assert resampler.on_candle(minute[1]) == []
    assert resampler.rejected == 1
    with pytest.raises(DataError, match="got a 5m candle"):
        resampler.on_candle(events(minute_candles(5), "5m")[0])
    with pytest.raises(DataError, match="multiple"):
        CandleResampler("3m", "5m")
