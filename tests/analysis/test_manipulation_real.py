"""The manipulation monitor over every recorded book stream (Binance spot and USD-M BTC/ETH,
the Bybit XRP sample): it runs through without error and finds what it found when the
defaults were set (docs/manipulation-findings.md). A change in behaviour changes the counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mftbot.analysis.manipulation import ManipulationMonitor, MonitorConfig, Pattern, PatternKind
from mftbot.data.quality import BadInputLog
from mftbot.data.recordings import find_binance_recordings, find_bybit_recordings
from mftbot.data.replay import replay_files

EXPECTED = {
    ("binance", "BTC/USDT", "layering"): 3,
    ("binance", "BTC/USDT", "quote_stuffing"): 10,
    ("binance", "ETH/USDT", "cancel_ratio"): 2,
    ("binance", "ETH/USDT", "quote_stuffing"): 2,
    ("binanceusdm", "BTC/USDT:USDT", "layering"): 4,
    ("binanceusdm", "BTC/USDT:USDT", "quote_stuffing"): 13,
    ("binanceusdm", "BTC/USDT:USDT", "spoofing"): 14,
    ("binanceusdm", "ETH/USDT:USDT", "layering"): 3,
    ("binanceusdm", "ETH/USDT:USDT", "quote_stuffing"): 6,
    ("binanceusdm", "ETH/USDT:USDT", "spoofing"): 1,
}
"""Patterns per (venue, symbol, kind) with the default configuration."""

EVENTS = 489_874
"""Events in the replay (book, trades, tickers) of the files below."""

INSTRUMENTS = {
    ("binance", "BTC/USDT"),
    ("binance", "ETH/USDT"),
    ("binanceusdm", "BTC/USDT:USDT"),
    ("binanceusdm", "ETH/USDT:USDT"),
    ("bybit", "XRP/USDT:USDT"),
}


def recordings(data_dir: Path) -> list[Path]:
    paths = [
        path
        for market in ("spot", "usdm")
        for sym in ("BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT")
        for path in find_binance_recordings(data_dir, market).get(sym, [])
    ]
    paths.extend(p for ps in find_bybit_recordings(data_dir).values() for p in ps)
    return paths


@pytest.fixture(scope="module")
def monitored(data_dir: Path) -> tuple[ManipulationMonitor, list[Pattern], BadInputLog]:
    bad = BadInputLog(log=False)
    monitor = ManipulationMonitor(bad=bad)
    found: list[Pattern] = []
    for event in replay_files(recordings(data_dir), bad=bad):
        found.extend(monitor.on_event(event))
    return monitor, found, bad


@pytest.mark.realdata
def test_the_monitor_runs_over_every_recording(
    monitored: tuple[ManipulationMonitor, list[Pattern], BadInputLog],
) -> None:
    monitor, _, bad = monitored
    assert monitor.events == EVENTS
    assert sum(bad.counts.values()) == 0
    for venue, symbol in INSTRUMENTS:
        book = monitor.book(venue, symbol)
        assert book is not None, (venue, symbol)
        assert not book.is_empty
        assert not book.is_crossed()


@pytest.mark.realdata
def test_findings_are_stable(
    monitored: tuple[ManipulationMonitor, list[Pattern], BadInputLog],
) -> None:
    monitor, found, _ = monitored
    counts = {(v, s, k.value): n for (v, s, k), n in sorted(monitor.counts.items())}
    assert counts == EXPECTED
    assert Counter((p.venue, p.symbol, p.kind.value) for p in found) == Counter(EXPECTED)


@pytest.mark.realdata
def test_every_finding_meets_its_definition(
    monitored: tuple[ManipulationMonitor, list[Pattern], BadInputLog],
) -> None:
    monitor, found, _ = monitored
    cfg = MonitorConfig()
    assert cfg.spoofing is not None
    assert cfg.layering is not None
    assert cfg.quote_stuffing is not None
    for p in found:
        assert 0.0 <= p.confidence <= 1.0
        assert p.start_ns <= p.end_ns
        if p.kind is PatternKind.SPOOFING:
            assert p.notional >= cfg.spoofing.min_notional
            assert p.evidence["size_multiple"] >= cfg.spoofing.size_multiple
            life = p.evidence["lifetime_ms"]
            assert cfg.spoofing.min_lifetime_ms <= life <= cfg.spoofing.ttl_ms
            assert p.evidence["traded"] <= cfg.spoofing.max_traded_fraction * p.size
            assert 0 < p.evidence["distance_bps"] <= cfg.spoofing.max_distance_bps
        elif p.kind is PatternKind.LAYERING:
            assert len(p.prices) >= cfg.layering.min_levels
            assert p.evidence["pull_spread_ms"] <= cfg.layering.pull_window_ms
            assert p.evidence["size_spread"] <= cfg.layering.size_ratio**2
            assert p.side is not None
        elif p.kind is PatternKind.QUOTE_STUFFING:
            assert p.evidence["robust_z"] >= cfg.quote_stuffing.z_threshold
            assert p.evidence["ratio_to_median"] >= cfg.quote_stuffing.min_ratio
        else:
            assert p.kind is PatternKind.CANCEL_RATIO
            assert cfg.spoofing is not None
            assert p.evidence["cancel_ratio"] >= cfg.spoofing.cancel_ratio_threshold
    # Each finding blocks its symbol from its detection for its hold time, and no longer.
    holds_ms = {
        PatternKind.SPOOFING: cfg.spoofing.hold_ms,
        PatternKind.CANCEL_RATIO: cfg.spoofing.cancel_hold_ms,
        PatternKind.LAYERING: cfg.layering.hold_ms,
        PatternKind.QUOTE_STUFFING: cfg.quote_stuffing.hold_ms,
    }
    for p in found:
        hold = holds_ms[p.kind] * 1_000_000
        assert p in monitor.active(p.symbol, p.detected_ns)
        assert monitor.is_active(p.symbol, p.detected_ns + hold - 1, venue=p.venue)
        assert p not in monitor.active(p.symbol, p.detected_ns + hold)
