"""Loss limits and the trading state: NORMAL → REDUCING → HALTED (the circuit breaker).

Measures, updated by :meth:`LossLimits.on_equity` and :meth:`LossLimits.on_trade`:

* **daily loss**: equity at the start of the trading day (``daily_reset_utc``) minus equity now,
  as a fraction of the start (``daily_loss_limit``) and in quote (``daily_loss_abs``);
* **consecutive losses**: closed trades with PnL < 0 in a row (a win resets it, a flat trade
  leaves it);
* **drawdown**: from the highest equity seen (since the last reset).

A measure at its limit halts; at ``reduce_at`` of its limit (or ``reduce_after_losses``) the
state is REDUCING and sizes are multiplied by ``reducing_factor``. HALTED is sticky: only
:meth:`LossLimits.reset` (the CLI's ``mftbot risk reset``) clears it, except that with
``auto_resume`` a daily-loss or loss-streak halt clears when the next trading day starts.
A reset starts a new day and a new equity peak at the current equity, and forgets the streak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from mftbot.risk.calendar import trading_day
from mftbot.risk.config import LimitsConfig
from mftbot.risk.results import RiskError, money, pct


class TradingState(StrEnum):
    """What new entries may do."""

    NORMAL = "normal"
    REDUCING = "reducing"
    HALTED = "halted"


class HaltKind(StrEnum):
    """Which limit halted trading."""

    DAILY_LOSS = "daily_loss"
    LOSS_STREAK = "loss_streak"
    DRAWDOWN = "drawdown"
    MANUAL = "manual"


_AUTO_RESUMABLE = frozenset({HaltKind.DAILY_LOSS, HaltKind.LOSS_STREAK})


@dataclass(frozen=True, slots=True)
class StateChange:
    """One transition of the trading state."""

    ts: int
    before: TradingState
    after: TradingState
    reason: str


@dataclass(frozen=True, slots=True)
class LimitStatus:
    """The measures and the state, for status displays and the audit log."""

    state: TradingState
    reason: str
    equity: float | None
    day_start_equity: float | None
    daily_loss: float
    daily_loss_pct: float
    peak_equity: float | None
    drawdown: float
    consecutive_losses: int
    halt_kind: HaltKind | None
    halted_since: int | None


class LossLimits:
    """The daily loss killer, the loss-streak limit and the drawdown limit (see module doc)."""

    def __init__(self, config: LimitsConfig) -> None:
        self.config = config
        self.state = TradingState.NORMAL
        self.reason = "within limits"
        self.halt_kind: HaltKind | None = None
        self.halted_since: int | None = None
        self.changes: list[StateChange] = []
        self._equity: float | None = None
        self._day: int | None = None
        self._day_start: float | None = None
        self._peak: float | None = None
        self._streak = 0

    # --- inputs -----------------------------------------------------------------------------

    def on_equity(self, ts: int, equity: float) -> TradingState:
        """A new equity value at ``ts``; returns the state after it."""
        if not (math.isfinite(equity) and equity >= 0):
            raise RiskError(f"equity must be finite and ≥ 0, got {equity}")
        self._roll_day(ts, equity)
        self._equity = equity
        if self._peak is None or equity > self._peak:
            self._peak = equity
        return self._evaluate(ts)

    def on_trade(self, ts: int, pnl: float) -> TradingState:
        """A closed trade's net PnL; returns the state after it."""
        if not math.isfinite(pnl):
            raise RiskError(f"trade pnl must be finite, got {pnl}")
        if pnl < 0:
            self._streak += 1
        elif pnl > 0:
            self._streak = 0
        if self._equity is not None:
            self._roll_day(ts, self._equity)
        return self._evaluate(ts)

    def halt(self, ts: int, reason: str, kind: HaltKind = HaltKind.MANUAL) -> None:
        """Halt now (a restored halt, or an operator's)."""
        self._halt(ts, reason, kind)

    def reset(self, ts: int) -> None:
        """Clear HALTED/REDUCING: new day start and peak at the current equity, no streak."""
        self._streak = 0
        self._peak = self._equity
        self._day_start = self._equity
        self._day = trading_day(ts, self.config.daily_reset_ns)
        self.halt_kind = None
        self.halted_since = None
        self._move(ts, TradingState.NORMAL, "manual reset")
        self._evaluate(ts)

    # --- outputs ----------------------------------------------------------------------------

    @property
    def size_factor(self) -> float:
        """Entry size multiplier of the current state (0 when halted)."""
        if self.state is TradingState.HALTED:
            return 0.0
        if self.state is TradingState.REDUCING:
            return self.config.reducing_factor
        return 1.0

    @property
    def consecutive_losses(self) -> int:
        """Losing trades in a row."""
        return self._streak

    @property
    def drawdown(self) -> float:
        """Fractional drawdown from the peak (0 before any equity)."""
        if self._peak is None or self._equity is None or self._peak <= 0:
            return 0.0
        return max(0.0, (self._peak - self._equity) / self._peak)

    def status(self) -> LimitStatus:
        """Every measure and the state."""
        loss, loss_pct = self._daily_loss()
        return LimitStatus(
            state=self.state,
            reason=self.reason,
            equity=self._equity,
            day_start_equity=self._day_start,
            daily_loss=loss,
            daily_loss_pct=loss_pct,
            peak_equity=self._peak,
            drawdown=self.drawdown,
            consecutive_losses=self._streak,
            halt_kind=self.halt_kind,
            halted_since=self.halted_since,
        )

    # --- internals --------------------------------------------------------------------------

    def _roll_day(self, ts: int, equity: float) -> None:
        day = trading_day(ts, self.config.daily_reset_ns)
        if self._day is not None and day <= self._day:
            return
        first = self._day is None
        self._day = day
        self._day_start = equity if first or self._equity is None else self._equity
        if (
            not first
            and self.state is TradingState.HALTED
            and self.config.auto_resume
            and self.halt_kind in _AUTO_RESUMABLE
        ):
            if self.halt_kind is HaltKind.LOSS_STREAK:
                self._streak = 0
            self.halt_kind = None
            self.halted_since = None
            self._move(ts, TradingState.NORMAL, "new trading day (auto resume)")

    def _daily_loss(self) -> tuple[float, float]:
        if self._day_start is None or self._equity is None:
            return 0.0, 0.0
        loss = self._day_start - self._equity
        return loss, (loss / self._day_start if self._day_start > 0 else 0.0)

    def _evaluate(self, ts: int) -> TradingState:
        if self.state is TradingState.HALTED:
            return self.state
        cfg = self.config
        loss, loss_pct = self._daily_loss()
        day_start = self._day_start or 0.0
        if loss_pct >= cfg.daily_loss_limit:
            return self._halt(
                ts,
                f"daily loss {pct(loss_pct)} ({money(loss)} of {money(day_start)}) "
                f"≥ limit {pct(cfg.daily_loss_limit)}",
                HaltKind.DAILY_LOSS,
            )
        if cfg.daily_loss_abs is not None and loss >= cfg.daily_loss_abs:
            return self._halt(
                ts,
                f"daily loss {money(loss)} ≥ limit {money(cfg.daily_loss_abs)}",
                HaltKind.DAILY_LOSS,
            )
        if self._streak >= cfg.max_consecutive_losses:
            return self._halt(
                ts,
                f"{self._streak} consecutive losses ≥ limit {cfg.max_consecutive_losses}",
                HaltKind.LOSS_STREAK,
            )
        dd = self.drawdown
        if dd >= cfg.max_drawdown:
            return self._halt(
                ts,
                f"drawdown {pct(dd)} from peak {money(self._peak or 0.0)} "
                f"≥ limit {pct(cfg.max_drawdown)}",
                HaltKind.DRAWDOWN,
            )
        reducing = self._reducing_reason(loss, loss_pct, dd)
        if reducing is not None:
            self._move(ts, TradingState.REDUCING, reducing)
        else:
            self._move(ts, TradingState.NORMAL, "within limits")
        return self.state

    def _reducing_reason(self, loss: float, loss_pct: float, dd: float) -> str | None:
        cfg = self.config
        at = cfg.reduce_at
        if loss_pct >= at * cfg.daily_loss_limit:
            return f"daily loss {pct(loss_pct)} ≥ {pct(at * cfg.daily_loss_limit)}"
        if cfg.daily_loss_abs is not None and loss >= at * cfg.daily_loss_abs:
            return f"daily loss {money(loss)} ≥ {money(at * cfg.daily_loss_abs)}"
        if self._streak >= cfg.reduce_after_losses:
            return f"{self._streak} consecutive losses ≥ {cfg.reduce_after_losses}"
        if dd >= at * cfg.max_drawdown:
            return f"drawdown {pct(dd)} ≥ {pct(at * cfg.max_drawdown)}"
        return None

    def _halt(self, ts: int, reason: str, kind: HaltKind) -> TradingState:
        if self.state is not TradingState.HALTED:
            self.halt_kind = kind
            self.halted_since = ts
            self._move(ts, TradingState.HALTED, reason)
        return self.state

    def _move(self, ts: int, state: TradingState, reason: str) -> None:
        if state is not self.state:
            self.changes.append(StateChange(ts, self.state, state, reason))
            self.state = state
        self.reason = reason
