"""A paced replay of recorded market data through the order books.

:class:`ReplaySession` routes a merged event stream to the books (:class:`BookSet`) and the
trade tape (:class:`TapeSet`), optionally paced to a multiple of real time, and calls back
at a fixed wall-clock cadence so a view can redraw. It knows nothing about terminals.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mftbot.core.clock import WallClock
from mftbot.core.errors import ConfigError
from mftbot.data.quality import BadInputLog
from mftbot.data.tape_stats import TapeSet, TapeStats
from mftbot.domain.book_sync import BookEntry, BookSet
from mftbot.domain.events import MarketEvent

_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*$", re.IGNORECASE)


def parse_speed(text: str) -> float | None:
    """``"10x"`` → 10.0, ``"max"`` → ``None`` (as fast as possible)."""
    if text.strip().lower() == "max":
        return None
    match = _SPEED.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(f"speed {text!r}: expected a positive multiple like 1x, 10x, or max")
    return float(match.group(1))


class Pacer:
    """Holds event time to ``speed`` × wall time (``speed=None``: never waits)."""

    def __init__(self, speed: float | None, clock: WallClock | None = None) -> None:
        self.speed = speed
        self._clock = clock or WallClock()
        self._origin_event: int | None = None
        self._origin_wall = 0

    def wait_until(self, ts_ns: int) -> None:
        """Sleep until the wall clock reaches the moment ``ts_ns`` is due."""
        if self.speed is None:
            return
        if self._origin_event is None:
            self._origin_event = ts_ns
            self._origin_wall = self._clock.monotonic_ns()
            return
        due = self._origin_wall + (ts_ns - self._origin_event) / self.speed
        ahead_ns = due - self._clock.monotonic_ns()
        if ahead_ns > 1_000_000:  # sleep only for waits above 1 ms
            time.sleep(ahead_ns / 1e9)


@dataclass
class SymbolView:
    """What a view shows of one instrument at a moment."""

    venue: str
    symbol: str
    book: BookEntry
    tape: TapeStats


@dataclass
class ReplaySession:
    """Replays events into books and tape statistics."""

    bad: BadInputLog = field(default_factory=lambda: BadInputLog(log=False))
    stale_after_ns: int | None = None
    books: BookSet = field(init=False)
    tape: TapeSet = field(default_factory=TapeSet)
    events: int = 0
    first_ts_ns: int | None = None
    last_ts_ns: int = 0
    wall_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.books = BookSet(bad=self.bad, stale_after_ns=self.stale_after_ns)

    def run(
        self,
        events: Iterable[MarketEvent],
        *,
        pacer: Pacer | None = None,
        on_refresh: Callable[[ReplaySession], None] | None = None,
        refresh_every_s: float = 0.1,
    ) -> None:
        """Consume ``events``; call ``on_refresh`` about every ``refresh_every_s`` of wall time."""
        clock = WallClock()
        start = clock.monotonic_ns()
        next_refresh = start
        step = int(refresh_every_s * 1e9)
        books_on_event = self.books.on_event
        tape_on_event = self.tape.on_event
        for event in events:
            if pacer is not None:
                pacer.wait_until(event.ts_recv)
            books_on_event(event)
            tape_on_event(event)
            self.events += 1
            if self.first_ts_ns is None:
                self.first_ts_ns = event.ts_recv
            self.last_ts_ns = event.ts_recv
            if on_refresh is not None and (self.events & 255) == 0:
                now = clock.monotonic_ns()
                if now >= next_refresh:
                    on_refresh(self)
                    next_refresh = now + step
        self.wall_seconds = (clock.monotonic_ns() - start) / 1e9
        if on_refresh is not None:
            on_refresh(self)

    def symbols(self) -> list[SymbolView]:
        """Every instrument seen so far, sorted by symbol then venue."""
        keys = set(self.books.entries) | set(self.tape.stats)
        views = []
        for venue, symbol in sorted(keys, key=lambda k: (k[1], k[0])):
            entry = self.books.entries.get((venue, symbol)) or self.books.entry(venue, symbol)
            views.append(SymbolView(venue, symbol, entry, self.tape.get(venue, symbol)))
        return views

    @property
    def replayed_seconds(self) -> float:
        """Span of event time replayed so far."""
        if self.first_ts_ns is None:
            return 0.0
        return (self.last_ts_ns - self.first_ts_ns) / 1e9
