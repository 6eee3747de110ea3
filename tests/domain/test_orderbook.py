"""OrderBook: snapshot + deltas, top of book, views and metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mftbot.core.errors import BookError
from mftbot.domain.events import BookDelta, BookSnapshot
from mftbot.domain.orderbook import OrderBook, check_levels


def _book() -> OrderBook:
    book = OrderBook("binance", "BTC/USDT")
    book.apply_snapshot(
        [(100.0, 1.0), (99.0, 2.0), (98.0, 3.0)],
        [(101.0, 4.0), (102.0, 5.0), (103.0, 6.0)],
        update_id=10,
    )
    return book


def test_snapshot_sets_levels_best_first() -> None:
    book = _book()
    assert book.best_bid == (100.0, 1.0)
    assert book.best_ask == (101.0, 4.0)
    assert book.top_bids() == [(100.0, 1.0), (99.0, 2.0), (98.0, 3.0)]
    assert book.top_asks(2) == [(101.0, 4.0), (102.0, 5.0)]
    assert book.update_id == 10
    assert len(book.bids) == 3
    assert len(book.asks) == 3


def test_snapshot_replaces_everything_and_drops_zero_sizes() -> None:
    book = _book()
    book.apply_snapshot([(90.0, 1.0), (89.0, 0.0)], [(91.0, 2.0)], update_id=20)
    assert book.top_bids() == [(90.0, 1.0)]
    assert book.top_asks() == [(91.0, 2.0)]
    assert 100.0 not in book.bids
    assert 89.0 not in book.bids


def test_delta_updates_inserts_and_removes_levels() -> None:
    book = _book()
    applied = book.apply_delta(
        [(100.0, 0.0), (99.5, 7.0), (98.0, 0.5)], [(101.0, 0.0), (104.0, 1.0)], update_id=11
    )
    assert applied == 5
    assert book.best_bid == (99.5, 7.0)
    assert book.best_ask == (102.0, 5.0)
    assert book.top_bids() == [(99.5, 7.0), (99.0, 2.0), (98.0, 0.5)]
    assert book.top_asks() == [(102.0, 5.0), (103.0, 6.0), (104.0, 1.0)]
    assert book.update_id == 11


def test_removing_a_missing_level_is_a_no_op() -> None:
    book = _book()
    book.apply_delta([(50.0, 0.0)], [], update_id=11)
    assert book.top_bids() == [(100.0, 1.0), (99.0, 2.0), (98.0, 3.0)]


def test_metrics_follow_their_definitions() -> None:
    book = _book()
    bid, bid_size, ask, ask_size = 100.0, 1.0, 101.0, 4.0
    assert book.mid() == (bid + ask) / 2
    assert book.spread() == ask - bid
    assert book.spread_bps() == pytest.approx((ask - bid) / ((bid + ask) / 2) * 1e4)
    assert book.microprice() == pytest.approx(
        (bid * ask_size + ask * bid_size) / (bid_size + ask_size)
    )
    assert book.depth(2) == (1.0 + 2.0, 4.0 + 5.0)
    assert book.depth() == (6.0, 15.0)
    assert book.imbalance(2) == pytest.approx((3.0 - 9.0) / (3.0 + 9.0))
    assert book.imbalance(1) == pytest.approx((1.0 - 4.0) / 5.0)


def test_metrics_are_none_when_a_side_is_empty() -> None:
    book = OrderBook()
    assert book.is_empty
    assert book.best_bid is None
    assert book.mid() is None
    assert book.microprice() is None
    assert book.spread() is None
    assert book.spread_bps() is None
    assert book.imbalance(5) is None
    assert not book.is_crossed()
    book.apply_snapshot([(10.0, 1.0)], [])
    assert book.best_ask is None
    assert book.mid() is None
    assert book.imbalance(5) == 1.0


def test_arrays_are_float64_best_first() -> None:
    book = _book()
    bids = book.bid_array(2)
    asks = book.ask_array()
    assert bids.dtype == np.float64
    assert bids.shape == (2, 2)
    np.testing.assert_array_equal(bids, [[100.0, 1.0], [99.0, 2.0]])
    np.testing.assert_array_equal(asks[:, 0], [101.0, 102.0, 103.0])
    assert OrderBook().bid_array(5).shape == (0, 2)


def test_top_n_edge_cases() -> None:
    book = _book()
    assert book.top_bids(0) == []
    assert book.top_bids(1) == [(100.0, 1.0)]
    assert book.top_bids(50) == book.top_bids()
    with pytest.raises(ValueError, match="n must be >= 0"):
        book.top_bids(-1)


def test_crossed_and_locked_books_are_detected() -> None:
    book = _book()
    assert not book.is_crossed()
    book.apply_delta([(101.0, 1.0)], [], update_id=11)
    assert book.is_crossed()  # locked: bid == ask
    book.apply_delta([(101.0, 0.0), (102.5, 1.0)], [], update_id=12)
    assert book.is_crossed()
    assert book.spread() == pytest.approx(101.0 - 102.5)


@pytest.mark.parametrize(
    ("price", "size"),
    [
        (math.nan, 1.0),
        (100.0, math.nan),
        (math.inf, 1.0),
        (100.0, math.inf),
        (-1.0, 1.0),
        (0.0, 1.0),
        (100.0, -0.5),
    ],
)
def test_bad_level_raises_and_leaves_book_unchanged(price: float, size: float) -> None:
    book = _book()
    before = (book.top_bids(), book.top_asks(), book.update_id)
    with pytest.raises(BookError, match="bad level in asks"):
        book.apply_delta([(99.0, 9.0)], [(101.0, 1.0), (price, size)], update_id=11)
    assert (book.top_bids(), book.top_asks(), book.update_id) == before
    with pytest.raises(BookError):
        book.apply_snapshot([(price, size)], [])
    assert (book.top_bids(), book.top_asks(), book.update_id) == before


def test_malformed_level_is_a_book_error() -> None:
    with pytest.raises(BookError, match="malformed level"):
        check_levels([(1.0, 2.0, 3.0)], "bids")  # type: ignore[list-item]
    with pytest.raises(BookError, match="malformed level"):
        check_levels([("1.0", 2.0)], "bids")  # type: ignore[list-item]


def test_apply_event_and_clear() -> None:
    book = OrderBook("bybit", "XRP/USDT:USDT")
    book.apply_event(
        BookSnapshot("bybit", "XRP/USDT:USDT", 1, 2, 5, [(1.0, 1.0)], [(1.1, 1.0)], seq=77)
    )
    book.apply_event(BookDelta("bybit", "XRP/USDT:USDT", 3, 4, 6, 6, [(1.05, 2.0)], [], seq=78))
    assert book.best_bid == (1.05, 2.0)
    assert (book.update_id, book.ts_event, book.ts_recv, book.seq) == (6, 3, 4, 78)
    book.clear()
    assert book.is_empty
    assert book.top_bids() == []
    assert book.best_ask is None


def test_stale_heap_entries_are_compacted() -> None:
    # Insert and delete many prices far from the top: the lazy heap must not grow without bound.
    book = _book()
    for i in range(5_000):
        price = 50.0 - i * 0.001
        book.apply_delta([(price, 1.0)], [], update_id=11 + 2 * i)
        book.apply_delta([(price, 0.0)], [], update_id=12 + 2 * i)
    assert len(book.bids) == 3
    assert len(book.bids._heap) < 1_000
    assert book.best_bid == (100.0, 1.0)
    assert book.top_bids() == [(100.0, 1.0), (99.0, 2.0), (98.0, 3.0)]


def test_reinserted_best_level_is_found_again() -> None:
    book = _book()
    book.apply_delta([(100.0, 0.0)], [], update_id=11)
    assert book.best_bid == (99.0, 2.0)
    book.apply_delta([(100.0, 3.0)], [], update_id=12)
    book.apply_delta([(100.0, 0.0), (100.0, 4.0)], [], update_id=13)
    assert book.best_bid == (100.0, 4.0)
    book.apply_delta([(100.0, 0.0)], [], update_id=14)
    assert book.best_bid == (99.0, 2.0)
    assert book.top_bids(2) == [(99.0, 2.0), (98.0, 3.0)]


def test_huge_finite_levels_are_valid() -> None:
    # price + size overflows to inf here: the quick test fails, the exact one accepts
    huge = 1.7e308
    check_levels([(huge, huge), (1.0, 0.0)], "bids")
    book = OrderBook()
    book.apply_delta([(huge, huge)], [])
    assert book.best_bid == (huge, huge)
    with pytest.raises(BookError, match=r"bad level in asks: price=1\.0 size=-1\.0"):
        check_levels([(huge, huge), (1.0, -1.0)], "asks")  # the first bad level is named


def test_top_of_book_follows_every_change() -> None:
    book = _book()
    assert book.top_of_book() == ((100.0, 1.0), (101.0, 4.0))
    book.apply_delta([(100.0, 6.0)], [], update_id=11)  # size change at the best bid
    assert book.top_of_book() == ((100.0, 6.0), (101.0, 4.0))
    book.bids.apply([(100.5, 1.0)])  # a side changed directly
    assert book.best_bid == (100.5, 1.0)
    assert book.bids.best_price() == 100.5
    book.apply_snapshot([(90.0, 1.0)], [], update_id=12)
    assert book.top_of_book() == ((90.0, 1.0), None)
    book.clear()
    assert book.top_of_book() == (None, None)
    assert not book.is_crossed()
