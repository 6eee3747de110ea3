"""Quote stuffing: bursts of book updates far above the instrument's own baseline.

Updates are counted per second of exchange time as **level updates** (the level entries of
every delta, at any depth), so the count is comparable between venues that batch (Binance
spot sends a diff every 100 ms) and venues that stream each change. The baseline is the
median ``m`` and the median absolute deviation ``mad`` of the previous ``baseline_s`` seconds
(seconds without updates count as 0; a gap longer than the baseline restarts it), judged once
``min_baseline_s`` seconds exist. With ``scale = 1.4826 * max(mad, mad_floor_fraction * m,
1)`` the second is a burst as soon as its running count reaches

    max(m + z_threshold * scale, min_ratio * m, min_updates)

(detected within the second, not after it); one pattern per burst second. Its robust z-score
is ``(count - m) / scale``. ``net_ratio`` is ``(|net bid size change| + |net ask size
change|) / gross size change`` of the levels within the tracked band: near 0 means the book
churned and came back to where it was. With ``max_net_ratio`` set, a burst must also stay at
or below it ("little net change"); by default it is only reported.

Defaults: 60 s baseline (30 s needed), z ≥ 10, ≥ 5 × the median, ≥ 200 updates, held 5 s.

Confidence is ``0.5 + 0.5 * (1 - z_threshold / z)``: 0.5 at the threshold, towards 1 as the
burst grows.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

from mftbot.analysis.manipulation.base import NS_PER_MS, NS_PER_S, Detector
from mftbot.analysis.manipulation.patterns import Pattern, PatternKind, clip01
from mftbot.analysis.manipulation.tracker import BookReset, BookUpdate
from mftbot.domain.events import TradeTick

_MAD_SCALE = 1.4826


@dataclass(frozen=True, slots=True)
class QuoteStuffingConfig:
    """Thresholds of :class:`QuoteStuffingDetector` (see the module docstring)."""

    baseline_s: int = 60
    """Seconds of history the baseline is taken over."""
    min_baseline_s: int = 30
    """Seconds of history needed before bursts are judged."""
    z_threshold: float = 10.0
    """Robust z-score a burst second must reach."""
    min_ratio: float = 5.0
    """A burst is at least this multiple of the baseline median."""
    min_updates: int = 200
    """A burst has at least this many level updates in its second."""
    mad_floor_fraction: float = 0.1
    """The MAD is taken as at least this fraction of the median (a too-steady baseline)."""
    max_net_ratio: float | None = None
    """If set, a burst must leave the book nearly unchanged: net/gross at most this."""
    hold_ms: int = 5_000
    """A quote-stuffing pattern stays active this long after detection."""

    def __post_init__(self) -> None:
        if self.baseline_s < 2 or not 1 <= self.min_baseline_s <= self.baseline_s:
            raise ValueError(
                "QuoteStuffingConfig needs baseline_s >= 2 and 1 <= min_baseline_s <= baseline_s"
            )
        for name in ("z_threshold", "min_ratio"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"QuoteStuffingConfig.{name} must be > 0, got {value}")
        if self.min_updates < 1 or self.hold_ms <= 0 or self.mad_floor_fraction < 0:
            raise ValueError("QuoteStuffingConfig: min_updates >= 1, hold_ms > 0, floor >= 0")
        if self.max_net_ratio is not None and not 0.0 <= self.max_net_ratio <= 1.0:
            raise ValueError(f"QuoteStuffingConfig.max_net_ratio in [0, 1], {self.max_net_ratio}")


@dataclass(slots=True)
class _State:
    history: deque[int]
    second: int = -1
    count: int = 0
    messages: int = 0
    gross: float = 0.0
    net_bid: float = 0.0
    net_ask: float = 0.0
    first_ns: int = 0
    reported: bool = False
    threshold: float = math.inf
    median: float = math.nan
    scale: float = math.nan
    rates: deque[int] = field(default_factory=lambda: deque(maxlen=86_400))


class QuoteStuffingDetector(Detector[_State]):
    """Update-rate burst detector (see the module docstring)."""

    kinds = (PatternKind.QUOTE_STUFFING,)

    def __init__(
        self,
        config: QuoteStuffingConfig | None = None,
        *,
        band_bps: float = 30.0,
        keep: int = 10_000,
    ) -> None:
        super().__init__(keep=keep)
        self.config = config or QuoteStuffingConfig()
        self._band_bps = band_bps

    @property
    def band_bps(self) -> float:
        return self._band_bps

    def hold_ns(self, kind: PatternKind) -> int:
        return self.config.hold_ms * NS_PER_MS

    def _new_state(self) -> _State:
        return _State(deque(maxlen=self.config.baseline_s))

    def _on_reset(self, state: _State, reset: BookReset) -> None:
        """A resync does not change the update rate: the baseline is kept."""

    def _on_trade(self, state: _State, trade: TradeTick) -> list[Pattern]:
        return []

    def rates(self, venue: str, symbol: str) -> list[int]:
        """Level updates per completed second on an instrument (the last day's)."""
        state = self._states.get((venue, symbol))
        return [] if state is None else list(state.rates)

    def _roll(self, state: _State, second: int) -> None:
        cfg = self.config
        history = state.history
        if state.second >= 0:
            gap = second - state.second
            state.rates.append(state.count)
            if gap > cfg.baseline_s:
                history.clear()
            else:
                history.append(state.count)
                history.extend([0] * min(gap - 1, cfg.baseline_s))
        state.second = second
        state.count = 0
        state.messages = 0
        state.gross = state.net_bid = state.net_ask = 0.0
        state.reported = False
        if len(history) < cfg.min_baseline_s:
            state.threshold = math.inf
            return
        median = statistics.median(history)
        mad = statistics.median(abs(x - median) for x in history)
        scale = _MAD_SCALE * max(mad, cfg.mad_floor_fraction * median, 1.0)
        state.median = median
        state.scale = scale
        state.threshold = max(
            median + cfg.z_threshold * scale, cfg.min_ratio * median, float(cfg.min_updates)
        )

    def _on_update(self, state: _State, update: BookUpdate) -> list[Pattern]:
        second = update.ts_event // NS_PER_S
        if second > state.second:
            self._roll(state, second)
            state.first_ns = update.ts_event
        state.count += update.levels
        state.messages += 1
        for is_bid, _, old, new in update.changes:
            diff = new - old
            state.gross += abs(diff)
            if is_bid:
                state.net_bid += diff
            else:
                state.net_ask += diff
        if state.reported or state.count < state.threshold:
            return []
        cfg = self.config
        net_ratio = (
            (abs(state.net_bid) + abs(state.net_ask)) / state.gross if state.gross > 0 else 0.0
        )
        if cfg.max_net_ratio is not None and net_ratio > cfg.max_net_ratio:
            return []
        state.reported = True
        z = (state.count - state.median) / state.scale
        return [
            Pattern(
                kind=PatternKind.QUOTE_STUFFING,
                venue=update.venue,
                symbol=update.symbol,
                side=None,
                prices=(update.mid,),
                size=float(state.count),
                notional=0.0,
                start_ns=state.first_ns,
                end_ns=update.ts_event,
                detected_ns=update.ts_recv,
                confidence=0.5 + 0.5 * clip01(1.0 - cfg.z_threshold / z),
                evidence={
                    "updates": float(state.count),
                    "messages": float(state.messages),
                    "baseline_median": state.median,
                    "robust_z": z,
                    "ratio_to_median": state.count / state.median if state.median else math.inf,
                    "net_ratio": net_ratio,
                },
            )
        ]
