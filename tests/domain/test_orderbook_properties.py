"""Property tests: OrderBook agrees with a naive dict model on random snapshot + delta runs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mftbot.domain.events import Level
from mftbot.domain.orderbook import OrderBook

# Prices on a small tick grid so that updates hit existing levels, remove them and re-add them.
_prices = st.integers(min_value=1, max_value=60).map(lambda tick: tick * 0.5)
_sizes = st.one_of(st.just(0.0), st.floats(min_value=0.001, max_value=1e6, allow_nan=False))
_levels = st.lists(st.tuples(_prices, _sizes), max_size=25)
_reads = st.lists(st.sampled_from(["top", "best", "array", "depth", "none"]), min_size=1)


class NaiveBook:
    """The obvious model: two dicts, sorted on every read."""

    def __init__(self, bids: list[Level], asks: list[Level]) -> None:
        self.bids = {p: s for p, s in bids if s > 0}
        self.asks = {p: s for p, s in asks if s > 0}

    def apply(self, bids: list[Level], asks: list[Level]) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, size in levels:
                if size == 0.0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def top_bids(self, n: int | None) -> list[Level]:
        return sorted(self.bids.items(), reverse=True)[:n]

    def top_asks(self, n: int | None) -> list[Level]:
        return sorted(self.asks.items())[:n]

    def imbalance(self, n: int) -> float | None:
        bid = sum(s for _, s in self.top_bids(n))
        ask = sum(s for _, s in self.top_asks(n))
        return None if bid + ask == 0 else (bid - ask) / (bid + ask)


def _check(book: OrderBook, model: NaiveBook, read: str) -> None:
    exp_bids = model.top_bids(None)
    exp_asks = model.top_asks(None)
    assert book.best_bid == (exp_bids[0] if exp_bids else None)
    assert book.best_ask == (exp_asks[0] if exp_asks else None)
    crossed = bool(exp_bids and exp_asks and exp_bids[0][0] >= exp_asks[0][0])
    assert book.is_crossed() == crossed
    if read == "top":
        for n in (1, 3, 10, None):
            assert book.top_bids(n) == model.top_bids(n)
            assert book.top_asks(n) == model.top_asks(n)
    elif read == "array":
        for n in (2, 20):
            np.testing.assert_array_equal(
                book.bid_array(n), np.array(model.top_bids(n), dtype=np.float64).reshape(-1, 2)
            )
            np.testing.assert_array_equal(
                book.ask_array(n), np.array(model.top_asks(n), dtype=np.float64).reshape(-1, 2)
            )
    elif read == "depth":
        for n in (1, 5):
            assert book.depth(n) == (
                sum(s for _, s in model.top_bids(n)),
                sum(s for _, s in model.top_asks(n)),
            )
            assert book.imbalance(n) == model.imbalance(n)
    assert len(book.bids) == len(model.bids)
    assert len(book.asks) == len(model.asks)


@settings(max_examples=200, deadline=None)
@given(
    snap_bids=_levels,
    snap_asks=_levels,
    deltas=st.lists(st.tuples(_levels, _levels), max_size=30),
    reads=_reads,
)
def test_book_matches_naive_model(
    snap_bids: list[Level],
    snap_asks: list[Level],
    deltas: list[tuple[list[Level], list[Level]]],
    reads: list[str],
) -> None:
    book = OrderBook("binance", "BTC/USDT")
    book.apply_snapshot(snap_bids, snap_asks, update_id=1)
    model = NaiveBook(snap_bids, snap_asks)
    _check(book, model, "top")
    for i, (bids, asks) in enumerate(deltas):
        assert book.apply_delta(bids, asks, update_id=i + 2) == len(bids) + len(asks)
        model.apply(bids, asks)
        _check(book, model, reads[i % len(reads)])
    _check(book, model, "top")
    _check(book, model, "depth")
