"""``supertrend_follow``: ride the SuperTrend's up-trend when momentum and volume agree.

* **Trend.** :func:`mftbot.analysis.indicators.supertrend` (ATR(``atr_period``) bands at
  ``multiplier`` × ATR around the bar midpoint): direction +1 or −1.
* **Entry (long).** Within ``entry_bars`` bars of the direction turning +1 (and still +1),
  ``ROC(close, momentum_period) > momentum_min`` % and the volume at least ``volume_mult`` ×
  its ``volume_period``-bar SMA, and no exit rule firing.
* **Exit (long).** Direction −1, or the close falls below the ATR trailing stop
  ``highest high of trail_period bars − trail_atr × ATR`` (a chandelier stop: it trails the
  recent high, so it needs no knowledge of the position and stays causal and finite).
* With ``short`` (off by default: the engine trades spot, long only, until perps) the mirror
  rules emit shorts (direction −1, ROC below −``momentum_min``, loud volume; cover on
  direction +1 or a close above ``lowest low + trail_atr × ATR``).

Confidence on an entry bar: the mean of the close's distance from the SuperTrend line in ATR
(full at ``multiplier`` ATR) and of the volume ratio past its requirement (full at twice it);
NaN elsewhere. Suggested stops: :class:`~mftbot.strategies.params.AtrStops`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field

from mftbot.analysis.indicators import atr, roc, sma, supertrend
from mftbot.strategies._inputs import candles_ok, clip01, njit_ieee, ta
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

_FLIP_SETTLE = 200
"""Bars after which SuperTrend runs started at different bars agree on direction once their
ATRs agree (≤ 150 seen on real data)."""


class SuperTrendConfig(AtrStops, StrategyConfig):
    """Parameters of ``supertrend_follow``."""

    atr_period: int = tunable(10, "ATR period of the SuperTrend bands.", IntRange(5, 30), ge=1)
    multiplier: float = tunable(3.0, "Band width (ATR multiples).", FloatRange(1.0, 5.0), gt=0)
    momentum_period: int = tunable(10, "ROC period of the momentum filter.", IntRange(3, 30), ge=1)
    momentum_min: float = tunable(0.0, "ROC (%) needed to enter.", FloatRange(0.0, 1.0), ge=0)
    volume_period: int = tunable(20, "Bars of the volume SMA.", IntRange(5, 60), ge=2)
    volume_mult: float = tunable(1.0, "Volume over its SMA needed.", FloatRange(0.5, 2.5), gt=0)
    entry_bars: int = tunable(5, "Bars after a turn up an entry may come.", IntRange(0, 20), ge=0)
    trail_period: int = tunable(22, "Bars of the trailing stop's high.", IntRange(5, 60), ge=2)
    trail_atr: float = tunable(3.0, "Trailing stop distance (ATR).", FloatRange(1.0, 6.0), gt=0)
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")


def _bars_since_turn(direction: FloatArray, side: float) -> FloatArray:
    """Bars since the direction last turned to ``side`` while it still is ``side``, else inf."""
    n = direction.shape[0]
    index = np.arange(n, dtype=np.float64)
    now = direction == side
    turned = now & ~np.concatenate(([False], now[:-1]))
    since = index - np.maximum.accumulate(np.where(turned, index, -np.inf))
    return np.where(now, since, np.inf)


@njit_ieee
def _signals(
    close: FloatArray,
    direction: FloatArray,
    line: FloatArray,
    vol_atr: FloatArray,
    change: FloatArray,
    volume: FloatArray,
    volume_sma: FloatArray,
    trail_high: FloatArray,
    trail_low: FloatArray,
    c: tuple[float, float, float, float, float, int, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`SuperTrend.populate` in one pass, operation for operation."""
    multiplier, momentum_min, volume_mult, trail_atr, entry_bars, warmup, _, short = c
    n = close.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    up_since = -1  # bar where the current run of direction +1 (-1) began, -1: none
    down_since = -1
    for t in range(n):
        d = direction[t]
        if d == 1.0:
            up_since = t if t == 0 or direction[t - 1] != 1.0 else up_since
        if d == -1.0:
            down_since = t if t == 0 or direction[t - 1] != -1.0 else down_since
        x = close[t]
        ratio = volume[t] / volume_sma[t]
        loud = ratio >= volume_mult
        ex = (d < 0) | (x < trail_high[t] - trail_atr * vol_atr[t])
        exs = (d > 0) | (x > trail_low[t] + trail_atr * vol_atr[t])
        fresh = d == 1.0 and float(t) - float(up_since) <= entry_bars
        fresh_s = d == -1.0 and float(t) - float(down_since) <= entry_bars
        e = fresh & (change[t] > momentum_min) & loud & (not ex)
        es = fresh_s & (change[t] < -momentum_min) & loud & (not exs)
        if t < warmup:
            continue
        entry[t], exit_[t], entry_s[t], exit_s[t] = e, ex, es, exs
        if e | (es & short):
            lead = clip01(abs(x - line[t]) / (multiplier * vol_atr[t]))
            crowd = clip01(ratio / volume_mult - 1.0)
            confidence[t] = 0.5 * ((0.0 if lead != lead else lead) + crowd)
    return entry, exit_, entry_s, exit_s, confidence


class SuperTrend(StopsProtection):
    """SuperTrend direction with momentum and volume filters and an ATR trailing exit."""

    name = "supertrend_follow"

    def __init__(self, config: SuperTrendConfig | None = None) -> None:
        self.config: SuperTrendConfig = config if config is not None else SuperTrendConfig()

    @property
    def warmup(self) -> int:
        """First bar where every input exists."""
        c = self.config
        return max(c.atr_period, c.momentum_period, c.volume_period - 1, c.trail_period - 1)

    @property
    def lookback(self) -> int:
        """Warm-up plus the bars for the ATR to forget its seed and the direction to agree
        (at least the bars of the suggested stops' ATR)."""
        own = self.warmup + settle_bars(self.config.atr_period) + _FLIP_SETTLE + 1
        return max(own, stops_lookback(self.config))

    def populate(self, window: CandleWindow) -> Signals:
        """Long while the trend is up with momentum and volume; out on a flip or the trail."""
        c, high, low, close = self.config, window.high, window.low, window.close
        fast = candles_ok(window)
        trend = supertrend(high, low, close, c.atr_period, c.multiplier, checked=fast)
        if fast:
            vol_atr = ta.ATR(high, low, close, c.atr_period)
            change = ta.ROC(close, c.momentum_period)
            volume_sma = ta.SMA(window.volume, c.volume_period)
        else:
            vol_atr = atr(high, low, close, c.atr_period)
            change = roc(close, c.momentum_period)
            volume_sma = sma(window.volume, c.volume_period)
        if fast:
            entry, exit_, entry_s, exit_s, confidence = _signals(
                close,
                trend.direction,
                trend.supertrend,
                vol_atr,
                change,
                window.volume,
                volume_sma,
                ta.MAX(high, c.trail_period),
                ta.MIN(low, c.trail_period),
                (
                    c.multiplier,
                    c.momentum_min,
                    c.volume_mult,
                    c.trail_atr,
                    float(c.entry_bars),
                    self.warmup,
                    0,
                    c.short,
                ),
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        with np.errstate(invalid="ignore", divide="ignore"):
            volume_ratio = window.volume / volume_sma
            loud = volume_ratio >= c.volume_mult
            trail_long = ta.MAX(high, c.trail_period) - c.trail_atr * vol_atr
            trail_short = ta.MIN(low, c.trail_period) + c.trail_atr * vol_atr
            exit_ = (trend.direction < 0) | (close < trail_long)
            exit_s = (trend.direction > 0) | (close > trail_short)
            fresh = _bars_since_turn(trend.direction, 1.0) <= c.entry_bars
            fresh_s = _bars_since_turn(trend.direction, -1.0) <= c.entry_bars
            entry = fresh & (change > c.momentum_min) & loud & ~exit_
            entry_s = fresh_s & (change < -c.momentum_min) & loud & ~exit_s
            lead = np.clip(np.abs(close - trend.supertrend) / (c.multiplier * vol_atr), 0.0, 1.0)
            crowd = np.clip(volume_ratio / c.volume_mult - 1.0, 0.0, 1.0)
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        lead = np.nan_to_num(lead, nan=0.0)  # a flat window: no ATR, no lead
        confidence = np.where(fired, 0.5 * (lead + crowd), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances (ATR multiples of the config)."""
        return atr_stop_levels(window, self.config)


register_strategy(
    SuperTrend.name,
    SuperTrend,
    SuperTrendConfig,
    description="SuperTrend direction with momentum and volume filters, ATR trailing exit",
)
