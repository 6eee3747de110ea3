"""Book state for the detectors: level-size changes near the touch, and trade attribution.

:class:`BookTracker` keeps one book per (venue, symbol) through the venue's sequencer
(:func:`mftbot.domain.book_sync.make_synchronizer`). For every applied delta it reports a
:class:`BookUpdate`: the mid before the delta, the number of level entries in it (all
depths) and, for levels within ``band_bps`` of that mid, the size before and after. A
snapshot, a resync or a skipped delta that leaves the book out of sequence is reported as a
:class:`BookReset` (the detectors drop what they were following: the changes between the old
book and the new one were not seen). Trades pass through unchanged.

:class:`WatchList` follows levels whose removal must be told apart from a fill: trades on the
level's price hitting its side (an aggressive sell hits bids, a buy lifts asks) with exchange
time in ``[start - skew, end + skew]`` are added to its ``traded``. A removed level is settled
only when the exchange-time watermark (the latest ``ts_event`` seen on the instrument) has
passed ``end + grace``, so trades that arrive after the depth update still count.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from mftbot.data.quality import BadInputLog
from mftbot.domain.book_sync import BookSynchronizer, SyncState, make_synchronizer
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, TradeTick
from mftbot.domain.orderbook import OrderBook

LevelChange = tuple[bool, float, float, float]
"""(is_bid, price, size before, size after) of one level within the tracked band."""

Instrument = tuple[str, str]
"""(venue, symbol)."""


@dataclass(slots=True)
class BookUpdate:
    """One applied delta as the detectors see it."""

    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    mid: float
    """Mid price before the delta."""
    levels: int
    """Level entries in the delta, at any depth (the update count for quote stuffing)."""
    changes: list[LevelChange]
    """Levels within the band whose size changed."""
    book: OrderBook
    """The live book after the delta (do not keep a reference: it keeps changing)."""


class BookReset(NamedTuple):
    """The book was replaced or dropped: changes up to here were not observed."""

    venue: str
    symbol: str
    ts_event: int
    ts_recv: int


TrackerItem = BookUpdate | BookReset | TradeTick


class BookTracker:
    """Books for every instrument in a merged stream, turned into :data:`TrackerItem` s."""

    def __init__(self, band_bps: float = 100.0, *, bad: BadInputLog | None = None) -> None:
        if not band_bps > 0.0:
            raise ValueError(f"band_bps must be > 0, got {band_bps}")
        self.band = band_bps / 10_000.0
        self._bad = bad
        self._syncs: dict[Instrument, BookSynchronizer] = {}
        self._epochs: dict[Instrument, int] = {}

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        """The book of an instrument (valid only while it is in sequence)."""
        sync = self._syncs.get((venue, symbol))
        return None if sync is None else sync.book

    def _sync(self, venue: str, symbol: str) -> BookSynchronizer:
        key = (venue, symbol)
        sync = self._syncs.get(key)
        if sync is None:
            sync = self._syncs[key] = make_synchronizer(venue, symbol, bad=self._bad)
            self._epochs[key] = 0
        return sync

    @staticmethod
    def _epoch(sync: BookSynchronizer) -> int:
        return sync.stats.snapshots + sync.stats.resync_count

    def on_event(self, event: MarketEvent) -> TrackerItem | None:
        """Feed one event; returns what the detectors should see, if anything."""
        if type(event) is TradeTick:
            return event
        if type(event) is BookDelta:
            return self._on_delta(event)
        if type(event) is BookSnapshot:
            self._sync(event.venue, event.symbol).on_snapshot(event)
            return self._reset(event.venue, event.symbol, event.ts_event, event.ts_recv)
        return None

    def _reset(self, venue: str, symbol: str, ts_event: int, ts_recv: int) -> BookReset:
        self._epochs[(venue, symbol)] = self._epoch(self._syncs[(venue, symbol)])
        return BookReset(venue, symbol, ts_event, ts_recv)

    def _on_delta(self, delta: BookDelta) -> BookUpdate | BookReset | None:
        sync = self._sync(delta.venue, delta.symbol)
        book = sync.book
        live = sync.state in (SyncState.LIVE, SyncState.SYNCING)
        mid = book.mid() if live else None
        before: list[tuple[bool, float, float, float | None]] = []
        if mid is not None:
            lo = mid * (1.0 - self.band)
            hi = mid * (1.0 + self.band)
            get_bid = book.bids.get
            get_ask = book.asks.get
            before = [(True, p, s, get_bid(p)) for p, s in delta.bids if p >= lo]
            before.extend((False, p, s, get_ask(p)) for p, s in delta.asks if p <= hi)
        applied = sync.on_delta(delta)
        if self._epoch(sync) != self._epochs[(delta.venue, delta.symbol)]:
            return self._reset(delta.venue, delta.symbol, delta.ts_event, delta.ts_recv)
        if not applied or mid is None:
            return None
        changes: list[LevelChange] = []
        for is_bid, price, new, old in before:
            prev = 0.0 if old is None else old
            if new != prev:
                changes.append((is_bid, price, prev, new))
        return BookUpdate(
            delta.venue,
            delta.symbol,
            delta.ts_event,
            delta.ts_recv,
            mid,
            len(delta.bids) + len(delta.asks),
            changes,
            book,
        )


def hits_bids(trade: TradeTick) -> bool:
    """Whether the trade's aggressor sold into the bids (else it bought from the asks)."""
    return trade.side is Side.SELL


@dataclass(slots=True, kw_only=True)
class Watched:
    """A level followed until it is removed and settled."""

    is_bid: bool
    price: float
    start_ns: int
    end_ns: int | None = None
    traded: float = 0.0


W = TypeVar("W", bound=Watched)


class WatchList(Generic[W]):
    """Watched levels of one instrument: live ones by (side, price), removed ones pending."""

    def __init__(self, *, skew_ns: int, grace_ns: int) -> None:
        self.live: dict[tuple[bool, float], W] = {}
        self.pending: deque[W] = deque()
        self._pending_at: dict[tuple[bool, float], list[W]] = {}
        self.skew_ns = skew_ns
        self.grace_ns = grace_ns

    def __bool__(self) -> bool:
        return bool(self.live) or bool(self.pending)

    def clear(self) -> None:
        """Forget everything (the book was reset)."""
        self.live.clear()
        self.pending.clear()
        self._pending_at.clear()

    def remove(self, item: W, end_ns: int) -> None:
        """The level was removed at ``end_ns``: stop following it live, settle it later."""
        key = (item.is_bid, item.price)
        del self.live[key]
        item.end_ns = end_ns
        self.pending.append(item)
        self._pending_at.setdefault(key, []).append(item)

    def on_trade(self, trade: TradeTick) -> None:
        """Add the trade to every watched level on its price and side, in its time window."""
        key = (trade.side is Side.SELL, trade.price)
        ts = trade.ts_event
        skew = self.skew_ns
        item = self.live.get(key)
        if item is not None and ts >= item.start_ns - skew:
            item.traded += trade.size
        for item in self._pending_at.get(key, ()):
            if item.start_ns - skew <= ts <= (item.end_ns or 0) + skew:
                item.traded += trade.size

    def settle(self, watermark_ns: int) -> list[W]:
        """Removed levels whose grace period ended by ``watermark_ns``, in removal order."""
        pending = self.pending
        done: list[W] = []
        limit = watermark_ns - self.grace_ns
        while pending and (pending[0].end_ns or 0) <= limit:
            item = pending.popleft()
            key = (item.is_bid, item.price)
            same = self._pending_at[key]
            same.remove(item)
            if not same:
                del self._pending_at[key]
            done.append(item)
        return done


class RecentAdds:
    """Recent large additions on one instrument, to tell a moved level from a pulled one.

    A level that vanishes while a similar size appears on the same side a few ticks away,
    at about the same time, was re-priced (a pegged or requoted order), not withdrawn.
    """

    def __init__(self, *, window_ns: int, bps: float, size_tolerance: float) -> None:
        self.window_ns = window_ns
        self.bps = bps
        self.size_tolerance = size_tolerance
        self._adds: deque[tuple[int, bool, float, float]] = deque()

    def clear(self) -> None:
        """Forget everything."""
        self._adds.clear()

    def add(self, ts_ns: int, is_bid: bool, price: float, size: float) -> None:
        """Record ``size`` added at ``price`` at ``ts_ns``."""
        self._adds.append((ts_ns, is_bid, price, size))

    def prune(self, before_ns: int) -> None:
        """Drop additions older than ``before_ns``."""
        adds = self._adds
        while adds and adds[0][0] < before_ns:
            adds.popleft()

    def moved(self, is_bid: bool, price: float, size: float, end_ns: int) -> bool:
        """Whether a similar ``size`` appeared near ``price`` within the window of ``end_ns``."""
        for ts, bid, other, added in self._adds:
            if (
                bid is is_bid
                and other != price
                and abs(ts - end_ns) <= self.window_ns
                and abs(other / price - 1.0) * 10_000.0 <= self.bps
                and abs(added - size) <= self.size_tolerance * size
            ):
                return True
        return False
