"""Accounting for bad input: every rejected message is counted and logged with its origin."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mftbot.core.logging import get_logger

_log = get_logger("mftbot.data.quality")


@dataclass(frozen=True, slots=True)
class BadMessage:
    """One rejected input line or message."""

    source: str
    line: int
    reason: str


@dataclass
class BadInputLog:
    """Counts rejected messages by reason and keeps the first ``keep`` for inspection.

    Readers and books share one instance per replay so a summary can report everything that
    was skipped, with file and line. ``log=False`` counts without logging each message (for
    commands that print their own summary).
    """

    keep: int = 1000
    log: bool = True
    counts: Counter[str] = field(default_factory=Counter)
    samples: list[BadMessage] = field(default_factory=list)

    def record(self, source: str, line: int, reason: str) -> None:
        """Count one bad message and log it (at warning level) with file and line."""
        kind = reason.split(":", 1)[0]
        self.counts[kind] += 1
        if len(self.samples) < self.keep:
            self.samples.append(BadMessage(source, line, reason))
        if self.log:
            _log.warning("bad_input", source=source, line=line, reason=reason)

    @property
    def total(self) -> int:
        """Number of bad messages recorded."""
        return sum(self.counts.values())
