"""What every detector shares: routing tracker items, the activity log, standalone use."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from typing import Generic, Protocol, TypeVar

from mftbot.analysis.manipulation.patterns import ActivityLog, Pattern, PatternKind
from mftbot.analysis.manipulation.tracker import (
    BookReset,
    BookTracker,
    BookUpdate,
    Instrument,
    TrackerItem,
)
from mftbot.domain.events import MarketEvent, TradeTick

S = TypeVar("S")

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


class PatternDetector(Protocol):
    """What the monitor needs of a detector."""

    @property
    def band_bps(self) -> float:
        """How far from the mid (bps) the detector needs level changes."""
        ...

    def hold_ns(self, kind: PatternKind) -> int:
        """How long a pattern of ``kind`` stays active after detection."""
        ...

    def process(self, item: TrackerItem) -> list[Pattern]:
        """Consume one tracker item; return the patterns it completed."""
        ...


class Detector(ABC, Generic[S]):
    """A detector over one merged stream, with per-instrument state ``S``.

    Used standalone through :meth:`on_event` (it then keeps its own :class:`BookTracker`),
    or inside :class:`~mftbot.analysis.manipulation.monitor.ManipulationMonitor`, which feeds
    one shared tracker's items to :meth:`process`.
    """

    kinds: tuple[PatternKind, ...] = ()

    def __init__(self, *, keep: int = 10_000) -> None:
        self.log = ActivityLog(keep)
        self._states: dict[Instrument, S] = {}
        self._tracker: BookTracker | None = None

    # -- to implement ------------------------------------------------------------------------

    @property
    @abstractmethod
    def band_bps(self) -> float:
        """How far from the mid (bps) this detector needs level changes."""

    @abstractmethod
    def hold_ns(self, kind: PatternKind) -> int:
        """How long a pattern of ``kind`` stays active after detection."""

    @abstractmethod
    def _new_state(self) -> S: ...

    @abstractmethod
    def _on_update(self, state: S, update: BookUpdate) -> list[Pattern]: ...

    @abstractmethod
    def _on_trade(self, state: S, trade: TradeTick) -> list[Pattern]: ...

    @abstractmethod
    def _on_reset(self, state: S, reset: BookReset) -> None: ...

    # -- shared ------------------------------------------------------------------------------

    def _state(self, venue: str, symbol: str) -> S:
        key = (venue, symbol)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = self._new_state()
        return state

    def process(self, item: TrackerItem) -> list[Pattern]:
        """Consume one tracker item; returns (and logs) the patterns it completed."""
        state = self._state(item.venue, item.symbol)
        if type(item) is BookUpdate:
            found = self._on_update(state, item)
        elif type(item) is BookReset:
            self._on_reset(state, item)
            return []
        else:
            assert type(item) is TradeTick
            found = self._on_trade(state, item)
        for pattern in found:
            self.log.add(pattern, self.hold_ns(pattern.kind))
        return found

    def on_event(self, event: MarketEvent) -> list[Pattern]:
        """Standalone use: feed a raw market event."""
        if self._tracker is None:
            self._tracker = BookTracker(self.band_bps)
        item = self._tracker.on_event(event)
        return [] if item is None else self.process(item)

    def is_active(
        self,
        symbol: str,
        now_ns: int,
        *,
        venue: str | None = None,
        kinds: Collection[PatternKind] | None = None,
        min_confidence: float = 0.0,
    ) -> bool:
        """Whether a pattern this detector found on ``symbol`` is active at ``now_ns``."""
        return self.log.is_active(
            symbol, now_ns, venue=venue, kinds=kinds, min_confidence=min_confidence
        )

    @property
    def patterns(self) -> list[Pattern]:
        """Every kept pattern."""
        return self.log.patterns()
