"""``vwap_bands``: VWAP crosses and reversions from its deviation bands.

The VWAP and its deviation ``σ`` (the volume-weighted standard deviation of the typical
price ``(high + low + close) / 3`` about it) are taken over the anchor: the last ``window``
bars (``anchor="rolling"``, the default) or the UTC day so far (``"session"``, reset at
00:00 UTC). The
bands are ``VWAP ± band_mult × σ``; no signal while the anchor holds fewer than ``min_bars``
bars.

* **Entry (long).** The close crosses back above the lower band (a stretch below value that
  reverts), or crosses above ``VWAP + cross_band × σ`` (buyers take control).
* **Exit (long).** The close crosses above the upper band (stretched: take the profit),
  below ``VWAP − cross_band × σ``, or below ``lower band − cross_band × σ`` (the reversion
  failed). ``cross_band`` is the hysteresis that keeps a price hugging the VWAP from
  trading every bar. Each rule is a crossing, so it applies to whichever entry opened the
  position; an entry on an exit bar is dropped.
* With ``short`` (off by default: the engine trades spot, long only, until perps) the mirror
  rules emit shorts.

Both values are recomputed per bar from the anchor's bars with West's weighted algorithm (no
running sums), so a value depends on nothing before its anchor: a rolling window of
``lookback`` bars gives exactly the full-history value. For the session anchor the lookback
covers a UTC day of one-minute bars (use the rolling anchor below one minute).

Confidence on an entry bar: the mean of the room left to the opposite band (in band widths)
and the volume past its ``volume_period``-bar SMA (full at twice it); NaN elsewhere.
Suggested stops: :class:`~mftbot.strategies.params.AtrStops`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from pydantic import Field

from mftbot.analysis.indicators import sma
from mftbot.strategies._inputs import candles_ok, clip01, ta
from mftbot.strategies.base import CandleWindow, Signals, StrategyConfig, register_strategy
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

_F = TypeVar("_F", bound=Callable[..., Any])
_njit = cast(Callable[[_F], _F], numba.njit(cache=True))
_njit_ieee = cast(Callable[[_F], _F], numba.njit(cache=True, error_model="numpy"))
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NS_PER_DAY = 86_400 * 1_000_000_000
SESSION_BARS = 1440
"""One-minute bars in a UTC day: the most bars a session anchor can hold."""


class VwapBandsConfig(AtrStops, StrategyConfig):
    """Parameters of ``vwap_bands``."""

    anchor: Literal["session", "rolling"] = tunable(
        "rolling",
        "VWAP over the UTC day so far, or the last `window` bars.",
        Choice(("session", "rolling")),
    )
    window: int = tunable(240, "Bars of the rolling anchor.", IntRange(30, 1440, log=True), ge=2)
    band_mult: float = tunable(
        2.0, "Band distance from VWAP (σ multiples).", FloatRange(1.0, 3.5), gt=0
    )
    cross_band: float = tunable(
        0.5, "σ beyond VWAP a cross must reach (hysteresis).", FloatRange(0.0, 1.5), ge=0
    )
    min_bars: int = tunable(12, "Fewest anchor bars before any signal.", IntRange(2, 60), ge=2)
    volume_period: int = tunable(20, "Bars of the volume SMA (confidence).", IntRange(5, 60), ge=2)
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")


@_njit
def _anchored(
    typical: FloatArray, volume: FloatArray, start: IntArray
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Per bar: VWAP and σ of bars ``start[t]..t`` (West's weighted mean and variance, from
    scratch, or carried on from bar ``t − 1`` when it has the same start), and the bar count."""
    n = typical.shape[0]
    mean_out = np.full(n, np.nan)
    sigma_out = np.full(n, np.nan)
    count = np.zeros(n, dtype=np.int64)
    weight = 0.0
    mean = 0.0
    spread = 0.0
    for t in range(n):
        first = start[t]
        if t > 0 and first == start[t - 1]:
            lo = t
        else:
            lo = first
            weight = 0.0
            mean = 0.0
            spread = 0.0
        for i in range(lo, t + 1):
            w = volume[i]
            if w > 0.0:
                weight += w
                delta = typical[i] - mean
                mean += delta * (w / weight)
                spread += w * delta * (typical[i] - mean)
        count[t] = t - first + 1
        if weight > 0.0:
            mean_out[t] = mean
            sigma_out[t] = np.sqrt(max(spread, 0.0) / weight)
    return mean_out, sigma_out, count


@_njit_ieee
def _rolling_anchored(
    typical: FloatArray, volume: FloatArray, bars: int
) -> tuple[FloatArray, FloatArray, IntArray]:
    """:func:`_anchored` for the rolling anchor of ``bars`` bars, NaN before the first full
    anchor. Each row runs West's algorithm from scratch over its anchor, with the same
    operations in the same order; the rows advance together, one anchor bar at a time, so
    the inner loop runs across independent rows and the compiler vectorises it."""
    n = typical.shape[0]
    mean_out = np.full(n, np.nan)
    sigma_out = np.full(n, np.nan)
    count = np.empty(n, dtype=np.int64)
    for t in range(n):
        count[t] = min(t + 1, bars)
    rows = n - bars + 1
    if rows <= 0:
        return mean_out, sigma_out, count
    weight = np.zeros(rows)
    mean = np.zeros(rows)
    spread = np.zeros(rows)
    for j in range(bars):
        x = typical[j : j + rows]
        v = volume[j : j + rows]
        for r in range(rows):
            w = v[r]
            grown = weight[r] + w
            delta = x[r] - mean[r]
            moved = mean[r] + delta * (w / grown)
            widened = spread[r] + w * delta * (x[r] - moved)
            take = w > 0.0
            weight[r] = grown if take else weight[r]
            mean[r] = moved if take else mean[r]
            spread[r] = widened if take else spread[r]
    for r in range(rows):
        if weight[r] > 0.0:
            mean_out[bars - 1 + r] = mean[r]
            sigma_out[bars - 1 + r] = np.sqrt(max(spread[r], 0.0) / weight[r])
    return mean_out, sigma_out, count


def vwap_bands(
    window: CandleWindow, anchor: str, bars: int
) -> tuple[FloatArray, FloatArray, IntArray]:
    """(VWAP, σ, bars in the anchor) per bar, for ``anchor`` ``"session"`` (UTC day) or
    ``"rolling"`` (last ``bars`` bars; NaN until there are that many)."""
    n = len(window)
    if anchor == "rolling" and window.volume.flags.c_contiguous:
        typical = (window.high + window.low + window.close) / 3.0
        return _rolling_anchored(typical, window.volume, bars)
    index = np.arange(n, dtype=np.int64)
    if anchor == "session":
        day = window.time_ns // NS_PER_DAY
        new_day = np.concatenate(([True], day[1:] != day[:-1]))
        start = np.maximum.accumulate(np.where(new_day, index, 0))
    elif anchor == "rolling":
        start = index - (bars - 1)
    else:
        raise ValueError(f"anchor must be 'session' or 'rolling', got {anchor!r}")
    typical = (window.high + window.low + window.close) / 3.0
    ready = start >= 0
    vwap, sigma, count = _anchored(
        typical, np.ascontiguousarray(window.volume), np.maximum(start, 0)
    )
    vwap[~ready] = np.nan
    sigma[~ready] = np.nan
    return vwap, sigma, count


@_njit_ieee
def _unit(x: float) -> float:
    """``nan_to_num(clip(x, 0, 1))`` of one value."""
    y = clip01(x)
    return 0.0 if y != y else y


@_njit_ieee
def _signals(
    close: FloatArray,
    vwap: FloatArray,
    sigma: FloatArray,
    count: IntArray,
    ratio: FloatArray,
    min_bars: int,
    band_mult: float,
    cross_band: float,
    warmup: int,
    short: bool,
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`VwapBands.populate` in one pass, operation for operation."""
    n = close.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    px = lw = up = vp = vm = lm = um = np.nan
    for t in range(n):
        x = close[t]
        v = vwap[t] if count[t] >= min_bars else np.nan
        s = sigma[t]
        upper = v + band_mult * s
        lower = v - band_mult * s
        margin = cross_band * s
        v_plus = v + margin
        v_minus = v - margin
        l_minus = lower - margin
        u_plus = upper + margin
        e = ((x >= lower) & (px < lw)) | ((x >= v_plus) & (px < vp))
        ex = ((x >= upper) & (px < up)) | ((x < v_minus) & (px >= vm))
        ex |= (x < l_minus) & (px >= lm)
        es = ((x < upper) & (px >= up)) | ((x < v_minus) & (px >= vm))
        exs = ((x < lower) & (px >= lw)) | ((x >= v_plus) & (px < vp))
        exs |= (x >= u_plus) & (px < um)
        room = ((upper - x) if e else (x - lower)) / (upper - lower)
        e &= not ex
        es &= not exs
        px, lw, up, vp, vm, lm, um = x, lower, upper, v_plus, v_minus, l_minus, u_plus
        if t < warmup:
            continue
        entry[t], exit_[t], entry_s[t], exit_s[t] = e, ex, es, exs
        if e | (es & short):
            confidence[t] = 0.5 * (_unit(room) + _unit(ratio[t] - 1.0))
    return entry, exit_, entry_s, exit_s, confidence


def _previous(x: FloatArray) -> FloatArray:
    return np.concatenate(([np.nan], x[:-1]))


def _crossed_up(x: FloatArray, level: FloatArray) -> BoolArray:
    return (x >= level) & (_previous(x) < _previous(level))


def _crossed_down(x: FloatArray, level: FloatArray) -> BoolArray:
    return (x < level) & (_previous(x) >= _previous(level))


class VwapBands(StopsProtection):
    """VWAP crosses and deviation-band reversions."""

    name = "vwap_bands"

    def __init__(self, config: VwapBandsConfig | None = None) -> None:
        self.config: VwapBandsConfig = config if config is not None else VwapBandsConfig()

    @property
    def warmup(self) -> int:
        """First bar with a crossing of a level that exists (``min_bars`` into an anchor)."""
        c = self.config
        first = c.min_bars if c.anchor == "session" else max(c.window, c.min_bars)
        return max(first, c.volume_period - 1)

    @property
    def lookback(self) -> int:
        """The anchor of this bar and of the one before (for crossings); at least the bars of
        the suggested stops' ATR."""
        c = self.config
        span = SESSION_BARS if c.anchor == "session" else c.window
        return max(max(span + 1, self.warmup) + 1, stops_lookback(c))

    def populate(self, window: CandleWindow) -> Signals:
        """Entries on band reversions and VWAP crosses; exits at the far band or VWAP."""
        c, close = self.config, window.close
        vwap, sigma, count = vwap_bands(window, c.anchor, c.window)
        if candles_ok(window):
            ratio = window.volume / ta.SMA(window.volume, c.volume_period)
            entry, exit_, entry_s, exit_s, confidence = _signals(
                close,
                vwap,
                sigma,
                count,
                ratio,
                c.min_bars,
                c.band_mult,
                c.cross_band,
                self.warmup,
                c.short,
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        enough = count >= c.min_bars
        vwap[~enough] = np.nan
        upper, lower = vwap + c.band_mult * sigma, vwap - c.band_mult * sigma
        margin = c.cross_band * sigma
        with np.errstate(invalid="ignore", divide="ignore"):
            entry = _crossed_up(close, lower) | _crossed_up(close, vwap + margin)
            exit_ = _crossed_up(close, upper) | _crossed_down(close, vwap - margin)
            exit_ |= _crossed_down(close, lower - margin)
            entry_s = _crossed_down(close, upper) | _crossed_down(close, vwap - margin)
            exit_s = _crossed_down(close, lower) | _crossed_up(close, vwap + margin)
            exit_s |= _crossed_up(close, upper + margin)
            volume_ratio = window.volume / sma(window.volume, c.volume_period)
            room = np.where(entry, upper - close, close - lower) / (upper - lower)
        entry &= ~exit_
        entry_s &= ~exit_s
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        crowd = np.nan_to_num(np.clip(volume_ratio - 1.0, 0.0, 1.0), nan=0.0)  # no volume
        room = np.nan_to_num(np.clip(room, 0.0, 1.0), nan=0.0)  # bands of zero width
        confidence = np.where(fired, 0.5 * (room + crowd), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances (ATR multiples of the config)."""
        return atr_stop_levels(window, self.config)


register_strategy(
    VwapBands.name,
    VwapBands,
    VwapBandsConfig,
    description="VWAP crosses and deviation-band reversions (session or rolling anchor)",
)
