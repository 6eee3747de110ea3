"""The injected clock: the only place that reads wall time.

Backtests use :class:`SimulatedClock` (event time); paper and live use :class:`WallClock`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of the current time in nanoseconds since the Unix epoch (UTC)."""

    def now_ns(self) -> int:
        """Current time, ns since epoch."""
        ...


class WallClock:
    """The machine's real-time clock."""

    def now_ns(self) -> int:
        """Current wall time, ns since epoch."""
        return time.time_ns()

    def monotonic_ns(self) -> int:
        """A monotonic reading for measuring durations."""
        return time.monotonic_ns()


class SimulatedClock:
    """A clock moved forward by the data being replayed; never goes backwards."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        """The time of the last event applied."""
        return self._now

    def advance_to(self, ts_ns: int) -> None:
        """Move to ``ts_ns``; earlier timestamps are ignored (time is monotone)."""
        if ts_ns > self._now:
            self._now = ts_ns


def ns_to_datetime(ts_ns: int) -> datetime:
    """Convert ns since epoch to an aware UTC datetime (µs precision)."""
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)


def datetime_to_ns(value: datetime) -> int:
    """Convert an aware datetime to ns since epoch; naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1_000_000) * 1000


def utc_now() -> datetime:
    """Wall time as an aware UTC datetime (for record timestamps outside the engine)."""
    return datetime.now(tz=UTC)
