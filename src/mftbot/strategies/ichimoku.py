"""``ichimoku_cloud``: Tenkan/Kijun crosses on the right side of the cloud.

Lines from :func:`mftbot.analysis.indicators.ichimoku`, each causal at its index: the cloud
(``senkou_a``/``senkou_b``) at *t* is the one drawn at *t*, computed ``displacement`` bars
earlier.

* **Entry (long).** Tenkan crosses above Kijun at *t*, the close is above the cloud, and (with
  ``chikou_confirm``) the lagging span is above the price it is drawn against.
* **Exit (long).** Tenkan below Kijun, or the close below the cloud.
* With ``short`` (off by default: the engine trades spot, long only, until perps) the mirror
  rules emit shorts.

**The lagging span never feeds a decision at time t.** A chart draws ``close[t]`` at
``t − displacement``, so the span shown at *t* is ``close[t + displacement]``: a future
price. Here the lagging-span check at *t* compares the *current* close with the close
``displacement`` bars ago (``close[t] > close[t − displacement]``), which is how the span
drawn at ``t − displacement`` compares with the price there; both are known at *t*.

Confidence on an entry bar: half when the cloud being formed now (``displacement`` bars
ahead: span A from today's Tenkan and Kijun, span B from today's ``senkou_b`` midpoint) has
the trade's colour, half when the lagging-span check agrees; NaN elsewhere.
Suggested stops: :class:`~mftbot.strategies.params.AtrStops`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from mftbot.analysis.indicators import ichimoku
from mftbot.strategies._inputs import candles_ok, njit_ieee, previous
from mftbot.strategies.base import CandleWindow, Signals, StrategyConfig, register_strategy
from mftbot.strategies.params import (
    AtrStops,
    IntRange,
    StopLevels,
    StopsProtection,
    atr_stop_levels,
    stops_lookback,
    tunable,
)

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


class IchimokuCloudConfig(AtrStops, StrategyConfig):
    """Parameters of ``ichimoku_cloud``."""

    tenkan: int = tunable(9, "Tenkan-sen period (bars).", IntRange(5, 20), ge=1)
    kijun: int = tunable(26, "Kijun-sen period (bars).", IntRange(15, 60), ge=2)
    senkou_b: int = tunable(52, "Senkou span B period (bars).", IntRange(30, 120), ge=2)
    displacement: int = tunable(
        26, "Cloud shift and lagging-span offset (bars).", IntRange(10, 60), ge=1
    )
    chikou_confirm: bool = Field(
        True, description="Require close > close `displacement` bars ago (the lagging span)."
    )
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")

    @model_validator(mode="after")
    def _ordered(self) -> IchimokuCloudConfig:
        if not self.tenkan < self.kijun < self.senkou_b:
            raise ValueError(
                f"need tenkan < kijun < senkou_b, got {self.tenkan}, {self.kijun}, {self.senkou_b}"
            )
        return self


def _previous(x: BoolArray) -> BoolArray:
    return previous(x, False)


def _shifted(x: FloatArray, bars: int) -> FloatArray:
    """``x`` ``bars`` rows later, NaN first."""
    out = np.full(x.shape[0], np.nan)
    if bars < x.shape[0]:
        out[bars:] = x[: x.shape[0] - bars]
    return out


def lagging_span(close: FloatArray, displacement: int) -> FloatArray:
    """``sign(close[t] − close[t − displacement])`` (NaN for the first ``displacement`` bars):
    +1 where the lagging span drawn at ``t − displacement`` is above the price there. Known
    at *t*: it reads no later bar."""
    out = np.full(close.shape[0], np.nan)
    out[displacement:] = np.sign(close[displacement:] - close[:-displacement])
    return out


@njit_ieee
def _signals(
    close: FloatArray,
    tenkan: FloatArray,
    kijun: FloatArray,
    span_a: FloatArray,
    span_b: FloatArray,
    c: tuple[int, bool, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`IchimokuCloud.populate` in one pass, operation for operation
    (``span_a`` / ``span_b``: the cloud formed at each bar, drawn ``displacement`` later)."""
    displacement, chikou_confirm, warmup, short = c
    n = close.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    was_bull = was_bear = False
    for t in range(n):
        bull = tenkan[t] > kijun[t]
        bear = tenkan[t] < kijun[t]
        turned_up, turned_down = bull & (not was_bull), bear & (not was_bear)
        was_bull, was_bear = bull, bear
        if t < warmup:
            continue
        a = span_a[t - displacement] if t >= displacement else np.nan
        b = span_b[t - displacement] if t >= displacement else np.nan
        top = a if b != b else (b if a != a else (a if a >= b else b))
        bottom = a if b != b else (b if a != a else (a if a <= b else b))
        x = close[t]
        lag = x - close[t - displacement] if t >= displacement else np.nan
        chikou_up, chikou_down = lag > 0, lag < 0
        e = turned_up & (x > top) & (chikou_up | (not chikou_confirm))
        es = turned_down & (x < bottom) & (chikou_down | (not chikou_confirm))
        entry[t], exit_[t] = e, bear | (x < bottom)
        entry_s[t], exit_s[t] = es, bull | (x > top)
        if e | (es & short):
            green = 1.0 if span_a[t] > span_b[t] else 0.0
            red = 1.0 if span_a[t] < span_b[t] else 0.0
            agree = green + chikou_up if e else red + chikou_down
            confidence[t] = 0.5 * agree
    return entry, exit_, entry_s, exit_s, confidence


class IchimokuCloud(StopsProtection):
    """Tenkan/Kijun crosses above (below) the cloud, with a causal lagging-span check."""

    name = "ichimoku_cloud"

    def __init__(self, config: IchimokuCloudConfig | None = None) -> None:
        self.config: IchimokuCloudConfig = config if config is not None else IchimokuCloudConfig()

    @property
    def warmup(self) -> int:
        """First bar with a cloud (span B), a cross and a lagging-span comparison."""
        return self.config.senkou_b + self.config.displacement

    @property
    def lookback(self) -> int:
        """Every line is a rolling extreme: the warm-up bars suffice, exactly; the suggested
        stops' ATR needs :func:`~mftbot.strategies.params.stops_lookback` bars."""
        return max(self.warmup + 1, stops_lookback(self.config))

    def populate(self, window: CandleWindow) -> Signals:
        """Long on a Tenkan/Kijun cross up above the cloud; out below Kijun or the cloud."""
        c, close = self.config, window.close
        ahead = ichimoku(
            window.high,
            window.low,
            close,
            c.tenkan,
            c.kijun,
            c.senkou_b,
            0,
            checked=candles_ok(window),
        )
        if len(window) > self.warmup:
            entry, exit_, entry_s, exit_s, confidence = _signals(
                close,
                ahead.tenkan,
                ahead.kijun,
                ahead.senkou_a,
                ahead.senkou_b,
                (c.displacement, c.chikou_confirm, self.warmup, c.short),
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        # the cloud drawn at t is the one formed displacement bars before (the indicator's
        # own shift, the same values)
        lines = ahead._replace(
            senkou_a=_shifted(ahead.senkou_a, c.displacement),
            senkou_b=_shifted(ahead.senkou_b, c.displacement),
        )
        with np.errstate(invalid="ignore"):
            top = np.fmax(lines.senkou_a, lines.senkou_b)
            bottom = np.fmin(lines.senkou_a, lines.senkou_b)
            bull, bear = lines.tenkan > lines.kijun, lines.tenkan < lines.kijun
            lag = lagging_span(close, c.displacement)
            chikou_up, chikou_down = lag > 0, lag < 0
            entry = bull & ~_previous(bull) & (close > top) & (chikou_up | (not c.chikou_confirm))
            entry_s = (
                bear & ~_previous(bear) & (close < bottom) & (chikou_down | (not c.chikou_confirm))
            )
            exit_, exit_s = bear | (close < bottom), bull | (close > top)
            green = ahead.senkou_a > ahead.senkou_b
            red = ahead.senkou_a < ahead.senkou_b
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        agree = np.where(entry, green.astype(float) + chikou_up, red.astype(float) + chikou_down)
        confidence = np.where(fired, 0.5 * agree, np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances (ATR multiples of the config)."""
        return atr_stop_levels(window, self.config)


register_strategy(
    IchimokuCloud.name,
    IchimokuCloud,
    IchimokuCloudConfig,
    description="Ichimoku Tenkan/Kijun cross beyond the cloud, causal lagging-span check",
)
