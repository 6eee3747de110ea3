"""Candle slippage model: what a liquidity-taking fill costs when only candles are known.

A taker fill of ``qty`` base units at reference price ``ref`` (a bar's open, a stop price, the
last close) is priced at ``ref × (1 + s)`` for a buy and ``ref × (1 − s)`` for a sell, with the
slippage fraction::

    s = spread_bps / 2 / 1e4                       half the quoted spread
      + volatility_coef × σ                        uncertainty of the price within the bar
      + impact_coef × σ × sqrt(qty / V)            square-root market impact
      + gap_coef × max(0, g − gap_threshold_bps / 1e4)   only for fills at a bar's open

* ``σ`` is the per-bar volatility: an exponentially weighted mean (span ``span`` bars) of the
  Parkinson variance ``(ln(H / L))² / (4 ln 2)`` of each closed bar, square-rooted;
* ``V`` the exponentially weighted mean bar volume (base units), same span;
* ``g = |open / previous close − 1|`` the gap between the fill bar's open and the previous
  bar's close: a bar that opens away from where the last one closed is thin and jumpy.

Both averages are built from bars *before* the fill bar (no look-ahead: the fill bar's high,
low and volume are not known when it opens). Until the first bar has closed, ``σ`` and the
impact term are 0; a zero average volume counts as ``qty / V = 1``.

The presets are ordered term by term (every coefficient of ``conservative`` ≥ ``realistic`` ≥
``optimistic``, thresholds the other way), so their costs are ordered for any fill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed

_PARKINSON = 1.0 / (4.0 * math.log(2.0))


class SlippagePreset(StrEnum):
    """Named parameter sets, from the most to the least cost."""

    CONSERVATIVE = "conservative"
    REALISTIC = "realistic"
    OPTIMISTIC = "optimistic"


class SlippageParams(BaseModel):
    """Coefficients of the candle slippage formula (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spread_bps: float = Field(2.0, ge=0, le=1000, description="Full bid-ask spread assumed, bps.")
    volatility_coef: float = Field(0.1, ge=0, le=10, description="Multiplier of per-bar σ.")
    impact_coef: float = Field(1.0, ge=0, le=10, description="Square-root impact coefficient.")
    gap_coef: float = Field(0.5, ge=0, le=10, description="Share of an opening gap paid.")
    gap_threshold_bps: float = Field(
        10.0, ge=0, le=10_000, description="Gaps up to this size (bps) cost nothing."
    )
    span: int = Field(20, ge=1, le=10_000, description="EWMA span of σ and volume, in bars.")

    @classmethod
    def preset(cls, name: SlippagePreset | str) -> SlippageParams:
        """The parameters of a named preset."""
        try:
            return PRESETS[SlippagePreset(name)]
        except ValueError:
            known = ", ".join(p.value for p in SlippagePreset)
            raise ValueError(f"unknown slippage preset {name!r}; known: {known}") from None


PRESETS: dict[SlippagePreset, SlippageParams] = {
    SlippagePreset.CONSERVATIVE: SlippageParams(
        spread_bps=4.0,
        volatility_coef=0.2,
        impact_coef=1.5,
        gap_coef=1.0,
        gap_threshold_bps=0.0,
    ),
    SlippagePreset.REALISTIC: SlippageParams(
        spread_bps=2.0,
        volatility_coef=0.1,
        impact_coef=1.0,
        gap_coef=0.5,
        gap_threshold_bps=10.0,
    ),
    SlippagePreset.OPTIMISTIC: SlippageParams(
        spread_bps=1.0,
        volatility_coef=0.0,
        impact_coef=0.5,
        gap_coef=0.1,
        gap_threshold_bps=50.0,
    ),
}
"""The presets' parameters."""


@dataclass(frozen=True, slots=True)
class SlippageCost:
    """The slippage of one fill as fractions of the reference price, term by term."""

    spread: float = 0.0
    volatility: float = 0.0
    impact: float = 0.0
    gap: float = 0.0

    @property
    def total(self) -> float:
        """The whole slippage fraction ``s``."""
        return self.spread + self.volatility + self.impact + self.gap


def parkinson_sigma(high: float, low: float) -> float:
    """Parkinson volatility of one bar: ``ln(H / L) / sqrt(4 ln 2)``."""
    if not (0.0 < low <= high):
        raise ValueError(f"need 0 < low <= high, got low={low} high={high}")
    return math.log(high / low) * math.sqrt(_PARKINSON)


def gap_fraction(open_price: float, previous_close: float | None) -> float:
    """``|open / previous close − 1|`` (0 without a previous close)."""
    if previous_close is None or previous_close <= 0.0:
        return 0.0
    return abs(open_price / previous_close - 1.0)


def slippage_cost(
    params: SlippageParams, *, sigma: float, participation: float, gap: float = 0.0
) -> SlippageCost:
    """The formula of the module doc for given ``σ``, ``qty / V`` and gap ``g``."""
    if sigma < 0 or participation < 0 or gap < 0:
        raise ValueError(
            f"sigma, participation and gap must be >= 0, got {sigma}, {participation}, {gap}"
        )
    excess_gap = max(0.0, gap - params.gap_threshold_bps / 1e4)
    return SlippageCost(
        spread=params.spread_bps / 2.0 / 1e4,
        volatility=params.volatility_coef * sigma,
        impact=params.impact_coef * sigma * math.sqrt(participation),
        gap=params.gap_coef * excess_gap,
    )


def slipped_price(side: Side, price: float, fraction: float) -> float:
    """``price`` moved against the taker by ``fraction``."""
    return price * (1.0 + fraction) if side is Side.BUY else price * (1.0 - fraction)


@dataclass(slots=True)
class BarStats:
    """Exponentially weighted per-bar variance and volume of one series, and its last close."""

    alpha: float
    variance: float = 0.0
    volume: float = 0.0
    last_close: float | None = None
    bars: int = 0

    def update(self, high: float, low: float, close: float, volume: float) -> None:
        """Fold in one closed bar."""
        var = parkinson_sigma(high, low) ** 2
        if self.bars == 0:
            self.variance, self.volume = var, volume
        else:
            a = self.alpha
            self.variance += a * (var - self.variance)
            self.volume += a * (volume - self.volume)
        self.last_close = close
        self.bars += 1

    @property
    def sigma(self) -> float:
        """Per-bar volatility estimate (0 before any bar)."""
        return math.sqrt(self.variance)

    def participation(self, qty: float) -> float:
        """``qty / V`` (0 before any bar; 1 when the average volume is 0)."""
        if self.bars == 0:
            return 0.0
        return qty / self.volume if self.volume > 0.0 else 1.0


class CandleSlippage:
    """Per-symbol bar statistics and the slippage of fills priced from them."""

    def __init__(self, params: SlippageParams) -> None:
        self.params = params
        self._alpha = 2.0 / (params.span + 1.0)
        self._stats: dict[str, BarStats] = {}

    def stats(self, symbol: str) -> BarStats:
        """The statistics of ``symbol`` (empty before its first bar)."""
        found = self._stats.get(symbol)
        if found is None:
            found = self._stats[symbol] = BarStats(self._alpha)
        return found

    def update(self, candle: CandleClosed) -> None:
        """Fold in a closed bar; call it after the fills priced within that bar."""
        self.stats(candle.symbol).update(candle.high, candle.low, candle.close, candle.volume)

    def cost(self, symbol: str, qty: float, *, open_price: float | None = None) -> SlippageCost:
        """Slippage of a taker fill of ``qty``; pass ``open_price`` for a fill at a bar's open
        (the gap term compares it with the last close)."""
        stats = self.stats(symbol)
        gap = 0.0 if open_price is None else gap_fraction(open_price, stats.last_close)
        return slippage_cost(
            self.params, sigma=stats.sigma, participation=stats.participation(qty), gap=gap
        )

    def price(
        self, symbol: str, side: Side, ref: float, qty: float, *, at_open: bool = False
    ) -> tuple[float, SlippageCost]:
        """Fill price of a taker ``side`` order of ``qty`` referenced at ``ref``, and its cost.

        ``at_open``: ``ref`` is the open of a new bar (the gap term applies).
        """
        cost = self.cost(symbol, qty, open_price=ref if at_open else None)
        return slipped_price(side, ref, cost.total), cost
