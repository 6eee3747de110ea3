"""Order-book metrics: hand-computed books, and plain-Python references on real BTC/USDT."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis import book_metrics as bm
from mftbot.data.binance_recording import read_binance_recording
from mftbot.domain.book_sync import make_synchronizer
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, TradeTick
from mftbot.domain.orderbook import OrderBook

NAN = math.nan


def book(levels: list[tuple[float, float]], depth: int = 5) -> np.ndarray:
    out = np.full((depth, 2), NAN)
    if levels:
        out[: len(levels)] = levels
    return out


BIDS = book([(100.0, 2.0), (99.0, 1.0), (98.0, 3.0)])
ASKS = book([(101.0, 1.0), (102.0, 4.0)])


def test_snapshot_metrics_by_hand() -> None:
    assert bm.mid_price(BIDS, ASKS) == 100.5
    assert bm.spread(BIDS, ASKS) == 1.0
    assert bm.spread_bps(BIDS, ASKS) == pytest.approx(1.0 / 100.5 * 1e4)
    assert bm.microprice(BIDS, ASKS) == pytest.approx((100 * 1 + 101 * 2) / 3)
    assert bm.side_depth(BIDS, 2) == 3.0
    assert bm.side_depth(BIDS) == 6.0
    assert bm.side_depth(ASKS, 5) == 5.0  # fewer levels than asked: the ones present
    assert bm.side_notional(BIDS, 2) == 299.0
    assert bm.side_vwap(BIDS, 2) == pytest.approx(299.0 / 3.0)
    assert bm.side_vwap(ASKS, 1) == 101.0
    assert bm.depth_imbalance(BIDS, ASKS, 1) == pytest.approx((2 - 1) / 3)
    assert bm.depth_imbalance(BIDS, ASKS) == pytest.approx((6 - 5) / 11)
    empty = book([])
    assert np.isnan(bm.side_depth(empty))
    assert np.isnan(bm.side_vwap(empty, 5))


def test_metrics_vectorise_over_books() -> None:
    other_bids = book([(50.0, 1.0)])
    other_asks = book([(50.5, 3.0), (51.0, 1.0)])
    bids = np.stack([BIDS, other_bids])
    asks = np.stack([ASKS, other_asks])
    for fn in (bm.mid_price, bm.spread_bps, bm.microprice, bm.depth_imbalance):
        together = fn(bids, asks)
        assert together.shape == (2,)
        assert together[0] == fn(BIDS, ASKS)
        assert together[1] == fn(other_bids, other_asks)
    assert list(bm.side_vwap(asks, 2)) == [pytest.approx(509 / 5), pytest.approx(202.5 / 4)]


def test_padded_levels_match_the_book() -> None:
    ob = OrderBook("binance", "X/USDT")
    ob.apply_snapshot([(100.0, 2.0), (98.0, 3.0), (99.0, 1.0)], [(102.0, 4.0), (101.0, 1.0)])
    bids, asks = bm.padded_levels(ob, 5)
    np.testing.assert_array_equal(bids, BIDS)
    np.testing.assert_array_equal(asks, ASKS)
    assert bm.microprice(bids, asks) == pytest.approx(ob.microprice())


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="levels"):
        bm.side_depth(np.ones((3, 3)))
    with pytest.raises(ValueError, match="n must be"):
        bm.side_depth(BIDS, 0)
    with pytest.raises(ValueError, match="window"):
        bm.window_sum(np.ones(5), 0)
    with pytest.raises(ValueError, match="notional"):
        bm.amihud_illiquidity(np.ones(3), np.array([1.0, -1.0, 1.0]), 2)


def test_ofi_by_hand() -> None:
    # bid up (new size counts), ask unchanged price with more size (adds to supply: -)
    assert bm.ofi_increment(100, 2, 101, 1, 100.5, 3, 101, 4) == 3 - 4 + 1
    # bid down: the old bid size was removed
    assert bm.ofi_increment(100, 2, 101, 1, 99, 5, 101, 1) == -2 - 1 + 1
    # ask down (new ask adds supply), bid same size change
    assert bm.ofi_increment(100, 2, 101, 1, 100, 1, 100.5, 2) == (1 - 2) - 2
    e = bm.order_flow_imbalance([100, 100.5, 99], [2, 3, 5], [101, 101, 101], [1, 4, 1])
    assert np.isnan(e[0])
    assert e[1] == 0.0
    assert e[2] == -3 - 1 + 4
    state = bm.OrderFlowImbalance()
    assert math.isnan(state.update(100, 2, 101, 1))
    assert state.update(100.5, 3, 101, 4) == 0.0
    assert math.isnan(state.update(NAN, 3, 101, 4))
    assert math.isnan(state.update(100, 3, 101, 4))  # restarted after the NaN quote


def test_window_sum_and_std_match_pandas() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    x[50] = NAN
    s = pd.Series(x)
    np.testing.assert_allclose(bm.window_sum(x, 7), s.rolling(7).sum(), rtol=1e-12)
    np.testing.assert_allclose(bm.window_std(x, 7), s.rolling(7).std(), rtol=1e-9)


def test_kyle_lambda_by_hand() -> None:
    x = np.array([1.0, -2.0, 3.0, 0.5, -1.0, 2.0])
    lam = bm.kyle_lambda(2.0 * x + 1.0, x, 3)
    assert np.isnan(lam[:2]).all()
    np.testing.assert_allclose(lam[2:], 2.0)
    assert np.isnan(bm.kyle_lambda(x, np.zeros(6), 3)[2:]).all()  # no signed volume: NaN
    state = bm.KyleLambda(3)
    got = [state.update(2.0 * v + 1.0, v) for v in x]
    np.testing.assert_array_equal(got, lam)


def test_amihud_by_hand() -> None:
    r = np.array([1.0, -2.0, 4.0, NAN, 1.0, 1.0, -2.0])
    v = np.array([1.0, 0.0, 2.0, 1.0, 1.0, 1.0, 4.0])
    out = bm.amihud_illiquidity(r, v, 3)
    assert np.isnan(out[:2]).all()
    assert out[2] == 1.5  # |1|/1 and |4|/2; the interval without trades is left out
    assert np.isnan(out[3:6]).all()  # windows holding the NaN return
    assert out[6] == pytest.approx((1.0 + 1.0 + 0.5) / 3)
    state = bm.AmihudIlliquidity(3)
    np.testing.assert_array_equal([state.update(a, b) for a, b in zip(r, v, strict=True)], out)
    assert np.isnan(bm.amihud_illiquidity(r[:3], np.zeros(3), 3)[2])


def test_roll_spread_by_hand() -> None:
    bounce = [100.0, 101.0, 100.0, 101.0, 100.0, 101.0]
    dp = np.diff(bounce)
    cov = statistics.covariance(list(dp[1:]), list(dp[:-1]))
    assert bm.roll_spread(bounce) == pytest.approx(2 * math.sqrt(-cov))
    trend = [100.0, 101.0, 102.0, 103.0, 104.0]  # cov >= 0: undefined
    assert math.isnan(bm.roll_spread(trend))
    assert bm.roll_spread(trend, nonnegative="zero") == 0.0
    assert math.isnan(bm.roll_spread([1.0, 2.0]))


def test_effective_spread_by_hand() -> None:
    got = bm.effective_spread_bps([101.0, 99.5], [100.0, 100.0])
    np.testing.assert_allclose(got, [200.0, 100.0])


def test_level_lifetimes_by_hand() -> None:
    s = 1_000_000_000
    times = np.array([0, 1, 2, 3, 4, 5]) * s
    prices = np.array(
        [
            [10.0, 9.0, NAN],  # first book: 10 and 9 have unknown entry times
            [10.0, 8.0, NAN],  # 9 leaves (censored, not counted); 8 enters at 1
            [10.0, 8.0, 7.0],  # 7 enters at 2
            [8.0, NAN, NAN],  # 10 leaves (censored), 7 leaves after 1 s
            [NAN, NAN, NAN],  # no book: NaN, tracking restarts
            [8.0, 6.0, NAN],  # both censored again
        ]
    )
    sums = bm.level_lifetimes(times, prices)
    np.testing.assert_array_equal(sums.count[:4], [0, 0, 0, 1])
    assert sums.total[3] == 1.0
    assert np.isnan(sums.total[4])
    assert sums.count[5] == 0
    tracker = bm.LevelLifetimeTracker()
    ended = [tracker.update(int(t), row) for t, row in zip(times, prices, strict=True)]
    assert ended == [[], [], [], [1.0], [], []]
    # 8 leaves at 6 having entered at 1 — but the restart at 4 made it censored
    more = bm.level_lifetimes(np.append(times, 6 * s), np.vstack([prices, [[6.0, NAN, NAN]]]))
    assert more.count[6] == 0
    lives = bm.LifetimeSums(np.array([2.0, 4.0]), np.array([4.0, 16.0]), np.array([1.0, 1.0]))
    mean, std = bm.ttl_stats(lives, 2)
    assert mean[1] == 3.0
    assert std[1] == 1.0
    assert np.isnan(mean[0])


def test_event_rate_and_bbo_changes_by_hand() -> None:
    s = 1_000_000_000
    events = np.array([1, 2, 2, 5, 9]) * s
    np.testing.assert_allclose(
        bm.event_rate(events, [2 * s, 5 * s, 10 * s], 3 * s), [1, 1 / 3, 1 / 3]
    )
    rate = bm.EventRate(3 * s)
    for t in events[:4]:
        rate.add(int(t))
    assert rate.rate(5 * s) == pytest.approx(1 / 3)
    changed = bm.bbo_changed([1, 1, 1, 2], [5, 5, 6, 6], [3, 3, 3, 3], [1, 1, 1, 1])
    assert changed.tolist() == [False, False, True, True]


def test_level_clusters_by_hand() -> None:
    side = book([(100.0, 1.0), (99.9, 1.0), (99.8, 1.0), (99.0, 5.0), (98.9, 5.0)], depth=6)
    stats = bm.level_clusters(side, gap_factor=2.0)
    assert stats.count == 2.0
    assert stats.volume == 10.0
    assert stats.price == pytest.approx(98.95)
    single = bm.level_clusters(book([(5.0, 2.0)]))
    assert (single.count, single.price, single.volume) == (1.0, 5.0, 2.0)
    assert np.isnan(bm.level_clusters(book([])).count)


# -- real data: the first minutes of BTC/USDT spot ------------------------------------------


def _first_minutes(data_dir: Path, minutes: float) -> Iterator[MarketEvent]:
    path = data_dir / "hftbacktest" / "binance_spot" / "btcusdt_20240808.gz"
    events = read_binance_recording(path)
    first = next(events)
    stop = first.ts_recv + int(minutes * 60e9)
    return itertools.chain([first], itertools.takewhile(lambda e: e.ts_recv < stop, events))


@pytest.fixture(scope="module")
def btc(data_dir: Path) -> dict[str, np.ndarray]:
    """BBO and top-10 bid prices after every book update, trades, and 1 s samples."""
    sync = make_synchronizer("binance", "BTC/USDT")
    quotes: list[tuple[float, float, float, float]] = []
    tops: list[np.ndarray] = []
    times: list[int] = []
    trades: list[tuple[float, float, bool]] = []
    seconds: list[tuple[float, float]] = []  # (mid, signed notional) per second
    signed = 0.0
    next_second: int | None = None
    for ev in _first_minutes(data_dir, 4):
        if next_second is None:
            next_second = (ev.ts_recv // 1_000_000_000 + 1) * 1_000_000_000
        while ev.ts_recv > next_second:
            mid = sync.book.mid() if sync.is_ready else None
            if mid is not None:
                seconds.append((mid, signed))
            signed = 0.0
            next_second += 1_000_000_000
        if isinstance(ev, BookDelta | BookSnapshot):
            if sync.on_event(ev):
                bid, ask = sync.book.best_bid, sync.book.best_ask
                assert bid is not None
                assert ask is not None
                quotes.append((bid[0], bid[1], ask[0], ask[1]))
                tops.append(bm.padded_levels(sync.book, 10)[0][:, 0])
                times.append(ev.ts_recv)
        elif isinstance(ev, TradeTick):
            buy = ev.side is Side.BUY
            trades.append((ev.price, ev.size, buy))
            signed += (1 if buy else -1) * ev.price * ev.size
    return {
        "quotes": np.array(quotes),
        "tops": np.array(tops),
        "times": np.array(times, dtype=np.int64),
        "trades": np.array(trades),
        "seconds": np.array(seconds),
    }


@pytest.mark.realdata
def test_ofi_on_real_books_matches_a_plain_loop(btc: dict[str, np.ndarray]) -> None:
    q = btc["quotes"]
    assert len(q) > 2000
    expected = [NAN]
    for (pb0, qb0, pa0, qa0), (pb, qb, pa, qa) in itertools.pairwise(q.tolist()):
        e = (qb if pb >= pb0 else 0.0) - (qb0 if pb <= pb0 else 0.0)
        e += -(qa if pa <= pa0 else 0.0) + (qa0 if pa >= pa0 else 0.0)
        expected.append(e)
    got = bm.order_flow_imbalance(q[:, 0], q[:, 1], q[:, 2], q[:, 3])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    state = bm.OrderFlowImbalance()
    incremental = [state.update(*row) for row in q.tolist()]
    np.testing.assert_allclose(incremental, expected, rtol=1e-12, atol=1e-12)
    assert np.count_nonzero(got[1:]) > len(q) // 2


@pytest.mark.realdata
def test_kyle_lambda_on_real_seconds_matches_statistics(btc: dict[str, np.ndarray]) -> None:
    sec = btc["seconds"]
    dmid = np.diff(sec[:, 0])
    signed = sec[1:, 1] / 1e6
    window = 30
    got = bm.kyle_lambda(dmid, signed, window)
    checked = 0
    for i in range(window - 1, dmid.size):
        x = list(signed[i - window + 1 : i + 1])
        y = list(dmid[i - window + 1 : i + 1])
        expected = statistics.linear_regression(x, y).slope
        assert got[i] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        checked += 1
    assert checked > 150
    state = bm.KyleLambda(window)
    np.testing.assert_array_equal(
        [state.update(a, b) for a, b in zip(dmid, signed, strict=True)], got
    )


@pytest.mark.realdata
def test_amihud_on_real_seconds_matches_a_plain_loop(btc: dict[str, np.ndarray]) -> None:
    sec = btc["seconds"]
    ret = np.diff(np.log(sec[:, 0]))
    notional = np.abs(sec[1:, 1])  # any non-negative notional series will do
    got = bm.amihud_illiquidity(ret, notional, 20)
    for i in range(19, ret.size):
        pairs = [
            (abs(r), v)
            for r, v in zip(ret[i - 19 : i + 1], notional[i - 19 : i + 1], strict=True)
            if v > 0
        ]
        expected = statistics.fmean(r / v for r, v in pairs) if pairs else NAN
        assert got[i] == pytest.approx(expected, rel=1e-9, nan_ok=True)


@pytest.mark.realdata
def test_roll_spread_on_real_trades_matches_statistics(btc: dict[str, np.ndarray]) -> None:
    prices = btc["trades"][:, 0]
    assert prices.size > 3000
    dp = np.diff(prices)
    cov = statistics.covariance(list(dp[1:]), list(dp[:-1]))
    whole = bm.roll_spread(prices)
    if cov < 0:
        assert whole == pytest.approx(2 * math.sqrt(-cov), rel=1e-9)
    else:
        assert math.isnan(whole)
    window = 200
    rolling = bm.rolling_roll_spread(prices, window)
    state = bm.RollSpread(window)
    np.testing.assert_allclose([state.update(p) for p in prices], rolling, rtol=1e-12)
    defined = 0
    for i in range(window + 1, prices.size, 97):
        d = np.diff(prices[i - window - 1 : i + 1])
        c = statistics.covariance(list(d[1:]), list(d[:-1]))
        if c < 0:
            assert rolling[i] == pytest.approx(2 * math.sqrt(-c), rel=1e-6)
            defined += 1
        else:
            assert math.isnan(rolling[i])
    assert defined > 0


@pytest.mark.realdata
def test_level_lifetimes_on_real_books_match_a_plain_run_scan(btc: dict[str, np.ndarray]) -> None:
    tops, times = btc["tops"], btc["times"]
    sums = bm.level_lifetimes(times, tops)
    # Reference: for every price, the runs of consecutive books it is in; a run that starts
    # at the first book is censored; a run ending before the last book ended there.
    expected_count = np.zeros(len(times))
    expected_total = np.zeros(len(times))
    present = [set(row.tolist()) for row in tops]
    for price in set().union(*present):
        start = None
        for t, levels in enumerate(present):
            if price in levels and start is None:
                start = t
            elif price not in levels and start is not None:
                if start > 0:
                    expected_count[t] += 1
                    expected_total[t] += (times[t] - times[start]) / 1e9
                start = None
    np.testing.assert_array_equal(sums.count, expected_count)
    np.testing.assert_allclose(sums.total, expected_total, rtol=1e-12)
    assert expected_count.sum() > 1000
    tracker = bm.LevelLifetimeTracker()
    lives = [tracker.update(int(t), row) for t, row in zip(times, tops, strict=True)]
    np.testing.assert_array_equal([len(x) for x in lives], expected_count)
    np.testing.assert_allclose([sum(x) for x in lives], expected_total, rtol=1e-12)
