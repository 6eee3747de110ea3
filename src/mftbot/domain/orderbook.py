"""L2 order book: apply a snapshot then deltas, read the top of book, views and metrics.

Data structure (chosen by measurement, see ``benchmarks/bench_book.py``): each side is a dict
``price -> size`` (O(1) level updates) plus

* a binary heap of prices with lazy deletion for the best price: a new price is pushed once,
  a removed one stays in the heap until it reaches the top and is popped there. Reading the best
  bid/ask is O(1) amortised, so it can be done after every message (the sequencers check for a
  crossed book after each delta). The heap is rebuilt when stale entries outnumber live levels.
* a best-first list of prices, rebuilt only when a view deeper than the top is read after levels
  were added or removed (changing a size does not invalidate it).

A delta level of size 0 removes the level. Every level is validated before anything is changed:
price must be finite and > 0, size finite and >= 0 (NaN fails both), otherwise
:class:`~mftbot.core.errors.BookError` is raised and the book is left untouched.

Metrics return ``None`` where they are undefined (an empty side, zero depth) rather than NaN,
so a caller cannot use a meaningless number by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from heapq import heapify, heappop, heappush

import numpy as np
from numpy.typing import NDArray

from mftbot.core.errors import BookError
from mftbot.domain.events import BookDelta, BookSnapshot, Level

_INF = float("inf")
_COMPACT_SLACK = 256


def check_levels(levels: Iterable[Level], side: str) -> None:
    """Raise :class:`BookError` unless every level has a finite price > 0 and size >= 0."""
    inf = _INF
    try:
        for price, size in levels:
            # One sum covers both "finite" tests (and NaN); it can also overflow for two huge
            # finite numbers, so a level that fails here is judged again, exactly.
            if price > 0.0 and size >= 0.0 and price + size < inf:
                continue
            _check_exactly(levels, side)
            return
    except (TypeError, ValueError) as exc:
        raise BookError(f"malformed level in {side}: {exc}") from exc


def _check_exactly(levels: Iterable[Level], side: str) -> None:
    for price, size in levels:
        if not (0.0 < price < _INF and 0.0 <= size < _INF):
            raise BookError(f"bad level in {side}: price={price!r} size={size!r}")


class BookSide:
    """One side of an L2 book; ``is_bid`` orders it best-first (highest bid, lowest ask)."""

    __slots__ = (
        "_best",
        "_best_ok",
        "_heap",
        "_levels",
        "_sign",
        "_sorted",
        "_sorted_ok",
        "is_bid",
    )

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self._sign = -1.0 if is_bid else 1.0
        self._levels: dict[float, float] = {}
        self._heap: list[float] = []
        self._sorted: list[float] = []
        self._sorted_ok = True
        self._best: Level | None = None  # the best level, valid while _best_ok
        self._best_ok = True

    def __len__(self) -> int:
        return len(self._levels)

    def __contains__(self, price: float) -> bool:
        return price in self._levels

    def get(self, price: float) -> float | None:
        """Size at ``price``, or ``None`` when there is no such level."""
        return self._levels.get(price)

    def replace(self, levels: Iterable[Level]) -> None:
        """Replace every level (snapshot); zero-size levels are left out. Caller validates."""
        self._levels = {price: size for price, size in levels if size > 0.0}
        sign = self._sign
        self._heap = [sign * price for price in self._levels]
        heapify(self._heap)
        self._sorted_ok = False
        self._best_ok = False

    def clear(self) -> None:
        """Remove every level."""
        self._levels = {}
        self._heap = []
        self._sorted = []
        self._sorted_ok = True
        self._best = None
        self._best_ok = True

    def apply(self, levels: Iterable[Level]) -> None:
        """Set each level's size; size 0 removes it. Caller validates first."""
        book = self._levels
        heap = self._heap
        sign = self._sign
        remove = book.pop
        count = len(book)
        pushed = len(heap)
        for price, size in levels:
            if size:  # validated: not NaN, so falsy means 0.0
                if price not in book:
                    heappush(heap, sign * price)  # a new level
                book[price] = size
            else:
                remove(price, None)
        self._best_ok = False
        if len(heap) != pushed or len(book) != count:
            self._levels_changed()

    def _levels_changed(self) -> None:
        """Levels were added or removed: drop the sorted view, compact the heap if stale."""
        self._sorted_ok = False
        book = self._levels
        if len(self._heap) > 2 * len(book) + _COMPACT_SLACK:
            sign = self._sign
            self._heap = [sign * price for price in book]
            heapify(self._heap)

    def best_price(self) -> float | None:
        """Best price (highest bid / lowest ask), or ``None`` when the side is empty."""
        best = self._best if self._best_ok else self.best()
        return None if best is None else best[0]

    def best(self) -> Level | None:
        """Best level as (price, size), or ``None`` when the side is empty.

        Kept until the side changes; stale heap entries met on the way are popped."""
        if self._best_ok:
            return self._best
        heap = self._heap
        book = self._levels
        sign = self._sign
        best = None
        while heap:
            price = sign * heap[0]
            size = book.get(price)
            if size is not None:
                best = (price, size)
                break
            heappop(heap)
        self._best = best
        self._best_ok = True
        return best

    def prices(self) -> list[float]:
        """Every price, best first (a cached list: do not modify it)."""
        if not self._sorted_ok:
            self._sorted = sorted(self._levels, reverse=self.is_bid)
            self._sorted_ok = True
        return self._sorted

    def top(self, n: int | None = None) -> list[Level]:
        """The best ``n`` levels (all when ``None``), best first."""
        if n is not None and n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return []
        if n == 1:
            best = self.best()
            return [] if best is None else [best]
        book = self._levels
        prices = self.prices() if n is None else self.prices()[:n]
        return [(price, book[price]) for price in prices]

    def array(self, n: int | None = None) -> NDArray[np.float64]:
        """The best ``n`` levels as a ``(k, 2)`` float64 array of (price, size), best first."""
        levels = self.top(n)
        if not levels:
            return np.empty((0, 2), dtype=np.float64)
        return np.array(levels, dtype=np.float64)

    def depth(self, n: int | None = None) -> float:
        """Total size over the best ``n`` levels (all when ``None``)."""
        if n is None:
            return float(sum(self._levels.values()))
        return float(sum(size for _, size in self.top(n)))


class OrderBook:
    """An L2 book for one instrument: a snapshot, then deltas.

    ``update_id``, ``ts_event``, ``ts_recv`` and ``seq`` describe the last applied update; the
    book does not check sequence numbers itself (see :mod:`mftbot.domain.book_sync`).
    """

    __slots__ = ("asks", "bids", "seq", "symbol", "ts_event", "ts_recv", "update_id", "venue")

    def __init__(self, venue: str = "", symbol: str = "") -> None:
        self.venue = venue
        self.symbol = symbol
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.update_id = 0
        self.ts_event = 0
        self.ts_recv = 0
        self.seq: int | None = None

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.venue!r}, {self.symbol!r}, update_id={self.update_id}, "
            f"best_bid={self.best_bid}, best_ask={self.best_ask}, "
            f"levels={len(self.bids)}/{len(self.asks)})"
        )

    # -- updates ---------------------------------------------------------------------------

    def apply_snapshot(
        self,
        bids: Sequence[Level],
        asks: Sequence[Level],
        *,
        update_id: int = 0,
        ts_event: int = 0,
        ts_recv: int = 0,
        seq: int | None = None,
    ) -> None:
        """Replace the whole book. Raises :class:`BookError` on a bad level (book unchanged)."""
        check_levels(bids, "bids")
        check_levels(asks, "asks")
        self.bids.replace(bids)
        self.asks.replace(asks)
        self._stamp(update_id, ts_event, ts_recv, seq)

    def apply_delta(
        self,
        bids: Sequence[Level],
        asks: Sequence[Level],
        *,
        update_id: int = 0,
        ts_event: int = 0,
        ts_recv: int = 0,
        seq: int | None = None,
    ) -> int:
        """Apply level changes; returns the number of levels applied.

        Raises :class:`BookError` on a bad level, before anything is changed.
        """
        check_levels(bids, "bids")
        check_levels(asks, "asks")
        self.bids.apply(bids)
        self.asks.apply(asks)
        self.update_id = update_id
        self.ts_event = ts_event
        self.ts_recv = ts_recv
        self.seq = seq
        return len(bids) + len(asks)

    def apply_delta_event(self, delta: BookDelta) -> int:
        """:meth:`apply_delta` with the levels and stamps of ``delta``; returns the levels."""
        bids = delta.bids
        asks = delta.asks
        check_levels(bids, "bids")
        check_levels(asks, "asks")
        self.bids.apply(bids)
        self.asks.apply(asks)
        self.update_id = delta.update_id
        self.ts_event = delta.ts_event
        self.ts_recv = delta.ts_recv
        self.seq = delta.seq
        return len(bids) + len(asks)

    def apply_event(self, event: BookSnapshot | BookDelta) -> None:
        """Apply a normalised event without any sequence check."""
        if isinstance(event, BookSnapshot):
            self.apply_snapshot(
                event.bids,
                event.asks,
                update_id=event.update_id,
                ts_event=event.ts_event,
                ts_recv=event.ts_recv,
                seq=event.seq,
            )
        else:
            self.apply_delta(
                event.bids,
                event.asks,
                update_id=event.update_id,
                ts_event=event.ts_event,
                ts_recv=event.ts_recv,
                seq=event.seq,
            )

    def clear(self) -> None:
        """Empty both sides (the book awaits a fresh snapshot)."""
        self.bids.clear()
        self.asks.clear()

    def _stamp(self, update_id: int, ts_event: int, ts_recv: int, seq: int | None) -> None:
        self.update_id = update_id
        self.ts_event = ts_event
        self.ts_recv = ts_recv
        self.seq = seq

    # -- top of book -----------------------------------------------------------------------

    @property
    def best_bid(self) -> Level | None:
        """Highest bid as (price, size), or ``None``."""
        return self.bids.best()

    @property
    def best_ask(self) -> Level | None:
        """Lowest ask as (price, size), or ``None``."""
        return self.asks.best()

    @property
    def is_empty(self) -> bool:
        """True when both sides are empty."""
        return not self.bids and not self.asks

    def is_crossed(self) -> bool:
        """True when both sides exist and best bid >= best ask (locked counts as crossed)."""
        bid, ask = self.top_of_book()
        return bid is not None and ask is not None and bid[0] >= ask[0]

    def top_of_book(self) -> tuple[Level | None, Level | None]:
        """(best bid, best ask) as (price, size) levels; ``None`` for an empty side."""
        bids, asks = self.bids, self.asks
        return (
            bids._best if bids._best_ok else bids.best(),
            asks._best if asks._best_ok else asks.best(),
        )

    def mid(self) -> float | None:
        """(best bid + best ask) / 2, or ``None`` when a side is empty."""
        bid = self.bids.best_price()
        ask = self.asks.best_price()
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2.0

    def microprice(self) -> float | None:
        """Size-weighted mid: ``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``."""
        bid = self.bids.best()
        ask = self.asks.best()
        if bid is None or ask is None:
            return None
        return (bid[0] * ask[1] + ask[0] * bid[1]) / (bid[1] + ask[1])

    def spread(self) -> float | None:
        """Best ask - best bid (negative when crossed), or ``None`` when a side is empty."""
        bid = self.bids.best_price()
        ask = self.asks.best_price()
        if bid is None or ask is None:
            return None
        return ask - bid

    def spread_bps(self) -> float | None:
        """Spread relative to the mid, in basis points: ``(ask - bid) / mid * 1e4``."""
        bid = self.bids.best_price()
        ask = self.asks.best_price()
        if bid is None or ask is None:
            return None
        return (ask - bid) / ((bid + ask) / 2.0) * 10_000.0

    # -- depth views -----------------------------------------------------------------------

    def top_bids(self, n: int | None = None) -> list[Level]:
        """Best ``n`` bids, highest first."""
        return self.bids.top(n)

    def top_asks(self, n: int | None = None) -> list[Level]:
        """Best ``n`` asks, lowest first."""
        return self.asks.top(n)

    def bid_array(self, n: int | None = None) -> NDArray[np.float64]:
        """Best ``n`` bids as a ``(k, 2)`` float64 array of (price, size), highest first."""
        return self.bids.array(n)

    def ask_array(self, n: int | None = None) -> NDArray[np.float64]:
        """Best ``n`` asks as a ``(k, 2)`` float64 array of (price, size), lowest first."""
        return self.asks.array(n)

    def depth(self, n: int | None = None) -> tuple[float, float]:
        """(bid depth, ask depth): total size over the best ``n`` levels of each side."""
        return self.bids.depth(n), self.asks.depth(n)

    def imbalance(self, n: int | None = None) -> float | None:
        """Depth imbalance over the best ``n`` levels, in [-1, 1].

        Defined as ``(bid_depth - ask_depth) / (bid_depth + ask_depth)`` where each depth is the
        summed size of that side's best ``n`` levels: +1 means only bids, -1 only asks.
        ``None`` when both depths are zero.
        """
        bid_depth, ask_depth = self.depth(n)
        total = bid_depth + ask_depth
        if total <= 0.0:
            return None
        return (bid_depth - ask_depth) / total
