"""Replay market events through the venue synchronizers and sample every book on a fixed
cadence, with the trade and book-activity aggregates the order-book features need.

Clock: the events' ``ts_recv`` (local receive time), the order a replay delivers them in
and the clock a live session runs on. Sample times are the multiples of ``cadence_ns``; the
sample at ``t`` sees every event with ``ts_recv <= t`` and nothing later, and its interval
aggregates cover ``(t - cadence, t]``. A sample is emitted as soon as an event later than
``t`` arrives (or at :meth:`BookSampler.finish`), so live and replayed samples are the same.
Every instrument seen shares the grid; its samples start at the first grid time at or after
its first event. A quiet stretch yields a sample per grid time all the same.

Each sample (:class:`SampleRow`) holds:

* ``bids``, ``asks``: the best ``depth`` levels, ``(depth, 2)`` (price, size), NaN-padded;
  all NaN and ``valid=False`` when the book is not synchronised or a side is empty.
* book activity in the interval: ``book_updates`` (applied snapshots and deltas),
  ``bbo_changes`` (best bid/offer price or size changed by an update),
  ``bid_level_updates`` / ``ask_level_updates`` (delta levels within ``band_bps`` of the mid
  before the delta), ``ofi`` (Cont–Kukanov–Stoikov order-flow imbalance summed over the
  interval's updates, size units; NaN when the sample's book is not valid).
* trades in the interval: ``trade_count``, taker ``buy_volume`` / ``sell_volume`` (base)
  and ``buy_notional`` / ``sell_notional`` (quote), ``whale_buy_volume`` /
  ``whale_sell_volume`` (trades flagged by :class:`~mftbot.analysis.orderflow.WhaleRule`),
  ``eff_spread_sum`` / ``eff_spread_volume`` (sum of size x effective spread in bps against
  the mid when the trade arrived, and the size it covers), ``roll_pairs``, ``roll_sum_x``,
  ``roll_sum_y``, ``roll_sum_xy`` (sums over successive trade price changes
  ``(dp_t, dp_{t-1})`` for the Roll spread), and ``last_price`` (last trade at or before
  ``t``, carried across quiet intervals; NaN before the first trade).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.analysis.book_metrics import BPS, ofi_increment, padded_levels
from mftbot.analysis.orderflow import WhaleDetector, WhaleRule
from mftbot.core.errors import DataError
from mftbot.domain.book_sync import BookSynchronizer, make_synchronizer
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, TradeTick
from mftbot.domain.orderbook import OrderBook

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Key: TypeAlias = tuple[str, str]
SyncFactory: TypeAlias = Callable[[str, str], BookSynchronizer]

COUNT_FIELDS: tuple[str, ...] = (
    "book_updates",
    "bbo_changes",
    "bid_level_updates",
    "ask_level_updates",
    "trade_count",
    "roll_pairs",
)
"""Per-interval counts (int64)."""
FLOAT_FIELDS: tuple[str, ...] = (
    "ofi",
    "buy_volume",
    "sell_volume",
    "buy_notional",
    "sell_notional",
    "whale_buy_volume",
    "whale_sell_volume",
    "eff_spread_sum",
    "eff_spread_volume",
    "roll_sum_x",
    "roll_sum_y",
    "roll_sum_xy",
    "last_price",
)
"""Per-interval float64 aggregates (``last_price`` is carried)."""
INTERVAL_FIELDS: tuple[str, ...] = COUNT_FIELDS + FLOAT_FIELDS


@dataclass(frozen=True, slots=True)
class SamplerConfig:
    """How books are sampled."""

    cadence_ns: int = 1_000_000_000
    depth: int = 20
    band_bps: float = 10.0
    whale: WhaleRule = field(default_factory=WhaleRule)
    stale_after_ns: int | None = None

    def __post_init__(self) -> None:
        if self.cadence_ns <= 0:
            raise ValueError(f"cadence_ns must be > 0, got {self.cadence_ns}")
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, got {self.depth}")
        if not self.band_bps > 0:
            raise ValueError(f"band_bps must be > 0, got {self.band_bps}")
        if self.stale_after_ns is not None and self.stale_after_ns <= 0:
            raise ValueError(f"stale_after_ns must be > 0, got {self.stale_after_ns}")


@dataclass(frozen=True, slots=True)
class SampleRow:
    """One instrument's sample at ``time_ns`` (see the module docstring)."""

    venue: str
    symbol: str
    time_ns: int
    valid: bool
    bids: FloatArray
    asks: FloatArray
    book_updates: int = 0
    bbo_changes: int = 0
    bid_level_updates: int = 0
    ask_level_updates: int = 0
    trade_count: int = 0
    roll_pairs: int = 0
    ofi: float = math.nan
    buy_volume: float = 0.0
    sell_volume: float = 0.0
    buy_notional: float = 0.0
    sell_notional: float = 0.0
    whale_buy_volume: float = 0.0
    whale_sell_volume: float = 0.0
    eff_spread_sum: float = 0.0
    eff_spread_volume: float = 0.0
    roll_sum_x: float = 0.0
    roll_sum_y: float = 0.0
    roll_sum_xy: float = 0.0
    last_price: float = math.nan


@dataclass(frozen=True, slots=True)
class SampledBook:
    """An instrument's samples as aligned arrays (one row per sample time).

    ``bids``/``asks`` are ``(n, depth, 2)``; the interval fields are ``(n,)`` (int64 counts,
    float64 otherwise). Arrays are stored read-only. Times must step by ``cadence_ns``.
    """

    venue: str
    symbol: str
    cadence_ns: int
    time_ns: IntArray
    valid: BoolArray
    bids: FloatArray
    asks: FloatArray
    book_updates: IntArray
    bbo_changes: IntArray
    bid_level_updates: IntArray
    ask_level_updates: IntArray
    trade_count: IntArray
    roll_pairs: IntArray
    ofi: FloatArray
    buy_volume: FloatArray
    sell_volume: FloatArray
    buy_notional: FloatArray
    sell_notional: FloatArray
    whale_buy_volume: FloatArray
    whale_sell_volume: FloatArray
    eff_spread_sum: FloatArray
    eff_spread_volume: FloatArray
    roll_sum_x: FloatArray
    roll_sum_y: FloatArray
    roll_sum_xy: FloatArray
    last_price: FloatArray

    def __post_init__(self) -> None:
        if self.cadence_ns <= 0:
            raise DataError(f"cadence_ns must be > 0, got {self.cadence_ns}")
        for name, arr in self.columns().items():
            want = _DTYPES[name]
            if not isinstance(arr, np.ndarray) or arr.dtype != want:
                raise DataError(f"SampledBook.{name} must be a {np.dtype(want)} array")
            object.__setattr__(self, name, _frozen(arr))
        n = self.time_ns.shape[0]
        depth = int(self.bids.shape[1]) if self.bids.ndim == 3 else 0
        if depth < 1:
            raise DataError(f"SampledBook.bids must be (n, depth >= 1, 2), got {self.bids.shape}")
        for name, arr in self.columns().items():
            shape = (n, depth, 2) if name in ("bids", "asks") else (n,)
            if arr.shape != shape:
                raise DataError(f"SampledBook.{name} has shape {arr.shape}, expected {shape}")
        if n > 1 and np.any(np.diff(self.time_ns) != self.cadence_ns):
            raise DataError(f"SampledBook times must step by the cadence ({self.cadence_ns} ns)")
        for side in (self.bids, self.asks):
            present = np.isfinite(side[:, :, 0]) & np.isfinite(side[:, :, 1])
            if np.any(present[:, 1:] & ~present[:, :-1]):
                raise DataError("SampledBook levels must be best first with NaN padding last")
        finite = np.isfinite(self.bids[:, 0, 0]) & np.isfinite(self.asks[:, 0, 0])
        if n and not np.array_equal(finite, self.valid):
            raise DataError("SampledBook.valid must say where both best levels are present")

    @property
    def depth(self) -> int:
        """Levels per side."""
        return int(self.bids.shape[1])

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """Every array by field name (``time_ns``, ``valid``, ``bids``, ``asks``, intervals)."""
        return {name: getattr(self, name) for name in _ARRAY_FIELDS}

    @classmethod
    def from_columns(
        cls, venue: str, symbol: str, cadence_ns: int, columns: Mapping[str, npt.ArrayLike]
    ) -> SampledBook:
        """Build from arrays by field name (e.g. :meth:`columns` or ``CandleArrays.extra``)."""
        missing = [name for name in _ARRAY_FIELDS if name not in columns]
        if missing:
            raise DataError(f"SampledBook columns missing: {missing}")
        arrays: dict[str, Any] = {
            name: np.ascontiguousarray(columns[name], dtype=_DTYPES[name]) for name in _ARRAY_FIELDS
        }
        return cls(venue, symbol, cadence_ns, **arrays)

    @classmethod
    def from_rows(
        cls, venue: str, symbol: str, rows: Sequence[SampleRow], cadence_ns: int, depth: int
    ) -> SampledBook:
        """Stack the rows of one instrument (none gives an empty book)."""
        if any(r.venue != venue or r.symbol != symbol for r in rows):
            raise DataError(f"from_rows: a row is not of {venue} {symbol}")
        columns: dict[str, npt.ArrayLike] = {}
        for name in _ARRAY_FIELDS:
            if name in ("bids", "asks"):
                columns[name] = (
                    np.stack([getattr(r, name) for r in rows]) if rows else np.empty((0, depth, 2))
                )
            else:
                columns[name] = np.array([getattr(r, name) for r in rows], dtype=_DTYPES[name])
        return cls.from_columns(venue, symbol, cadence_ns, columns)

    def row(self, i: int) -> SampleRow:
        """Sample ``i`` as a :class:`SampleRow` (what a live sampler would have emitted)."""
        values = {name: getattr(self, name)[i] for name in INTERVAL_FIELDS}
        counts: dict[str, Any] = {name: int(values[name]) for name in COUNT_FIELDS}
        floats: dict[str, Any] = {name: float(values[name]) for name in FLOAT_FIELDS}
        return SampleRow(
            self.venue,
            self.symbol,
            int(self.time_ns[i]),
            bool(self.valid[i]),
            self.bids[i],
            self.asks[i],
            **counts,
            **floats,
        )

    def head(self, stop: int) -> SampledBook:
        """The first ``stop`` samples."""
        return SampledBook.from_columns(
            self.venue,
            self.symbol,
            self.cadence_ns,
            {name: arr[:stop] for name, arr in self.columns().items()},
        )


_ARRAY_FIELDS: tuple[str, ...] = ("time_ns", "valid", "bids", "asks", *INTERVAL_FIELDS)
_DTYPES: dict[str, type] = {
    "time_ns": np.int64,
    "valid": np.bool_,
    "bids": np.float64,
    "asks": np.float64,
    **dict.fromkeys(COUNT_FIELDS, np.int64),
    **dict.fromkeys(FLOAT_FIELDS, np.float64),
}
assert {f.name for f in fields(SampledBook)} == {"venue", "symbol", "cadence_ns", *_ARRAY_FIELDS}


def _frozen(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    view = arr.view()
    view.setflags(write=False)
    return view


class _Track:
    """Sampling state of one instrument."""

    def __init__(self, sync: BookSynchronizer, whale: WhaleRule) -> None:
        self.sync = sync
        self.whales = WhaleDetector(whale)
        self.prev_bbo: tuple[float, float, float, float] | None = None
        self.prev_trade: float | None = None
        self.prev_dp: float | None = None
        self.last_price = math.nan
        self.clear()

    def clear(self) -> None:
        """Reset the interval aggregates."""
        self.counts: dict[str, Any] = dict.fromkeys(COUNT_FIELDS, 0)
        self.sums: dict[str, float] = dict.fromkeys(FLOAT_FIELDS, 0.0)

    def on_book(self, book: OrderBook) -> None:
        """After every applied snapshot or delta."""
        self.counts["book_updates"] += 1
        bid = book.bids.best()
        ask = book.asks.best()
        if bid is None or ask is None:
            self.prev_bbo = None
            return
        bbo = (bid[0], bid[1], ask[0], ask[1])
        prev = self.prev_bbo
        if prev is not None:
            self.sums["ofi"] += ofi_increment(*prev, *bbo)
            if bbo != prev:
                self.counts["bbo_changes"] += 1
        self.prev_bbo = bbo

    def on_trade(self, trade: TradeTick) -> None:
        """Account one trade."""
        price, size = trade.price, trade.size
        counts, sums = self.counts, self.sums
        counts["trade_count"] += 1
        buy = trade.side is Side.BUY
        whale = self.whales.update(size, price)
        if buy:
            sums["buy_volume"] += size
            sums["buy_notional"] += price * size
            if whale:
                sums["whale_buy_volume"] += size
        else:
            sums["sell_volume"] += size
            sums["sell_notional"] += price * size
            if whale:
                sums["whale_sell_volume"] += size
        if self.sync.is_ready:
            mid = self.sync.book.mid()
            if mid is not None:
                sums["eff_spread_sum"] += size * (2.0 * abs(price - mid) / mid * BPS)
                sums["eff_spread_volume"] += size
        if self.prev_trade is not None:
            dp = price - self.prev_trade
            if self.prev_dp is not None:
                counts["roll_pairs"] += 1
                sums["roll_sum_x"] += dp
                sums["roll_sum_y"] += self.prev_dp
                sums["roll_sum_xy"] += dp * self.prev_dp
            self.prev_dp = dp
        self.prev_trade = price
        self.last_price = price


class BookSampler:
    """Streaming sampler: feed events in ``ts_recv`` order, collect the emitted rows.

    ``make_sync`` builds the synchronizer of a (venue, symbol) (default:
    :func:`~mftbot.domain.book_sync.make_synchronizer`).
    """

    def __init__(
        self, config: SamplerConfig | None = None, *, make_sync: SyncFactory | None = None
    ) -> None:
        self.config = config or SamplerConfig()
        self._make_sync = make_sync
        self._tracks: dict[Key, _Track] = {}
        self._next: int | None = None
        self._last_ts: int | None = None

    @property
    def instruments(self) -> list[Key]:
        """(venue, symbol) of every instrument seen, in order of appearance."""
        return list(self._tracks)

    def synchronizer(self, venue: str, symbol: str) -> BookSynchronizer:
        """The synchronizer of an instrument seen."""
        return self._tracks[(venue, symbol)].sync

    def on_event(self, event: MarketEvent) -> list[SampleRow]:
        """Consume one event; returns the samples of every grid time before it."""
        ts = event.ts_recv
        if self._last_ts is not None and ts < self._last_ts:
            raise DataError(
                f"events out of ts_recv order: {ts} after {self._last_ts} ({event.symbol})"
            )
        self._last_ts = ts
        cadence = self.config.cadence_ns
        rows: list[SampleRow] = []
        if self._next is None:
            self._next = -(-ts // cadence) * cadence
        while self._next < ts:
            rows.extend(self._emit(self._next))
            self._next += cadence
        kind = type(event)
        if kind is BookDelta or kind is BookSnapshot or kind is TradeTick:
            track = self._track(event.venue, event.symbol)
            if kind is TradeTick:
                assert isinstance(event, TradeTick)
                track.on_trade(event)
            else:
                assert isinstance(event, BookDelta | BookSnapshot)
                self._on_book_event(track, event)
        return rows

    def finish(self) -> list[SampleRow]:
        """Samples of the grid time equal to the last event's time, if it is one."""
        if self._next is None or self._last_ts is None or self._next > self._last_ts:
            return []
        rows = self._emit(self._next)
        self._next += self.config.cadence_ns
        return rows

    def _track(self, venue: str, symbol: str) -> _Track:
        key = (venue, symbol)
        track = self._tracks.get(key)
        if track is None:
            if self._make_sync is not None:
                sync = self._make_sync(venue, symbol)
            else:
                cfg = self.config
                stale = cfg.stale_after_ns
                sync = (
                    make_synchronizer(venue, symbol)
                    if stale is None
                    else make_synchronizer(venue, symbol, stale_after_ns=stale)
                )
            track = self._tracks[key] = _Track(sync, self.config.whale)
            sync.on_update = _chain(sync.on_update, track.on_book)
        return track

    def _on_book_event(self, track: _Track, event: BookDelta | BookSnapshot) -> None:
        sync = track.sync
        if type(event) is BookDelta and sync.is_ready:
            mid = sync.book.mid()
            if mid is not None:
                band = self.config.band_bps * mid / BPS
                track.counts["bid_level_updates"] += sum(
                    1 for price, _ in event.bids if abs(price - mid) <= band
                )
                track.counts["ask_level_updates"] += sum(
                    1 for price, _ in event.asks if abs(price - mid) <= band
                )
        sync.on_event(event)
        if not sync.is_ready:
            track.prev_bbo = None

    def _emit(self, t: int) -> list[SampleRow]:
        cfg = self.config
        rows = []
        nan_side = np.full((cfg.depth, 2), np.nan)
        for (venue, symbol), track in self._tracks.items():
            sync = track.sync
            if cfg.stale_after_ns is not None and sync.check_stale(t):
                track.prev_bbo = None
            bids = asks = nan_side
            valid = False
            if sync.is_ready:
                bids, asks = padded_levels(sync.book, cfg.depth)
                valid = bool(np.isfinite(bids[0, 0]) and np.isfinite(asks[0, 0]))
                if not valid:
                    bids = asks = nan_side
            sums: dict[str, Any] = dict(track.sums)
            if not valid:
                sums["ofi"] = math.nan
            sums["last_price"] = track.last_price
            rows.append(SampleRow(venue, symbol, t, valid, bids, asks, **track.counts, **sums))
            track.clear()
        return rows


def _chain(
    first: Callable[[OrderBook], None] | None, then: Callable[[OrderBook], None]
) -> Callable[[OrderBook], None]:
    if first is None:
        return then

    def both(book: OrderBook) -> None:
        first(book)
        then(book)

    return both


def sample_events(
    events: Iterable[MarketEvent],
    config: SamplerConfig | None = None,
    *,
    make_sync: SyncFactory | None = None,
) -> dict[Key, SampledBook]:
    """Sample a whole event stream: one :class:`SampledBook` per (venue, symbol)."""
    sampler = BookSampler(config, make_sync=make_sync)
    rows: dict[Key, list[SampleRow]] = {}
    for event in events:
        for row in sampler.on_event(event):
            rows.setdefault((row.venue, row.symbol), []).append(row)
    for row in sampler.finish():
        rows.setdefault((row.venue, row.symbol), []).append(row)
    cfg = sampler.config
    return {
        key: SampledBook.from_rows(*key, rows.get(key, []), cfg.cadence_ns, cfg.depth)
        for key in sampler.instruments
    }
