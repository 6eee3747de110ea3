"""Market regime per bar: trending up, trending down, ranging or high volatility.

Method (causal; defaults in :class:`RegimeConfig`):

* **Volatility.** ``atr_pct = ATR(atr_period) / close``; its percentile rank ``vol_rank`` is
  the fraction of the last ``vol_window`` values (the current one included) that are ``<=``
  the current value, so it lies in ``(0, 1]``, and ``vol_ratio`` is ``atr_pct`` over the
  median of that window. The high-volatility state is entered when ``vol_rank >= vol_enter``
  and ``vol_ratio >= ratio_enter``, and left when ``vol_rank < vol_exit`` or ``vol_ratio <
  ratio_exit``. The rank alone would call the top 5 % of a flat series "high"; the ratio
  requires volatility to be well above its usual level.
* **Trend strength.** Wilder's ADX(``adx_period``): the trending state is entered when
  ``ADX >= trend_enter`` and left when ``ADX < trend_exit``.
* **Direction.** On entering a trend, the sign of ``+DI - -DI`` (up on a tie). While trending
  it flips only when the other DI leads by at least ``di_margin`` points.
* **Label.** High volatility overrides the trend: ``HIGH_VOLATILITY`` if that state is on,
  else ``TREND_UP`` / ``TREND_DOWN`` while trending, else ``RANGING``. The trend state keeps
  evolving underneath a high-volatility spell.

Defaults: ADX(14) enters a trend at 25 and leaves below 20; a running trend flips direction
when the other DI leads by 5 points; ATR(14)% over a 100-bar window enters high volatility at
the 95th percentile and 1.3 × its median, leaves below the 80th percentile or 1.1 ×.

The enter/exit pairs are the hysteresis that keeps the label from flickering around a
threshold. The label is NaN until ADX, +DI/-DI and a full ``vol_window`` of ATR% exist
(``RegimeConfig.warmup`` bars).

Both per-bar passes are compiled with numba: the label state machines, and the rolling rank and
median, which keep the window sorted as it slides.

Importing this module registers ``regime`` (kind ``indicator``, outputs ``regime``,
``vol_rank``, ``vol_ratio``, ``atr_pct``) into :data:`mftbot.analysis.registry.REGISTRY`.
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators import adx, atr
from mftbot.analysis.indicators._jit import jit, jit_ieee
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind

FloatArray = npt.NDArray[np.float64]


class Regime(IntEnum):
    """Regime codes as they appear (as floats) in the ``regime`` array."""

    TREND_DOWN = -1
    RANGING = 0
    TREND_UP = 1
    HIGH_VOLATILITY = 2


@dataclass(frozen=True, slots=True)
class RegimeConfig:
    """Parameters of the regime detector (see the module docstring)."""

    adx_period: int = 14
    """Wilder period of ADX and the directional indicators."""
    trend_enter: float = 25.0
    """ADX at or above which a trend starts."""
    trend_exit: float = 20.0
    """ADX below which a trend ends."""
    di_margin: float = 5.0
    """DI points by which the opposite DI must lead to flip a running trend's direction."""
    atr_period: int = 14
    """Wilder period of the ATR behind ``atr_pct``."""
    vol_window: int = 100
    """Bars of ATR% the volatility percentile is taken over."""
    vol_enter: float = 0.95
    """Volatility percentile at or above which high volatility starts."""
    vol_exit: float = 0.80
    """Volatility percentile below which high volatility ends."""
    ratio_enter: float = 1.3
    """ATR% over its window median needed (with ``vol_enter``) to start high volatility."""
    ratio_exit: float = 1.1
    """ATR% over its window median below which high volatility ends."""

    def __post_init__(self) -> None:
        for name in ("adx_period", "atr_period"):
            if getattr(self, name) < 2:
                raise ValueError(f"RegimeConfig.{name} must be >= 2, got {getattr(self, name)}")
        if self.vol_window < 2:
            raise ValueError(f"RegimeConfig.vol_window must be >= 2, got {self.vol_window}")
        if not 0.0 <= self.trend_exit <= self.trend_enter <= 100.0:
            raise ValueError(
                "RegimeConfig needs 0 <= trend_exit <= trend_enter <= 100, got "
                f"{self.trend_exit}, {self.trend_enter}"
            )
        if not 0.0 <= self.vol_exit <= self.vol_enter <= 1.0:
            raise ValueError(
                "RegimeConfig needs 0 <= vol_exit <= vol_enter <= 1, got "
                f"{self.vol_exit}, {self.vol_enter}"
            )
        if not 0.0 < self.ratio_exit <= self.ratio_enter < math.inf:
            raise ValueError(
                "RegimeConfig needs 0 < ratio_exit <= ratio_enter, got "
                f"{self.ratio_exit}, {self.ratio_enter}"
            )
        if not (math.isfinite(self.di_margin) and self.di_margin >= 0.0):
            raise ValueError(f"RegimeConfig.di_margin must be >= 0, got {self.di_margin}")

    @property
    def warmup(self) -> int:
        """Leading bars without a label (finite input)."""
        return max(2 * self.adx_period - 1, self.atr_period + self.vol_window - 1)


class RegimeResult(NamedTuple):
    """Per-bar outputs of :func:`market_regime`."""

    regime: FloatArray
    """A :class:`Regime` code as float, NaN during the warm-up."""
    vol_rank: FloatArray
    """Percentile rank of ``atr_pct`` over the last ``vol_window`` bars, in (0, 1]."""
    vol_ratio: FloatArray
    """``atr_pct`` over its median of the last ``vol_window`` bars."""
    atr_pct: FloatArray
    """ATR / close."""
    adx: FloatArray
    """Wilder's ADX."""


def rolling_rank(values: npt.ArrayLike, window: int) -> tuple[FloatArray, FloatArray]:
    """Per bar, over the last ``window`` values (current included): the fraction ``<=`` the
    current one, and the current one over their median.

    NaN until ``window`` non-NaN values are available; any NaN inside a window gives NaN. The
    median of an even window is the mean of its two middle values, as :func:`numpy.median`.
    """
    window = operator.index(window)
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"rolling_rank needs 1-D values, got shape {arr.shape}")
    if window < 1:
        raise ValueError(f"rolling_rank window must be >= 1, got {window}")
    rank = np.full(arr.size, np.nan)
    ratio = np.full(arr.size, np.nan)
    if arr.size >= window:
        _rank_kernel(arr, window, rank, ratio)
    return rank, ratio


@jit_ieee
def _rank_kernel(values: FloatArray, window: int, rank: FloatArray, ratio: FloatArray) -> None:
    """Fill ``rank`` and ``ratio`` where a NaN-free window ends, keeping that window sorted."""
    buf = np.empty(window)  # the current run's last ``window`` values, ascending
    size = 0
    half = window // 2
    for t in range(values.shape[0]):
        x = values[t]
        if math.isnan(x):
            size = 0
            continue
        if size < window:
            j = size  # insert x into buf[:size]
            while j > 0 and buf[j - 1] > x:
                buf[j] = buf[j - 1]
                j -= 1
            buf[j] = x
            size += 1
            if size < window:
                continue
        else:
            old = values[t - window]
            lo, hi = 0, window  # first index holding ``old``
            while lo < hi:
                mid = (lo + hi) // 2
                if buf[mid] < old:
                    lo = mid + 1
                else:
                    hi = mid
            j = lo  # replace it by x and move x to its sorted place
            if x > old:
                while j + 1 < window and buf[j + 1] < x:
                    buf[j] = buf[j + 1]
                    j += 1
            else:
                while j > 0 and buf[j - 1] > x:
                    buf[j] = buf[j - 1]
                    j -= 1
            buf[j] = x
        lo, hi = 0, window  # count of values <= x
        while lo < hi:
            mid = (lo + hi) // 2
            if buf[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        rank[t] = lo / window
        median = buf[half] if window % 2 else (buf[half - 1] + buf[half]) / 2.0
        ratio[t] = x / median


def market_regime(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    config: RegimeConfig | None = None,
) -> RegimeResult:
    """Label every bar with a :class:`Regime` from bars up to it only."""
    cfg = config or RegimeConfig()
    h = np.asarray(high, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 1 or not h.shape == lo.shape == c.shape:
        raise ValueError(
            f"high, low, close must be 1-D of one length: {h.shape}, {lo.shape}, {c.shape}"
        )
    if (c <= 0.0).any():
        raise ValueError(f"non-positive close at index {int(np.flatnonzero(c <= 0.0)[0])}")
    trend = adx(h, lo, c, cfg.adx_period)
    atr_pct = atr(h, lo, c, cfg.atr_period) / c
    vol_rank, vol_ratio = rolling_rank(atr_pct, cfg.vol_window)
    regime = _label(trend.adx, trend.plus_di, trend.minus_di, vol_rank, vol_ratio, cfg)
    return RegimeResult(regime, vol_rank, vol_ratio, atr_pct, trend.adx)


def _label(
    adx_: FloatArray,
    plus_di: FloatArray,
    minus_di: FloatArray,
    vol_rank: FloatArray,
    vol_ratio: FloatArray,
    cfg: RegimeConfig,
) -> FloatArray:
    out = np.full(adx_.size, np.nan)
    _label_kernel(
        adx_,
        plus_di,
        minus_di,
        vol_rank,
        vol_ratio,
        float(cfg.trend_enter),
        float(cfg.trend_exit),
        float(cfg.di_margin),
        float(cfg.vol_enter),
        float(cfg.vol_exit),
        float(cfg.ratio_enter),
        float(cfg.ratio_exit),
        out,
    )
    return out


_DOWN = float(Regime.TREND_DOWN)
_RANGING = float(Regime.RANGING)
_UP = float(Regime.TREND_UP)
_VOLATILE = float(Regime.HIGH_VOLATILITY)


@jit
def _label_kernel(
    adx_: FloatArray,
    plus_di: FloatArray,
    minus_di: FloatArray,
    vol_rank: FloatArray,
    vol_ratio: FloatArray,
    trend_enter: float,
    trend_exit: float,
    di_margin: float,
    vol_enter: float,
    vol_exit: float,
    ratio_enter: float,
    ratio_exit: float,
    out: FloatArray,
) -> None:
    """Run the trend and volatility state machines, writing labelled bars into ``out``."""
    trending = False
    direction = 1
    volatile = False
    for t in range(adx_.shape[0]):
        a, p, m, v, q = adx_[t], plus_di[t], minus_di[t], vol_rank[t], vol_ratio[t]
        if math.isnan(a) or math.isnan(p) or math.isnan(m):
            continue
        if trending:
            if a < trend_exit:
                trending = False
            elif direction > 0 and m - p >= di_margin:
                direction = -1
            elif direction < 0 and p - m >= di_margin:
                direction = 1
        elif a >= trend_enter:
            trending = True
            direction = 1 if p >= m else -1
        if math.isnan(v) or math.isnan(q):
            continue
        if volatile:
            volatile = v >= vol_exit and q >= ratio_exit
        else:
            volatile = v >= vol_enter and q >= ratio_enter
        if volatile:
            out[t] = _VOLATILE
        elif trending:
            out[t] = _UP if direction > 0 else _DOWN
        else:
            out[t] = _RANGING


def regime_fractions(regime: npt.ArrayLike) -> dict[Regime, float]:
    """Share of labelled (non-NaN) bars in each regime; all zero when none is labelled."""
    arr = np.asarray(regime, dtype=np.float64)
    labelled = arr[~np.isnan(arr)]
    total = labelled.size
    return {r: (float((labelled == r).sum()) / total if total else 0.0) for r in Regime}


_OUTPUTS = ("regime", "vol_rank", "vol_ratio", "atr_pct")


def _compute(candles: CandleArrays) -> dict[str, FloatArray]:
    result = market_regime(candles.high, candles.low, candles.close)
    return {name: getattr(result, name) for name in _OUTPUTS}


if "regime" not in REGISTRY:
    REGISTRY.register(
        "regime",
        _compute,
        outputs=_OUTPUTS,
        kind=Kind.INDICATOR,
        warmup=RegimeConfig().warmup,
        description="market regime: -1 trend down, 0 ranging, 1 trend up, 2 high volatility",
        params=asdict(RegimeConfig()),
    )
