"""The position monitor: applies stops, targets, trailing stops and the reversal detector to
open positions on each closed bar and produces the exit intents.

Per bar, for each tracked position not already exiting, in order:

1. the stop is hit (low ≤ stop for a long) → ``STOP_LOSS`` (``TRAILING_STOP`` once the stop
   has moved); when the target is hit in the same bar the stop wins (the conservative reading
   of a bar whose path is unknown);
2. the take profit is hit → ``TAKE_PROFIT``;
3. with ``close_on_reversal``, a reversal bar → ``EXIT``;
4. otherwise the stop trails: break-even, then the configured trailing method, using this bar
   for the next bar's check (never for its own).

An exit intent is a reduce-only market order for the whole quantity; the position is marked
exiting until its quantity changes (:meth:`PositionMonitor.track` / :meth:`untrack`) or the
exit order ends without a fill (:meth:`PositionMonitor.exit_failed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.base import OrderIntent
from mftbot.risk.config import StopsConfig
from mftbot.risk.results import RiskError, num
from mftbot.risk.state import RiskState
from mftbot.risk.stops import (
    ReversalDetector,
    atr_trail,
    break_even,
    chandelier_trail,
    percent_trail,
    tighten,
)


@dataclass(slots=True)
class TrackedPosition:
    """A position under watch."""

    symbol: str
    strategy: str
    side: Side
    qty: float
    entry: float
    stop: float
    take_profit: float | None
    initial_stop: float
    best_price: float
    exiting: bool = False

    @property
    def initial_risk(self) -> float:
        """Price distance from the entry to the first stop (1 R)."""
        return abs(self.entry - self.initial_stop)


@dataclass(frozen=True, slots=True)
class ExitSignal:
    """An exit the monitor wants, with its reason."""

    intent: OrderIntent
    reason: str


class PositionMonitor:
    """Watches positions through closed bars (see module doc)."""

    def __init__(self, config: StopsConfig, state: RiskState) -> None:
        self.config = config
        self.state = state
        self.reversal = ReversalDetector(config.reversal_lookback, config.reversal_body_atr)
        self.positions: dict[str, TrackedPosition] = {}

    def track(
        self,
        symbol: str,
        strategy: str,
        signed_qty: float,
        entry: float,
        *,
        stop: float,
        take_profit: float | None = None,
    ) -> TrackedPosition:
        """Start watching ``symbol`` with ``stop``; for a position already watched on the same
        side, update quantity and entry (the stop stays) and clear the exiting mark."""
        if signed_qty == 0 or not math.isfinite(signed_qty):
            raise RiskError(f"{symbol}: tracked quantity must be finite and non-zero")
        side = Side.BUY if signed_qty > 0 else Side.SELL
        current = self.positions.get(symbol)
        if current is not None and current.side is side:
            current.qty = abs(signed_qty)
            current.entry = entry
            current.exiting = False
            return current
        if (side is Side.BUY and stop >= entry) or (side is Side.SELL and stop <= entry):
            raise RiskError(
                f"{symbol}: stop {num(stop)} is on the wrong side of the entry {num(entry)}"
            )
        tracked = TrackedPosition(
            symbol, strategy, side, abs(signed_qty), entry, stop, take_profit, stop, entry
        )
        self.positions[symbol] = tracked
        return tracked

    def untrack(self, symbol: str) -> None:
        """Stop watching ``symbol`` (it is flat)."""
        self.positions.pop(symbol, None)

    def exit_failed(self, symbol: str) -> None:
        """The exit order ended unfilled: watch (and exit) again."""
        tracked = self.positions.get(symbol)
        if tracked is not None:
            tracked.exiting = False

    def on_bar(self, bar: CandleClosed) -> list[ExitSignal]:
        """Apply the bar to the position in its symbol; call after the risk state saw it."""
        tracked = self.positions.get(bar.symbol)
        if tracked is None or tracked.exiting:
            return []
        found = self._exit(tracked, bar)
        if found is not None:
            tracked.exiting = True
            return [found]
        self._trail(tracked, bar)
        return []

    def _exit(self, t: TrackedPosition, bar: CandleClosed) -> ExitSignal | None:
        long = t.side is Side.BUY
        if (bar.low <= t.stop) if long else (bar.high >= t.stop):
            trailed = t.stop != t.initial_stop
            kind = IntentKind.TRAILING_STOP if trailed else IntentKind.STOP_LOSS
            touched = bar.low if long else bar.high
            what = "trailing stop" if trailed else "stop"
            return self._signal(t, bar, kind, f"{what} {num(t.stop)} hit ({num(touched)})")
        tp = t.take_profit
        if tp is not None and ((bar.high >= tp) if long else (bar.low <= tp)):
            touched = bar.high if long else bar.low
            return self._signal(
                t, bar, IntentKind.TAKE_PROFIT, f"take profit {num(tp)} hit ({num(touched)})"
            )
        if self.config.close_on_reversal:
            hist = self.state.history.get(bar.symbol)
            if hist is not None and hist.ts and hist.ts[-1] == bar.ts_event:
                why = self.reversal.detect(
                    t.side,
                    list(hist.open),
                    list(hist.high),
                    list(hist.low),
                    list(hist.close),
                    hist.atr(self.config.atr_period),
                )
                if why is not None:
                    return self._signal(t, bar, IntentKind.EXIT, why)
        return None

    def _trail(self, t: TrackedPosition, bar: CandleClosed) -> None:
        cfg = self.config
        long = t.side is Side.BUY
        t.best_price = max(t.best_price, bar.high) if long else min(t.best_price, bar.low)
        if cfg.break_even_r is not None:
            t.stop = break_even(
                t.side, t.entry, t.stop, t.best_price, t.initial_risk, cfg.break_even_r
            )
        if cfg.trailing == "none":
            return
        atr = self.state.atr(bar.symbol, cfg.atr_period)
        if cfg.trailing == "percent":
            proposed = percent_trail(t.side, t.best_price, cfg.trail_pct)
        elif cfg.trailing == "atr":
            proposed = atr_trail(t.side, bar.close, atr, cfg.trail_atr_mult)
        else:
            hist = self.state.history.get(bar.symbol)
            n = cfg.chandelier_period
            highs = list(hist.high)[-n:] if hist is not None else []
            lows = list(hist.low)[-n:] if hist is not None else []
            proposed = chandelier_trail(t.side, highs, lows, atr, cfg.chandelier_mult)
        t.stop = tighten(t.side, t.stop, proposed)

    @staticmethod
    def _signal(t: TrackedPosition, bar: CandleClosed, kind: IntentKind, reason: str) -> ExitSignal:
        intent = OrderIntent(
            strategy=t.strategy or "risk",
            symbol=t.symbol,
            side=Side.SELL if t.side is Side.BUY else Side.BUY,
            intent=kind,
            signal_ts=bar.ts_event,
            qty=t.qty,
            reduce_only=True,
        )
        return ExitSignal(intent, reason)
