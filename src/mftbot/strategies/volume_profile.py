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

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from pydantic import Field

from mftbot.analysis.indicators import atr, rolling_volume_profile, sma, volume_profile
from mftbot.analysis.indicators.volume_profile import range_histogram
from mftbot.strategies._inputs import candles_ok, previous, ta
from mftbot.strategies.base import CandleWindow, Signals, StrategyConfig, register_strategy
from mftbot.strategies.params import (
    AtrStops,
    FloatRange,
    IntRange,
    StopLevels,
    StopsProtection,
    atr_stop_levels,
    settle_bars,
    stops_lookback,
    tunable,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
_F = TypeVar("_F", bound=Callable[..., Any])
_njit = cast(Callable[[_F], _F], numba.njit(cache=True, error_model="numpy"))


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
    return previous(x, np.nan)


_PAIRWISE_BLOCK = 128
"""Rows up to which numpy sums a row of floats in one unrolled block (no recursion)."""


@_njit
def _block_sum(x: FloatArray) -> float:
    """numpy's sum of ``x`` (at most :data:`_PAIRWISE_BLOCK` values), bit for bit: eight
    running sums combined pairwise, then the rest."""
    count = x.shape[0]
    if count < 8:
        out = 0.0
        for i in range(count):
            out += x[i]
        return out
    r = x[:8].copy()
    i = 8
    while i < count - count % 8:
        for j in range(8):
            r[j] += x[i + j]
        i += 8
    out = float(((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])))
    for k in range(i, count):
        out += x[k]
    return out


@_njit
def _nodes_ahead(
    high: FloatArray,
    low: FloatArray,
    volume: FloatArray,
    close: FloatArray,
    scale: FloatArray,
    candidates: BoolArray,
    side: BoolArray,
    window: int,
    bins: int,
) -> tuple[FloatArray, FloatArray, bool]:
    """:meth:`ValueArea._nodes` in one pass: at each candidate row, the static profile of
    the ``window`` bars before it on ``bins`` range rows, its nodes (peaks at or above the
    mean row volume, interior troughs at or below it, at row centres) and the room to the
    nearest on the trade's side (``side``: long), with the same arithmetic; False when a
    bar fails the input checks."""
    n = close.shape[0]
    room = np.full(n, np.nan)
    thin = np.zeros(n)
    hist = np.zeros(bins)
    ok = True
    for t in range(n):
        if not candidates[t]:
            continue
        h = high[t - window : t]
        lo = low[t - window : t]
        bottom = lo.min()
        top = h.max()
        width = (top - bottom) / bins
        ok &= np.isfinite(bottom) and np.isfinite(top)
        ok &= range_histogram(h, lo, volume[t - window : t], bottom, width, hist)
        total = 0.0
        for r in range(bins):
            total += hist[r]
        nearest_h = np.inf
        nearest_l = np.inf
        if total > 0.0:
            mean = _block_sum(hist) / bins
            sign = 1.0 if side[t] else -1.0
            for r in range(bins):
                x = hist[r]
                left = hist[r - 1] if r > 0 else -np.inf
                right = hist[r + 1] if r < bins - 1 else -np.inf
                upper = top if r + 1 == bins else bottom + (r + 1) * width
                d = ((bottom + r * width + upper) / 2.0 - close[t]) * sign
                if x > left and x >= right and x >= mean and x > 0.0 and d > 0.0:
                    nearest_h = min(nearest_h, d)
                trough = 0 < r < bins - 1 and x < left and x <= right and x <= mean
                if trough and d > 0.0:
                    nearest_l = min(nearest_l, d)
        room[t] = nearest_h / scale[t] if scale[t] > 0.0 else np.inf
        thin[t] = 1.0 if nearest_l < nearest_h else 0.0
    return room, thin, ok


def _crossed_up(x: FloatArray, level: FloatArray) -> BoolArray:
    """``x`` at or above ``level`` now, below it on the bar before (both as of their bar)."""
    return (x >= level) & (_previous(x) < _previous(level))


def _crossed_down(x: FloatArray, level: FloatArray) -> BoolArray:
    return (x < level) & (_previous(x) >= _previous(level))


@_njit
def _rules(
    close: FloatArray,
    poc_now: FloatArray,
    vah_now: FloatArray,
    val_now: FloatArray,
    scale: FloatArray,
    volume: FloatArray,
    volume_sma: FloatArray,
    c: tuple[float, float, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray]:
    """Entry and exit rules of :meth:`ValueArea.populate` in one pass (levels of bar *t*
    from the profile of the bar before), operation for operation."""
    volume_mult, stop_buffer, warmup, short = c
    n = close.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    px = poc = vah = val = floor = ceiling = np.nan
    for t in range(n):
        x = close[t]
        pp, ph, pl, pf, pc = poc, vah, val, floor, ceiling
        if t > 0:
            poc, vah, val = poc_now[t - 1], vah_now[t - 1], val_now[t - 1]
        floor = val - stop_buffer * scale[t]
        ceiling = vah + stop_buffer * scale[t]
        loud = volume[t] >= volume_mult * volume_sma[t]
        e = ((x >= val) & (px < pl) & (x < poc)) | ((x >= vah) & (px < ph) & loud)
        through_poc = ((x >= poc) & (px < pp)) | ((x < poc) & (px >= pp))
        ex = through_poc | ((x < floor) & (px >= pf))
        es = ((x < vah) & (px >= ph) & (x > poc)) | ((x < val) & (px >= pl) & loud)
        exs = through_poc | ((x >= ceiling) & (px < pc))
        px = x
        if t < warmup:
            continue
        entry[t] = e & (not ex)
        exit_[t] = ex
        entry_s[t] = es & (not exs) & short
        exit_s[t] = exs
    return entry, exit_, entry_s, exit_s


class ValueArea(StopsProtection):
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
        """Warm-up plus the bars for the ATR to forget its seed (at least the bars of the
        suggested stops' ATR)."""
        own = self.warmup + settle_bars(self.config.atr_period) + 1
        return max(own, stops_lookback(self.config))

    def populate(self, window: CandleWindow) -> Signals:
        """Reversion and breakout entries, crossing exits (see the module docstring)."""
        c, close = self.config, window.close
        fast = candles_ok(window)
        prof = rolling_volume_profile(
            window.high,
            window.low,
            window.volume,
            window=c.profile_window,
            bins=c.bins,
            value_area=c.value_area,
            checked=fast,
        )
        if fast:
            scale = ta.ATR(window.high, window.low, close, c.atr_period)
            volume_sma = ta.SMA(window.volume, c.volume_period)
            entry, exit_, entry_s, exit_s = _rules(
                close,
                prof.poc,
                prof.vah,
                prof.val,
                scale,
                window.volume,
                volume_sma,
                (c.volume_mult, c.stop_buffer, self.warmup, c.short),
            )
            return self._signals(window, scale, entry, exit_, entry_s, exit_s)
        poc, vah, val = _previous(prof.poc), _previous(prof.vah), _previous(prof.val)
        scale = atr(window.high, window.low, close, c.atr_period)
        volume_sma = sma(window.volume, c.volume_period)
        with np.errstate(invalid="ignore", divide="ignore"):
            loud = window.volume >= c.volume_mult * volume_sma
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
        return self._signals(window, scale, entry, exit_, entry_s, exit_s)

    def _signals(
        self,
        window: CandleWindow,
        scale: FloatArray,
        entry: BoolArray,
        exit_: BoolArray,
        entry_s: BoolArray,
        exit_s: BoolArray,
    ) -> Signals:
        """The signals once the node filter has judged the candidate entries."""
        c = self.config
        room, thin = self._nodes(window, scale, entry, entry_s)
        entry &= room >= c.node_atr
        entry_s &= room >= c.node_atr
        confidence = np.where(entry | entry_s, 0.5 * np.clip(room / 3.0, 0, 1) + 0.5 * thin, np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)

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
        if 2 <= c.bins <= _PAIRWISE_BLOCK and candles_ok(window):
            room, thin, ok = _nodes_ahead(
                window.high,
                window.low,
                window.volume,
                close,
                scale,
                entry | entry_s,
                entry,
                c.profile_window,
                c.bins,
            )
            if ok:
                return room, thin
            room, thin = np.full(n, np.nan), np.zeros(n)
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
