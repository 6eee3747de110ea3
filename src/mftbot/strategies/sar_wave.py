"""``sar_wave``: Parabolic SAR turns that end a Fibonacci retracement of a trending wave.

* **Waves.** Swing points come from :func:`mftbot.analysis.levels.swing_points` with
  ``swing_bars`` on each side, so a pivot is known only ``swing_bars`` bars after it (its
  confirmation delay). At bar *t* the up-wave is the last swing high ``H`` confirmed by *t*
  and the last swing low ``L`` before it, when ``H > L``.
* **Retracement.** ``depth = (H − lowest low since H) / (H − L)``: the share of the wave
  given back so far (bars up to *t* only).
* **Entry (long).** The SAR turns up at *t* (``close > SAR`` now, ``close <= SAR`` on the bar
  before), the retracement ended inside the Fibonacci zone ``fib_min <= depth <= fib_max``
  (0.382–0.618 by default), and ``ADX >= adx_min`` (a trending market).
* **Exit (long).** The SAR is above the close (it turned down).
* With ``short`` (off by default: the engine trades spot, long only, until perps) the mirror
  rules emit shorts: a down-wave ``H → L``, a rally back into the zone, the SAR turning down.

Confidence on an entry bar is the mean of ADX's excess over ``adx_min`` (full at twice it)
and how central the retracement is in the zone (1 in its middle, 0 at its edges); NaN
elsewhere. Suggested stops: :class:`~mftbot.strategies.params.AtrStops`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from mftbot.analysis.indicators import adx, sar
from mftbot.analysis.levels import swing_points
from mftbot.strategies._inputs import candles_ok, clip01, ta
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

_F = TypeVar("_F", bound=Callable[..., Any])
_njit = cast(Callable[[_F], _F], numba.njit(cache=True))
_njit_ieee = cast(Callable[[_F], _F], numba.njit(cache=True, error_model="numpy"))
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_SAR_SETTLE = 300
"""Bars after which SAR runs started at different bars have met on real data (≤ 110 seen)."""


class SarWaveConfig(AtrStops, StrategyConfig):
    """Parameters of ``sar_wave``."""

    sar_step: float = tunable(0.02, "SAR acceleration step.", FloatRange(0.01, 0.05), gt=0)
    sar_max: float = tunable(0.2, "SAR maximum acceleration.", FloatRange(0.1, 0.4), gt=0)
    swing_bars: int = tunable(5, "Bars each side of a swing pivot.", IntRange(2, 12), ge=1)
    fib_min: float = tunable(
        0.382, "Shallowest retracement to enter on.", FloatRange(0.2, 0.5), ge=0
    )
    fib_max: float = tunable(0.618, "Deepest retracement to enter on.", FloatRange(0.5, 0.9), le=1)
    adx_period: int = tunable(14, "ADX period (bars).", IntRange(7, 30), ge=2)
    adx_min: float = tunable(20.0, "Lowest ADX to enter at.", FloatRange(10.0, 35.0), ge=0)
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")

    @model_validator(mode="after")
    def _ordered(self) -> SarWaveConfig:
        if self.fib_min >= self.fib_max:
            raise ValueError(f"fib_min ({self.fib_min}) must be < fib_max ({self.fib_max})")
        if self.sar_step > self.sar_max:
            raise ValueError(f"sar_step ({self.sar_step}) must not exceed sar_max ({self.sar_max})")
        return self


@_njit
def _retracement(
    low: FloatArray,
    high_bar: IntArray,
    high_price: FloatArray,
    low_bar: IntArray,
    low_price: FloatArray,
    delay: int,
) -> FloatArray:
    """Per bar: the depth of the retracement of the last confirmed up-wave (NaN if none).

    Given the swing lows' prices and ``low`` negated (and the roles of highs and lows
    swapped), the same loop measures the rally after a down-wave."""
    n = low.shape[0]
    depth = np.full(n, np.nan)
    k = 0  # next swing high to confirm
    j = 0  # swing lows with a bar before the current high
    top = np.nan
    base = np.nan
    trough = np.nan
    for t in range(n):
        while k < high_bar.shape[0] and high_bar[k] + delay <= t:
            pivot = high_bar[k]
            top = high_price[k]
            while j < low_bar.shape[0] and low_bar[j] < pivot:
                j += 1
            base = low_price[j - 1] if j > 0 else np.nan
            trough = np.inf
            for i in range(pivot + 1, t):
                trough = min(trough, low[i])
            k += 1
        if np.isnan(top):
            continue
        trough = min(trough, low[t])
        if top > base:
            depth[t] = (top - trough) / (top - base)
    return depth


def retracement_depth(
    high: FloatArray, low: FloatArray, swing_bars: int
) -> tuple[FloatArray, FloatArray]:
    """Per bar, (pullback, rally): the share of the last confirmed up-wave (swing low → swing
    high) given back so far, ``(H − lowest low after H) / (H − L)``, and its mirror for the
    last down-wave, ``(highest high after L − L) / (H − L)``; NaN before the first wave."""
    swings = swing_points(high, low, left=swing_bars, right=swing_bars)
    tops = swings.kind > 0
    bar, price = swings.bar, swings.price
    pullback = _retracement(
        np.ascontiguousarray(low), bar[tops], price[tops], bar[~tops], price[~tops], swing_bars
    )
    rally = _retracement(-high, bar[~tops], -price[~tops], bar[tops], -price[tops], swing_bars)
    return pullback, rally


@_njit_ieee
def _signals(
    close: FloatArray,
    psar: FloatArray,
    trend: FloatArray,
    pulled: FloatArray,
    rallied: FloatArray,
    c: tuple[float, float, float, float, float, float, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`SarWave.populate` in one pass, operation for operation."""
    fib_min, fib_max, adx_min, adx_scale, half, middle, warmup, short = c
    n = close.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    was_up = was_down = False
    for t in range(n):
        up = close[t] > psar[t]
        down = close[t] < psar[t]
        turned_up, turned_down = up & (not was_up), down & (not was_down)
        was_up, was_down = up, down
        if t < warmup:
            continue
        strong = trend[t] >= adx_min
        e = turned_up & (pulled[t] >= fib_min) & (pulled[t] <= fib_max) & strong
        es = turned_down & (rallied[t] >= fib_min) & (rallied[t] <= fib_max) & strong
        entry[t], exit_[t], entry_s[t], exit_s[t] = e, down, es, up
        if e | (es & short):
            centred = 1.0 - abs((pulled[t] if e else rallied[t]) - middle) / half
            force = clip01((trend[t] - adx_min) / adx_scale)
            confidence[t] = 0.5 * (force + centred)
    return entry, exit_, entry_s, exit_s, confidence


def _previous(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return np.concatenate(([False], flags[:-1]))


class SarWave(StopsProtection):
    """Parabolic SAR turns after a Fibonacci retracement of a trending wave."""

    name = "sar_wave"

    def __init__(self, config: SarWaveConfig | None = None) -> None:
        self.config: SarWaveConfig = config if config is not None else SarWaveConfig()

    @property
    def warmup(self) -> int:
        """First bar with an ADX value, a SAR turn and a possible confirmed wave."""
        c = self.config
        return max(2 * c.adx_period, 4 * c.swing_bars + 2)

    @property
    def lookback(self) -> int:
        """Warm-up plus the bars for ADX to forget its seed and SAR runs to meet (at least
        the bars of the suggested stops' ATR)."""
        own = self.warmup + max(settle_bars(self.config.adx_period, 2), _SAR_SETTLE) + 1
        return max(own, stops_lookback(self.config))

    def populate(self, window: CandleWindow) -> Signals:
        """Long on a SAR turn up that ends a retracement into the Fibonacci zone."""
        c, high, low, close = self.config, window.high, window.low, window.close
        if candles_ok(window):
            psar = ta.SAR(high, low, acceleration=c.sar_step, maximum=c.sar_max)
            trend = ta.ADX(high, low, close, c.adx_period)
        else:
            psar = sar(high, low, c.sar_step, c.sar_max)
            trend = adx(high, low, close, c.adx_period).adx
        if len(window) > self.warmup:
            pulled, rallied = retracement_depth(high, low, c.swing_bars)
            half = (c.fib_max - c.fib_min) / 2.0
            entry, exit_, entry_s, exit_s, confidence = _signals(
                close,
                psar,
                trend,
                pulled,
                rallied,
                (
                    c.fib_min,
                    c.fib_max,
                    c.adx_min,
                    max(c.adx_min, 1.0),
                    half,
                    c.fib_min + half,
                    self.warmup,
                    c.short,
                ),
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        with np.errstate(invalid="ignore"):
            up, down = close > psar, close < psar
            strong = trend >= c.adx_min
            pulled, rallied = retracement_depth(high, low, c.swing_bars)
            entry = up & ~_previous(up) & (pulled >= c.fib_min) & (pulled <= c.fib_max) & strong
            entry_s = down & ~_previous(down) & (rallied >= c.fib_min) & (rallied <= c.fib_max)
            entry_s &= strong
        exit_, exit_s = down.copy(), up.copy()
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        half = (c.fib_max - c.fib_min) / 2.0
        centred = 1.0 - np.abs(np.where(entry, pulled, rallied) - (c.fib_min + half)) / half
        force = np.clip((trend - c.adx_min) / max(c.adx_min, 1.0), 0.0, 1.0)
        confidence = np.where(fired, 0.5 * (force + centred), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances (ATR multiples of the config)."""
        return atr_stop_levels(window, self.config)


register_strategy(
    SarWave.name,
    SarWave,
    SarWaveConfig,
    description="Parabolic SAR turn ending a Fibonacci retracement of a swing wave, ADX filter",
)
