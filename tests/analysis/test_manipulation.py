"""Manipulation detectors on scripted book sequences: what must trigger, what must not."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

import msgspec
import pytest

from mftbot.analysis.manipulation import (
    ActivityLog,
    LayeringConfig,
    LayeringDetector,
    ManipulationMonitor,
    MonitorConfig,
    Pattern,
    PatternKind,
    QuoteStuffingConfig,
    QuoteStuffingDetector,
    SpoofingConfig,
    SpoofingDetector,
)
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, Level, MarketEvent, TradeTick

T0 = 1_722_000_000_000_000_000
MS = 1_000_000
RECV_LAG = 3 * MS  # ts_recv = ts_event + 3 ms: detection times are on the receive clock
SYMBOL = "BTC/USDT:USDT"


class Script:
    """Builds a Bybit-sequenced event stream with a clock in exchange time."""

    def __init__(self, symbol: str = SYMBOL) -> None:
        self.symbol = symbol
        self.t = T0
        self.u = 1000
        self.trades = 0

    def _stamp(self, dt_ms: float) -> tuple[int, int]:
        self.t += round(dt_ms * MS)
        return self.t, self.t + RECV_LAG

    def snapshot(self, bids: Sequence[Level], asks: Sequence[Level]) -> BookSnapshot:
        ts, recv = self._stamp(0)
        self.u += 1
        return BookSnapshot("bybit", self.symbol, ts, recv, self.u, list(bids), list(asks))

    def delta(
        self, dt_ms: float, bids: Iterable[Level] = (), asks: Iterable[Level] = ()
    ) -> BookDelta:
        ts, recv = self._stamp(dt_ms)
        self.u += 1
        return BookDelta("bybit", self.symbol, ts, recv, self.u, self.u, list(bids), list(asks))

    def trade(self, dt_ms: float, price: float, size: float, side: Side) -> TradeTick:
        ts, recv = self._stamp(dt_ms)
        self.trades += 1
        return TradeTick("bybit", self.symbol, ts, recv, price, size, side, str(self.trades))


def base_book(levels: int = 40, size: float = 10.0) -> tuple[list[Level], list[Level]]:
    """Bids 100.00, 99.99, ...; asks 100.01, 100.02, ...; every level ``size``."""
    bids = [(round(100.00 - 0.01 * i, 2), size) for i in range(levels)]
    asks = [(round(100.01 + 0.01 * i, 2), size) for i in range(levels)]
    return bids, asks


def run(detector: object, events: Iterable[MarketEvent]) -> list[Pattern]:
    found: list[Pattern] = []
    for event in events:
        found.extend(detector.on_event(event))  # type: ignore[attr-defined]
    return found


def quiet(script: Script, seconds: float, step_ms: float = 100.0) -> list[BookDelta]:
    """Deltas that touch a far level only (time passes, nothing happens near the touch)."""
    count = round(seconds * 1000 / step_ms)
    return [script.delta(step_ms, bids=[(99.61, 10.0 + (k % 2))]) for k in range(count)]


# -- spoofing -----------------------------------------------------------------------------

SPOOF = SpoofingConfig(min_notional=20_000.0, cancel_ratio=False)
"""Base levels are 1,000 notional; a 300-lot at ~100 is 30,000 and 30x the median."""


def spoof_sequence(
    script: Script,
    *,
    life_ms: float = 1_000.0,
    price: float = 99.95,
    size: float = 300.0,
    sells: Sequence[float] = (),
) -> tuple[list[MarketEvent], int, int]:
    """A bid that appears with ``size`` at ``price`` and goes ``life_ms`` later, after
    aggressive sells of ``sells`` on its price."""
    bids, asks = base_book()
    events: list[MarketEvent] = [script.snapshot(bids, asks)]
    events.append(script.delta(200, bids=[(price, 10.0 + size)]))
    start = script.t
    events.extend(quiet(script, life_ms / 1000 - 0.1))
    events.extend(script.trade(10, price, qty, Side.SELL) for qty in sells)
    events.append(script.delta(100 - 10 * len(sells), bids=[(price, 10.0)]))
    end = script.t
    return events, start, end


def test_spoof_that_appears_and_vanishes_is_detected_on_its_side_price_and_times() -> None:
    script = Script()
    events, start, end = spoof_sequence(script)
    detector = SpoofingDetector(SPOOF)
    assert run(detector, events) == []  # the verdict waits for late trades (grace)
    later = quiet(script, 1.5)
    found = run(detector, later)
    (spoof,) = found
    assert spoof.kind is PatternKind.SPOOFING
    assert spoof.side is Side.BUY
    assert spoof.prices == (99.95,)
    assert spoof.size == pytest.approx(300.0)
    assert spoof.notional == pytest.approx(300.0 * 99.95)
    assert (spoof.start_ns, spoof.end_ns) == (start, end)
    assert spoof.evidence["lifetime_ms"] == pytest.approx(1_000.0)
    assert spoof.evidence["size_multiple"] == pytest.approx(30.0)
    assert spoof.evidence["traded"] == 0.0
    assert 0.5 < spoof.confidence <= 1.0
    # Detected by the first event at least `grace` after the removal, on the receive clock.
    settle = next(e for e in later if e.ts_event >= end + SPOOF.grace_ms * MS)
    assert spoof.detected_ns == settle.ts_recv
    hold = SPOOF.hold_ms * MS
    assert not detector.is_active(SYMBOL, spoof.detected_ns - 1)
    assert detector.is_active(SYMBOL, spoof.detected_ns)
    assert detector.is_active(SYMBOL, spoof.detected_ns + hold - 1)
    assert not detector.is_active(SYMBOL, spoof.detected_ns + hold)
    assert not detector.is_active("ETH/USDT:USDT", spoof.detected_ns)


def test_an_ask_spoof_is_reported_on_the_sell_side() -> None:
    script = Script()
    bids, asks = base_book()
    events: list[MarketEvent] = [
        script.snapshot(bids, asks),
        script.delta(100, asks=[(100.06, 410.0)]),
        *quiet(script, 2.0),
        script.delta(100, asks=[(100.06, 0.0)]),
        *quiet(script, 1.5),
    ]
    (spoof,) = run(SpoofingDetector(SPOOF), events)
    assert (spoof.side, spoof.prices, spoof.size) == (Side.SELL, (100.06,), 400.0)
    assert spoof.evidence["base_size"] == 10.0


def test_a_large_level_that_trades_away_is_not_spoofing() -> None:
    script = Script()
    events, _, _ = spoof_sequence(script, sells=(150.0, 150.0))
    events.extend(quiet(script, 2.0))
    assert run(SpoofingDetector(SPOOF), events) == []
    # The same with a little traded (under max_traded_fraction) is still a spoof.
    script = Script()
    events, _, _ = spoof_sequence(script, sells=(20.0,))
    events.extend(quiet(script, 2.0))
    (spoof,) = run(SpoofingDetector(SPOOF), events)
    assert spoof.evidence["traded"] == 20.0
    assert spoof.confidence < 1.0


def test_trades_arriving_after_the_removal_still_clear_it() -> None:
    """The depth update can reach us before the trades that caused it."""
    script = Script()
    events, _, end = spoof_sequence(script)
    trade = script.trade(5, 99.95, 300.0, Side.SELL)
    late = msgspec.structs.replace(trade, ts_event=end - 20 * MS)  # traded just before removal
    events.append(late)
    events.extend(quiet(script, 2.0))
    assert run(SpoofingDetector(SPOOF), events) == []


def test_trades_on_the_other_side_do_not_clear_a_spoof() -> None:
    script = Script()
    events, _, _ = spoof_sequence(script)
    events.insert(3, script.trade(0, 99.95, 300.0, Side.BUY))  # buyers lift, bids untouched
    events.extend(quiet(script, 2.0))
    assert [p.kind for p in run(SpoofingDetector(SPOOF), events)] == [PatternKind.SPOOFING]


@pytest.mark.parametrize(
    ("life_ms", "size", "why"),
    [
        (8_000.0, 300.0, "rests longer than the TTL"),
        (200.0, 300.0, "flickers shorter than min_lifetime (a requote)"),
        (1_000.0, 50.0, "normal size: below the notional and the multiple"),
    ],
)
def test_levels_that_are_not_spoofs(life_ms: float, size: float, why: str) -> None:
    script = Script()
    events, _, _ = spoof_sequence(script, life_ms=life_ms, size=size)
    events.extend(quiet(script, 2.0))
    assert run(SpoofingDetector(SPOOF), events) == [], why


def test_a_large_level_that_rests_is_not_spoofing() -> None:
    script = Script()
    bids, asks = base_book()
    events: list[MarketEvent] = [
        script.snapshot(bids, asks),
        script.delta(100, bids=[(99.95, 310.0)]),
        *quiet(script, 10.0),
    ]
    assert run(SpoofingDetector(SPOOF), events) == []


def test_a_level_moved_a_tick_is_requoted_not_spoofed() -> None:
    script = Script()
    bids, asks = base_book()
    events: list[MarketEvent] = [
        script.snapshot(bids, asks),
        script.delta(100, bids=[(99.95, 310.0)]),
        *quiet(script, 1.0),
        script.delta(100, bids=[(99.95, 10.0), (99.96, 312.0)]),  # same order, re-priced
        *quiet(script, 2.0),
    ]
    assert run(SpoofingDetector(SPOOF), events) == []


def test_size_flashed_at_the_touch_counts_only_when_allowed() -> None:
    def events(script: Script) -> list[MarketEvent]:
        bids, asks = base_book()
        return [
            script.snapshot(bids, asks),
            script.delta(100, bids=[(100.00, 310.0)]),
            *quiet(script, 1.0),
            script.delta(100, bids=[(100.00, 10.0)]),
            *quiet(script, 1.5),
        ]

    assert run(SpoofingDetector(SPOOF), events(Script())) == []
    touch = dataclasses.replace(SPOOF, allow_touch=True)
    (spoof,) = run(SpoofingDetector(touch), events(Script()))
    assert spoof.prices == (100.00,)
    assert spoof.evidence["distance_bps"] == pytest.approx(0.5, abs=0.01)


def test_a_snapshot_resets_what_was_followed() -> None:
    script = Script()
    bids, asks = base_book()
    with_large = [(p, 310.0 if p == 99.95 else q) for p, q in bids]
    events: list[MarketEvent] = [
        script.snapshot(bids, asks),
        script.delta(100, bids=[(99.95, 310.0)]),
        *quiet(script, 0.5),
        script.snapshot(with_large, asks),  # a resync: changes before it were not all seen
        *quiet(script, 0.4),
        script.delta(100, bids=[(99.95, 10.0)]),
        *quiet(script, 2.0),
    ]
    assert run(SpoofingDetector(SPOOF), events) == []


def churn(
    script: Script, seconds: int, *, added: float, removed: float, traded: float = 0.0
) -> list[MarketEvent]:
    """Each second ``added`` joins a bid near the touch and leaves again, and ``removed`` is
    cancelled (or traded, with ``traded``) from one of the asks near the touch."""
    events: list[MarketEvent] = []
    for k in range(seconds):
        grow = round(99.99 - 0.01 * (k % 3), 2)
        shrink = round(100.02 + 0.01 * (k % 8), 2)
        left = 1_000.0 - removed * (k // 8 + 1)
        events.append(script.delta(500, bids=[(grow, 10.0 + added)]))
        if traded:
            events.append(script.trade(10, shrink, traded, Side.BUY))
        pause = 390 if traded else 400  # every cycle lasts exactly one second
        events.append(script.delta(pause, bids=[(grow, 10.0)], asks=[(shrink, left)]))
        events.extend(quiet(script, 0.1))
    return events


@pytest.mark.parametrize(
    ("added", "removed", "traded", "flagged"),
    [
        (5.0, 6.0, 0.0, True),  # more cancelled than added: ratio (5 + 6) / 5
        (5.0, 0.0, 0.0, False),  # what is added is cancelled, nothing more: ratio 1
        (5.0, 6.0, 6.0, False),  # the extra removal traded: ratio 1
    ],
)
def test_cancel_ratio_flag(added: float, removed: float, traded: float, flagged: bool) -> None:
    cfg = SpoofingConfig(cancel_min_notional=1_000.0, cancel_min_seconds=20)
    script = Script()
    bids, asks = base_book()
    asks = [(p, 1_000.0) if p <= 100.09 else (p, q) for p, q in asks]
    detector = SpoofingDetector(cfg)
    events = [
        script.snapshot(bids, asks),
        *churn(script, 40, added=added, removed=removed, traded=traded),
    ]
    found = run(detector, events)
    ratios = detector.cancel_ratios("bybit", SYMBOL)
    # Seconds 0..39 close (the last when the delta at 40.0 s opens second 40); a ratio is
    # judged once 20 seconds are in the window.
    assert len(ratios) == 40 - cfg.cancel_min_seconds + 1
    assert ratios[-1] == pytest.approx((added + removed - traded) / added)
    assert [p.kind for p in found] == ([PatternKind.CANCEL_RATIO] if flagged else [])
    if flagged:
        (flag,) = found
        assert flag.evidence["cancel_ratio"] == pytest.approx(2.2)
        assert flag.confidence == 1.0  # far above the threshold
        assert detector.is_active(SYMBOL, flag.detected_ns, kinds={PatternKind.CANCEL_RATIO})
        assert not detector.is_active(SYMBOL, flag.detected_ns, kinds={PatternKind.SPOOFING})


# -- layering -----------------------------------------------------------------------------

LAYER = LayeringConfig(min_level_notional=3_000.0)


def layer_sequence(
    script: Script,
    *,
    prices: Sequence[float] = (100.03, 100.04, 100.05),
    sizes: Sequence[float] = (50.0, 55.0, 48.0),
    pulls_ms: Sequence[float] = (0.0, 0.0, 0.0),
) -> list[MarketEvent]:
    """Asks placed 100 ms apart, resting ~2 s, pulled at the given offsets."""
    bids, asks = base_book()
    events: list[MarketEvent] = [script.snapshot(bids, asks)]
    for price, size in zip(prices, sizes, strict=True):
        events.append(script.delta(100, asks=[(price, 10.0 + size)]))
    events.extend(quiet(script, 2.0))
    elapsed = 0.0
    for offset, price in sorted(zip(pulls_ms, prices, strict=True)):
        events.append(script.delta(offset - elapsed + 1, asks=[(price, 10.0)]))
        elapsed = offset + 1
    events.extend(quiet(script, 1.5))
    return events


def test_layers_placed_and_pulled_together_are_detected() -> None:
    script = Script()
    events = layer_sequence(script, pulls_ms=(0.0, 100.0, 200.0))
    detector = LayeringDetector(LAYER)
    (layer,) = run(detector, events)
    assert layer.kind is PatternKind.LAYERING
    assert layer.side is Side.SELL
    assert layer.prices == (100.03, 100.04, 100.05)
    assert layer.size == pytest.approx(153.0)
    assert layer.evidence["levels"] == 3.0
    assert layer.evidence["pull_spread_ms"] == pytest.approx(200.0, abs=2.0)
    assert layer.evidence["place_spread_ms"] == pytest.approx(200.0)
    assert layer.end_ns - layer.start_ns > 2_000 * MS
    assert 0.0 < layer.confidence <= 1.0
    assert detector.is_active(SYMBOL, layer.detected_ns)


def test_a_bid_ladder_is_layering_on_the_buy_side() -> None:
    script = Script()
    bids, asks = base_book()
    ladder = (99.97, 99.96, 99.95, 99.94)
    events: list[MarketEvent] = [script.snapshot(bids, asks)]
    events.append(script.delta(100, bids=[(p, 70.0) for p in ladder]))
    events.extend(quiet(script, 3.0))
    events.append(script.delta(100, bids=[(p, 10.0) for p in ladder]))
    events.extend(quiet(script, 1.5))
    (layer,) = run(LayeringDetector(LAYER), events)
    assert (layer.side, layer.prices, layer.size) == (Side.BUY, tuple(sorted(ladder)), 240.0)
    assert layer.evidence["pull_spread_ms"] == 0.0


def test_a_two_sided_ladder_refresh_is_not_layering() -> None:
    def events(script: Script) -> list[MarketEvent]:
        bids, asks = base_book()
        bid_ladder = [(p, 60.0) for p in (99.97, 99.96, 99.95)]
        ask_ladder = [(p, 62.0) for p in (100.04, 100.05, 100.06)]
        back_bids = [(p, 10.0) for p, _ in bid_ladder]
        back_asks = [(p, 10.0) for p, _ in ask_ladder]
        return [
            script.snapshot(bids, asks),
            script.delta(100, bids=bid_ladder, asks=ask_ladder),
            *quiet(script, 2.0),
            script.delta(100, bids=back_bids),
            script.delta(300, asks=back_asks),  # the other side, 300 ms later
            *quiet(script, 1.5),
        ]

    assert run(LayeringDetector(LAYER), events(Script())) == []
    both = dataclasses.replace(LAYER, two_sided_exempt=False)
    found = run(LayeringDetector(both), events(Script()))
    assert sorted(p.side for p in found) == [Side.BUY, Side.SELL]


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"pulls_ms": (0.0, 3_000.0, 6_000.0)}, "similar levels pulled apart in time"),
        ({"sizes": (50.0, 200.0, 800.0)}, "pulled together but sizes differ"),
        ({"prices": (100.03, 100.04), "sizes": (50.0, 50.0), "pulls_ms": (0.0, 0.0)}, "2 levels"),
        ({"sizes": (5.0, 5.0, 5.0)}, "levels too small"),
    ],
)
def test_groups_that_are_not_layering(kwargs: dict[str, Sequence[float]], why: str) -> None:
    assert run(LayeringDetector(LAYER), layer_sequence(Script(), **kwargs)) == [], why


def test_layers_that_trade_away_are_not_layering() -> None:
    script = Script()
    events = layer_sequence(script)
    pull_at = next(
        i for i, e in enumerate(events) if isinstance(e, BookDelta) and e.asks == [(100.03, 10.0)]
    )
    trades = [script.trade(0, p, 50.0, Side.BUY) for p in (100.03, 100.04, 100.05)]
    fixed = [msgspec.structs.replace(t, ts_event=events[pull_at].ts_event - MS) for t in trades]
    events[pull_at + 1 : pull_at + 1] = fixed
    assert run(LayeringDetector(LAYER), events) == []


# -- quote stuffing -----------------------------------------------------------------------

STUFF = QuoteStuffingConfig(min_updates=100)


def updates(script: Script, seconds: int, per_second: int, levels: int) -> list[BookDelta]:
    """``per_second`` deltas a second, each touching ``levels`` far levels (no net change)."""
    step = 1000.0 / per_second
    out = []
    for k in range(seconds * per_second):
        size = 10.0 + (k % 2)
        out.append(script.delta(step, bids=[(round(99.70 - 0.01 * j, 2), size)
                                            for j in range(levels)]))  # fmt: skip
    return out


def stuffing_run(
    script: Script, burst: Callable[[Script], list[BookDelta]]
) -> tuple[list[Pattern], int]:
    """A 60 s baseline of 20 updates a second, then ``burst``, then 5 s more baseline."""
    bids, asks = base_book()
    events: list[MarketEvent] = [script.snapshot(bids, asks), *updates(script, 60, 10, 2)]
    start = len(events)
    events.extend(burst(script))
    events.extend(updates(script, 5, 10, 2))
    detector = QuoteStuffingDetector(STUFF)
    found = []
    for i, event in enumerate(events):
        for pattern in detector.on_event(event):
            found.append(pattern)
            assert i >= start
    return found, start


def test_an_update_burst_is_quote_stuffing() -> None:
    script = Script()
    # one second with 100 deltas of 5 levels: 500 updates against a baseline of 20 a second
    found, _ = stuffing_run(script, lambda s: updates(s, 1, 100, 5))
    (stuff,) = found
    assert stuff.kind is PatternKind.QUOTE_STUFFING
    assert stuff.side is None
    # Detected within the burst second, as soon as the count crossed max(..., min_updates).
    assert stuff.size == 102.0
    assert stuff.start_ns // 1_000_000_000 == stuff.end_ns // 1_000_000_000
    assert stuff.evidence["baseline_median"] == 20.0
    assert stuff.evidence["robust_z"] >= STUFF.z_threshold
    assert stuff.evidence["net_ratio"] == pytest.approx(0.0, abs=0.05)


def test_normal_rates_do_not_trigger() -> None:
    script = Script()
    found, _ = stuffing_run(script, lambda s: updates(s, 30, 12, 2))
    assert found == []


def test_little_net_change_can_be_required() -> None:
    def burst(script: Script, net: bool) -> list[BookDelta]:
        """100 deltas in a second over five bids: sizes that flip back, or that keep growing."""
        out = []
        for k in range(100):
            size = 10.0 + 5.0 * (k + 1) if net else 10.0 + (k % 2)
            out.append(script.delta(10, bids=[(round(99.90 - 0.01 * j, 2), size)
                                              for j in range(5)]))  # fmt: skip
        return out

    strict = dataclasses.replace(STUFF, max_net_ratio=0.2)
    bids, asks = base_book()
    for net in (False, True):
        counts = []
        for cfg in (STUFF, strict):
            script = Script()
            events = [script.snapshot(bids, asks), *updates(script, 60, 10, 2), *burst(script, net)]
            counts.append(len(run(QuoteStuffingDetector(cfg), events)))
        assert counts == ([1, 0] if net else [1, 1]), net


# -- monitor, records, config -------------------------------------------------------------


def test_monitor_runs_every_detector_and_answers_is_active() -> None:
    script = Script()
    events, _, _ = spoof_sequence(script)
    events.extend(quiet(script, 1.5))
    monitor = ManipulationMonitor(MonitorConfig(spoofing=SPOOF))
    found = [p for e in events for p in monitor.on_event(e)]
    assert [p.kind for p in found] == [PatternKind.SPOOFING]
    (spoof,) = found
    assert monitor.counts == {("bybit", SYMBOL, PatternKind.SPOOFING): 1}
    now = spoof.detected_ns + 1
    assert monitor.is_active(SYMBOL, now)
    assert monitor.is_active(SYMBOL, now, venue="bybit")
    assert not monitor.is_active(SYMBOL, now, venue="binanceusdm")
    assert not monitor.is_active(SYMBOL, now, kinds={PatternKind.LAYERING})
    assert not monitor.is_active(SYMBOL, now, min_confidence=spoof.confidence + 1e-9)
    assert monitor.active(SYMBOL, now) == [spoof]
    assert not monitor.is_active(SYMBOL, now + SPOOF.hold_ms * MS)
    book = monitor.book("bybit", SYMBOL)
    assert book is not None
    assert book.best_bid == (100.00, 10.0)


def test_monitor_overrides_per_symbol() -> None:
    script = Script()
    events, _, _ = spoof_sequence(script)
    events.extend(quiet(script, 1.5))
    off = MonitorConfig(spoofing=None)
    monitor = ManipulationMonitor(MonitorConfig(spoofing=SPOOF), overrides={SYMBOL: off})
    assert [p for e in events for p in monitor.on_event(e)] == []
    assert not any(isinstance(d, SpoofingDetector) for d in monitor.detectors(SYMBOL))
    assert any(isinstance(d, SpoofingDetector) for d in monitor.detectors())


def pattern(**changes: object) -> Pattern:
    fields: dict[str, object] = {
        "kind": PatternKind.SPOOFING,
        "venue": "bybit",
        "symbol": SYMBOL,
        "side": Side.BUY,
        "prices": (100.0,),
        "size": 1.0,
        "notional": 100.0,
        "start_ns": T0,
        "end_ns": T0 + MS,
        "detected_ns": T0 + 2 * MS,
        "confidence": 0.5,
    }
    fields.update(changes)
    return Pattern(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [{"confidence": 1.5}, {"confidence": -0.1}, {"end_ns": T0 - 1}, {"size": float("nan")}],
)
def test_bad_patterns_are_rejected(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"confidence|end_ns|finite"):
        pattern(**changes)


def test_activity_log_holds_each_pattern_for_its_time_and_keeps_the_last() -> None:
    log = ActivityLog(keep=2)
    first = pattern(detected_ns=T0)
    second = pattern(kind=PatternKind.QUOTE_STUFFING, detected_ns=T0 + 10 * MS, confidence=0.9)
    log.add(first, 100 * MS)
    log.add(second, 5 * MS)
    assert log.active(SYMBOL, T0 + 12 * MS) == [second, first]
    assert log.active(SYMBOL, T0 + 20 * MS) == [first]
    assert log.is_active(SYMBOL, T0 + 12 * MS, min_confidence=0.8)
    assert not log.is_active(SYMBOL, T0 + 20 * MS, min_confidence=0.8)
    log.add(pattern(detected_ns=T0 + 30 * MS), 1)
    assert log.patterns(SYMBOL)[0] is second  # only the last two are kept
    assert log.total == 3
    describe = first.describe()
    assert "spoofing buy [100]" in describe
    assert "conf=0.50" in describe


@pytest.mark.parametrize(
    ("factory", "kwargs"),
    [
        (SpoofingConfig, {"min_notional": 0.0}),
        (SpoofingConfig, {"vanish_fraction": 1.5}),
        (SpoofingConfig, {"cancel_ratio_rearm": 1.1, "cancel_ratio_threshold": 1.0}),
        (LayeringConfig, {"min_levels": 1}),
        (LayeringConfig, {"size_ratio": 1.0}),
        (QuoteStuffingConfig, {"min_baseline_s": 100}),
        (QuoteStuffingConfig, {"max_net_ratio": 2.0}),
        (MonitorConfig, {"keep": 0}),
    ],
)
def test_invalid_configs_fail_with_the_field_named(
    factory: type[object], kwargs: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs)).split("_")[0]):
        factory(**kwargs)
