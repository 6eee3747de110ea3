"""Manipulation detectors over the book-delta stream: spoofing (with the cancel ratio),
layering and quote stuffing, and the :class:`ManipulationMonitor` that runs them all and
answers ``is_active(symbol, now_ns)`` for the risk layer.

Each detector yields :class:`Pattern` records (kind, symbol, side, prices, size, notional,
start/end exchange time, detection receive time, confidence in [0, 1], evidence) and can run
standalone (``detector.on_event(event)``) or inside the monitor. Thresholds are frozen
dataclasses documented in each module; real-data findings are in
``docs/manipulation-findings.md``.
"""

from __future__ import annotations

from mftbot.analysis.manipulation.base import Detector, PatternDetector
from mftbot.analysis.manipulation.layering import LayeringConfig, LayeringDetector
from mftbot.analysis.manipulation.monitor import ManipulationMonitor, MonitorConfig
from mftbot.analysis.manipulation.patterns import ActivityLog, Pattern, PatternKind
from mftbot.analysis.manipulation.quote_stuffing import QuoteStuffingConfig, QuoteStuffingDetector
from mftbot.analysis.manipulation.spoofing import SpoofingConfig, SpoofingDetector
from mftbot.analysis.manipulation.tracker import BookReset, BookTracker, BookUpdate

__all__ = [
    "ActivityLog",
    "BookReset",
    "BookTracker",
    "BookUpdate",
    "Detector",
    "LayeringConfig",
    "LayeringDetector",
    "ManipulationMonitor",
    "MonitorConfig",
    "Pattern",
    "PatternDetector",
    "PatternKind",
    "QuoteStuffingConfig",
    "QuoteStuffingDetector",
    "SpoofingConfig",
    "SpoofingDetector",
]
