"""One entry point for the risk layer: all manipulation detectors over a merged stream.

:class:`ManipulationMonitor` keeps the books (one shared
:class:`~mftbot.analysis.manipulation.tracker.BookTracker`), feeds every detector, logs each
pattern with its detector's hold time and answers :meth:`ManipulationMonitor.is_active`,
which a risk rule uses to block trading on a symbol while a pattern is active.

Defaults (each detector module documents its own), calibrated on the Binance BTC/ETH
recordings so that a pattern is an outlier, not the daily texture of the book (see
``docs/manipulation-findings.md``): spoofing ≥ 1,000,000 quote notional and ≥ 10 × the median
level size, resting 0.5–5 s, held 10 s; layering ≥ 3 similar levels of ≥ 100,000 each, held
10 s; quote stuffing robust z ≥ 10 and ≥ 5 × the median update rate, held 5 s; cancel ratio
≥ 1.03 over 60 s, held 30 s. Notional thresholds are in the quote currency of linear
instruments (spot, USDT-margined); give per-symbol overrides for smaller or inverse markets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mftbot.analysis.manipulation.base import PatternDetector
from mftbot.analysis.manipulation.layering import LayeringConfig, LayeringDetector
from mftbot.analysis.manipulation.patterns import ActivityLog, Pattern, PatternKind
from mftbot.analysis.manipulation.quote_stuffing import QuoteStuffingConfig, QuoteStuffingDetector
from mftbot.analysis.manipulation.spoofing import SpoofingConfig, SpoofingDetector
from mftbot.analysis.manipulation.tracker import BookTracker
from mftbot.data.quality import BadInputLog
from mftbot.domain.events import MarketEvent
from mftbot.domain.orderbook import OrderBook


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """Which detectors run, with what thresholds; ``None`` switches a detector off."""

    spoofing: SpoofingConfig | None = field(default_factory=SpoofingConfig)
    layering: LayeringConfig | None = field(default_factory=LayeringConfig)
    quote_stuffing: QuoteStuffingConfig | None = field(default_factory=QuoteStuffingConfig)
    keep: int = 10_000
    """Patterns kept per symbol (the oldest are dropped); counts are kept for all."""

    def __post_init__(self) -> None:
        if self.keep < 1:
            raise ValueError(f"MonitorConfig.keep must be >= 1, got {self.keep}")

    def detectors(self) -> list[PatternDetector]:
        """Fresh detectors for this configuration."""
        found: list[PatternDetector] = []
        band = max(
            self.spoofing.max_distance_bps if self.spoofing else 0.0,
            self.layering.max_distance_bps if self.layering else 0.0,
            1.0,
        )
        if self.spoofing is not None:
            found.append(SpoofingDetector(self.spoofing, keep=1))
        if self.layering is not None:
            found.append(LayeringDetector(self.layering, keep=1))
        if self.quote_stuffing is not None:
            found.append(QuoteStuffingDetector(self.quote_stuffing, band_bps=band, keep=1))
        return found


class ManipulationMonitor:
    """Runs the detectors over book deltas, snapshots and trades of any number of symbols.

    ``overrides`` maps a symbol (ccxt form) to its own :class:`MonitorConfig`.
    """

    def __init__(
        self,
        config: MonitorConfig | None = None,
        *,
        overrides: Mapping[str, MonitorConfig] | None = None,
        bad: BadInputLog | None = None,
    ) -> None:
        self.config = config or MonitorConfig()
        self.overrides = MappingProxyType(dict(overrides or {}))
        self._default = self.config.detectors()
        self._by_symbol = {sym: cfg.detectors() for sym, cfg in self.overrides.items()}
        every = [d for ds in (self._default, *self._by_symbol.values()) for d in ds]
        self._tracker = BookTracker(max((d.band_bps for d in every), default=1.0), bad=bad)
        self.log = ActivityLog(self.config.keep)
        self.counts: Counter[tuple[str, str, PatternKind]] = Counter()
        """Patterns found per (venue, symbol, kind), all of them."""
        self.events = 0

    def on_event(self, event: MarketEvent) -> list[Pattern]:
        """Feed one event; returns the patterns it completed (also logged)."""
        self.events += 1
        item = self._tracker.on_event(event)
        if item is None:
            return []
        detectors = self._by_symbol.get(item.symbol, self._default)
        found: list[Pattern] = []
        for detector in detectors:
            for pattern in detector.process(item):
                self.log.add(pattern, detector.hold_ns(pattern.kind))
                self.counts[(pattern.venue, pattern.symbol, pattern.kind)] += 1
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
        """Whether a pattern on ``symbol`` (receive clock ``now_ns``) is active: trading on it
        should be blocked. Filters: one venue, some kinds, a minimum confidence."""
        return self.log.is_active(
            symbol, now_ns, venue=venue, kinds=kinds, min_confidence=min_confidence
        )

    def active(
        self,
        symbol: str,
        now_ns: int,
        *,
        venue: str | None = None,
        kinds: Collection[PatternKind] | None = None,
        min_confidence: float = 0.0,
    ) -> list[Pattern]:
        """The patterns behind :meth:`is_active`, newest first."""
        return self.log.active(
            symbol, now_ns, venue=venue, kinds=kinds, min_confidence=min_confidence
        )

    def patterns(self, symbol: str | None = None) -> list[Pattern]:
        """Kept patterns (of one symbol, or all)."""
        return self.log.patterns(symbol)

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        """The monitor's book of an instrument."""
        return self._tracker.book(venue, symbol)

    def detectors(self, symbol: str | None = None) -> list[PatternDetector]:
        """The detectors that serve ``symbol`` (the default set for ``None``)."""
        if symbol is None:
            return list(self._default)
        return list(self._by_symbol.get(symbol, self._default))
