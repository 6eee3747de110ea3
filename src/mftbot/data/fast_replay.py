"""Replay fast path: recordings into a :class:`BookSet` without a Python object per message.

It gives the same books, counters, ticker checks and bad-input counts as routing
``replay_files(paths)`` through ``BookSet.consume``, by the same rules in the same order:

* each stream (the files of one venue and symbol, chained in date order, as
  :func:`~mftbot.data.replay.group_files` says) is read in chunks of lines; the compiled
  scanner (:func:`~mftbot.data.fast_kernels.scan_lines`) turns the common lines into array
  records and hands every other line to the reference reader
  (:meth:`BinanceReader.decode_line`), whose event is kept as it is.
  Bybit files go through their reference reader whole.
* a compiled loop merges the streams' records by ``(ts_recv, stream index)`` exactly as
  :func:`~mftbot.data.replay.merge_streams` does, and applies each to the compiled books of
  :mod:`mftbot.data.fast_books`: an in-sequence delta to a live book, a bookTicker to its
  ticker check, a trade to the count. Anything else (a snapshot, a delta out of sequence or
  before the snapshot, a crossed book, a stale check, a reference event) returns to Python,
  which hands the book's state to its synchronizer, lets it decide, and takes the state back.

The only differences: the order in which bad-input records and resync warnings of different
files are logged, and ``ts_recv`` values beyond int64 (no real recording has them), which
the merge clamps.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Final

import numpy as np

from mftbot.data.binance_recording import BinanceReader, open_binance_reader
from mftbot.data.bybit_recording import read_bybit_orderbook
from mftbot.data.fast_books import FastBooks
from mftbot.data.fast_kernels import (
    B_CREATED,
    CODE_CREATE,
    CODE_CROSSED,
    CODE_FINISHED,
    CODE_GROW,
    CODE_NEED,
    CODE_STALE,
    F_A,
    F_ASKS,
    F_B,
    F_BIDS,
    F_BOOK,
    F_C,
    F_HAS_C,
    F_NASKS,
    F_NBIDS,
    F_TS,
    F_TS_EVENT,
    K_DEPTH,
    K_EVENT,
    K_SKIP,
    K_SLOW,
    N_FIELDS,
    P_BYBIT,
    P_FUTURES,
    P_SPOT,
    run,
    scan_lines,
    top_of,
)
from mftbot.data.quality import BadInputLog
from mftbot.data.recordings import LineBlocks, identify_file
from mftbot.data.replay import group_files
from mftbot.domain.book_sync import (
    BinanceFuturesBookSync,
    BinanceSpotBookSync,
    BookSet,
    ResyncReason,
    TickerCheck,
)
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, QuoteTick

_RECORDS: Final = 4096
"""Records per stream chunk."""
_LEVELS: Final = 1 << 17
"""Levels per stream chunk."""
_EARLY_LINES: Final = 10_000
"""Lines at the start of a file where a chunk ends at each line the scanner leaves (the
reference reader may route a new stream there, which the following lines then use)."""
_INT64_MAX: Final = (1 << 63) - 1
_SKIP_TS: Final = -_INT64_MAX - 1
"""Receive time of a record that is no event: first in any merge, so consumed at once."""


def _clamp(ts: int) -> int:
    return min(max(ts, -_INT64_MAX), _INT64_MAX)


class _Chunks:
    """The record arrays of every stream: one row per stream, refilled chunk by chunk."""

    def __init__(self, streams: int) -> None:
        self.kinds = np.full((streams, _RECORDS), K_SKIP, dtype=np.int8)
        self.recs = np.zeros((streams, _RECORDS, N_FIELDS), dtype=np.int64)
        self.px = np.zeros((streams, _LEVELS), dtype=np.float64)
        self.sz = np.zeros((streams, _LEVELS), dtype=np.float64)
        self.pos = np.zeros(streams, dtype=np.int64)
        self.nrec = np.zeros(streams, dtype=np.int64)
        self.done = np.zeros(streams, dtype=np.uint8)
        self.events: list[list[MarketEvent]] = [[] for _ in range(streams)]


class _Books:
    """Book ids of (venue, symbol), and their entries in the :class:`BookSet`."""

    def __init__(self, books: BookSet, fast: FastBooks) -> None:
        self.books = books
        self.fast = fast
        self.ids: dict[tuple[str, str], int] = {}
        self.keys: list[tuple[str, str]] = []

    def id_of(self, venue: str, symbol: str) -> int:
        key = (venue, symbol)
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = len(self.keys)
            self.keys.append(key)
            self.fast.ensure_rows(found + 1)
        return found

    def create(self, b: int) -> None:
        venue, symbol = self.keys[b]
        entry = self.books.entry(venue, symbol)
        sync = entry.sync
        if isinstance(sync, BinanceSpotBookSync):
            proto = P_SPOT
        elif isinstance(sync, BinanceFuturesBookSync):
            proto = P_FUTURES
        else:
            proto = P_BYBIT  # never taken by the compiled path
        self.fast.attach(b, sync, proto)
        if self.books.check_tickers:
            sync.on_update = partial(self.fast.on_book, b)


class _BinanceFeed:
    """One Binance file: decompressed pieces -> scanned records (+ reference events)."""

    def __init__(self, reader: BinanceReader, books: _Books) -> None:
        self.reader = reader
        self.books = books
        self.bad = reader.bad
        self.buf = b""
        self.off = 0
        self.end = 0
        self.lineno = 0
        self.eof = False
        self.names = np.zeros((8, 64), dtype=np.uint8)
        self.name_len = np.zeros(8, dtype=np.int64)
        self.name_kind = np.zeros(8, dtype=np.int64)
        self.name_book = np.zeros(8, dtype=np.int64)
        self.n_names = 0
        self._fh = reader.path.open("rb")
        self._blocks = LineBlocks(self._fh)
        self._pieces = self._blocks.chunks()

    def fill(self, chunks: _Chunks, s: int) -> int:
        """Scan the next lines into row ``s``; 0 when the file is done."""
        while True:
            if self.off < self.end:
                buf = np.frombuffer(self.buf, dtype=np.uint8)
                n, self.off, self.lineno = scan_lines(
                    buf, self.off, self.end, self.lineno, self.names, self.name_len,
                    self.name_kind, self.name_book, self.n_names, chunks.kinds[s],
                    chunks.recs[s], chunks.px[s], chunks.sz[s], self.lineno < _EARLY_LINES,
                )  # fmt: skip
                chunks.events[s] = self._resolve(chunks, s, n)
                return int(n)
            if self.eof:
                return 0
            piece = next(self._pieces, None)
            if piece is None:
                self.eof = True
                rest = self.buf[self.end :]
                self._fh.close()
                if rest and self._blocks.error is None:
                    self.buf, self.off, self.end = rest, 0, len(rest)
                    continue
                if self._blocks.error is not None:
                    self.bad.record(self.reader.source, self.lineno + 1, self._blocks.error)
                return 0
            data = self.buf[self.end :] + piece
            self.buf, self.off, self.end = data, 0, data.rfind(b"\n") + 1

    def _resolve(self, chunks: _Chunks, s: int, n: int) -> list[MarketEvent]:
        """Decode the lines the scanner left, the reference way, in file order."""
        kinds = chunks.kinds[s]
        slow = np.flatnonzero(kinds[:n] == K_SLOW)
        events: list[MarketEvent] = []
        if not len(slow):
            return events
        recs = chunks.recs[s]
        routes = len(self.reader.routes)
        for r in slow.tolist():
            a, b, lineno = (int(v) for v in recs[r, F_A : F_C + 1])
            event = self.reader.decode_line(self.buf[a:b], lineno)
            if event is None:
                kinds[r] = K_SKIP
                recs[r, F_TS] = _SKIP_TS
                continue
            kinds[r] = K_EVENT
            recs[r, F_A] = len(events)
            recs[r, F_TS] = _clamp(event.ts_recv)
            events.append(event)
        if len(self.reader.routes) != routes:
            self._learn_routes()
        return events

    def _learn_routes(self) -> None:
        for stream, (kind, label) in self.reader.routes.items():
            name = stream.encode()
            if len(name) > self.names.shape[1]:
                continue  # left to the reference reader
            known = any(
                self.name_len[j] == len(name) and bytes(self.names[j, : len(name)]) == name
                for j in range(self.n_names)
            )
            if known:
                continue
            j = self.n_names
            if j == len(self.name_len):
                self.names = np.vstack([self.names, np.zeros_like(self.names)])
                for attr in ("name_len", "name_kind", "name_book"):
                    old = getattr(self, attr)
                    setattr(self, attr, np.concatenate([old, np.zeros_like(old)]))
            self.names[j, : len(name)] = np.frombuffer(name, dtype=np.uint8)
            self.name_len[j] = len(name)
            self.name_kind[j] = kind
            self.name_book[j] = self.books.id_of(self.reader.venue, label)
            self.n_names = j + 1


class _EventFeed:
    """A file read by its reference reader: every event kept as it is."""

    def __init__(self, events: Iterator[MarketEvent]) -> None:
        self._events = events

    def fill(self, chunks: _Chunks, s: int) -> int:
        batch: list[MarketEvent] = []
        for event in self._events:
            batch.append(event)
            if len(batch) == _RECORDS:
                break
        n = len(batch)
        chunks.kinds[s, :n] = K_EVENT
        recs = chunks.recs[s]
        for r, event in enumerate(batch):
            recs[r, F_A] = r
            recs[r, F_TS] = _clamp(event.ts_recv)
        chunks.events[s] = batch
        return n


_Feed = _BinanceFeed | _EventFeed


def _open_feed(path: Path, bad: BadInputLog, books: _Books) -> Callable[[], _Feed]:
    """Check ``path`` now (as :func:`~mftbot.data.replay.open_recording` does); open later."""
    info = identify_file(path)
    if info.format == "bybit":
        events = read_bybit_orderbook(info.path, bad=bad)
        return lambda: _EventFeed(iter(events))
    reader = open_binance_reader(info.path, bad=bad)
    return lambda: _BinanceFeed(reader, books)


class _Stream:
    """The files of one stream, chained."""

    def __init__(self, openers: list[Callable[[], _Feed]]) -> None:
        self._openers = openers
        self._feed: _Feed | None = None

    def fill(self, chunks: _Chunks, s: int) -> bool:
        """Refill row ``s``; False when every file is done."""
        while True:
            if self._feed is None:
                if not self._openers:
                    return False
                self._feed = self._openers.pop(0)()
            n = self._feed.fill(chunks, s)
            if n:
                chunks.nrec[s] = n
                chunks.pos[s] = 0
                return True
            self._feed = None


def replay_into(
    paths: Iterable[str | os.PathLike[str]],
    books: BookSet,
    *,
    bad: BadInputLog,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Replay ``paths`` into ``books`` (a fresh :class:`BookSet`); returns the events.

    Raises :class:`~mftbot.core.errors.DataError` for an unknown or missing file before
    anything is read. ``on_progress`` is called with the events so far, now and then.
    """
    if books.entries or books.events:
        raise ValueError("replay_into needs a fresh BookSet")
    keep = TickerCheck().keep
    fast = FastBooks(keep)
    ids = _Books(books, fast)
    streams = [_Stream([_open_feed(p, bad, ids) for p in files]) for files in group_files(paths)]
    chunks = _Chunks(len(streams))
    for s, stream in enumerate(streams):
        if not stream.fill(chunks, s):
            chunks.done[s] = 1
    stale = books._stale_after_ns is not None
    tally = np.zeros(1, dtype=np.int64)
    handled = 0
    try:
        while True:
            code, s = run(
                chunks.kinds, chunks.recs, chunks.px, chunks.sz, chunks.pos, chunks.nrec,
                chunks.done, fast.keys, fast.sizes, fast.counts, fast.heap, fast.hsizes,
                fast.ints, fast.tops,
                fast.ring, fast.wpos, fast.wids, fast.wvals, fast.wts, fast.walive,
                fast.samples, fast.sample_ids, keep, books.check_tickers, stale,
                books._next_stale_check, tally,
            )  # fmt: skip
            if code == CODE_FINISHED:
                break
            if code == CODE_NEED:
                if not streams[s].fill(chunks, s):
                    chunks.done[s] = 1
                if on_progress is not None:
                    on_progress(int(tally[0]) + handled)
                continue
            i = int(chunks.pos[s])
            rec = chunks.recs[s, i]
            if code == CODE_CREATE:
                ids.create(int(rec[F_BOOK]))
            elif code == CODE_GROW:
                fast.grow_depth()
            elif code == CODE_STALE:
                _check_stale(books, fast, ids, int(rec[F_TS]))
            elif code == CODE_CROSSED:
                _crossed(fast, int(rec[F_BOOK]), int(rec[F_B]))
                handled += 1
                chunks.pos[s] += 1
            else:
                _escape(chunks, s, i, books, fast, ids)
                handled += 1
                chunks.pos[s] += 1
    finally:
        for b in range(len(ids.keys)):
            if fast.ints[b, B_CREATED]:
                entry = books.entries[ids.keys[b]]
                fast.finish(b, entry.tickers)
                entry.sync.on_update = entry.tickers.on_book if books.check_tickers else None
        total = int(tally[0]) + handled
        books.events += total
    return total


def _check_stale(books: BookSet, fast: FastBooks, ids: _Books, now: int) -> None:
    """:meth:`BookSet.check_stale` on the synchronizers, the books' levels left in place."""
    signatures = {
        b: fast.push(b, book=False) for b in range(len(ids.keys)) if fast.ints[b, B_CREATED]
    }
    books.check_stale(now)
    for b, signature in signatures.items():
        fast.pull(b, signature)


def _crossed(fast: FastBooks, b: int, update_id: int) -> None:
    """A delta applied by the compiled path crossed the book: resync, as ``_apply`` does."""
    bp, bs, ap, a_s = top_of(fast.keys, fast.sizes, fast.heap, fast.hsizes, b)
    signature = fast.push(b, book=False)
    sync = fast.sync_of(b)
    sync.resync(ResyncReason.CROSSED, f"after {update_id}: bid {(bp, bs)} >= ask {(ap, a_s)}")
    fast.pull(b, signature)


def _escape(chunks: _Chunks, s: int, i: int, books: BookSet, fast: FastBooks, ids: _Books) -> None:
    """Handle record ``i`` of stream ``s`` with the reference classes."""
    kind = int(chunks.kinds[s, i])
    rec = chunks.recs[s, i]
    event: MarketEvent
    if kind == K_DEPTH:
        b = int(rec[F_BOOK])
        venue, symbol = ids.keys[b]
        px, sz = chunks.px[s], chunks.sz[s]
        lo, nb, la, na = (int(v) for v in (rec[F_BIDS], rec[F_NBIDS], rec[F_ASKS], rec[F_NASKS]))
        event = BookDelta(
            venue,
            symbol,
            int(rec[F_TS_EVENT]),
            int(rec[F_TS]),
            int(rec[F_A]),
            int(rec[F_B]),
            list(zip(px[lo : lo + nb].tolist(), sz[lo : lo + nb].tolist(), strict=True)),
            list(zip(px[la : la + na].tolist(), sz[la : la + na].tolist(), strict=True)),
            int(rec[F_C]) if rec[F_HAS_C] else None,
        )
    else:
        event = chunks.events[s][int(rec[F_A])]
    etype = type(event)
    if etype is QuoteTick:
        if books.check_tickers:
            b = _created(ids, fast, event.venue, event.symbol)
            fast.on_quote(b, event)  # type: ignore[arg-type]
    elif etype is BookDelta or etype is BookSnapshot:
        b = _created(ids, fast, event.venue, event.symbol)
        signature = fast.push(b)
        sync = fast.sync_of(b)
        if etype is BookDelta:
            sync.on_delta(event)  # type: ignore[arg-type]
        else:
            sync.on_snapshot(event)  # type: ignore[arg-type]
        fast.pull(b, signature)


def _created(ids: _Books, fast: FastBooks, venue: str, symbol: str) -> int:
    b = ids.id_of(venue, symbol)
    if not fast.ints[b, B_CREATED]:
        ids.create(b)
    return b
