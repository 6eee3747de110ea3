"""The record every manipulation detector yields, and the log that answers ``is_active``.

Times: ``start_ns`` / ``end_ns`` are exchange event times (``ts_event``) of the book updates
that make up the pattern; ``detected_ns`` is the receive time (``ts_recv``) of the event that
completed the detection, the clock the engine runs on. A pattern is *active* from
``detected_ns`` for its hold time.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from mftbot.core.clock import ns_to_datetime
from mftbot.domain.enums import Side


class PatternKind(StrEnum):
    """What a detector found."""

    SPOOFING = "spoofing"
    LAYERING = "layering"
    QUOTE_STUFFING = "quote_stuffing"
    CANCEL_RATIO = "cancel_ratio"


@dataclass(frozen=True, slots=True)
class Pattern:
    """One detected manipulation pattern."""

    kind: PatternKind
    venue: str
    symbol: str
    side: Side | None
    """Book side of the orders (``BUY`` = bids, ``SELL`` = asks); ``None`` for both."""
    prices: tuple[float, ...]
    """Price(s) of the level(s) involved (the mid for quote stuffing / cancel ratio)."""
    size: float
    """Base-unit size of the order(s); for quote stuffing the level updates in the burst."""
    notional: float
    """``size * price`` summed over the levels (0 for quote stuffing)."""
    start_ns: int
    """Exchange time the pattern began (a level placed, a burst second started)."""
    end_ns: int
    """Exchange time it ended (the levels pulled, the burst seen)."""
    detected_ns: int
    """Receive time of the event that completed the detection."""
    confidence: float
    """In [0, 1]; each detector documents its formula."""
    evidence: Mapping[str, float] = field(default_factory=dict)
    """Named figures behind the verdict (multiples, lifetimes in ms, ratios, ...)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if self.end_ns < self.start_ns:
            raise ValueError(f"end_ns {self.end_ns} is before start_ns {self.start_ns}")
        if not (math.isfinite(self.size) and math.isfinite(self.notional)):
            raise ValueError(f"size and notional must be finite: {self.size}, {self.notional}")
        object.__setattr__(self, "kind", PatternKind(self.kind))
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))

    def describe(self) -> str:
        """One line for a log or a report."""
        when = ns_to_datetime(self.start_ns).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        side = self.side.value if self.side is not None else "-"
        prices = ", ".join(f"{p:.10g}" for p in self.prices[:6])
        more = f" (+{len(self.prices) - 6})" if len(self.prices) > 6 else ""
        return (
            f"{when} {self.venue} {self.symbol} {self.kind.value} {side} [{prices}{more}] "
            f"size={self.size:g} notional={self.notional:,.0f} "
            f"dur={(self.end_ns - self.start_ns) / 1e6:.0f}ms conf={self.confidence:.2f}"
        )


def clip01(value: float) -> float:
    """``value`` clipped to [0, 1] (NaN gives 0)."""
    if not value > 0.0:
        return 0.0
    return min(value, 1.0)


class ActivityLog:
    """Patterns per symbol, each active for its hold time after detection.

    Keeps the last ``keep`` patterns per symbol. Queries assume patterns arrive in
    ``detected_ns`` order per symbol (as a detector run over one stream produces them).
    """

    def __init__(self, keep: int = 10_000) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self._keep = keep
        self._by_symbol: dict[str, deque[tuple[int, Pattern]]] = {}
        self._max_hold: dict[str, int] = {}
        self.total = 0

    def add(self, pattern: Pattern, hold_ns: int) -> None:
        """Record ``pattern``, active for ``hold_ns`` from its detection."""
        if hold_ns < 0:
            raise ValueError(f"hold_ns must be >= 0, got {hold_ns}")
        entries = self._by_symbol.setdefault(pattern.symbol, deque(maxlen=self._keep))
        entries.append((pattern.detected_ns + hold_ns, pattern))
        self._max_hold[pattern.symbol] = max(self._max_hold.get(pattern.symbol, 0), hold_ns)
        self.total += 1

    def active(
        self,
        symbol: str,
        now_ns: int,
        *,
        venue: str | None = None,
        kinds: Collection[PatternKind] | None = None,
        min_confidence: float = 0.0,
    ) -> list[Pattern]:
        """Patterns on ``symbol`` active at ``now_ns`` (optionally filtered), newest first."""
        entries = self._by_symbol.get(symbol)
        if not entries:
            return []
        horizon = now_ns - self._max_hold[symbol]
        found = []
        for until, pattern in reversed(entries):
            if pattern.detected_ns < horizon:
                break
            if not pattern.detected_ns <= now_ns < until:
                continue
            if venue is not None and pattern.venue != venue:
                continue
            if kinds is not None and pattern.kind not in kinds:
                continue
            if pattern.confidence >= min_confidence:
                found.append(pattern)
        return found

    def is_active(
        self,
        symbol: str,
        now_ns: int,
        *,
        venue: str | None = None,
        kinds: Collection[PatternKind] | None = None,
        min_confidence: float = 0.0,
    ) -> bool:
        """Whether any pattern on ``symbol`` is active at ``now_ns``."""
        return bool(
            self.active(symbol, now_ns, venue=venue, kinds=kinds, min_confidence=min_confidence)
        )

    def __iter__(self) -> Iterator[Pattern]:
        for entries in self._by_symbol.values():
            for _, pattern in entries:
                yield pattern

    def patterns(self, symbol: str | None = None) -> list[Pattern]:
        """Kept patterns (of one symbol, or all), in detection order per symbol."""
        if symbol is not None:
            return [p for _, p in self._by_symbol.get(symbol, ())]
        return list(self)
