"""Spoofing: large levels that appear and vanish within a short TTL without trading.

A **candidate** starts when one book update adds ``added`` to a level (the level grows from
``base`` by at least that much in one delta) with

* ``added * price >= min_notional`` and ``added >= size_multiple *`` the median size of the
  best ``median_levels`` levels on that side (the book right after the update), and
* the level within ``max_distance_bps`` of the mid and, unless ``allow_touch``, not at the
  best price of its side.

Its peak size is followed. It **vanishes** when the level falls to ``peak - vanish_fraction *
(peak - base)`` or below. It is a spoof when

* it rested between ``min_lifetime_ms`` and ``ttl_ms`` (shorter is a market maker's flicker;
  a candidate older than ``ttl_ms`` is dropped: it rested),
* the trades on its price and side between its appearance and its removal (± ``skew_ms``)
  sum to at most ``max_traded_fraction * (peak - base)`` (a level removed because it traded
  is not a spoof), and
* it was not moved: no similar size (± ``move_size_tolerance``) appeared on the same side
  within ``move_bps`` and ``move_window_ms`` of its removal (a re-priced order).

The verdict waits ``grace_ms`` of exchange time after the removal for late trades. The median
yardstick is refreshed at most every ``median_refresh_ms`` per side.

Defaults: 1,000,000 quote notional, 10 × the median of the best 20 levels, within 20 bps,
0.5–5 s, at most 10 % traded, held 10 s.

Confidence is the mean of four scores in [0, 1]: size ``1 - size_multiple / multiple``, speed
``1 - lifetime / ttl``, proximity ``1 - distance / max_distance_bps`` and cleanness
``1 - traded / (max_traded_fraction * size)`` (1 when nothing traded).

**Cancel ratio** (per instrument): over the last ``cancel_window_s`` seconds of exchange time,
``max(removed - traded, 0) / added``, where ``added`` / ``removed`` sum the size increases /
decreases of levels within ``cancel_band_bps`` of the mid and ``traded`` the trade sizes. It is
judged at each second boundary once ``cancel_min_seconds`` of data and ``added * mid >=
cancel_min_notional`` exist. Books cancel almost all they add (market makers requote): on the
recordings the ratio's median is 0.98–1.00 and its 99th percentile 0.99–1.04. A ratio above 1
means liquidity near the touch was withdrawn, net, without trading; crossing
``cancel_ratio_threshold`` (1.03) yields a ``cancel_ratio`` pattern (confidence 0.5 at the
threshold, rising linearly to 1 at 0.05 above it), re-armed when the ratio
falls below ``cancel_ratio_rearm``.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

from mftbot.analysis.manipulation.base import NS_PER_MS, NS_PER_S, Detector
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
from mftbot.domain.orderbook import OrderBook

_CANCEL_CONF_SPAN = 0.05
"""Cancel-ratio excess over the threshold at which confidence reaches 1."""
_KEEP_RATIOS = 86_400
"""Cancel ratios kept per instrument (one a second: a day)."""


@dataclass(frozen=True, slots=True)
class SpoofingConfig:
    """Thresholds of :class:`SpoofingDetector` (see the module docstring)."""

    min_notional: float = 1_000_000.0
    """Smallest added notional (quote currency) of a candidate level."""
    size_multiple: float = 10.0
    """Added size must be at least this multiple of the median level size near the touch."""
    median_levels: int = 20
    """Best levels per side whose median size is the yardstick."""
    median_refresh_ms: int = 2_000
    """The yardstick median is recomputed at most this often per side (sorting is costly)."""
    max_distance_bps: float = 20.0
    """Farthest a candidate may be from the mid when it appears."""
    allow_touch: bool = False
    """Whether a level at the best price of its side may be a candidate. Off by default:
    size flashed at the touch can fill at once, which a spoofer avoids, and market makers
    flicker it constantly (see the findings)."""
    ttl_ms: int = 5_000
    """A spoof vanishes within this time of appearing."""
    min_lifetime_ms: int = 500
    """...and rests at least this long: quotes flickered for a few tens of milliseconds are
    market makers requoting (USD-M BTC shows hundreds an hour), not a visible fake level."""
    vanish_fraction: float = 0.75
    """Share of the added size that must disappear."""
    max_traded_fraction: float = 0.10
    """Most of the added size that may have traded for the removal to count as a cancel."""
    move_window_ms: int = 250
    """A vanished level re-placed (similar size, same side) within this time was moved."""
    move_bps: float = 10.0
    """Farthest a moved level may land from where it was."""
    move_size_tolerance: float = 0.2
    """Relative size difference a moved level may show."""
    skew_ms: int = 50
    """Tolerance on exchange times when matching trades to a level's lifetime."""
    grace_ms: int = 1_000
    """Exchange time waited after a removal for late trades before the verdict."""
    hold_ms: int = 10_000
    """A spoofing pattern stays active this long after detection."""
    cancel_ratio: bool = True
    """Whether to follow the cancel ratio at all."""
    cancel_band_bps: float = 10.0
    """Levels within this distance of the mid count towards the cancel ratio."""
    cancel_window_s: int = 60
    """Seconds of exchange time the cancel ratio is taken over."""
    cancel_min_notional: float = 1_000_000.0
    """Added notional the window needs before the ratio is judged."""
    cancel_min_seconds: int = 30
    """Seconds of data the window needs before the ratio is judged."""
    cancel_ratio_threshold: float = 1.03
    """Ratio at or above which a ``cancel_ratio`` pattern fires."""
    cancel_ratio_rearm: float = 1.0
    """Ratio below which the flag re-arms."""
    cancel_hold_ms: int = 30_000
    """A ``cancel_ratio`` pattern stays active this long."""

    def __post_init__(self) -> None:
        for name in ("min_notional", "size_multiple", "max_distance_bps", "cancel_band_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"SpoofingConfig.{name} must be > 0, got {value}")
        for name in (
            "ttl_ms",
            "grace_ms",
            "hold_ms",
            "cancel_window_s",
            "median_levels",
            "median_refresh_ms",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"SpoofingConfig.{name} must be > 0, got {getattr(self, name)}")
        for name in (
            "skew_ms",
            "cancel_hold_ms",
            "cancel_min_notional",
            "cancel_min_seconds",
            "move_window_ms",
            "move_bps",
            "move_size_tolerance",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"SpoofingConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 < self.vanish_fraction <= 1.0:
            raise ValueError(
                f"SpoofingConfig.vanish_fraction in (0, 1], got {self.vanish_fraction}"
            )
        if not 0.0 <= self.max_traded_fraction < 1.0:
            raise ValueError(
                f"SpoofingConfig.max_traded_fraction in [0, 1), got {self.max_traded_fraction}"
            )
        if not 0.0 <= self.cancel_ratio_rearm <= self.cancel_ratio_threshold < math.inf:
            raise ValueError(
                "SpoofingConfig needs 0 <= cancel_ratio_rearm <= cancel_ratio_threshold < inf"
            )


@dataclass(slots=True, kw_only=True)
class _Candidate(Watched):
    base: float
    peak: float
    median: float
    distance_bps: float


@dataclass(slots=True)
class _Bucket:
    second: int
    added: float = 0.0
    removed: float = 0.0
    traded: float = 0.0


@dataclass(slots=True)
class _State:
    watch: WatchList[_Candidate]
    adds: RecentAdds
    watermark: int = 0
    buckets: deque[_Bucket] = field(default_factory=deque)
    current: _Bucket | None = None
    mid: float = math.nan
    flagged: bool = False
    medians: dict[bool, tuple[int, float]] = field(default_factory=dict)
    ratios: deque[float] = field(default_factory=lambda: deque(maxlen=_KEEP_RATIOS))


def median_size(book: OrderBook, is_bid: bool, levels: int) -> float:
    """Median size of the best ``levels`` levels of one side (NaN when empty)."""
    side = book.bids if is_bid else book.asks
    sizes = [size for _, size in side.top(levels)]
    return statistics.median(sizes) if sizes else math.nan


class SpoofingDetector(Detector[_State]):
    """Spoofing and cancel-ratio detector (see the module docstring)."""

    kinds = (PatternKind.SPOOFING, PatternKind.CANCEL_RATIO)

    def __init__(self, config: SpoofingConfig | None = None, *, keep: int = 10_000) -> None:
        super().__init__(keep=keep)
        self.config = config or SpoofingConfig()

    @property
    def band_bps(self) -> float:
        cfg = self.config
        return max(cfg.max_distance_bps, cfg.cancel_band_bps if cfg.cancel_ratio else 0.0)

    def hold_ns(self, kind: PatternKind) -> int:
        cfg = self.config
        hold = cfg.cancel_hold_ms if kind is PatternKind.CANCEL_RATIO else cfg.hold_ms
        return hold * NS_PER_MS

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

    def cancel_ratios(self, venue: str, symbol: str) -> list[float]:
        """Cancel ratios judged on an instrument, one per second (the last day's)."""
        state = self._states.get((venue, symbol))
        return [] if state is None else list(state.ratios)

    # -- book updates ------------------------------------------------------------------------

    def _on_update(self, state: _State, update: BookUpdate) -> list[Pattern]:
        cfg = self.config
        found = self._roll(state, update) if cfg.cancel_ratio else []
        if update.ts_event > state.watermark:
            state.watermark = update.ts_event
        mid = update.mid
        state.mid = mid
        live = state.watch.live
        ttl_ns = cfg.ttl_ms * NS_PER_MS
        if live:
            for stale in [c for c in live.values() if update.ts_event - c.start_ns > ttl_ns]:
                del live[(stale.is_bid, stale.price)]
        band = cfg.cancel_band_bps * mid / 10_000.0
        far = cfg.max_distance_bps * mid / 10_000.0
        bucket = state.current
        for is_bid, price, old, new in update.changes:
            near = abs(price - mid)
            if bucket is not None and near <= band:
                if new > old:
                    bucket.added += new - old
                else:
                    bucket.removed += old - new
            cand = live.get((is_bid, price))
            if cand is not None:
                if new > cand.peak:
                    cand.peak = new
                elif cand.peak - new >= cfg.vanish_fraction * (cand.peak - cand.base):
                    state.watch.remove(cand, update.ts_event)
                continue
            added = new - old
            if added * price < cfg.min_notional or near > far:
                continue
            if not cfg.allow_touch:
                best = (update.book.bids if is_bid else update.book.asks).best_price()
                if best is None or best == price:
                    continue
            median = self._median(state, update, is_bid)
            if added >= cfg.size_multiple * median:
                state.adds.add(update.ts_event, is_bid, price, added)
                live[(is_bid, price)] = _Candidate(
                    is_bid=is_bid,
                    price=price,
                    start_ns=update.ts_event,
                    base=old,
                    peak=new,
                    median=median,
                    distance_bps=near / mid * 10_000.0,
                )
        state.adds.prune(
            update.ts_event - (cfg.ttl_ms + cfg.grace_ms + cfg.move_window_ms) * NS_PER_MS
        )
        found.extend(self._settle(state, update.ts_recv, update.venue, update.symbol))
        return found

    def _median(self, state: _State, update: BookUpdate, is_bid: bool) -> float:
        cached = state.medians.get(is_bid)
        refresh = self.config.median_refresh_ms * NS_PER_MS
        if cached is not None and update.ts_event - cached[0] < refresh:
            return cached[1]
        value = median_size(update.book, is_bid, self.config.median_levels)
        state.medians[is_bid] = (update.ts_event, value)
        return value

    def _on_trade(self, state: _State, trade: TradeTick) -> list[Pattern]:
        if state.watch:
            state.watch.on_trade(trade)
        if state.current is not None:
            state.current.traded += trade.size
        if trade.ts_event > state.watermark:
            state.watermark = trade.ts_event
        return self._settle(state, trade.ts_recv, trade.venue, trade.symbol)

    def _settle(self, state: _State, ts_recv: int, venue: str, symbol: str) -> list[Pattern]:
        if not state.watch.pending:
            return []
        cfg = self.config
        found = []
        for cand in state.watch.settle(state.watermark):
            size = cand.peak - cand.base
            end = cand.end_ns if cand.end_ns is not None else cand.start_ns
            lifetime = end - cand.start_ns
            limit = cfg.max_traded_fraction * size
            too_short = lifetime < cfg.min_lifetime_ms * NS_PER_MS
            if too_short or lifetime > cfg.ttl_ms * NS_PER_MS or cand.traded > limit:
                continue
            if state.adds.moved(cand.is_bid, cand.price, size, end):
                continue
            multiple = size / cand.median if cand.median > 0 else math.inf
            scores = (
                clip01(1.0 - cfg.size_multiple / multiple),
                clip01(1.0 - lifetime / (cfg.ttl_ms * NS_PER_MS)),
                clip01(1.0 - cand.distance_bps / cfg.max_distance_bps),
                1.0 if cand.traded == 0 else clip01(1.0 - cand.traded / limit),
            )
            found.append(
                Pattern(
                    kind=PatternKind.SPOOFING,
                    venue=venue,
                    symbol=symbol,
                    side=Side.BUY if cand.is_bid else Side.SELL,
                    prices=(cand.price,),
                    size=size,
                    notional=size * cand.price,
                    start_ns=cand.start_ns,
                    end_ns=end,
                    detected_ns=ts_recv,
                    confidence=sum(scores) / len(scores),
                    evidence={
                        "size_multiple": multiple,
                        "median_size": cand.median,
                        "lifetime_ms": lifetime / NS_PER_MS,
                        "distance_bps": cand.distance_bps,
                        "traded": cand.traded,
                        "base_size": cand.base,
                    },
                )
            )
        return found

    # -- cancel ratio ------------------------------------------------------------------------

    def _roll(self, state: _State, update: BookUpdate) -> list[Pattern]:
        """Close the current second when ``update`` starts a later one; judge the window."""
        second = update.ts_event // NS_PER_S
        current = state.current
        if current is not None and second <= current.second:
            return []
        state.current = _Bucket(second)
        if current is None:
            return []
        cfg = self.config
        buckets = state.buckets
        buckets.append(current)
        while buckets and buckets[0].second <= second - 1 - cfg.cancel_window_s:
            buckets.popleft()
        added = sum(b.added for b in buckets)
        if len(buckets) < cfg.cancel_min_seconds or added * state.mid < cfg.cancel_min_notional:
            return []
        removed = sum(b.removed for b in buckets)
        traded = sum(b.traded for b in buckets)
        ratio = max(removed - traded, 0.0) / added
        state.ratios.append(ratio)
        if state.flagged:
            if ratio < cfg.cancel_ratio_rearm:
                state.flagged = False
            return []
        if ratio < cfg.cancel_ratio_threshold:
            return []
        state.flagged = True
        confidence = 0.5 + 0.5 * clip01((ratio - cfg.cancel_ratio_threshold) / _CANCEL_CONF_SPAN)
        cancelled = max(removed - traded, 0.0)
        return [
            Pattern(
                kind=PatternKind.CANCEL_RATIO,
                venue=update.venue,
                symbol=update.symbol,
                side=None,
                prices=(state.mid,),
                size=cancelled,
                notional=cancelled * state.mid,
                start_ns=buckets[0].second * NS_PER_S,
                end_ns=(current.second + 1) * NS_PER_S,
                detected_ns=update.ts_recv,
                confidence=confidence,
                evidence={
                    "cancel_ratio": ratio,
                    "added": added,
                    "removed": removed,
                    "traded": traded,
                    "window_s": float(len(buckets)),
                },
            )
        ]
