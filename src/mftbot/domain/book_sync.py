"""Venue sequencing for L2 books: snapshot + delta streams kept in order, or resynchronised.

One synchronizer per venue protocol wraps an :class:`~mftbot.domain.orderbook.OrderBook` and
consumes normalised :class:`BookSnapshot` / :class:`BookDelta` events:

* :class:`BinanceSpotBookSync` (Binance's local-book procedure): deltas are buffered until a
  snapshot; after it, deltas with ``u <= lastUpdateId`` are dropped, the first applied one must
  have ``U <= lastUpdateId + 1 <= u``, and each later one ``U == previous u + 1``.
* :class:`BinanceFuturesBookSync` (USD-M and COIN-M): drop ``u < lastUpdateId``; the first
  applied delta must have ``U <= lastUpdateId <= u``; later ones ``pu == previous u``.
* :class:`BybitBookSync` (v5): a snapshot replaces the book, each delta's ``u`` must be the
  previous ``u + 1``; a message with ``u == 1`` is a new snapshot (service restart).

States: ``AWAITING_SNAPSHOT`` (start) -> ``SYNCING`` (snapshot applied, first delta not yet
seen) -> ``LIVE``; any failure -> ``RESYNC`` (book cleared, deltas buffered, a fresh snapshot
awaited). The book's contents are valid in ``SYNCING`` and ``LIVE`` only.

What happens to each bad case:

* delta with ``u <= last u`` (duplicate or old): skipped, counted in ``stats.skipped``.
* sequence gap, or a delta that overlaps/precedes the expected one: resync (``gap`` /
  ``out_of_order``); the delta is buffered for the next snapshot.
* book crossed (best bid >= best ask) after an update: resync (``crossed``).
* no applied update for ``stale_after_ns``, checked by an explicit :meth:`check_stale` call
  (no wall clock here): resync (``stale``).
* bad level (NaN, infinite, negative or zero price, negative size), a malformed id range or a
  futures delta without ``pu``: the message is skipped, counted in ``stats.bad_messages`` and
  recorded in the :class:`~mftbot.data.quality.BadInputLog` when one is given. It then causes a
  resync (``bad_message``) only when it was the next message to apply, because skipping it would
  leave the book silently missing those changes; a bad message that would have been dropped
  anyway (old, or buffered and superseded by a snapshot) causes none.

:class:`TickerCheck` compares the book with the venue's own best bid/offer (Binance
``bookTicker``) at equal update ids, and :class:`BookSet` routes a merged multi-symbol stream.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from mftbot.core.errors import BookError
from mftbot.core.logging import get_logger
from mftbot.domain.enums import Venue
from mftbot.domain.events import BookDelta, BookSnapshot, Level, MarketEvent, QuoteTick
from mftbot.domain.orderbook import OrderBook

_log = get_logger("mftbot.domain.book_sync")

DEFAULT_STALE_AFTER_NS = 30_000_000_000
"""Default: a book with no applied update for 30 s is stale."""
DEFAULT_MAX_BUFFER = 10_000
"""Default: deltas kept while awaiting a snapshot (the oldest are dropped beyond it)."""


class BadInputSink(Protocol):
    """Where bad messages are recorded (:class:`mftbot.data.quality.BadInputLog` fits)."""

    def record(self, source: str, line: int, reason: str) -> None:
        """Record one rejected message."""


class SyncState(StrEnum):
    """Where a synchronizer stands."""

    AWAITING_SNAPSHOT = "awaiting_snapshot"
    SYNCING = "syncing"
    LIVE = "live"
    RESYNC = "resync"


class ResyncReason(StrEnum):
    """Why a book was dropped and a fresh snapshot is needed."""

    GAP = "gap"
    OUT_OF_ORDER = "out_of_order"
    CROSSED = "crossed"
    STALE = "stale"
    BAD_MESSAGE = "bad_message"
    REQUESTED = "requested"


class SkipReason(StrEnum):
    """Why a message was ignored without a resync."""

    DUPLICATE = "duplicate"
    BEFORE_SNAPSHOT = "before_snapshot"
    STALE_SNAPSHOT = "stale_snapshot"
    BUFFER_OVERFLOW = "buffer_overflow"


@dataclass
class SyncStats:
    """Counters of one book."""

    snapshots: int = 0
    deltas_applied: int = 0
    level_updates: int = 0
    bad_messages: int = 0
    resyncs: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def resync_count(self) -> int:
        """Total resyncs, all reasons."""
        return sum(self.resyncs.values())


# Verdicts of a sequence check.
_APPLY = 0
_OLD = 1
_GAP = 2
_OUT_OF_ORDER = 3
_MISSING_PREV = 4

_LIVE = SyncState.LIVE
_SYNCING = SyncState.SYNCING


class BookSynchronizer(ABC):
    """Keeps one :class:`OrderBook` in sequence; subclasses supply the venue's rules.

    ``on_update`` (optional) is called with the book after every applied snapshot or delta.
    """

    replaces_stale_snapshot = True
    """Whether a snapshot older than the live book still replaces it (Bybit: yes)."""

    def __init__(
        self,
        venue: str,
        symbol: str,
        *,
        stale_after_ns: int = DEFAULT_STALE_AFTER_NS,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        bad: BadInputSink | None = None,
        on_update: Callable[[OrderBook], None] | None = None,
    ) -> None:
        if stale_after_ns <= 0:
            raise ValueError(f"stale_after_ns must be > 0, got {stale_after_ns}")
        if max_buffer < 0:
            raise ValueError(f"max_buffer must be >= 0, got {max_buffer}")
        self.venue = venue
        self.symbol = symbol
        self.book = OrderBook(venue, symbol)
        self.state = SyncState.AWAITING_SNAPSHOT
        self.stats = SyncStats()
        self.stale_after_ns = stale_after_ns
        self.max_buffer = max_buffer
        self.on_update = on_update
        self._bad = bad
        self._buffer: deque[BookDelta] = deque()
        self._last_id = 0
        self._last_ts = 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.venue!r}, {self.symbol!r}, state={self.state.value}, "
            f"last_update_id={self._last_id})"
        )

    # -- venue rules -----------------------------------------------------------------------

    @abstractmethod
    def _first(self, delta: BookDelta, snapshot_id: int) -> int:
        """Verdict for the first delta after a snapshot with id ``snapshot_id``."""

    @abstractmethod
    def _next(self, delta: BookDelta, last_id: int) -> int:
        """Verdict for a delta after the one that ended at ``last_id``."""

    # -- public ----------------------------------------------------------------------------

    @property
    def last_update_id(self) -> int:
        """Update id of the last applied snapshot or delta (0 before any)."""
        return self._last_id

    @property
    def last_update_ns(self) -> int:
        """``ts_recv`` of the last applied snapshot or delta (0 before any)."""
        return self._last_ts

    @property
    def is_ready(self) -> bool:
        """True when the book holds a valid state (``SYNCING`` or ``LIVE``)."""
        return self.state is _LIVE or self.state is _SYNCING

    @property
    def buffered(self) -> int:
        """Deltas held while awaiting a snapshot."""
        return len(self._buffer)

    def on_event(self, event: BookSnapshot | BookDelta) -> bool:
        """Consume one book event; True when it changed the book."""
        if type(event) is BookDelta:
            return self.on_delta(event)
        if isinstance(event, BookSnapshot):
            return self.on_snapshot(event)
        raise TypeError(f"not a book event: {type(event).__name__}")

    def on_snapshot(self, snap: BookSnapshot) -> bool:
        """Replace the book with ``snap`` and replay buffered deltas; True when applied."""
        if snap.symbol != self.symbol or snap.venue != self.venue:
            self._record_bad(snap.update_id, f"wrong_instrument: {snap.venue} {snap.symbol}")
            return False
        if (
            not self.replaces_stale_snapshot
            and self.state is _LIVE
            and snap.update_id <= self._last_id
        ):
            self.stats.skipped[SkipReason.STALE_SNAPSHOT.value] += 1
            return False
        try:
            self.book.apply_snapshot(
                snap.bids,
                snap.asks,
                update_id=snap.update_id,
                ts_event=snap.ts_event,
                ts_recv=snap.ts_recv,
                seq=snap.seq,
            )
        except BookError as exc:
            self._record_bad(snap.update_id, f"bad_level: snapshot: {exc}")
            self._invalidate(ResyncReason.BAD_MESSAGE, str(exc))
            return False
        if self.book.is_crossed():
            self.resync(ResyncReason.CROSSED, f"snapshot {snap.update_id}")
            return False
        self.stats.snapshots += 1
        self._last_id = snap.update_id
        self._last_ts = snap.ts_recv
        self.state = SyncState.SYNCING
        if self.on_update is not None:
            self.on_update(self.book)
        pending = list(self._buffer)
        self._buffer.clear()
        for delta in pending:
            self.on_delta(delta)
        return True

    def on_delta(self, delta: BookDelta) -> bool:
        """Apply, skip, buffer or resync on one delta; True when it was applied."""
        if delta.symbol != self.symbol or delta.venue != self.venue:
            self._record_bad(delta.update_id, f"wrong_instrument: {delta.venue} {delta.symbol}")
            return False
        if delta.first_update_id > delta.update_id:
            self._record_bad(delta.update_id, f"bad_update_range: U={delta.first_update_id}")
            if delta.update_id > self._last_id:
                self._invalidate(ResyncReason.BAD_MESSAGE, "U > u")
            return False
        state = self.state
        if state is _LIVE:
            verdict = self._next(delta, self._last_id)
        elif state is _SYNCING:
            verdict = self._first(delta, self._last_id)
        else:
            self._hold(delta)
            return False
        if verdict == _APPLY:
            return self._apply(delta)
        if verdict == _OLD:
            skip = SkipReason.DUPLICATE if state is _LIVE else SkipReason.BEFORE_SNAPSHOT
            self.stats.skipped[skip.value] += 1
            return False
        if verdict == _MISSING_PREV:
            self._record_bad(delta.update_id, "missing_prev_update_id: futures delta without pu")
            self.resync(ResyncReason.BAD_MESSAGE, f"delta {delta.update_id} has no pu")
            return False
        reason = ResyncReason.GAP if verdict == _GAP else ResyncReason.OUT_OF_ORDER
        self.resync(
            reason,
            f"delta {delta.first_update_id}..{delta.update_id} "
            f"(pu={delta.prev_update_id}) after {self._last_id}",
        )
        self._hold(delta)
        return False

    def check_stale(self, now_ns: int) -> bool:
        """Resync when no update was applied for ``stale_after_ns`` before ``now_ns``.

        ``now_ns`` is on the clock of the events' ``ts_recv``. Returns True when it resynced.
        """
        if self.is_ready and now_ns - self._last_ts > self.stale_after_ns:
            self.resync(ResyncReason.STALE, f"no update for {now_ns - self._last_ts} ns")
            return True
        return False

    def resync(self, reason: ResyncReason, detail: str = "") -> None:
        """Drop the book and await a fresh snapshot; buffered deltas are kept."""
        self.book.clear()
        self.state = SyncState.RESYNC
        self.stats.resyncs[reason.value] += 1
        _log.warning(
            "book_resync",
            venue=self.venue,
            symbol=self.symbol,
            reason=reason.value,
            detail=detail,
            last_update_id=self._last_id,
        )

    # -- internals -------------------------------------------------------------------------

    def _apply(self, delta: BookDelta) -> bool:
        book = self.book
        try:
            levels = book.apply_delta_event(delta)
        except BookError as exc:
            self._record_bad(delta.update_id, f"bad_level: {exc}")
            self.resync(ResyncReason.BAD_MESSAGE, str(exc))
            return False
        bid, ask = book.top_of_book()
        if bid is not None and ask is not None and bid[0] >= ask[0]:
            self.resync(ResyncReason.CROSSED, f"after {delta.update_id}: bid {bid} >= ask {ask}")
            return False
        self._last_id = delta.update_id
        self._last_ts = delta.ts_recv
        self.state = _LIVE
        stats = self.stats
        stats.deltas_applied += 1
        stats.level_updates += levels
        on_update = self.on_update
        if on_update is not None:
            on_update(book)
        return True

    def _hold(self, delta: BookDelta) -> None:
        buffer = self._buffer
        if len(buffer) >= self.max_buffer:
            if not buffer:
                self.stats.skipped[SkipReason.BUFFER_OVERFLOW.value] += 1
                return
            buffer.popleft()
            self.stats.skipped[SkipReason.BUFFER_OVERFLOW.value] += 1
        buffer.append(delta)

    def _invalidate(self, reason: ResyncReason, detail: str) -> None:
        if self.is_ready:
            self.resync(reason, detail)

    def _record_bad(self, update_id: int, reason: str) -> None:
        self.stats.bad_messages += 1
        if self._bad is not None:
            self._bad.record(f"book {self.venue} {self.symbol}", update_id, reason)


class BinanceSpotBookSync(BookSynchronizer):
    """Binance spot diff-depth rules (``U``/``u``)."""

    replaces_stale_snapshot = False

    def on_delta(self, delta: BookDelta) -> bool:
        """Apply, skip, buffer or resync on one delta; True when it was applied."""
        first = delta.first_update_id
        if (
            first == self._last_id + 1  # the common case, checked first: next in sequence
            and self.state is _LIVE
            and delta.update_id >= first
            and delta.symbol == self.symbol
            and delta.venue == self.venue
        ):
            return self._apply(delta)
        return super().on_delta(delta)

    def _first(self, delta: BookDelta, snapshot_id: int) -> int:
        if delta.update_id <= snapshot_id:
            return _OLD
        if delta.first_update_id <= snapshot_id + 1:
            return _APPLY
        return _GAP

    def _next(self, delta: BookDelta, last_id: int) -> int:
        if delta.update_id <= last_id:
            return _OLD
        first = delta.first_update_id
        if first == last_id + 1:
            return _APPLY
        return _GAP if first > last_id + 1 else _OUT_OF_ORDER


class BinanceFuturesBookSync(BookSynchronizer):
    """Binance USD-M / COIN-M diff-depth rules (``U``/``u``/``pu``)."""

    replaces_stale_snapshot = False

    def on_delta(self, delta: BookDelta) -> bool:
        """Apply, skip, buffer or resync on one delta; True when it was applied."""
        last = self._last_id
        if (
            delta.prev_update_id == last  # the common case, checked first: next in sequence
            and self.state is _LIVE
            and delta.update_id > last
            and delta.first_update_id <= delta.update_id
            and delta.symbol == self.symbol
            and delta.venue == self.venue
        ):
            return self._apply(delta)
        return super().on_delta(delta)

    def _first(self, delta: BookDelta, snapshot_id: int) -> int:
        if delta.update_id < snapshot_id:
            return _OLD
        if delta.first_update_id <= snapshot_id:
            return _APPLY
        return _GAP

    def _next(self, delta: BookDelta, last_id: int) -> int:
        if delta.update_id <= last_id:
            return _OLD
        prev = delta.prev_update_id
        if prev is None:
            return _MISSING_PREV
        if prev == last_id:
            return _APPLY
        return _GAP if prev > last_id else _OUT_OF_ORDER


class BybitBookSync(BookSynchronizer):
    """Bybit v5 rules: consecutive ``u``; ``u == 1`` is a new snapshot."""

    def _first(self, delta: BookDelta, snapshot_id: int) -> int:
        return self._next(delta, snapshot_id)

    def _next(self, delta: BookDelta, last_id: int) -> int:
        u = delta.update_id
        if u <= last_id:
            return _OLD
        return _APPLY if u == last_id + 1 else _GAP

    def on_delta(self, delta: BookDelta) -> bool:
        """A delta with ``u == 1`` is treated as a snapshot (Bybit service restart)."""
        u = delta.update_id
        if u == 1:
            return self.on_snapshot(_as_snapshot(delta))
        if (
            u == self._last_id + 1  # the common case: next in sequence
            and self.state is _LIVE
            and delta.first_update_id <= u
            and delta.symbol == self.symbol
            and delta.venue == self.venue
        ):
            return self._apply(delta)
        return super().on_delta(delta)


def _as_snapshot(delta: BookDelta) -> BookSnapshot:
    return BookSnapshot(
        venue=delta.venue,
        symbol=delta.symbol,
        ts_event=delta.ts_event,
        ts_recv=delta.ts_recv,
        update_id=delta.update_id,
        bids=delta.bids,
        asks=delta.asks,
        seq=delta.seq,
    )


_SYNCHRONIZERS: dict[str, type[BookSynchronizer]] = {
    Venue.BINANCE.value: BinanceSpotBookSync,
    Venue.BINANCE_USDM.value: BinanceFuturesBookSync,
    Venue.BINANCE_COINM.value: BinanceFuturesBookSync,
    Venue.BYBIT.value: BybitBookSync,
}


def make_synchronizer(
    venue: str,
    symbol: str,
    *,
    stale_after_ns: int = DEFAULT_STALE_AFTER_NS,
    max_buffer: int = DEFAULT_MAX_BUFFER,
    bad: BadInputSink | None = None,
    on_update: Callable[[OrderBook], None] | None = None,
    protocol: str | None = None,
) -> BookSynchronizer:
    """The synchronizer for ``venue`` (a :class:`~mftbot.domain.enums.Venue` id).

    ``protocol`` names another venue whose sequencing rules ``venue``'s stream follows.
    """
    cls = _SYNCHRONIZERS.get(str(protocol or venue))
    if cls is None:
        raise ValueError(
            f"no book synchronizer for venue {venue!r}; known: {', '.join(_SYNCHRONIZERS)}"
        )
    return cls(
        str(venue),
        symbol,
        stale_after_ns=stale_after_ns,
        max_buffer=max_buffer,
        bad=bad,
        on_update=on_update,
    )


@dataclass(frozen=True, slots=True)
class TickerMismatch:
    """A venue best bid/offer that disagreed with the book at the same update id."""

    update_id: int
    ticker: tuple[Level, Level]
    book: tuple[Level | None, Level | None]


class TickerCheck:
    """Checks a reconstructed book against the venue's best bid/offer stream.

    Binance ``bookTicker`` carries the book update id ``u``. Whenever a ticker's ``u`` equals
    the last update id of an applied book update, the book's best bid and ask (price and size)
    right after that update must equal the ticker's exactly. Tickers and depth events arrive
    on different streams, so either may come first: the book's top after each update is kept
    for the last ``keep`` updates, and tickers ahead of the book wait for it (the last
    ``keep`` of them, in arrival order).
    """

    def __init__(self, *, keep: int = 4096, samples: int = 20) -> None:
        if keep <= 0:
            raise ValueError(f"keep must be > 0, got {keep}")
        self.keep = keep
        self.aligned = 0
        self.mismatched = 0
        self.quotes = 0
        self.mismatches: list[TickerMismatch] = []
        self._samples = samples
        self._tops: dict[int, tuple[Level | None, Level | None]] = {}
        self._top_ids: deque[int] = deque()
        self._waiting: dict[int, QuoteTick] = {}  # update id -> ticker, in arrival order
        self._last_id = -1

    def on_book(self, book: OrderBook) -> None:
        """Record the book's top after an applied update (a synchronizer's ``on_update``)."""
        update_id = book.update_id
        top = book.top_of_book()
        self._tops[update_id] = top
        ids = self._top_ids
        ids.append(update_id)
        if len(ids) > self.keep:
            self._tops.pop(ids.popleft(), None)
        if update_id > self._last_id:
            self._last_id = update_id
        waiting = self._waiting
        if waiting:
            quote = waiting.pop(update_id, None)
            if quote is not None:
                self._compare(update_id, quote, top)
            # Tickers for ids the book has passed can no longer align: forget them.
            if waiting:
                if max(waiting) <= update_id:
                    waiting.clear()  # the usual case: the book passed them all
                else:
                    self._forget_through(update_id)

    def on_quote(self, quote: QuoteTick) -> None:
        """Compare ``quote`` with the book now, or later when its update id is reached."""
        update_id = quote.update_id
        if update_id is None:
            return
        self.quotes += 1
        if update_id > self._last_id:  # ahead of the book (no top kept has a higher id)
            waiting = self._waiting
            waiting[update_id] = quote
            if len(waiting) > self.keep:
                del waiting[next(iter(waiting))]  # the oldest
            return
        top = self._tops.get(update_id)
        if top is not None:
            self._compare(update_id, quote, top)

    def _forget_through(self, update_id: int) -> None:
        """Drop waiting tickers from the oldest on, while their id is <= ``update_id``."""
        waiting = self._waiting
        for waiting_id in list(waiting):
            if waiting_id > update_id:
                break
            del waiting[waiting_id]

    def _compare(
        self, update_id: int, quote: QuoteTick, top: tuple[Level | None, Level | None]
    ) -> None:
        expected = ((quote.bid_price, quote.bid_size), (quote.ask_price, quote.ask_size))
        if top == expected:
            self.aligned += 1
            return
        self.mismatched += 1
        if len(self.mismatches) < self._samples:
            self.mismatches.append(TickerMismatch(update_id, expected, top))


@dataclass
class BookEntry:
    """One instrument of a :class:`BookSet`: its synchronizer and ticker check."""

    sync: BookSynchronizer
    tickers: TickerCheck


_REPLAY_PROTOCOL = {Venue.SIMULATED.value: Venue.BINANCE.value}
"""Replayed venues that follow another venue's sequencing: the synthetic market numbers its
deltas contiguously (``U == previous u + 1``), as Binance spot does."""


class BookSet:
    """Books for every (venue, symbol) seen in a merged event stream.

    Book events go to the instrument's synchronizer, :class:`QuoteTick` to its
    :class:`TickerCheck` (unless ``check_tickers`` is off); other events are counted and
    ignored. With ``stale_after_ns`` set, every ready book is checked for staleness on the
    events' receive clock about once a second. :meth:`consume` routes a whole stream in one
    loop (the replay path); :meth:`on_event` routes one event the same way.
    """

    def __init__(
        self,
        *,
        bad: BadInputSink | None = None,
        stale_after_ns: int | None = None,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        check_tickers: bool = True,
    ) -> None:
        self.entries: dict[tuple[str, str], BookEntry] = {}
        self.check_tickers = check_tickers
        self.events = 0
        # symbol -> venue -> handler, one table per event type (the routing of consume()).
        self._deltas: dict[str, dict[str, Callable[[BookDelta], bool]]] = {}
        self._quotes: dict[str, dict[str, Callable[[QuoteTick], None]]] = {}
        self._bad = bad
        self._stale_after_ns = stale_after_ns
        self._max_buffer = max_buffer
        self._next_stale_check = 0

    def entry(self, venue: str, symbol: str) -> BookEntry:
        """The entry for an instrument, created on first use."""
        key = (venue, symbol)
        found = self.entries.get(key)
        if found is None:
            tickers = TickerCheck()
            sync = make_synchronizer(
                venue,
                symbol,
                protocol=_REPLAY_PROTOCOL.get(venue),
                stale_after_ns=self._stale_after_ns or DEFAULT_STALE_AFTER_NS,
                max_buffer=self._max_buffer,
                bad=self._bad,
                on_update=tickers.on_book if self.check_tickers else None,
            )
            found = self.entries[key] = BookEntry(sync, tickers)
            self._deltas.setdefault(symbol, {})[venue] = sync.on_delta
            self._quotes.setdefault(symbol, {})[venue] = tickers.on_quote
        return found

    def on_event(self, event: MarketEvent) -> None:
        """Route one event."""
        self.events += 1
        if self._stale_after_ns is not None and event.ts_recv >= self._next_stale_check:
            self.check_stale(event.ts_recv)  # before the event: time moved on to it
        kind = type(event)
        if kind is QuoteTick:
            if self.check_tickers:
                try:
                    on_quote = self._quotes[event.symbol][event.venue]
                except KeyError:
                    on_quote = self.entry(event.venue, event.symbol).tickers.on_quote
                on_quote(event)  # type: ignore[arg-type]
        elif kind is BookDelta:
            try:
                on_delta = self._deltas[event.symbol][event.venue]
            except KeyError:
                on_delta = self.entry(event.venue, event.symbol).sync.on_delta
            on_delta(event)  # type: ignore[arg-type]
        elif kind is BookSnapshot:
            self.entry(event.venue, event.symbol).sync.on_snapshot(event)  # type: ignore[arg-type]

    def consume(self, events: Iterable[MarketEvent]) -> int:
        """Route every event of ``events`` in order; returns how many there were."""
        if self._stale_after_ns is not None:
            events = self._stale_checked(events)
        deltas = self._deltas
        quotes = self._quotes
        tickers = self.check_tickers
        count = 0
        try:
            for count, event in enumerate(events, 1):  # noqa: B007 - counted in finally
                kind = type(event)
                if kind is QuoteTick:
                    if tickers:
                        try:
                            on_quote = quotes[event.symbol][event.venue]
                        except KeyError:
                            on_quote = self.entry(event.venue, event.symbol).tickers.on_quote
                        on_quote(event)  # type: ignore[arg-type]
                elif kind is BookDelta:
                    try:
                        on_delta = deltas[event.symbol][event.venue]
                    except KeyError:
                        on_delta = self.entry(event.venue, event.symbol).sync.on_delta
                    on_delta(event)  # type: ignore[arg-type]
                elif kind is BookSnapshot:
                    self.entry(event.venue, event.symbol).sync.on_snapshot(event)  # type: ignore[arg-type]
        finally:
            self.events += count
        return count

    def _stale_checked(self, events: Iterable[MarketEvent]) -> Iterator[MarketEvent]:
        """``events``, checking the books for staleness before each one when it is due."""
        for event in events:
            if event.ts_recv >= self._next_stale_check:
                self.check_stale(event.ts_recv)  # before the event: time moved on to it
            yield event

    def check_stale(self, now_ns: int) -> None:
        """Check every book for staleness at ``now_ns`` (receive clock)."""
        for entry in self.entries.values():
            entry.sync.check_stale(now_ns)
        self._next_stale_check = now_ns + 1_000_000_000
