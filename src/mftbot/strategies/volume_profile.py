"""``value_area``: trade the rolling volume profile: reversion to the POC, value-area breakouts.

The levels at bar *t* come from the profile of the ``profile_window`` bars **before** *t*
(:func:`~mftbot.analysis.indicators.rolling_volume_profile`, shifted one bar): point of
control ``POC``, value-area high ``VAH`` and low ``VAL`` (``value_area`` of the volume).

* **Reversion (long).** The previous close was below ``VAL`` and this close is back inside
  the value area, below the POC: a failed auction below value, which tends to return to the
  POC.
* **Breakout (long).** The close crosses above ``VAH`` on volume at least ``volume_mult`` ×
  its ``volume_period``-bar SMA: acceptance above value.
* **Volume nodes.** At a candidate entry the static profile of the same bars
  (:func:`~mftbot.analysis.indicators.volume_profile`) gives its high- and low-volume nodes
  (HVN: peak rows at or above the mean row volume; LVN: troughs at or below it). An HVN
  within ``node_atr`` × ATR above the close blocks the entry: heavy volume just overhead
  stalls price before the move can pay. (The POC itself is an HVN: a reversion entry needs
  that much room to it.)
* **Exits (long)**, each a crossing, so they apply to whichever entry opened the position:
  the close crosses the POC (from below: the reversion reached its target; from above: a
  breakout fell back through value), or falls below ``VAL − stop_buffer × ATR`` (the range
  broke down).
* With ``short`` (off by default: the engine trades spot, long only, until perps) the mirror
  rules emit shorts: back below ``VAH`` from above and still above the POC, or a loud cross
  below ``VAL``; an HVN within ``node_atr`` ATR below the close blocks; cover on a POC
  crossing or a close above ``VAH + stop_buffer × ATR``.

Confidence on an entry bar: half the room to the nearest HVN on the trade's side (full at
3 ATR or with none), plus half when the nearest node on that side is an LVN (thin volume
that price crosses fast); NaN elsewhere.
Suggested stops: :class:`~mftbot.strategies.params.AtrStops`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field

from mftbot.analysis.indicators import atr, rolling_volume_profile, sma, volume_profile
from mftbot.strategies.base import CandleWindow, Signals, StrategyConfig, register_strategy
from mftbot.strategies.params import (
    AtrStops,
    FloatRange,
    IntRange,
    StopLevels,
    atr_stop_levels,
    settle_bars,
    tunable,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class ValueAreaConfig(AtrStops, StrategyConfig):
    """Parameters of ``value_area``."""

    profile_window: int = tunable(240, "Bars in the volume profile.", IntRange(60, 720), ge=10)
    bins: int = tunable(24, "Price rows of the profile.", IntRange(12, 60), ge=3)
    value_area: float = tunable(
        0.7, "Share of volume in the value area.", FloatRange(0.6, 0.8), gt=0, lt=1
    )
    volume_period: int = tunable(20, "Bars of the volume SMA.", IntRange(5, 60), ge=2)
    volume_mult: float = tunable(
        1.5, "Volume over its SMA for a breakout.", FloatRange(1.0, 3.0), gt=0
    )
    atr_period: int = tunable(14, "ATR period of the node distance.", IntRange(5, 30), ge=1)
    node_atr: float = tunable(
        1.0, "An HVN nearer than this (ATR) blocks an entry.", FloatRange(0.0, 3.0), ge=0
    )
    stop_buffer: float = tunable(
        0.5, "ATR beyond the value area a close must reach to exit.", FloatRange(0.0, 2.0), ge=0
    )
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")


def _previous(x: FloatArray) -> FloatArray:
    return np.concatenate(([np.nan], x[:-1]))


def _crossed_up(x: FloatArray, level: FloatArray) -> BoolArray:
    """``x`` at or above ``level`` now, below it on the bar before (both as of their bar)."""
    return (x >= level) & (_previous(x) < _previous(level))


def _crossed_down(x: FloatArray, level: FloatArray) -> BoolArray:
    return (x < level) & (_previous(x) >= _previous(level))


class ValueArea:
    """Reversion to the POC and value-area breakouts on a rolling volume profile."""

    name = "value_area"

    def __init__(self, config: ValueAreaConfig | None = None) -> None:
        self.config: ValueAreaConfig = config if config is not None else ValueAreaConfig()

    @property
    def warmup(self) -> int:
        """First bar whose previous bar has a full profile before it, and an ATR."""
        c = self.config
        return max(c.profile_window + 1, c.atr_period, c.volume_period - 1)

    @property
    def lookback(self) -> int:
        """Warm-up plus the bars for the ATR to forget its seed."""
        return self.warmup + settle_bars(self.config.atr_period) + 1

    def populate(self, window: CandleWindow) -> Signals:
        """Reversion and breakout entries, crossing exits (see the module docstring)."""
        c, close = self.config, window.close
        prof = rolling_volume_profile(
            window.high,
            window.low,
            window.volume,
            window=c.profile_window,
            bins=c.bins,
            value_area=c.value_area,
        )
        poc, vah, val = _previous(prof.poc), _previous(prof.vah), _previous(prof.val)
        scale = atr(window.high, window.low, close, c.atr_period)
        with np.errstate(invalid="ignore", divide="ignore"):
            loud = window.volume >= c.volume_mult * sma(window.volume, c.volume_period)
            entry = (_crossed_up(close, val) & (close < poc)) | (_crossed_up(close, vah) & loud)
            floor, ceiling = val - c.stop_buffer * scale, vah + c.stop_buffer * scale
            exit_ = (
                _crossed_up(close, poc) | _crossed_down(close, poc) | _crossed_down(close, floor)
            )
            entry_s = (_crossed_down(close, vah) & (close > poc)) | (
                _crossed_down(close, val) & loud
            )
            exit_s = (
                _crossed_down(close, poc) | _crossed_up(close, poc) | _crossed_up(close, ceiling)
            )
        entry &= ~exit_
        entry_s &= ~exit_s
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        if not c.short:
            entry_s[:] = False
        room, thin = self._nodes(window, scale, entry, entry_s)
        entry &= room >= c.node_atr
        entry_s &= room >= c.node_atr
        confidence = np.where(entry | entry_s, 0.5 * np.clip(room / 3.0, 0, 1) + 0.5 * thin, np.nan)
        if not c.short:
            return Signals(entry_long=entry, exit_long=exit_, confidence=confidence)
        return Signals(entry, exit_, entry_s, exit_s, confidence)

    def _nodes(
        self, window: CandleWindow, scale: FloatArray, entry: BoolArray, entry_s: BoolArray
    ) -> tuple[FloatArray, FloatArray]:
        """At candidate entries: room (ATR) to the nearest HVN on the trade's side (inf when
        none) and 1.0 where the nearest node on that side is an LVN, else 0.0."""
        c, close = self.config, window.close
        n = close.shape[0]
        room = np.full(n, np.nan)
        thin = np.zeros(n)
        candidates = np.flatnonzero(entry | entry_s)
        if candidates.size == 0:
            return room, thin
        for t in candidates.tolist():
            start = t - c.profile_window
            prof = volume_profile(
                window.high[start:t],
                window.low[start:t],
                window.volume[start:t],
                bins=c.bins,
                value_area=c.value_area,
            )
            side = 1.0 if entry[t] else -1.0
            hvn = (prof.hvn - close[t]) * side
            lvn = (prof.lvn - close[t]) * side
            ahead_h = hvn[hvn > 0]
            ahead_l = lvn[lvn > 0]
            nearest_h = ahead_h.min() if ahead_h.size else np.inf
            room[t] = nearest_h / scale[t] if scale[t] > 0.0 else np.inf
            thin[t] = float(ahead_l.size > 0 and ahead_l.min() < nearest_h)
        return room, thin

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances (ATR multiples of the config)."""
        return atr_stop_levels(window, self.config)


register_strategy(
    ValueArea.name,
    ValueArea,
    ValueAreaConfig,
    description="Rolling volume profile: reversion to the POC, value-area breakouts, HVN filter",
)
