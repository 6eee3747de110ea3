"""Layering: several similar-size levels placed together on one side and pulled together.

A **placement** is one book update adding ``added`` to a level with ``added * price >=
min_level_notional``, within ``max_distance_bps`` of the mid and (unless ``allow_touch``)
not at the best price of its side. It is **pulled** when the level falls to ``peak -
pull_fraction * added`` or below, and the pull counts once settled (``grace_ms`` of exchange
time later) if

* the trades on its price and side during its life sum to at most ``max_traded_fraction *
  added`` (a level that traded away was not pulled),
* it rested between ``min_lifetime_ms`` and ``max_lifetime_ms``, and
* no similar size appeared near it at the same moment (a re-priced order moved, it was not
  withdrawn; ``move_*`` settings).

The pulls settled by one event are added together, then each is checked as the anchor of a
group: unreported pulls on the same side
pulled within ``pull_window_ms`` of it, placed within ``place_window_ms`` of it and priced
within ``span_bps`` of it; of those, the ones whose size is within a factor ``size_ratio`` of
the group's median size. With at least ``min_levels`` distinct prices the group is a layering
pattern and its members are not reported again (a level pulled after the report joins no
group). A group whose mirror image was pulled from the other side at the same time (at least
``min_levels`` pulls of sizes within ``size_ratio`` of its median, within ``pull_window_ms``)
is a two-sided requote, not layering, and is dropped when ``two_sided_exempt`` is on (the
default; the recordings show such ladders every few seconds on USD-M).

Defaults: ≥ 3 levels of ≥ 100,000 quote notional each, within 30 bps of the mid and 10 bps of
each other, sizes within 1.5× of the median, placed within 1 s and pulled within 0.5 s, resting
0.5–30 s, at most 10 % traded, held 10 s.

Confidence is the mean of: levels ``1 - (min_levels - 1) / count``, size similarity
``1 - (max/min - 1) / (size_ratio**2 - 1)``, synchrony ``1 - pull spread / pull_window`` and
cleanness ``1 - traded / allowed`` over the group.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

from mftbot.analysis.manipulation.base import NS_PER_MS, Detector
from mftbot.analysis.manipulation.patterns import Pattern, PatternKind, clip01
from mftbot.analysis.manipulation.tracker import (
    BookReset,
    BookUpdate,
    RecentAdds,
    Watched,
    WatchList,
)
from mftbot.domain.enums import Side
from mftbot.domain.events import TradeTick


@dataclass(frozen=True, slots=True)
class LayeringConfig:
    """Thresholds of :class:`LayeringDetector` (see the module docstring)."""

    min_levels: int = 3
    """Distinct prices a layering group needs."""
    min_level_notional: float = 100_000.0
    """Smallest added notional (quote currency) of one placement."""
    max_distance_bps: float = 30.0
    """Farthest a placement may be from the mid."""
    allow_touch: bool = False
    """Whether placements at the best price of their side count."""
    place_window_ms: int = 1_000
    """Placements of one group happen within this time of the anchor's."""
    pull_window_ms: int = 500
    """Pulls of one group happen within this time of the anchor's."""
    span_bps: float = 10.0
    """Group members lie within this distance of the anchor's price."""
    size_ratio: float = 1.5
    """Members' sizes lie within this factor of the group median."""
    pull_fraction: float = 0.75
    """Share of the added size that must disappear for a pull."""
    max_traded_fraction: float = 0.10
    """Most of a placement that may have traded for its removal to count as a pull."""
    min_lifetime_ms: int = 500
    """Placements pulled sooner are requotes (market makers), not layers."""
    max_lifetime_ms: int = 30_000
    """Placements resting longer are no longer followed."""
    two_sided_exempt: bool = True
    """A group is not layering when as many similar levels were pulled on the other side
    within ``pull_window_ms``: a market maker refreshing its two-sided ladder."""
    move_window_ms: int = 250
    """A pulled level re-placed (similar size, same side) within this time was moved."""
    move_bps: float = 10.0
    """Farthest a moved level may land from where it was."""
    move_size_tolerance: float = 0.2
    """Relative size difference a moved level may show."""
    skew_ms: int = 50
    """Tolerance on exchange times when matching trades to a placement's life."""
    grace_ms: int = 1_000
    """Exchange time waited after a pull for late trades before it counts."""
    hold_ms: int = 10_000
    """A layering pattern stays active this long after detection."""

    def __post_init__(self) -> None:
        if self.min_levels < 2:
            raise ValueError(f"LayeringConfig.min_levels must be >= 2, got {self.min_levels}")
        for name in ("min_level_notional", "max_distance_bps", "span_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"LayeringConfig.{name} must be > 0, got {value}")
        if not self.size_ratio > 1.0:
            raise ValueError(f"LayeringConfig.size_ratio must be > 1, got {self.size_ratio}")
        for name in ("place_window_ms", "pull_window_ms", "max_lifetime_ms", "hold_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"LayeringConfig.{name} must be > 0, got {getattr(self, name)}")
        for name in ("skew_ms", "grace_ms", "min_lifetime_ms", "move_window_ms", "move_bps"):
            if getattr(self, name) < 0:
                raise ValueError(f"LayeringConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 < self.pull_fraction <= 1.0:
            raise ValueError(f"LayeringConfig.pull_fraction in (0, 1], got {self.pull_fraction}")
        if not 0.0 <= self.max_traded_fraction < 1.0:
            raise ValueError("LayeringConfig.max_traded_fraction must be in [0, 1)")
        if not 0.0 <= self.move_size_tolerance < 1.0:
            raise ValueError("LayeringConfig.move_size_tolerance must be in [0, 1)")


@dataclass(slots=True, kw_only=True)
class _Placement(Watched):
    added: float
    peak: float


@dataclass(slots=True)
class _Pull:
    is_bid: bool
    price: float
    size: float
    traded: float
    placed_ns: int
    pulled_ns: int
    consumed: bool = False


@dataclass(slots=True)
class _State:
    watch: WatchList[_Placement]
    adds: RecentAdds
    order: deque[tuple[int, tuple[bool, float]]] = field(default_factory=deque)
    pulls: deque[_Pull] = field(default_factory=deque)
    watermark: int = 0


class LayeringDetector(Detector[_State]):
    """Layering detector (see the module docstring)."""

    kinds = (PatternKind.LAYERING,)

    def __init__(self, config: LayeringConfig | None = None, *, keep: int = 10_000) -> None:
        super().__init__(keep=keep)
        self.config = config or LayeringConfig()

    @property
    def band_bps(self) -> float:
        return self.config.max_distance_bps

    def hold_ns(self, kind: PatternKind) -> int:
        return self.config.hold_ms * NS_PER_MS

    def _new_state(self) -> _State:
        cfg = self.config
        return _State(
            WatchList(skew_ns=cfg.skew_ms * NS_PER_MS, grace_ns=cfg.grace_ms * NS_PER_MS),
            RecentAdds(
                window_ns=cfg.move_window_ms * NS_PER_MS,
                bps=cfg.move_bps,
                size_tolerance=cfg.move_size_tolerance,
            ),
        )

    def _on_reset(self, state: _State, reset: BookReset) -> None:
        state.watch.clear()
        state.adds.clear()
        state.order.clear()

    def _on_update(self, state: _State, update: BookUpdate) -> list[Pattern]:
        cfg = self.config
        now = update.ts_event
        if now > state.watermark:
            state.watermark = now
        live = state.watch.live
        self._expire(state, now)
        mid = update.mid
        far = cfg.max_distance_bps * mid / 10_000.0
        book = update.book
        for is_bid, price, old, new in update.changes:
            key = (is_bid, price)
            placed = live.get(key)
            if placed is not None:
                if new > placed.peak:
                    placed.peak = new
                elif new <= placed.peak - cfg.pull_fraction * placed.added:
                    state.watch.remove(placed, now)
                continue
            added = new - old
            if added * price < cfg.min_level_notional or abs(price - mid) > far:
                continue
            if not cfg.allow_touch:
                best = (book.bids if is_bid else book.asks).best_price()
                if best is None or best == price:
                    continue
            live[key] = _Placement(is_bid=is_bid, price=price, start_ns=now, added=added, peak=new)
            state.order.append((now, key))
            state.adds.add(now, is_bid, price, added)
        return self._settle(state, update.ts_recv, update.venue, update.symbol)

    def _expire(self, state: _State, now: int) -> None:
        cutoff = now - self.config.max_lifetime_ms * NS_PER_MS
        order = state.order
        live = state.watch.live
        while order and order[0][0] < cutoff:
            start, key = order.popleft()
            placed = live.get(key)
            if placed is not None and placed.start_ns == start:
                del live[key]

    def _on_trade(self, state: _State, trade: TradeTick) -> list[Pattern]:
        if state.watch:
            state.watch.on_trade(trade)
        if trade.ts_event > state.watermark:
            state.watermark = trade.ts_event
        return self._settle(state, trade.ts_recv, trade.venue, trade.symbol)

    def _settle(self, state: _State, ts_recv: int, venue: str, symbol: str) -> list[Pattern]:
        if not state.watch.pending:
            return []
        cfg = self.config
        state.adds.prune(
            state.watermark - (cfg.grace_ms + cfg.move_window_ms + cfg.skew_ms) * NS_PER_MS
        )
        pulls = state.pulls
        keep_from = state.watermark - (2 * cfg.pull_window_ms + cfg.grace_ms) * NS_PER_MS
        while pulls and pulls[0].pulled_ns < keep_from:
            pulls.popleft()
        fresh = []
        for placed in state.watch.settle(state.watermark):
            end = placed.end_ns if placed.end_ns is not None else placed.start_ns
            life = end - placed.start_ns
            if not cfg.min_lifetime_ms * NS_PER_MS <= life <= cfg.max_lifetime_ms * NS_PER_MS:
                continue
            if placed.traded > cfg.max_traded_fraction * placed.added:
                continue
            if state.adds.moved(placed.is_bid, placed.price, placed.added, end):
                continue
            fresh.append(
                _Pull(
                    placed.is_bid, placed.price, placed.added, placed.traded, placed.start_ns, end
                )
            )
        pulls.extend(fresh)
        found = []
        for anchor in fresh:
            if not anchor.consumed:
                pattern = self._group(anchor, state, ts_recv, venue, symbol)
                if pattern is not None:
                    found.append(pattern)
        return found

    def _mirrored(self, anchor: _Pull, members: list[_Pull], state: _State) -> bool:
        """Whether as many similar levels left the other side at the same time."""
        cfg = self.config
        pull_w = cfg.pull_window_ms * NS_PER_MS
        median = statistics.median(q.size for q in members)
        lo, hi = median / cfg.size_ratio, median * cfg.size_ratio
        prices = {
            q.price
            for q in state.pulls
            if q.is_bid is not anchor.is_bid
            and abs(q.pulled_ns - anchor.pulled_ns) <= pull_w
            and lo <= q.size <= hi
        }
        prices.update(
            w.price
            for w in state.watch.pending
            if w.is_bid is not anchor.is_bid
            and w.end_ns is not None
            and abs(w.end_ns - anchor.pulled_ns) <= pull_w
            and lo <= w.added <= hi
        )
        return len(prices) >= cfg.min_levels

    def _group(
        self, anchor: _Pull, state: _State, ts_recv: int, venue: str, symbol: str
    ) -> Pattern | None:
        cfg = self.config
        pull_w = cfg.pull_window_ms * NS_PER_MS
        place_w = cfg.place_window_ms * NS_PER_MS
        near = [
            q
            for q in state.pulls
            if not q.consumed
            and q.is_bid is anchor.is_bid
            and abs(q.pulled_ns - anchor.pulled_ns) <= pull_w
            and abs(q.placed_ns - anchor.placed_ns) <= place_w
            and abs(q.price / anchor.price - 1.0) * 10_000.0 <= cfg.span_bps
        ]
        if len({q.price for q in near}) < cfg.min_levels:
            return None
        median = statistics.median(q.size for q in near)
        members = [q for q in near if median / cfg.size_ratio <= q.size <= median * cfg.size_ratio]
        prices = sorted({q.price for q in members})
        if len(prices) < cfg.min_levels:
            return None
        for q in members:
            q.consumed = True
        if cfg.two_sided_exempt and self._mirrored(anchor, members, state):
            return None
        sizes = [q.size for q in members]
        size = sum(sizes)
        traded = sum(q.traded for q in members)
        allowed = cfg.max_traded_fraction * size
        pull_spread = max(q.pulled_ns for q in members) - min(q.pulled_ns for q in members)
        spread_ratio = max(sizes) / min(sizes)
        scores = (
            clip01(1.0 - (cfg.min_levels - 1) / len(prices)),
            clip01(1.0 - (spread_ratio - 1.0) / (cfg.size_ratio**2 - 1.0)),
            clip01(1.0 - pull_spread / pull_w),
            1.0 if traded == 0 else clip01(1.0 - traded / allowed),
        )
        return Pattern(
            kind=PatternKind.LAYERING,
            venue=venue,
            symbol=symbol,
            side=Side.BUY if anchor.is_bid else Side.SELL,
            prices=tuple(prices),
            size=size,
            notional=sum(q.size * q.price for q in members),
            start_ns=min(q.placed_ns for q in members),
            end_ns=max(q.pulled_ns for q in members),
            detected_ns=ts_recv,
            confidence=sum(scores) / len(scores),
            evidence={
                "levels": float(len(prices)),
                "size_spread": spread_ratio,
                "pull_spread_ms": pull_spread / NS_PER_MS,
                "place_spread_ms": (
                    max(q.placed_ns for q in members) - min(q.placed_ns for q in members)
                )
                / NS_PER_MS,
                "span_bps": (prices[-1] / prices[0] - 1.0) * 10_000.0,
                "traded": traded,
            },
        )
