"""``mtf``: multi-timeframe coordinator over a base-timeframe window (1m … 1d).

The base candles are resampled causally (:mod:`mftbot.strategies.mtf_align`: buckets on
absolute time, a bucket visible only from the base bar that closes it) to each higher timeframe
of ``timeframes``, by default the next three of :data:`LADDER` above ``base_timeframe`` (5m,
15m and 1h over 1m bars). Each timeframe, the base one included, gets a trend per bar
(:func:`~mftbot.strategies.mtf_align.trend_of`: close against its ``trend_period`` SMA and the
SMA's slope; +1 up, −1 down, 0 flat) and a strength in [0, 1]. The ``mode`` synthesises them:

* ``top_down``: the highest timeframe is the filter. Enter long when the base trend turns up
  while the highest timeframe is up; exit when the base or the highest timeframe turns down.
* ``confluence``: enter long on the bar where every timeframe becomes up; exit when any of
  them turns down.
* ``weighted``: score = Σ wᵢ·trendᵢ / Σ wᵢ (``weights``, base first; default 1, 2, 3, … so a
  higher timeframe counts more). Enter long when the score rises to ``entry_score``; exit
  when it falls to ``exit_score``.

With ``short`` the mirror rules emit shorts. **Risk hint.** :meth:`Mtf.agreement` is the share
of timeframes whose trend agrees with the signal's direction. It scales the confidence of
every entry: ``confidence = agreement × (1 + strength) / 2`` (strength: the mean strength of
the agreeing timeframes, in [0, 1]). The risk engine multiplies the size by the confidence,
so it takes a smaller position when timeframes disagree: with the default four timeframes, a
top-down entry with one of them against it is sized at most ¾ of a full one. Suggested stops:
ATR multiples on the base bars (:class:`~mftbot.strategies.params.AtrStops`), handed to the
risk engine through ``protection``.

``base_timeframe`` must be the spacing of the candles given: a finer series is refused (it
would need a longer lookback than declared); a coarser one works, each bucket being closed
one base bar later at worst.
"""

from __future__ import annotations

import itertools
from typing import Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator, model_validator

from mftbot.core.errors import DataError
from mftbot.data.timeframes import Timeframe, parse_timeframe
from mftbot.strategies.base import (
    CandleWindow,
    Signals,
    StrategyConfig,
    StrategyError,
    register_strategy,
)
from mftbot.strategies.mtf_align import closed_bars, trend_of
from mftbot.strategies.params import (
    AtrStops,
    Choice,
    FloatRange,
    IntRange,
    StopLevels,
    StopsProtection,
    atr_stop_levels,
    stops_lookback,
    tunable,
)

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
MODES = ("top_down", "confluence", "weighted")
LADDER = ("1s", "5s", "15s", "1m", "5m", "15m", "1h", "4h", "1d")
"""Timeframes the default ``timeframes`` are taken from (the next three above the base)."""
MAX_TIMEFRAMES = 6


def _timeframe(text: str) -> Timeframe:
    try:
        tf = parse_timeframe(text)
        tf.step_ns  # noqa: B018  (raises for calendar months)
    except DataError as exc:
        raise ValueError(str(exc)) from exc
    return tf


class MtfConfig(AtrStops, StrategyConfig):
    """Parameters of ``mtf``."""

    base_timeframe: str = Field("1m", description="Timeframe of the candles given (1s … 1d).")
    timeframes: tuple[str, ...] | None = Field(
        None,
        description="Higher timeframes analysed, ascending, each a multiple of the base "
        "(None: the next three of 1s 5s 15s 1m 5m 15m 1h 4h 1d above the base).",
    )
    mode: Literal["top_down", "confluence", "weighted"] = tunable(
        "top_down", "How the timeframes' trends combine.", Choice(MODES)
    )
    trend_period: int = tunable(
        20, "SMA period of each timeframe's trend (in its own bars).", IntRange(5, 50), ge=2
    )
    weights: tuple[float, ...] | None = Field(
        None, description="Weighted mode: weight of the base then each timeframe (None: 1, 2, …)."
    )
    entry_score: float = tunable(
        0.6, "Weighted mode: score at which to enter.", FloatRange(0.2, 1.0), gt=0, le=1
    )
    exit_score: float = tunable(
        0.0, "Weighted mode: score at which to exit.", FloatRange(-0.6, 0.4), ge=-1, lt=1
    )
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")

    @field_validator("base_timeframe")
    @classmethod
    def _base_ok(cls, value: str) -> str:
        _timeframe(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MtfConfig:
        base = _timeframe(self.base_timeframe).step_ns
        chosen = self.higher_timeframes
        if not 1 <= len(chosen) <= MAX_TIMEFRAMES:
            raise ValueError(
                f"timeframes needs 1 to {MAX_TIMEFRAMES} timeframes above the base "
                f"{self.base_timeframe}, got {list(chosen)}"
            )
        steps = [_timeframe(tf).step_ns for tf in chosen]
        for text, step in zip(chosen, steps, strict=True):
            if step <= base or step % base:
                raise ValueError(
                    f"timeframe {text} must be a multiple of, and longer than, the base "
                    f"{self.base_timeframe}"
                )
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError(f"timeframes must be strictly ascending, got {list(chosen)}")
        if self.weights is not None:
            if len(self.weights) != len(chosen) + 1:
                raise ValueError(
                    f"weights need {len(chosen) + 1} values (base + each timeframe), "
                    f"got {len(self.weights)}"
                )
            if not all(np.isfinite(w) and w > 0 for w in self.weights):
                raise ValueError(f"weights must be finite and > 0, got {list(self.weights)}")
        if self.exit_score >= self.entry_score:
            raise ValueError(
                f"exit_score ({self.exit_score}) must be below entry_score ({self.entry_score})"
            )
        return self

    @property
    def higher_timeframes(self) -> tuple[str, ...]:
        """``timeframes``, or the default ladder above the base when it is ``None``."""
        if self.timeframes is not None:
            return self.timeframes
        base = _timeframe(self.base_timeframe).step_ns
        above = [tf for tf in LADDER if (s := _timeframe(tf).step_ns) > base and s % base == 0]
        return tuple(above[:3])


def _turned(state: BoolArray) -> BoolArray:
    """True where ``state`` holds now and did not on the bar before."""
    out = state.copy()
    out[1:] &= ~state[:-1]
    return out


class Mtf(StopsProtection):
    """Trend per timeframe, synthesised top-down, by confluence or by weights."""

    name = "mtf"

    def __init__(self, config: MtfConfig | None = None) -> None:
        self.config: MtfConfig = config if config is not None else MtfConfig()
        c = self.config
        self._base_ns = _timeframe(c.base_timeframe).step_ns
        self._tfs = [_timeframe(tf) for tf in c.higher_timeframes]
        self._ratio_top = self._tfs[-1].step_ns // self._base_ns
        weights = c.weights or tuple(float(i + 1) for i in range(len(self._tfs) + 1))
        self._weights = np.asarray(weights, dtype=np.float64)

    @property
    def warmup(self) -> int:
        """Base bars until the highest timeframe has ``trend_period + 1`` closed buckets (one
        more for a first, partial bucket)."""
        return (self.config.trend_period + 2) * self._ratio_top

    @property
    def lookback(self) -> int:
        """The buckets the last two rows read, whole, plus the suggested stops' ATR bars."""
        own = (self.config.trend_period + 3) * self._ratio_top + 1
        return max(own, stops_lookback(self.config))

    def _check_spacing(self, window: CandleWindow) -> None:
        steps = np.diff(window.time_ns)
        if steps.size and int(steps.min()) < self._base_ns:
            raise StrategyError(
                f"mtf: candles are finer than base_timeframe {self.config.base_timeframe}; "
                "set base_timeframe to their timeframe"
            )

    def trends(self, window: CandleWindow) -> tuple[FloatArray, FloatArray]:
        """(direction, strength) per timeframe (rows: base, then ``timeframes``) and bar; NaN
        where a timeframe has too few closed buckets yet."""
        self._check_spacing(window)
        period = self.config.trend_period
        steps = [(self._base_ns, 0), *((tf.step_ns, tf.origin_ns) for tf in self._tfs)]
        direction = np.empty((len(steps), len(window)))
        strength = np.empty((len(steps), len(window)))
        for i, (step, origin) in enumerate(steps):
            bars = closed_bars(window, self._base_ns, step, origin)
            trend = trend_of(bars, period)
            direction[i] = bars.at_rows(trend.direction)
            strength[i] = bars.at_rows(trend.strength)
        return direction, strength

    def agreement(self, window: CandleWindow) -> FloatArray:
        """Share of timeframes agreeing with each bar's entry direction (long where no short
        entry fires); NaN until every timeframe has a trend. The MTF risk hint: the entry's
        confidence is scaled by it."""
        direction, _ = self.trends(window)
        side = np.ones(len(window))
        if self.config.short:
            side[self.populate(window).direction() < 0] = -1.0
        return self._agreement(direction, side)

    @staticmethod
    def _agreement(direction: FloatArray, side: FloatArray) -> FloatArray:
        with np.errstate(invalid="ignore"):
            share = cast(FloatArray, (direction == side).mean(axis=0))
        share[np.isnan(direction).any(axis=0)] = np.nan
        return share

    def _rules(self, d: FloatArray, sign: float) -> tuple[BoolArray, BoolArray]:
        """(entries, exits) of one side (``sign`` +1 long, −1 short) from the trends."""
        c = self.config
        with np.errstate(invalid="ignore"):
            if c.mode == "top_down":
                base_with = d[0] == sign
                entry = _turned(base_with) & (d[-1] == sign)
                exit_ = (d[0] == -sign) | (d[-1] == -sign)
            elif c.mode == "confluence":
                entry = _turned((d == sign).all(axis=0))
                exit_ = (d == -sign).any(axis=0)
            else:
                score = sign * (self._weights @ d) / self._weights.sum()
                entry = _turned(score >= c.entry_score)
                exit_ = score <= c.exit_score
        return entry, exit_

    def populate(self, window: CandleWindow) -> Signals:
        """Entries and exits from the timeframes' trends; confidence scaled by agreement."""
        direction, strength = self.trends(window)
        ready = cast(BoolArray, np.isfinite(direction).all(axis=0))
        ready[: self.warmup] = False
        entry, exit_ = self._rules(direction, 1.0)
        entry_s, exit_s = self._rules(direction, -1.0)
        for flags in (entry, exit_, entry_s, exit_s):
            flags &= ready
        short = self.config.short
        side = np.where(entry_s & short, -1.0, 1.0)
        with np.errstate(invalid="ignore"):
            agrees = direction == side
            share = agrees.mean(axis=0)
            mean_strength = np.where(agrees, strength, 0.0).sum(axis=0) / np.maximum(
                agrees.sum(axis=0), 1
            )
        fired = entry | (entry_s & short)
        graded = share * (1.0 + mean_strength) / 2.0
        confidence = np.where(fired, np.clip(graded, 0.0, 1.0), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=short)

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances (ATR multiples on the base bars)."""
        return atr_stop_levels(window, self.config)


register_strategy(
    Mtf.name,
    Mtf,
    MtfConfig,
    description="Multi-timeframe trend: top-down filter, confluence or weighted synthesis",
    kind="composite",
)
