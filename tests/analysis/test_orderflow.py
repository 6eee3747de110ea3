"""Order flow: aggressive volume, CVD, divergence, whales, walls and tape, scripted and real."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis import orderflow as of
from mftbot.data.binance_recording import read_binance_recording
from mftbot.domain.enums import Side
from mftbot.domain.events import TradeTick

NAN = math.nan
S = 1_000_000_000


def test_signed_volume_and_cvd() -> None:
    sizes = np.array([1.0, 2.0, 0.5, 4.0])
    buys = np.array([True, False, True, False])
    np.testing.assert_array_equal(of.signed_volume(sizes, buys), [1.0, -2.0, 0.5, -4.0])
    np.testing.assert_array_equal(of.cumulative_volume_delta(sizes, buys), [1.0, -1.0, -0.5, -4.5])
    with pytest.raises(ValueError, match="boolean"):
        of.signed_volume(sizes, np.array([1, 0, 1, 0]))
    with pytest.raises(ValueError, match="sizes"):
        of.signed_volume(np.array([1.0, -1.0]), np.array([True, True]))


def test_aggressive_flow_by_hand() -> None:
    times = np.array([0, 1, 2, 5, 6]) * S
    sizes = np.array([3.0, 1.0, 1.0, 2.0, 2.0])
    buys = np.array([True, False, True, False, False])
    flow = of.aggressive_flow(times, sizes, buys, 3 * S)
    np.testing.assert_array_equal(flow.buy, [3, 3, 4, 0, 0])
    np.testing.assert_array_equal(flow.sell, [0, 1, 1, 2, 4])
    np.testing.assert_allclose(flow.delta, [1, 0.5, 0.6, -1, -1])
    state = of.AggressiveFlowState(3 * S)
    got = [state.update(int(t), q, bool(b)) for t, q, b in zip(times, sizes, buys, strict=True)]
    np.testing.assert_allclose(np.array(got), np.column_stack([flow.buy, flow.sell, flow.delta]))
    assert math.isnan(of.delta_ratio(0.0, 0.0))


def test_cvd_divergence_rule() -> None:
    # price falls 10 bps while buyers dominate -> bullish; rises 10 bps on selling -> bearish
    price = np.array([100.0, 99.95, 99.9, 100.0, 100.1, 100.2, 100.2])
    buy = np.array([0.0, 5.0, 5.0, 1.0, 1.0, 1.0, 0.0])
    sell = np.array([0.0, 1.0, 1.0, 5.0, 5.0, 5.0, 0.0])
    out = of.cvd_divergence(price, buy, sell, 2, min_move_bps=5.0, min_flow=0.2)
    assert np.isnan(out[:2]).all()
    assert out[2] == 1.0  # 100 -> 99.9 (-10 bps), flow (10 - 2) / 12
    assert out[3] == 0.0  # 99.95 -> 100 is +5 bps but the flow is mixed (6 vs 6)
    assert out[5] == -1.0  # 100 -> 100.2 (+20 bps) on selling
    # rising on buying is no divergence; nothing traded in the window is undefined
    agree = of.cvd_divergence(price[2:6], buy[[0, 1, 1, 1]], sell[[0, 0, 0, 0]], 2)
    assert agree[2:].tolist() == [0.0, 0.0]
    assert np.isnan(of.cvd_divergence(price, np.zeros(7), np.zeros(7), 2)[2:]).all()
    state = of.CvdDivergence(2, min_move_bps=5.0, min_flow=0.2)
    got = [state.update(p, b, s) for p, b, s in zip(price, buy, sell, strict=True)]
    np.testing.assert_array_equal(got, out)
    assert of.classify_divergence(-6.0, 0.3, 5.0, 0.2) is of.Divergence.BULLISH
    assert of.classify_divergence(-4.0, 0.9, 5.0, 0.2) is of.Divergence.NONE


def test_whale_rule_triggers_and_does_not() -> None:
    rule = of.WhaleRule(k=10.0, window=50, min_history=20)
    base = [1.0] * 30
    mask = of.whale_trades(np.array([*base, 10.0, 9.9, 25.0]), np.ones(33), rule)
    assert mask[:30].sum() == 0
    assert mask[30:].tolist() == [True, False, True]
    early = of.whale_trades(np.array([1.0] * 10 + [100.0]), np.ones(11), rule)
    assert not early.any()  # fewer than min_history earlier trades
    by_notional = of.WhaleRule(k=10.0, window=50, min_history=20, min_notional=1000.0)
    mask = of.whale_trades(np.array([1.0, 2.0]), np.array([100.0, 600.0]), by_notional)
    assert mask.tolist() == [False, True]
    detector = of.WhaleDetector(rule)
    sizes = [*base, 10.0, 9.9, 25.0]
    assert [detector.update(q, 1.0) for q in sizes][30:] == [True, False, True]
    with pytest.raises(ValueError, match="min_history"):
        of.WhaleRule(window=10, min_history=20)


def test_walls_are_found_and_tracked() -> None:
    rule = of.WallRule(k=5.0, within_bps=50.0)

    def side(sizes: list[float], start: float, step: float) -> np.ndarray:
        return np.array([[round(start + i * step, 6), q] for i, q in enumerate(sizes)])

    asks = side([1.0] * 6, 100.1, 0.1)
    bids = side([1.0, 1.0, 8.0, 1.0, 1.0, 1.0], 99.9, -0.1)  # 99.7 holds 8 = 8 x median
    mid = 100.0
    assert of.wall_mask(bids, mid, rule).tolist() == [False, False, True, False, False, False]
    assert not of.wall_mask(asks, mid, rule).any()
    far = side([1.0, 1.0, 1.0, 1.0, 1.0, 9.0], 99.9, -0.2)  # 9 at 98.9: 110 bps away
    assert not of.wall_mask(far, mid, rule).any()
    small = side([1.0, 1.0, 4.9, 1.0, 1.0, 1.0], 99.9, -0.1)
    assert not of.wall_mask(small, mid, rule).any()

    tracker = of.WallTracker(rule)
    assert [(w.side, w.price) for w in tracker.update(0, bids, asks)] == [(of.WallSide.BID, 99.7)]
    walls = tracker.update(2 * S, bids, asks)
    assert walls[0].duration_ns == 2 * S
    assert tracker.update(3 * S, small, asks) == []
    (ended,) = tracker.ended
    assert ended.price == 99.7
    assert ended.ended_ns == 3 * S
    assert ended.duration_ns == 3 * S
    with pytest.raises(ValueError, match="before"):
        tracker.update(S, bids, asks)


def test_tape_pattern_rule() -> None:
    flat = np.array([100.0, 100.01, 100.0, 100.02, 100.01])
    trend = np.array([100.0, 100.1, 100.2, 100.3, 100.4])
    buying = (np.full(5, 3.0), np.full(5, 1.0))
    selling = (np.full(5, 1.0), np.full(5, 3.0))
    even = (np.full(5, 1.0), np.full(5, 1.0))
    assert of.tape_pattern(flat, *buying, 2)[2:].tolist() == [1.0, 1.0, 1.0]
    assert of.tape_pattern(flat, *selling, 2)[2:].tolist() == [-1.0, -1.0, -1.0]
    assert of.tape_pattern(flat, *even, 2)[2:].tolist() == [0.0, 0.0, 0.0]
    assert of.tape_pattern(trend, *buying, 2)[2:].tolist() == [0.0, 0.0, 0.0]  # 20 bps: a trend
    assert np.isnan(of.tape_pattern(flat, *buying, 2)[:2]).all()
    assert of.classify_tape(3.0, 1.0, 1.0) is of.TapePattern.ACCUMULATION
    assert of.classify_tape(1.0, 3.0, -4.0) is of.TapePattern.DISTRIBUTION
    assert of.classify_tape(0.0, 0.0, 0.0) is of.TapePattern.NEUTRAL


@pytest.fixture(scope="module")
def trades(data_dir: Path) -> list[TradeTick]:
    """The trades of the first five minutes of spot BTC/USDT."""
    path = data_dir / "hftbacktest" / "binance_spot" / "btcusdt_20240808.gz"
    events = read_binance_recording(path)
    first = next(events)
    stop = first.ts_recv + 300 * S
    return [
        e
        for e in itertools.takewhile(lambda e: e.ts_recv < stop, events)
        if isinstance(e, TradeTick)
    ]


@pytest.mark.realdata
def test_batch_and_incremental_agree_on_real_trades(trades: list[TradeTick]) -> None:
    assert len(trades) > 5000
    times = np.array([t.ts_event for t in trades], dtype=np.int64)
    sizes = np.array([t.size for t in trades])
    prices = np.array([t.price for t in trades])
    buys = np.array([t.side is Side.BUY for t in trades])

    flow = of.aggressive_flow(times, sizes, buys, 5 * S)
    state = of.AggressiveFlowState(5 * S)
    got = np.array(
        [state.update(int(t), q, bool(b)) for t, q, b in zip(times, sizes, buys, strict=True)]
    )
    np.testing.assert_allclose(
        got, np.column_stack([flow.buy, flow.sell, flow.delta]), rtol=1e-9, atol=1e-12
    )
    # plain-Python reference at a few trades
    for i in range(0, len(trades), 499):
        inside = [j for j in range(i + 1) if times[j] > times[i] - 5 * S]
        buy = sum(sizes[j] for j in inside if buys[j])
        assert flow.buy[i] == pytest.approx(buy, rel=1e-9, abs=1e-12)

    rule = of.WhaleRule(k=100.0, window=200, min_history=50)
    mask = of.whale_trades(sizes, prices, rule)
    detector = of.WhaleDetector(rule)
    assert [detector.update(q, p) for q, p in zip(sizes, prices, strict=True)] == mask.tolist()
    assert 0 < mask.sum() < len(trades) // 5
    for i in range(50, len(trades), 37):
        assert mask[i] == (sizes[i] >= 100 * np.median(sizes[max(0, i - 200) : i]))


@pytest.mark.realdata
def test_real_trades_give_every_divergence_and_tape_verdict_consistently(
    trades: list[TradeTick],
) -> None:
    # per-second series: last price, taker buy and sell volume
    start = trades[0].ts_event // S
    n = trades[-1].ts_event // S - start + 1
    price = np.full(n, np.nan)
    buy = np.zeros(n)
    sell = np.zeros(n)
    for t in trades:
        i = t.ts_event // S - start
        price[i] = t.price
        (buy if t.side is Side.BUY else sell)[i] += t.size
    for i in range(1, n):
        if np.isnan(price[i]):
            price[i] = price[i - 1]
    div = of.cvd_divergence(price, buy, sell, 30, min_move_bps=3.0, min_flow=0.1)
    state = of.CvdDivergence(30, min_move_bps=3.0, min_flow=0.1)
    np.testing.assert_array_equal(
        [state.update(p, b, s) for p, b, s in zip(price, buy, sell, strict=True)], div
    )
    tape = of.tape_pattern(price, buy, sell, 30)
    for i in range(30, n, 7):
        verdict = of.classify_tape(
            float(buy[i - 29 : i + 1].sum()),
            float(sell[i - 29 : i + 1].sum()),
            (price[i] / price[i - 30] - 1) * 1e4,
        )
        assert tape[i] == {"accumulation": 1.0, "distribution": -1.0, "neutral": 0.0}[verdict]
    assert set(np.unique(tape[30:])) <= {-1.0, 0.0, 1.0}
