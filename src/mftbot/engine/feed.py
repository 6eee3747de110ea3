"""Data feeds: where the engine's events come from.

A feed is an iterable of events in time order. A feed that replays history also knows each
candle series in full ahead of time (:meth:`DataFeed.history`): the engine then calls a
strategy's ``populate`` once over the whole series and reads row *t* at bar *t*, instead of
recomputing over a rolling window at every bar. Principle 2 (no look-ahead) makes both give the
same signals; a live feed returns ``None`` and the engine uses the rolling window.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
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

_CHUNK = 65_536


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
        self.close_ns: IntArray = tf.next_start_array(times)

    def __len__(self) -> int:
        return len(self.candles)

    def history(self, symbol: str, timeframe: str) -> CandleArrays | None:
        """The whole series when asked for this feed's symbol and timeframe."""
        if symbol == self.symbol and timeframe == self.timeframe:
            return self.candles
        return None

    def __iter__(self) -> Iterator[CandleClosed]:
        c = self.candles
        venue, symbol, tf = self.venue, self.symbol, self.timeframe
        for start in range(0, len(c), _CHUNK):
            sl = slice(start, start + _CHUNK)
            rows = zip(
                c.time_ns[sl].tolist(),
                self.close_ns[sl].tolist(),
                c.open[sl].tolist(),
                c.high[sl].tolist(),
                c.low[sl].tolist(),
                c.close[sl].tolist(),
                c.volume[sl].tolist(),
                strict=True,
            )
            for open_ns, close_ns, op, hi, lo, cl, vol in rows:
                yield CandleClosed(
                    venue, symbol, tf, open_ns, close_ns, close_ns, op, hi, lo, cl, vol
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
