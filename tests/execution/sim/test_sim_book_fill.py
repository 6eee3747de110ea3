"""Book walking: a hand-walked book, quote budgets, consumed liquidity, and a real BTCUSDT
book at a real moment walked by the venue and by a plain loop over its levels."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from mftbot.data.replay import replay_files
from mftbot.domain.book_sync import make_synchronizer
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, Level
from mftbot.domain.fills import Liquidity
from mftbot.domain.orderbook import OrderBook
from mftbot.domain.orders import OrderType
from mftbot.execution.sim.book_fill import ConsumedLiquidity, walk_book, walk_book_quote
from mftbot.execution.sim.fees import FeeTable
from mftbot.execution.sim.venue import SimulatedVenue, SimVenueConfig
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
)

ASKS: list[Level] = [(100.0, 1.0), (101.0, 2.0), (103.0, 5.0)]
BIDS: list[Level] = [(99.0, 0.5), (98.5, 1.5), (97.0, 4.0)]


def test_buy_walks_asks_best_first() -> None:
    walk = walk_book(ASKS, 2.5, is_buy=True)
    assert walk.fills == ((100.0, 1.0), (101.0, 1.5))
    assert walk.qty == 2.5
    assert walk.notional == pytest.approx(100.0 + 151.5)
    assert walk.avg_price == pytest.approx(251.5 / 2.5)
    assert (walk.best_price, walk.worst_price) == (100.0, 101.0)
    assert walk.complete
    assert walk.slippage(100.0) == pytest.approx(0.006)


def test_sell_walks_bids_and_slippage_is_a_cost() -> None:
    walk = walk_book(BIDS, 1.0, is_buy=False)
    assert walk.fills == ((99.0, 0.5), (98.5, 0.5))
    assert walk.avg_price == pytest.approx(98.75)
    assert walk.slippage(99.0) == pytest.approx(0.25 / 99.0)


def test_thin_book_gives_a_partial_walk() -> None:
    walk = walk_book(ASKS, 10.0, is_buy=True)
    assert walk.qty == 8.0
    assert not walk.complete
    assert walk.worst_price == 103.0


def test_limit_stops_the_walk() -> None:
    walk = walk_book(ASKS, 2.5, is_buy=True, limit=100.5)
    assert walk.fills == ((100.0, 1.0),)
    assert not walk.complete
    assert walk_book(BIDS, 3.0, is_buy=False, limit=98.5).qty == 2.0
    assert walk_book(ASKS, 1.0, is_buy=True, limit=99.0).fills == ()


def test_quote_budget_includes_the_fee() -> None:
    walk = walk_book_quote(ASKS, 250.0, fee_rate=0.001)
    first = 100.0 * 1.0 * 1.001
    second_qty = (250.0 - first) / (101.0 * 1.001)
    assert walk.fills[0] == (100.0, 1.0)
    assert walk.fills[1][1] == pytest.approx(second_qty)
    assert walk.spent == pytest.approx(250.0)
    assert walk.complete
    huge = walk_book_quote(ASKS, 10_000.0)
    assert not huge.complete
    assert huge.qty == 8.0


@pytest.mark.parametrize("qty", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_quantities_are_refused(qty: float) -> None:
    with pytest.raises(ValueError, match="qty"):
        walk_book(ASKS, qty, is_buy=True)


def test_consumed_liquidity_hides_our_take_until_the_level_changes() -> None:
    book = OrderBook()
    book.apply_snapshot(BIDS, ASKS)
    consumed = ConsumedLiquidity()
    consumed.take(False, [(100.0, 1.0), (101.0, 0.5)])
    assert list(consumed.levels(book.asks)) == [(101.0, 1.5), (103.0, 5.0)]
    consumed.on_levels_changed(False, [(101.0, 2.2)])  # grew: 0.2 arrived after our take
    assert consumed.taken(False, 101.0) == 0.5
    consumed.on_levels_changed(False, [(101.0, 0.3)])  # shrank below our take: capped
    assert consumed.taken(False, 101.0) == 0.3
    consumed.on_levels_changed(False, [(100.0, 0.0)])  # gone: forgotten
    assert consumed.taken(False, 100.0) == 0.0
    assert list(consumed.levels(book.bids)) == BIDS


# --- a real book -----------------------------------------------------------------------------

SPOT_BTC = ("hftbacktest", "binance_spot", "btcusdt_20240808.gz")
STOP_AT = 20_000  # events into the recording (about three minutes in)


def _real_events(data_dir: Path) -> list[BookSnapshot | BookDelta]:
    path = data_dir.joinpath(*SPOT_BTC)
    events = itertools.islice(replay_files([path]), STOP_AT)
    return [e for e in events if isinstance(e, BookSnapshot | BookDelta)]


def _plain_walk(levels: list[Level], qty: float) -> list[Level]:
    taken = []
    left = qty
    for price, size in levels:
        if left <= 0:
            break
        take = min(size, left)
        taken.append((price, take))
        left -= take
    return taken


def _same_levels(got: object, want: list[Level]) -> None:
    got_arr = np.array(got, dtype=float).reshape(-1, 2)
    np.testing.assert_allclose(got_arr, np.array(want, dtype=float).reshape(-1, 2), rtol=1e-12)


def test_real_btcusdt_book_walk_matches_a_plain_loop(data_dir: Path) -> None:
    events = _real_events(data_dir)
    sync = make_synchronizer("binance", "BTC/USDT")
    for event in events:
        sync.on_event(event)
    assert sync.is_ready
    book = sync.book
    for is_buy, levels in ((True, book.top_asks()), (False, book.top_bids())):
        for qty in (0.001, 3.0, 25.0):
            walk = walk_book(levels, qty, is_buy=is_buy)
            expected = _plain_walk(levels, qty)
            _same_levels(walk.fills, expected)
            assert walk.qty == pytest.approx(qty)
            best = levels[0][0]
            assert walk.slippage(best) >= 0.0
            if len(expected) > 1:
                assert walk.slippage(best) > 0.0
    huge = walk_book(book.top_asks(), 1e6, is_buy=True)
    assert not huge.complete
    assert huge.qty == pytest.approx(book.depth()[1])


def test_venue_market_orders_walk_the_real_book(data_dir: Path) -> None:
    events = _real_events(data_dir)
    config = SimVenueConfig(fees=FeeTable(venue="binance"))
    venue = SimulatedVenue({"USDT": 5_000_000.0, "BTC": 50.0}, config)
    for event in events:
        assert venue.on_market_event(event) == []
    book = venue.book("BTC/USDT")
    assert book is not None
    asks, bids = book.top_asks(), book.top_bids()
    ts = events[-1].ts_recv
    reports = venue.submit(OrderRequest("buy", "BTC/USDT", Side.BUY, OrderType.MARKET, ts, qty=25))
    assert isinstance(reports[0], OrderAccepted)
    fills = [r.fill for r in reports if isinstance(r, OrderFilled)]
    expected = _plain_walk(asks, 25.0)
    assert len(expected) > 1
    _same_levels([(f.price, f.qty) for f in fills], expected)
    assert all(f.liquidity is Liquidity.TAKER for f in fills)
    assert all(f.fee == pytest.approx(f.price * f.qty * 0.001) for f in fills)
    notional = sum(p * q for p, q in expected)
    assert venue.balance("USDT") == pytest.approx(5_000_000.0 - notional * 1.001)
    assert venue.balance("BTC") == pytest.approx(75.0)
    last = reports[-1]
    assert isinstance(last, OrderFilled)
    assert last.leaves_qty == 0.0
    assert venue.working == []

    # The liquidity we took stays taken: a second buy starts where the first stopped.
    again = venue.submit(OrderRequest("buy2", "BTC/USDT", Side.BUY, OrderType.MARKET, ts, qty=1))
    first = next(r.fill for r in again if isinstance(r, OrderFilled))
    assert first.price >= expected[-1][0]

    # Selling far more than the bids hold: partial fills, then the rest is canceled.
    depth = sum(size for _, size in bids)
    venue = SimulatedVenue({"USDT": 0.0, "BTC": depth * 2}, config)
    for event in events:
        venue.on_market_event(event)
    reports = venue.submit(
        OrderRequest("dump", "BTC/USDT", Side.SELL, OrderType.MARKET, ts, qty=depth * 2)
    )
    sold = [r.fill for r in reports if isinstance(r, OrderFilled)]
    assert sum(f.qty for f in sold) == pytest.approx(depth)
    assert len(sold) == len(bids)
    canceled = reports[-1]
    assert isinstance(canceled, OrderCanceled)
    assert "book exhausted" in canceled.reason
    assert venue.balance("BTC") == pytest.approx(depth)

    # Not enough USDT for the walk: rejected with the walk's numbers.
    poor = SimulatedVenue({"USDT": 1000.0}, config)
    for event in events:
        poor.on_market_event(event)
    reject = poor.submit(OrderRequest("x", "BTC/USDT", Side.BUY, OrderType.MARKET, ts, qty=1))
    assert isinstance(reject[0], OrderRejected)
    assert "insufficient USDT" in reject[0].reason
    assert "free 1000" in reject[0].reason


def test_quote_sized_buy_spends_its_budget_across_levels(data_dir: Path) -> None:
    events = _real_events(data_dir)
    venue = SimulatedVenue({"USDT": 2_000_000.0}, SimVenueConfig(fees=FeeTable(venue="binance")))
    for event in events:
        venue.on_market_event(event)
    ts = events[-1].ts_recv
    request = OrderRequest("q", "BTC/USDT", Side.BUY, OrderType.MARKET, ts, quote_qty=1_500_000.0)
    reports = venue.submit(request)
    fills = [r for r in reports if isinstance(r, OrderFilled)]
    assert len(fills) > 1
    total = sum(r.fill.qty for r in fills)
    assert fills[0].leaves_qty == pytest.approx(total - fills[0].fill.qty)
    spent = sum(r.fill.price * r.fill.qty + r.fill.fee for r in fills)
    assert spent == pytest.approx(1_500_000.0, rel=1e-9)
    assert venue.balance("USDT") == pytest.approx(500_000.0, rel=1e-9)
