"""Microstructure: price impact against hand-walked books, liquidity score, spread regime."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftbot.analysis import book_metrics as bm
from mftbot.analysis import microstructure as ms
from mftbot.data.binance_recording import read_binance_recording
from mftbot.domain.book_sync import make_synchronizer
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot

NAN = math.nan
BIDS = np.array([[99.0, 1.0], [98.0, 2.0], [97.0, 10.0], [NAN, NAN]])
ASKS = np.array([[100.0, 1.0], [101.0, 2.0], [102.0, 5.0], [NAN, NAN]])
MID = 99.5


def test_buy_walks_the_asks_by_hand() -> None:
    r = ms.walk_book(BIDS, ASKS, Side.BUY, 250.0)
    # 100 x 1 = 100 spent at level 1, the other 150 at 101: 150/101 units
    qty = 1.0 + 150.0 / 101.0
    assert r.complete
    assert r.levels_used == 2
    assert r.filled_notional == 250.0
    assert r.filled_quantity == pytest.approx(qty)
    assert r.avg_price == pytest.approx(250.0 / qty)
    assert r.impact_bps == pytest.approx((250.0 / qty - MID) / MID * 1e4)
    assert r.unfilled_notional == 0.0


def test_sell_walks_the_bids_by_hand() -> None:
    r = ms.walk_book(BIDS, ASKS, "sell", 99.0 + 196.0 + 97.0)  # all of 99, 98, one unit of 97
    assert r.complete
    assert r.levels_used == 3
    assert r.filled_quantity == pytest.approx(4.0)
    assert r.avg_price == pytest.approx(392.0 / 4.0)
    assert r.impact_bps == pytest.approx((MID - 98.0) / MID * 1e4)


def test_an_order_larger_than_the_book_is_flagged() -> None:
    visible = 100.0 + 202.0 + 510.0
    r = ms.walk_book(BIDS, ASKS, Side.BUY, 1000.0)
    assert not r.complete
    assert math.isnan(r.impact_bps)
    assert r.filled_notional == pytest.approx(visible)
    assert r.unfilled_notional == pytest.approx(1000.0 - visible)
    assert r.filled_quantity == 8.0
    assert r.partial_impact_bps == pytest.approx((visible / 8.0 - MID) / MID * 1e4)
    impact, complete = ms.price_impact_bps(ASKS, MID, 1000.0, Side.BUY)
    assert np.isnan(impact)
    assert not complete
    with pytest.raises(ValueError, match="notional"):
        ms.walk_book(BIDS, ASKS, Side.BUY, 0.0)


def test_an_order_inside_the_first_level_pays_half_the_spread() -> None:
    r = ms.walk_book(BIDS, ASKS, Side.BUY, 50.0)
    assert r.impact_bps == pytest.approx(0.5 / MID * 1e4)
    assert r.levels_used == 1


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
@pytest.mark.parametrize("notional", [10.0, 250.0, 500.0, 811.0, 813.0])
def test_vectorised_impact_equals_the_walk(side: Side, notional: float) -> None:
    levels = ASKS if side is Side.BUY else BIDS
    impact, complete = ms.price_impact_bps(levels, MID, notional, side)
    walk = ms.walk_book(BIDS, ASKS, side, notional)
    assert bool(complete) == walk.complete
    assert impact == pytest.approx(walk.impact_bps, nan_ok=True, rel=1e-12)


def test_liquidity_score_by_hand() -> None:
    p = ms.LiquidityParams()
    # every part at its reference value is 1/2
    assert ms.liquidity_score(p.spread_ref_bps, p.depth_ref, p.impact_ref_bps) == pytest.approx(0.5)
    assert ms.liquidity_score(0.0, np.inf, 0.0) == 1.0
    assert ms.liquidity_score(1e9, 0.0, np.inf) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="sum to 1"):
        ms.LiquidityParams(spread_weight=0.5)
    with pytest.raises(ValueError, match=">= 0"):
        ms.liquidity_score(-1.0, 1.0, 1.0)


@given(
    spread=st.floats(0, 1e4),
    depth=st.floats(0, 1e12),
    impact=st.one_of(st.floats(0, 1e4), st.just(math.inf)),
    more=st.floats(1.0, 1e6),
)
def test_liquidity_score_is_bounded_and_monotone(
    spread: float, depth: float, impact: float, more: float
) -> None:
    score = float(ms.liquidity_score(spread, depth, impact))
    assert 0.0 <= score <= 1.0
    assert float(ms.liquidity_score(spread, depth + more, impact)) >= score
    assert float(ms.liquidity_score(spread + more, depth, impact)) <= score
    assert float(ms.liquidity_score(spread, depth, impact + more)) <= score


def test_more_depth_gives_a_higher_book_score() -> None:
    base = float(ms.book_liquidity_score(BIDS, ASKS, 500.0))
    deeper_bids, deeper_asks = BIDS.copy(), ASKS.copy()
    deeper_bids[:, 1] *= 3
    deeper_asks[:, 1] *= 3
    deeper = float(ms.book_liquidity_score(deeper_bids, deeper_asks, 500.0))
    assert 0.0 < base < deeper < 1.0
    # an order the book cannot fill scores 0 on impact, not NaN
    unfillable = float(ms.book_liquidity_score(BIDS, ASKS, 1e6))
    assert 0.0 < unfillable < base


def test_spread_regime_rule() -> None:
    spreads = np.array([1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 5.0, 0.5, 1.5])
    out = ms.spread_regime(spreads, window=4, low_q=0.25, high_q=0.75)
    assert np.isnan(out[:4]).all()
    # past 4 at index 6: [1, 2, 1, 2] -> q25 = 1, q75 = 2
    assert out[4:].tolist() == [0.0, 0.0, 1.0, -1.0, 0.0]
    assert ms.spread_regime(np.full(10, 1.0), window=3)[3:].tolist() == [0.0] * 7
    clf = ms.SpreadRegimeClassifier(window=4)
    got = [ms.SpreadRegimeClassifier.code(clf.update(s)) for s in spreads]
    np.testing.assert_array_equal(got, out)


@pytest.fixture(scope="module")
def real_books(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Top-20 ETH/USDT books after each update of the first three minutes."""
    path = data_dir / "hftbacktest" / "binance_spot" / "ethusdt_20240808.gz"
    events = read_binance_recording(path)
    first = next(events)
    stop = first.ts_recv + 180_000_000_000
    sync = make_synchronizer("binance", "ETH/USDT")
    bids, asks = [], []
    for ev in itertools.takewhile(lambda e: e.ts_recv < stop, events):
        if isinstance(ev, BookDelta | BookSnapshot) and sync.on_event(ev):
            b, a = bm.padded_levels(sync.book, 20)
            bids.append(b)
            asks.append(a)
    return np.array(bids), np.array(asks)


@pytest.mark.realdata
def test_impact_and_regime_on_real_books(real_books: tuple[np.ndarray, np.ndarray]) -> None:
    bids, asks = real_books
    assert len(bids) > 1000
    mid = bm.mid_price(bids, asks)
    for side, levels in ((Side.BUY, asks), (Side.SELL, bids)):
        impact, complete = ms.price_impact_bps(levels, mid, 200_000.0, side)
        assert 0 < complete.sum() < len(bids)  # some books too thin at 20 levels
        for i in range(0, len(bids), 53):
            walk = ms.walk_book(bids[i], asks[i], side, 200_000.0)
            assert walk.complete == complete[i]
            assert impact[i] == pytest.approx(walk.impact_bps, rel=1e-12, nan_ok=True)
            if walk.complete:
                assert walk.impact_bps >= bm.spread_bps(bids[i], asks[i]) / 2 - 1e-9
    score = ms.book_liquidity_score(bids, asks, 50_000.0)
    assert np.all((score >= 0) & (score <= 1))
    spread = bm.spread_bps(bids, asks)
    regime = ms.spread_regime(spread, window=100)
    clf = ms.SpreadRegimeClassifier(window=100)
    np.testing.assert_array_equal([clf.code(clf.update(s)) for s in spread], regime)
