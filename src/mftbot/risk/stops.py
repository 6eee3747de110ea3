"""Stop-loss and take-profit levels, trailing stops and a reversal detector.

Sides are the entry's order side: :attr:`Side.BUY` is a long (stop below), :attr:`Side.SELL` a
short (stop above). Every function is pure and uses only the bars it is given.

* Initial stop: ATR (``entry ∓ atr_mult × ATR``), support/resistance (just beyond the nearest
  level on the losing side, ``sr_buffer`` of price further), or a fixed percent. Without an ATR
  or a level, the fixed percent is the fallback.
* Take profit: ``take_profit_r`` times the initial risk (R multiple); with
  support/resistance, the nearest level on the winning side when it comes first.
* Trailing (a stop only ever moves toward the price): percent from the best price since entry,
  ATR from the close, chandelier (best high/low of ``chandelier_period`` bars ∓ ATR multiple),
  and a move to break-even once the trade is ``break_even_r`` R in profit.
* Reversal: a bar whose body is at least ``reversal_body_atr`` ATR against the position and
  whose close breaks the extreme of the ``reversal_lookback`` bars before it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mftbot.domain.enums import Side
from mftbot.risk.config import StopsConfig
from mftbot.risk.results import RiskError, num


def _sign(side: Side) -> float:
    return 1.0 if side is Side.BUY else -1.0


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise RiskError(f"{name} must be finite and > 0, got {value}")


def atr_stop(side: Side, entry: float, atr: float, mult: float) -> float:
    """``entry − mult × atr`` for a long, ``+`` for a short."""
    _positive("entry", entry)
    _positive("atr", atr)
    stop = entry - _sign(side) * mult * atr
    if stop <= 0:
        raise RiskError(f"ATR stop {num(stop)} is not a price (entry {num(entry)}, ATR {num(atr)})")
    return stop


def fixed_pct_stop(side: Side, entry: float, fraction: float) -> float:
    """``entry × (1 ∓ fraction)``."""
    _positive("entry", entry)
    if not 0 < fraction < 1:
        raise RiskError(f"fixed stop fraction must be in (0, 1), got {fraction}")
    return entry * (1.0 - _sign(side) * fraction)


def level_stop(side: Side, entry: float, levels: Sequence[float], buffer: float) -> float | None:
    """Beyond the nearest level on the losing side (support for a long), ``buffer`` × price
    further; ``None`` when there is no such level."""
    _positive("entry", entry)
    if side is Side.BUY:
        below = [lv for lv in levels if lv < entry]
        return max(below) * (1.0 - buffer) if below else None
    above = [lv for lv in levels if lv > entry]
    return min(above) * (1.0 + buffer) if above else None


def level_target(side: Side, entry: float, levels: Sequence[float]) -> float | None:
    """The nearest level on the winning side (resistance for a long), if any."""
    if side is Side.BUY:
        above = [lv for lv in levels if lv > entry]
        return min(above) if above else None
    below = [lv for lv in levels if lv < entry]
    return max(below) if below else None


def r_multiple_target(side: Side, entry: float, stop: float, r: float) -> float:
    """``entry ± r × |entry − stop|``."""
    _positive("r", r)
    return entry + _sign(side) * r * abs(entry - stop)


@dataclass(frozen=True, slots=True)
class StopLevels:
    """Initial protection of an entry."""

    stop: float
    take_profit: float | None
    method: str
    """The method that set the stop (after fallbacks)."""
    reason: str


class StopCalculator:
    """Initial SL/TP by the configured method with fallbacks (see module doc)."""

    def __init__(self, config: StopsConfig) -> None:
        self.config = config

    def levels(
        self, side: Side, entry: float, *, atr: float = math.nan, levels: Sequence[float] = ()
    ) -> StopLevels:
        """SL and TP for an entry at ``entry``."""
        cfg = self.config
        stop: float | None = None
        method = cfg.method
        if method == "support_resistance":
            stop = level_stop(side, entry, levels, cfg.sr_buffer)
            if stop is None:
                method = "atr"
        if method == "atr" and stop is None:
            if math.isfinite(atr) and atr > 0 and entry - _sign(side) * cfg.atr_mult * atr > 0:
                stop = atr_stop(side, entry, atr, cfg.atr_mult)
            else:
                method = "fixed_pct"
        if stop is None:
            method = "fixed_pct"
            stop = fixed_pct_stop(side, entry, cfg.fixed_pct)
        tp = None
        if cfg.take_profit_r is not None:
            tp = r_multiple_target(side, entry, stop, cfg.take_profit_r)
        if cfg.method == "support_resistance":
            target = level_target(side, entry, levels)
            if target is not None and (tp is None or _sign(side) * (tp - target) > 0):
                tp = target
        reason = f"{method} stop {num(stop)}" + ("" if tp is None else f", target {num(tp)}")
        return StopLevels(stop, tp, method, reason)


# --- trailing -----------------------------------------------------------------------------


def tighten(side: Side, current: float, proposed: float) -> float:
    """The stop that is closer to the price: a stop never moves away from it."""
    if not math.isfinite(proposed):
        return current
    return max(current, proposed) if side is Side.BUY else min(current, proposed)


def percent_trail(side: Side, best_price: float, fraction: float) -> float:
    """``fraction`` below the highest price since entry (above the lowest, short)."""
    return best_price * (1.0 - _sign(side) * fraction)


def atr_trail(side: Side, close: float, atr: float, mult: float) -> float:
    """``mult × ATR`` from the close (NaN while the ATR is unknown)."""
    if not math.isfinite(atr):
        return math.nan
    return close - _sign(side) * mult * atr


def chandelier_trail(
    side: Side, highs: Sequence[float], lows: Sequence[float], atr: float, mult: float
) -> float:
    """Highest high of the bars given − ``mult × ATR`` (lowest low + …, short)."""
    if not math.isfinite(atr) or not highs:
        return math.nan
    if side is Side.BUY:
        return max(highs) - mult * atr
    return min(lows) + mult * atr


def break_even(
    side: Side, entry: float, stop: float, best_price: float, initial_risk: float, r: float
) -> float:
    """The entry price once the best price is ``r × initial_risk`` beyond it, else ``stop``."""
    if initial_risk <= 0:
        return stop
    if _sign(side) * (best_price - entry) >= r * initial_risk:
        return tighten(side, stop, entry)
    return stop


class ReversalDetector:
    """Flags a wide bar against the position that breaks the recent extreme (module doc)."""

    def __init__(self, lookback: int, body_atr: float) -> None:
        if lookback < 1:
            raise RiskError(f"reversal lookback must be ≥ 1, got {lookback}")
        _positive("body_atr", body_atr)
        self.lookback = lookback
        self.body_atr = body_atr

    def detect(
        self,
        side: Side,
        opens: Sequence[float],
        highs: Sequence[float],
        lows: Sequence[float],
        closes: Sequence[float],
        atr: float,
    ) -> str | None:
        """The reason when the last bar is a reversal against ``side``, else ``None``."""
        n = self.lookback
        if len(closes) < n + 1 or not (math.isfinite(atr) and atr > 0):
            return None
        o, c = opens[-1], closes[-1]
        body = _sign(side) * (o - c)
        if body < self.body_atr * atr:
            return None
        if side is Side.BUY:
            extreme = min(lows[-n - 1 : -1])
            if c < extreme:
                return (
                    f"reversal: bar body {num(o - c)} ≥ {self.body_atr:g} ATR ({num(atr)}), "
                    f"close {num(c)} below the {n}-bar low {num(extreme)}"
                )
            return None
        extreme = max(highs[-n - 1 : -1])
        if c > extreme:
            return (
                f"reversal: bar body {num(c - o)} ≥ {self.body_atr:g} ATR ({num(atr)}), "
                f"close {num(c)} above the {n}-bar high {num(extreme)}"
            )
        return None
