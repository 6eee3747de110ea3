"""Maker/taker fee schedules per venue and market type.

A fee is ``notional × rate`` in the quote (settlement) currency, ``rate`` being the schedule's
``maker`` rate for a fill that rested on the book and ``taker`` for one that took liquidity. A
negative rate is a rebate.

Defaults are each venue's base tier (no VIP level, no BNB/token discount), as published:

=====================  ========  ========  ================================================
venue / market          maker     taker     source
=====================  ========  ========  ================================================
Binance spot            0.100 %   0.100 %   binance.com/en/fee/schedule, "Regular user";
                                            0.075 % each when paying in BNB (25 % off).
Binance USDⓈ-M perps    0.020 %   0.050 %   Binance FAQ 360033544231 "Binance Futures Fee
                                            Structure", Regular tier; 10 % off with BNB.
Bybit spot              0.100 %   0.100 %   Bybit help centre "Trading Fee Structure", VIP 0.
Bybit perps/futures     0.020 %   0.055 %   same page, "Perpetual & Futures", VIP 0.
=====================  ========  ========  ================================================

Fee rates change and differ by region and VIP level: pass a :class:`FeeTable` with the
account's own rates where they matter.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mftbot.domain.enums import Venue
from mftbot.domain.fills import Liquidity

MAX_FEE_RATE = 0.01
"""Largest fee rate (or rebate) accepted: 1 % of notional; anything beyond is a typo."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketType(StrEnum):
    """Spot (``BASE/QUOTE``) or a linear derivative (``BASE/QUOTE:SETTLE``)."""

    SPOT = "spot"
    LINEAR = "linear"


def market_type(symbol: str) -> MarketType:
    """``"BTC/USDT"`` → spot, ``"BTC/USDT:USDT"`` → linear (ccxt unified symbols)."""
    return MarketType.LINEAR if ":" in symbol else MarketType.SPOT


class FeeSchedule(_Frozen):
    """Maker and taker rates of one market (fractions of notional: 0.001 = 0.1 %)."""

    maker: float = Field(
        0.001, ge=-MAX_FEE_RATE, le=MAX_FEE_RATE, description="Rate on resting fills."
    )
    taker: float = Field(
        0.001, ge=-MAX_FEE_RATE, le=MAX_FEE_RATE, description="Rate on liquidity-taking fills."
    )

    @classmethod
    def flat(cls, rate: float) -> FeeSchedule:
        """The same rate for makers and takers."""
        return cls(maker=rate, taker=rate)

    def rate(self, liquidity: Liquidity) -> float:
        """The rate that applies to a fill with this liquidity."""
        return self.maker if liquidity is Liquidity.MAKER else self.taker

    def fee(self, notional: float, liquidity: Liquidity) -> float:
        """Fee on a fill of ``notional`` (quote currency)."""
        return notional * (self.maker if liquidity is Liquidity.MAKER else self.taker)

    @property
    def max_rate(self) -> float:
        """The larger of the two rates (what a venue reserves for an order of unknown kind)."""
        return max(self.maker, self.taker)


BINANCE_SPOT = FeeSchedule(maker=0.001, taker=0.001)
"""Binance spot, Regular user: 0.1 % / 0.1 %."""
BINANCE_USDM = FeeSchedule(maker=0.0002, taker=0.0005)
"""Binance USDⓈ-M futures, Regular tier: 0.02 % / 0.05 %."""
BYBIT_SPOT = FeeSchedule(maker=0.001, taker=0.001)
"""Bybit spot, VIP 0: 0.1 % / 0.1 %."""
BYBIT_LINEAR = FeeSchedule(maker=0.0002, taker=0.00055)
"""Bybit perpetual and futures contracts, VIP 0: 0.02 % / 0.055 %."""

DEFAULT_FEES: MappingProxyType[tuple[str, MarketType], FeeSchedule] = MappingProxyType(
    {
        (Venue.BINANCE.value, MarketType.SPOT): BINANCE_SPOT,
        (Venue.BINANCE.value, MarketType.LINEAR): BINANCE_USDM,
        (Venue.BINANCE_USDM.value, MarketType.LINEAR): BINANCE_USDM,
        (Venue.BYBIT.value, MarketType.SPOT): BYBIT_SPOT,
        (Venue.BYBIT.value, MarketType.LINEAR): BYBIT_LINEAR,
    }
)
"""Base-tier schedules by (venue id, market type)."""


def default_fees(venue: str, kind: MarketType) -> FeeSchedule:
    """The base-tier schedule of ``venue`` for ``kind``; ``ValueError`` when none is known."""
    found = DEFAULT_FEES.get((venue, kind))
    if found is None:
        known = ", ".join(f"{v}/{k.value}" for v, k in DEFAULT_FEES)
        raise ValueError(f"no default fees for {venue}/{kind.value}; known: {known}")
    return found


class FeeTable(_Frozen):
    """Which schedule a symbol pays: per-symbol overrides, then per-market-type overrides,
    then the defaults of ``venue``."""

    venue: str = Field(
        Venue.BINANCE.value, description="Venue whose base-tier fees are the defaults."
    )
    spot: FeeSchedule | None = Field(None, description="Override for every spot symbol.")
    linear: FeeSchedule | None = Field(None, description="Override for every linear derivative.")
    symbols: dict[str, FeeSchedule] = Field(
        default_factory=dict, description="Overrides for single symbols (ccxt unified)."
    )

    @model_validator(mode="after")
    def _venue_known(self) -> FeeTable:
        known = sorted({venue for venue, _ in DEFAULT_FEES})
        if self.venue not in known and (self.spot is None or self.linear is None):
            raise ValueError(
                f"venue {self.venue!r} has no default fees (known: {', '.join(known)}); "
                "give both the spot and the linear schedules"
            )
        return self

    @classmethod
    def flat(cls, rate: float) -> FeeTable:
        """One rate for every symbol, maker and taker alike (a candle backtest's ``fee``)."""
        schedule = FeeSchedule.flat(rate)
        return cls(spot=schedule, linear=schedule)

    def for_symbol(self, symbol: str) -> FeeSchedule:
        """The schedule ``symbol`` pays."""
        found = self.symbols.get(symbol)
        if found is not None:
            return found
        kind = market_type(symbol)
        override = self.spot if kind is MarketType.SPOT else self.linear
        return override if override is not None else default_fees(self.venue, kind)
