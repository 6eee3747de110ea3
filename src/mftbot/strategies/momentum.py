"""``momentum``: rate of change, filtered by RSI, confirmed by volume.

* ``roc = ROC(close, roc_period)`` in percent, ``rsi = RSI(close, rsi_period)``, and the
  volume ratio ``volume / SMA(volume, volume_period)`` (the bar itself included).
* Enter long when ``roc > roc_entry``, ``rsi_min <= rsi <= rsi_max`` (momentum that is not yet
  overbought) and the volume ratio is at least ``volume_mult``.
* Exit long when ``roc < −roc_exit`` (the move has reversed).
* With ``short`` (off by default: the engine trades spot, long only, until perps) the mirror
  rules emit shorts: ``roc < −roc_entry``, ``100 − rsi_max <= rsi <= 100 − rsi_min``, the
  same volume rule; cover when ``roc > roc_exit``.

Confidence on an entry bar is the mean of how far ROC is past its threshold (full at three
times it) and how far volume is past its requirement (full at twice it); NaN elsewhere.
Suggested stops: :class:`~mftbot.strategies.params.AtrStops` (:meth:`Momentum.stops`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from mftbot.analysis.indicators import roc, rsi, sma
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


class MomentumConfig(AtrStops, StrategyConfig):
    """Parameters of ``momentum``."""

    roc_period: int = tunable(12, "Rate-of-change period (bars).", IntRange(3, 48), ge=1)
    roc_entry: float = tunable(0.5, "ROC (%) above which to enter.", FloatRange(0.05, 3.0), gt=0)
    roc_exit: float = tunable(
        0.0, "Exit once ROC (%) is below minus this.", FloatRange(0.0, 2.0), ge=0
    )
    rsi_period: int = tunable(14, "RSI period (bars).", IntRange(5, 30), ge=2)
    rsi_min: float = tunable(50.0, "Lowest RSI to enter at.", FloatRange(40.0, 60.0), ge=0, le=100)
    rsi_max: float = tunable(75.0, "Highest RSI to enter at.", FloatRange(60.0, 90.0), ge=0, le=100)
    volume_period: int = tunable(20, "Bars of the volume SMA.", IntRange(5, 60), ge=2)
    volume_mult: float = tunable(
        1.2, "Volume over its SMA needed to enter.", FloatRange(0.8, 3.0), gt=0
    )
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")

    @model_validator(mode="after")
    def _band_ordered(self) -> MomentumConfig:
        if self.rsi_min > self.rsi_max:
            raise ValueError(f"rsi_min ({self.rsi_min}) must not exceed rsi_max ({self.rsi_max})")
        return self


FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


@njit_ieee
def _signals(
    change: FloatArray,
    strength: FloatArray,
    volume: FloatArray,
    volume_sma: FloatArray,
    c: tuple[float, float, float, float, float, float, float, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`Momentum.populate` in one pass, operation for operation."""
    roc_entry, roc_exit, rsi_min, rsi_max, short_min, short_max, volume_mult = c[:7]
    warmup, short = c[7], c[8]
    n = change.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    for t in range(warmup, n):
        x = change[t]
        rsi_t = strength[t]
        ratio = volume[t] / volume_sma[t]
        loud = ratio >= volume_mult
        e = (x > roc_entry) & (rsi_t >= rsi_min) & (rsi_t <= rsi_max) & loud
        es = (x < -roc_entry) & (rsi_t >= short_min) & (rsi_t <= short_max) & loud
        entry[t], exit_[t], entry_s[t], exit_s[t] = e, x < -roc_exit, es, x > roc_exit
        if e | (es & short):
            push = clip01((abs(x) / roc_entry - 1.0) / 2.0)
            crowd = clip01((ratio / volume_mult - 1.0) / 1.0)
            confidence[t] = 0.5 * (push + crowd)
    return entry, exit_, entry_s, exit_s, confidence


class Momentum(StopsProtection):
    """ROC momentum with an RSI band filter and volume confirmation."""

    name = "momentum"

    def __init__(self, config: MomentumConfig | None = None) -> None:
        self.config: MomentumConfig = config if config is not None else MomentumConfig()

    @property
    def warmup(self) -> int:
        """First bar where ROC, RSI and the volume SMA all exist."""
        c = self.config
        return max(c.roc_period, c.rsi_period, c.volume_period - 1)

    @property
    def lookback(self) -> int:
        """Warm-up plus the bars RSI's Wilder averages need to forget their seed (at least
        the bars of the suggested stops' ATR)."""
        own = self.warmup + settle_bars(self.config.rsi_period) + 1
        return max(own, stops_lookback(self.config))

    def populate(self, window: CandleWindow) -> Signals:
        """Entries on strong ROC with RSI in band and high volume; exits when ROC reverses."""
        c, close = self.config, window.close
        if candles_ok(window) and len(window) > self.warmup:
            entry, exit_, entry_s, exit_s, confidence = _signals(
                ta.ROC(close, c.roc_period),
                ta.RSI(close, c.rsi_period),
                window.volume,
                ta.SMA(window.volume, c.volume_period),
                (
                    c.roc_entry,
                    c.roc_exit,
                    c.rsi_min,
                    c.rsi_max,
                    100 - c.rsi_max,
                    100 - c.rsi_min,
                    c.volume_mult,
                    self.warmup,
                    c.short,
                ),
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        change = roc(close, c.roc_period)
        strength = rsi(close, c.rsi_period)
        volume_sma = sma(window.volume, c.volume_period)
        with np.errstate(invalid="ignore", divide="ignore"):
            volume_ratio = window.volume / volume_sma
            loud = volume_ratio >= c.volume_mult
            entry = (
                (change > c.roc_entry) & (strength >= c.rsi_min) & (strength <= c.rsi_max) & loud
            )
            exit_ = change < -c.roc_exit
            entry_s = (
                (change < -c.roc_entry)
                & (strength >= 100 - c.rsi_max)
                & (strength <= 100 - c.rsi_min)
                & loud
            )
            exit_s = change > c.roc_exit
            push = _ramp(np.abs(change) / c.roc_entry, 1.0, 3.0)
            crowd = _ramp(volume_ratio / c.volume_mult, 1.0, 2.0)
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        confidence = np.where(fired, 0.5 * (push + crowd), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances (ATR multiples of the config)."""
        return atr_stop_levels(window, self.config)


register_strategy(
    Momentum.name,
    Momentum,
    MomentumConfig,
    description="ROC momentum with an RSI band filter and volume confirmation",
)
