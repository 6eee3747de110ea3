"""Market state per symbol: candles per timeframe, the L2 book, recent trades, best quote.

The engine feeds every market event here before the strategies run. Candles are kept in a
:class:`CandleBuffer` per (symbol, timeframe): the last ``maxlen`` bars, handed to a rolling
strategy as numpy arrays, with any extra columns per bar (the book columns an order-book
strategy reads) in ``CandleArrays.extra``. Books are kept in sequence by the
venue's synchronizer (:mod:`mftbot.domain.book_sync`) where one exists, else applied as they
come.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

import numpy as np

from mftbot.analysis.registry import CandleArrays
from mftbot.core.errors import MftbotError
from mftbot.domain.book_sync import BookSynchronizer, make_synchronizer
from mftbot.domain.events import (
    BookDelta,
    BookSnapshot,
    CandleClosed,
    MarketEvent,
    QuoteTick,
    TradeTick,
)
from mftbot.domain.orderbook import OrderBook

DEFAULT_CANDLE_MAXLEN = 10_000
"""Bars kept per (symbol, timeframe)."""
DEFAULT_TRADE_MAXLEN = 1_000
"""Public trades kept per symbol."""


class MarketStateError(MftbotError):
    """A market event cannot be applied (a candle out of order, …)."""


class CandleBuffer:
    """The last ``maxlen`` (at least) candles of one series, appended in time order.

    Columns are kept as Python lists (an append is a few list appends, cheap on the hot path)
    and trimmed to ``maxlen`` once they reach twice that; :meth:`window` copies the last bars
    into numpy arrays.
    """

    __slots__ = ("_close", "_extra", "_high", "_low", "_open", "_time", "_volume", "maxlen")

    def __init__(self, maxlen: int = DEFAULT_CANDLE_MAXLEN) -> None:
        if maxlen < 1:
            raise MarketStateError(f"maxlen must be >= 1, got {maxlen}")
        self.maxlen = maxlen
        self._open: list[float] = []
        self._high: list[float] = []
        self._low: list[float] = []
        self._close: list[float] = []
        self._volume: list[float] = []
        self._time: list[int] = []
        self._extra: dict[str, list[float]] = {}

    def __len__(self) -> int:
        return min(len(self._time), self.maxlen)

    def append(self, event: CandleClosed, extra: Mapping[str, float] | None = None) -> None:
        """Add a closed candle; it must open after the last one.

        ``extra`` holds further columns of this bar (e.g. book columns); a column missing
        from a bar is NaN there, so every column stays aligned with the candles.
        """
        times = self._time
        open_time = event.open_time
        if times:
            if open_time <= times[-1]:
                raise MarketStateError(
                    f"{event.symbol} {event.timeframe}: candle opening at {open_time} is not "
                    f"after the last one ({times[-1]})"
                )
            if len(times) >= 2 * self.maxlen:
                self._trim()
        if extra or self._extra:
            self._append_extra(len(times), extra or {})
        times.append(open_time)
        self._open.append(event.open)
        self._high.append(event.high)
        self._low.append(event.low)
        self._close.append(event.close)
        self._volume.append(event.volume)

    def _trim(self) -> None:
        """Keep the last ``maxlen`` bars."""
        cut = len(self._time) - self.maxlen
        for column in (self._open, self._high, self._low, self._close, self._volume, self._time):
            del column[:cut]
        for values in self._extra.values():
            del values[:cut]

    def _append_extra(self, rows: int, extra: Mapping[str, float]) -> None:
        columns = self._extra
        for name in extra:
            if name not in columns:
                columns[name] = [math.nan] * rows
        for name, values in columns.items():
            values.append(extra.get(name, math.nan))

    def last_extra(self) -> dict[str, float]:
        """The extra columns of the newest candle (empty when none are kept)."""
        return {name: values[-1] for name, values in self._extra.items() if values}

    def window(self, bars: int | None = None) -> CandleArrays:
        """The last ``bars`` candles (all kept ones by default), as new arrays."""
        count = len(self) if bars is None else min(bars, len(self))
        if count < 0:
            raise MarketStateError(f"window of {bars} bars")
        start = len(self._time) - count
        return CandleArrays(
            open=np.array(self._open[start:], dtype=np.float64),
            high=np.array(self._high[start:], dtype=np.float64),
            low=np.array(self._low[start:], dtype=np.float64),
            close=np.array(self._close[start:], dtype=np.float64),
            volume=np.array(self._volume[start:], dtype=np.float64),
            time_ns=np.array(self._time[start:], dtype=np.int64),
            extra={
                name: np.array(values[start:], dtype=np.float64)
                for name, values in self._extra.items()
            },
        )

    @property
    def last_close(self) -> float | None:
        """Close of the newest candle."""
        return self._close[-1] if self._close else None

    @property
    def last_open_time(self) -> int | None:
        """Open time of the newest candle (ns)."""
        return self._time[-1] if self._time else None


class SymbolState:
    """What is known about one symbol."""

    __slots__ = ("ask", "bid", "candles", "last_price", "last_ts", "symbol", "trades")

    def __init__(self, symbol: str, trade_maxlen: int) -> None:
        self.symbol = symbol
        self.candles: dict[str, CandleBuffer] = {}
        self.trades: deque[TradeTick] = deque(maxlen=trade_maxlen)
        self.bid: float | None = None
        self.ask: float | None = None
        self.last_price: float | None = None
        self.last_ts = 0


class _PlainBook:
    """Applies book events without sequence checks (venues with no synchronizer)."""

    def __init__(self, venue: str, symbol: str) -> None:
        self.book = OrderBook(venue, symbol)

    def on_event(self, event: BookSnapshot | BookDelta) -> bool:
        self.book.apply_event(event)
        return True


class MarketState:
    """Market state of every symbol the engine sees."""

    def __init__(
        self,
        *,
        candle_maxlen: int = DEFAULT_CANDLE_MAXLEN,
        trade_maxlen: int = DEFAULT_TRADE_MAXLEN,
    ) -> None:
        self.candle_maxlen = candle_maxlen
        self.trade_maxlen = trade_maxlen
        self._symbols: dict[str, SymbolState] = {}
        self._books: dict[tuple[str, str], BookSynchronizer | _PlainBook] = {}
        self._last_series: tuple[str, str, SymbolState, CandleBuffer] | None = None
        """(symbol, timeframe, state, buffer) of the last candle: a feed of one series passes
        the same name objects every bar, so an identity check skips the lookups."""

    def symbol(self, symbol: str) -> SymbolState:
        """The state of ``symbol`` (created empty on first use)."""
        state = self._symbols.get(symbol)
        if state is None:
            state = self._symbols[symbol] = SymbolState(symbol, self.trade_maxlen)
        return state

    @property
    def symbols(self) -> list[str]:
        """Symbols seen so far."""
        return list(self._symbols)

    def candles(self, symbol: str, timeframe: str) -> CandleBuffer:
        """The candle buffer of a series (created empty on first use)."""
        state = self.symbol(symbol)
        buffer = state.candles.get(timeframe)
        if buffer is None:
            buffer = state.candles[timeframe] = CandleBuffer(self.candle_maxlen)
        return buffer

    def ensure_capacity(self, bars: int) -> None:
        """Keep at least ``bars`` candles per series from now on (before any is added)."""
        if bars > self.candle_maxlen:
            if any(s.candles for s in self._symbols.values()):
                raise MarketStateError("cannot grow candle buffers once candles were added")
            self.candle_maxlen = bars

    def book(self, symbol: str, venue: str | None = None) -> OrderBook | None:
        """The L2 book of ``symbol`` (on ``venue``, or the only venue that has one)."""
        if venue is not None:
            found = self._books.get((venue, symbol))
            return found.book if found is not None else None
        books = [b for (_, s), b in self._books.items() if s == symbol]
        if len(books) > 1:
            raise MarketStateError(f"{symbol} has books on several venues; name the venue")
        return books[0].book if books else None

    def last_price(self, symbol: str) -> float | None:
        """Last trade or candle close of ``symbol``."""
        state = self._symbols.get(symbol)
        return state.last_price if state is not None else None

    def on_candle(
        self, event: CandleClosed, extra: Mapping[str, float] | None = None
    ) -> CandleBuffer:
        """Add a closed candle (with its ``extra`` columns, if any); return its series
        buffer."""
        symbol, timeframe = event.symbol, event.timeframe
        last = self._last_series
        if last is not None and symbol is last[0] and timeframe is last[1]:
            state, buffer = last[2], last[3]  # the same series as the last candle
        else:
            state = self.symbol(symbol)
            buffer = self.candles(symbol, timeframe)
            self._last_series = (symbol, timeframe, state, buffer)
        buffer.append(event, extra)
        state.last_price = event.close
        state.last_ts = event.ts_event
        return buffer

    def on_event(self, event: MarketEvent) -> None:
        """Apply any market event."""
        if type(event) is CandleClosed:
            self.on_candle(event)
        elif isinstance(event, TradeTick):
            state = self.symbol(event.symbol)
            state.trades.append(event)
            state.last_price = event.price
            state.last_ts = event.ts_event
        elif isinstance(event, QuoteTick):
            state = self.symbol(event.symbol)
            state.bid, state.ask = event.bid_price, event.ask_price
        elif isinstance(event, BookSnapshot | BookDelta):
            self._book_keeper(event.venue, event.symbol).on_event(event)
        else:
            raise MarketStateError(f"not a market event: {type(event).__name__}")

    def _book_keeper(self, venue: str, symbol: str) -> BookSynchronizer | _PlainBook:
        keeper = self._books.get((venue, symbol))
        if keeper is None:
            try:
                keeper = make_synchronizer(venue, symbol)
            except ValueError:
                keeper = _PlainBook(venue, symbol)
            self._books[(venue, symbol)] = keeper
        return keeper
