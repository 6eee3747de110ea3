"""Data feeds: where the engine's events come from.

A feed is an iterable of events in time order. A feed that replays history also knows each
candle series in full ahead of time (:meth:`DataFeed.history`): the engine then calls a
strategy's ``populate`` once over the whole series and reads row *t* at bar *t*, instead of
recomputing over a rolling window at every bar. Principle 2 (no look-ahead) makes both give the
same signals; a live feed returns ``None`` and the engine uses the rolling window.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import chain, repeat
from typing import Protocol

import numpy as np

from mftbot.analysis.registry import CandleArrays
from mftbot.core.errors import MftbotError
from mftbot.data.replay import merge_streams
from mftbot.data.timeframes import parse_timeframe
from mftbot.domain.events import CandleClosed, MarketEvent
from mftbot.engine.results import IntArray
from mftbot.execution.venue import VenueReport

Event = MarketEvent | VenueReport
"""Anything the engine consumes."""

_CHUNK = 4_096
"""Rows per chunk of events: their Python objects (~250 bytes a row) are built a chunk at a
time, so a small chunk keeps the feed's resident memory small at no measurable cost."""


class FeedError(MftbotError):
    """A feed is built from inconsistent data."""


class DataFeed(Protocol):
    """Events in time order, plus the full candle history where it is known in advance."""

    def __iter__(self) -> Iterator[Event]:
        """The events, in time order."""
        ...

    def history(self, symbol: str, timeframe: str) -> CandleArrays | None:
        """Every candle of the series this feed will emit, or ``None`` (live, unknown)."""
        ...


class CandleFeed:
    """Replays one candle series as :class:`CandleClosed` events (``ts_event`` = close time).

    Events are built lazily, a chunk at a time, so a long series costs no memory per event.
    """

    def __init__(
        self,
        candles: CandleArrays,
        *,
        symbol: str,
        timeframe: str,
        venue: str = "sim",
    ) -> None:
        tf = parse_timeframe(timeframe)
        times = candles.time_ns
        if times.shape[0] > 1 and not bool(np.all(np.diff(times) > 0)):
            raise FeedError(f"{symbol} {timeframe}: candle open times must increase strictly")
        self.candles = candles
        self.symbol = symbol
        self.timeframe = tf.text
        self.venue = venue
        self._tf = tf
        self._close_ns: IntArray | None = None

    @property
    def close_ns(self) -> IntArray:
        """Close time (ns) of every candle: built on first use and kept (iterating the feed
        builds them a chunk at a time instead)."""
        if self._close_ns is None:
            self._close_ns = self._tf.next_start_array(self.candles.time_ns)
        return self._close_ns

    def __len__(self) -> int:
        return len(self.candles)

    def history(self, symbol: str, timeframe: str) -> CandleArrays | None:
        """The whole series when asked for this feed's symbol and timeframe."""
        if symbol == self.symbol and timeframe == self.timeframe:
            return self.candles
        return None

    def __iter__(self) -> Iterator[CandleClosed]:
        return chain.from_iterable(self._chunks())

    def _chunks(self) -> Iterator[Iterator[CandleClosed]]:
        """The events a chunk of rows at a time, each chunk built by ``map`` (no Python-level
        work per event besides the constructor)."""
        c = self.candles
        venue, symbol, tf = repeat(self.venue), repeat(self.symbol), repeat(self.timeframe)
        for start in range(0, len(c), _CHUNK):
            sl = slice(start, start + _CHUNK)
            closes = self._close_ns
            chunk = closes[sl] if closes is not None else self._tf.next_start_array(c.time_ns[sl])
            close_ns = chunk.tolist()
            yield map(
                CandleClosed,
                venue,
                symbol,
                tf,
                c.time_ns[sl].tolist(),
                close_ns,
                close_ns,
                c.open[sl].tolist(),
                c.high[sl].tolist(),
                c.low[sl].tolist(),
                c.close[sl].tolist(),
                c.volume[sl].tolist(),
            )


class MergedFeed:
    """Several feeds merged by receive time; each series' history comes from its own feed."""

    def __init__(self, feeds: Iterable[CandleFeed]) -> None:
        self.feeds = list(feeds)
        keys = [(f.symbol, f.timeframe) for f in self.feeds]
        if len(set(keys)) != len(keys):
            raise FeedError("two feeds replay the same symbol and timeframe")

    def history(self, symbol: str, timeframe: str) -> CandleArrays | None:
        """The series of the feed that replays it."""
        for feed in self.feeds:
            found = feed.history(symbol, timeframe)
            if found is not None:
                return found
        return None

    def __iter__(self) -> Iterator[CandleClosed]:
        return merge_streams(self.feeds)


class EventFeed:
    """Any iterable of events with no known history (a recording, a live stream)."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.events = events

    def history(self, symbol: str, timeframe: str) -> CandleArrays | None:
        """Never known in advance."""
        return None

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)


class HistoryFeed:
    """Known candle histories (with any extra columns) for :meth:`Engine.prepare`, without
    events: the events come from elsewhere (a paper session building its candles) and must
    close exactly these bars."""

    def __init__(self, histories: Mapping[str, CandleArrays], timeframe: str) -> None:
        self.timeframe = parse_timeframe(timeframe).text
        self.histories = dict(histories)

    def history(self, symbol: str, timeframe: str) -> CandleArrays | None:
        """The history of ``symbol`` on this feed's timeframe."""
        if timeframe != self.timeframe:
            return None
        return self.histories.get(symbol)

    def __iter__(self) -> Iterator[Event]:
        return iter(())
