"""Array state of the replay fast path's books, and its exchange with the synchronizers."""

from __future__ import annotations

from collections import deque
from typing import Any, Final

import numpy as np

from mftbot.data.fast_kernels import (
    B_CREATED,
    B_DELTAS,
    B_DIRTY,
    B_HAS_SEQ,
    B_LAST_ID,
    B_LAST_TS,
    B_LEVELS,
    B_PROTO,
    B_SEQ,
    B_STATE,
    B_TS_EVENT,
    B_TS_RECV,
    B_UID,
    N_INTS,
    NONE,
    SAMPLES,
    T_ALIGNED,
    T_COUNT,
    T_HEAD,
    T_LAST,
    T_MISMATCHED,
    T_QUOTES,
    T_SAMPLES,
    W_HEAD,
    W_TAIL,
    load_side,
    rebuild_heap,
    rehash,
    ticker_on_book,
    ticker_on_quote,
)
from mftbot.domain.book_sync import BookSynchronizer, SyncState, TickerCheck, TickerMismatch
from mftbot.domain.events import Level, QuoteTick
from mftbot.domain.orderbook import OrderBook

STATES: Final = (
    SyncState.AWAITING_SNAPSHOT,
    SyncState.SYNCING,
    SyncState.LIVE,
    SyncState.RESYNC,
)
_STATE_CODE: Final = {state: code for code, state in enumerate(STATES)}


def _level(price: float, size: float) -> Level | None:
    return None if price == NONE else (price, size)


class FastBooks:
    """Array state of every book of a fast replay, and its exchange with the synchronizers.

    A book's synchronizer is authoritative while the Python classes handle an event
    (:meth:`push` before, :meth:`pull` after); the arrays are, in between. ``keep`` is the
    ticker check's window (:attr:`TickerCheck.keep`).
    """

    def __init__(self, keep: int, books: int = 8, slots: int = 16384) -> None:
        self.keep = keep
        self.ints = np.zeros((books, N_INTS), dtype=np.int64)
        self.ints[:, T_LAST] = -1
        # Per side: an open-addressing table price -> size (0.0 marks a free slot: prices
        # are > 0), at most half full, and a heap of keys (-bid, ask) for the best price.
        self.keys = np.zeros((books, 2, slots), dtype=np.float64)
        self.sizes = np.zeros((books, 2, slots), dtype=np.float64)
        self.heap = np.zeros((books, 2, slots), dtype=np.float64)
        self.hsizes = np.zeros((books, 2), dtype=np.int64)
        self.counts = np.zeros((books, 2), dtype=np.int64)
        self.ring = np.zeros((books, keep), dtype=np.int64)
        self.wids = np.zeros((books, 3 * keep), dtype=np.int64)
        self.wvals = np.zeros((books, 3 * keep, 4), dtype=np.float64)
        self.wts = np.zeros((books, 3 * keep, 2), dtype=np.int64)
        self.walive = np.zeros((books, 3 * keep), dtype=np.uint8)
        self.samples = np.zeros((books, SAMPLES, 8), dtype=np.float64)
        self.sample_ids = np.zeros((books, SAMPLES), dtype=np.int64)
        # Id tables (keys, used, values), at most a quarter full: update id -> the top
        # recorded after it, and waiting ticker's update id -> its place in the queue.
        slots = 1 << (4 * keep - 1).bit_length()
        self.tops = _id_table(books, slots, 4)
        self.wpos = _id_table(books, slots, 1)
        self.syncs: list[BookSynchronizer | None] = [None] * books

    @property
    def capacity(self) -> int:
        """Rows allocated."""
        return int(self.ints.shape[0])

    def ensure_rows(self, rows: int) -> None:
        """Grow every per-book array to at least ``rows`` rows."""
        old = self.capacity
        if rows <= old:
            return
        new = max(rows, 2 * old)
        for name in (
            "ints", "keys", "sizes", "heap", "hsizes", "counts", "ring", "wids", "wvals",
            "wts", "walive", "samples", "sample_ids",
        ):  # fmt: skip
            setattr(self, name, _grow_rows(getattr(self, name), new))
        self.tops = tuple(_grow_rows(a, new) for a in self.tops)  # type: ignore[assignment]
        self.wpos = tuple(_grow_rows(a, new) for a in self.wpos)  # type: ignore[assignment]
        self.ints[old:, T_LAST] = -1
        self.syncs.extend([None] * (new - old))

    def grow_depth(self) -> None:
        """Double the level capacity of every side."""
        shape = (self.keys.shape[0], 2, self.keys.shape[2] * 2)
        keys = np.zeros(shape, dtype=np.float64)
        sizes = np.zeros(shape, dtype=np.float64)
        rehash(self.keys, self.sizes, keys, sizes)
        self.keys, self.sizes = keys, sizes
        self.heap = np.zeros(shape, dtype=np.float64)
        for b in range(shape[0]):
            for side, sign in ((0, -1.0), (1, 1.0)):
                self.hsizes[b, side] = rebuild_heap(keys[b, side], self.heap[b, side], sign)

    def attach(self, b: int, sync: BookSynchronizer, proto: int) -> None:
        """Make row ``b`` the array state of ``sync`` (a fresh synchronizer)."""
        self.ensure_rows(b + 1)
        self.syncs[b] = sync
        self.ints[b, B_PROTO] = proto
        self.ints[b, B_CREATED] = 1
        self.pull(b, reload=True)

    def sync_of(self, b: int) -> BookSynchronizer:
        """The synchronizer of row ``b``."""
        sync = self.syncs[b]
        if sync is None:
            raise RuntimeError(f"fast book {b} has no synchronizer")
        return sync

    def push(self, b: int, *, book: bool = True) -> tuple[int, int, int]:
        """Hand row ``b``'s state to its synchronizer; returns a signature for :meth:`pull`.

        ``book=False`` leaves the levels where they are (for a step that does not read them).
        """
        sync = self.sync_of(b)
        row = self.ints[b]
        sync.state = STATES[int(row[B_STATE])]
        sync._last_id = int(row[B_LAST_ID])
        sync._last_ts = int(row[B_LAST_TS])
        stats = sync.stats
        stats.deltas_applied = int(row[B_DELTAS])
        stats.level_updates = int(row[B_LEVELS])
        ob = sync.book
        ob.update_id = int(row[B_UID])
        ob.ts_event = int(row[B_TS_EVENT])
        ob.ts_recv = int(row[B_TS_RECV])
        ob.seq = int(row[B_SEQ]) if row[B_HAS_SEQ] else None
        if book and row[B_DIRTY]:
            self._materialize(b, ob)
            row[B_DIRTY] = 0
        return stats.snapshots, stats.deltas_applied, stats.resync_count

    def pull(
        self, b: int, signature: tuple[int, int, int] | None = None, *, reload: bool = False
    ) -> None:
        """Take row ``b``'s state back from its synchronizer; the levels too when the
        signature from :meth:`push` changed (a snapshot, a delta applied or a resync)."""
        sync = self.sync_of(b)
        row = self.ints[b]
        row[B_STATE] = _STATE_CODE[sync.state]
        row[B_LAST_ID] = sync._last_id
        row[B_LAST_TS] = sync._last_ts
        stats = sync.stats
        row[B_DELTAS] = stats.deltas_applied
        row[B_LEVELS] = stats.level_updates
        ob = sync.book
        row[B_UID] = ob.update_id
        row[B_TS_EVENT] = ob.ts_event
        row[B_TS_RECV] = ob.ts_recv
        row[B_HAS_SEQ] = ob.seq is not None
        row[B_SEQ] = 0 if ob.seq is None else ob.seq
        if reload or signature != (stats.snapshots, stats.deltas_applied, stats.resync_count):
            self._load(b, ob)
            row[B_DIRTY] = 0

    def _load(self, b: int, ob: OrderBook) -> None:
        for side, book_side in ((0, ob.bids), (1, ob.asks)):
            levels = book_side._levels
            n = len(levels)
            while n > self.keys.shape[2] >> 1:
                self.grow_depth()
            prices = np.fromiter(levels.keys(), dtype=np.float64, count=n)
            sizes = np.fromiter(levels.values(), dtype=np.float64, count=n)
            self.keys[b, side] = 0.0
            self.hsizes[b, side] = load_side(
                self.keys[b, side], self.sizes[b, side], self.heap[b, side],
                -1.0 if side == 0 else 1.0, prices, sizes,
            )  # fmt: skip
            self.counts[b, side] = n

    def _materialize(self, b: int, ob: OrderBook) -> None:
        for side, book_side in ((0, ob.bids), (1, ob.asks)):
            keys = self.keys[b, side]
            used = np.flatnonzero(keys)
            book_side.replace(
                zip(keys[used].tolist(), self.sizes[b, side, used].tolist(), strict=True)
            )

    def on_book(self, b: int, book: OrderBook) -> None:
        """The ticker check's hook for an update applied by the synchronizer."""
        bid, ask = book.top_of_book()
        top = (
            NONE if bid is None else bid[0],
            NONE if bid is None else bid[1],
            NONE if ask is None else ask[0],
            NONE if ask is None else ask[1],
        )
        ticker_on_book(
            self.ints, self.tops, self.ring, self.wpos, self.wids, self.wvals, self.walive,
            self.samples, self.sample_ids, b, book.update_id, top,
        )  # fmt: skip

    def on_quote(self, b: int, quote: QuoteTick) -> None:
        """The ticker check for a quote decoded the reference way."""
        if quote.update_id is None:
            return
        ticker_on_quote(
            self.ints, self.tops, self.wpos, self.wids, self.wvals, self.wts, self.walive,
            self.samples, self.sample_ids, self.keep, b, quote.update_id,
            (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size),
            quote.ts_event, quote.ts_recv,
        )  # fmt: skip

    def finish(self, b: int, tickers: TickerCheck) -> None:
        """Hand row ``b`` back for good: levels to the book, counters to ``tickers``."""
        self.push(b)
        row = self.ints[b]
        tickers.aligned = int(row[T_ALIGNED])
        tickers.mismatched = int(row[T_MISMATCHED])
        tickers.quotes = int(row[T_QUOTES])
        tickers._last_id = int(row[T_LAST])
        tickers.mismatches = [
            TickerMismatch(
                int(self.sample_ids[b, k]),
                ((float(s[0]), float(s[1])), (float(s[2]), float(s[3]))),
                (_level(float(s[4]), float(s[5])), _level(float(s[6]), float(s[7]))),
            )
            for k in range(int(row[T_SAMPLES]))
            for s in (self.samples[b, k],)
        ]
        head, count = int(row[T_HEAD]), int(row[T_COUNT])
        ids = [int(self.ring[b, (head + k) % self.keep]) for k in range(count)]
        tickers._top_ids = deque(ids)
        # The id table's entries in one go (no compiled call per id), then in ring order.
        used = np.flatnonzero(self.tops[1][b])
        table = dict(
            zip(self.tops[0][b, used].tolist(), self.tops[2][b, used].tolist(), strict=True)
        )
        tickers._tops = {}
        for uid in ids:
            top = table.get(uid)
            if top is not None:
                tickers._tops[uid] = (_level(top[0], top[1]), _level(top[2], top[3]))
        sync = self.sync_of(b)
        tickers._waiting = {}
        for i in range(int(row[W_HEAD]), int(row[W_TAIL])):
            if self.walive[b, i]:
                v = self.wvals[b, i].tolist()
                uid = int(self.wids[b, i])
                tickers._waiting[uid] = QuoteTick(
                    sync.venue, sync.symbol, int(self.wts[b, i, 0]), int(self.wts[b, i, 1]),
                    v[0], v[1], v[2], v[3], uid,
                )  # fmt: skip


def _id_table(
    rows: int, slots: int, width: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    return (
        np.zeros((rows, slots), dtype=np.int64),
        np.zeros((rows, slots), dtype=np.uint8),
        np.zeros((rows, slots, width), dtype=np.float64),
    )


def _grow_rows(array: np.ndarray[Any, Any], rows: int) -> np.ndarray[Any, Any]:
    new = np.zeros((rows, *array.shape[1:]), dtype=array.dtype)
    new[: array.shape[0]] = array
    return new
