"""Typed configuration of the synthetic market; every field has a default and a description."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mftbot.data.synthetic.timeframes import timeframe_ns


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def decimals_of(step: float) -> int:
    """Number of decimals needed to print multiples of ``step`` exactly (0.01 -> 2)."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


class InstrumentSpec(_Model):
    """One symbol's starting price, precision and volatility."""

    price: float = Field(100.0, gt=0, description="Starting price in quote currency.")
    tick_size: float = Field(0.01, gt=0, description="Price increment.")
    lot_size: float = Field(0.01, gt=0, description="Size increment in base currency.")
    volatility: float = Field(
        0.6, gt=0, le=5, description="Long-run annualised volatility of the latent price."
    )

    @model_validator(mode="after")
    def _enough_ticks(self) -> InstrumentSpec:
        if self.price / self.tick_size < 1000:
            raise ValueError(
                f"price {self.price} is only {self.price / self.tick_size:.0f} ticks of "
                f"{self.tick_size}; at least 1000 ticks are needed"
            )
        for name, step in (("tick_size", self.tick_size), ("lot_size", self.lot_size)):
            if decimals_of(step) > 12:
                raise ValueError(f"{name} {step} has more than 12 decimals")
        return self


def _default_instruments() -> dict[str, InstrumentSpec]:
    return {
        "BTC/USDT": InstrumentSpec(price=60_000.0, tick_size=0.01, lot_size=0.0001, volatility=0.5),
        "ETH/USDT": InstrumentSpec(price=3_000.0, tick_size=0.01, lot_size=0.001, volatility=0.65),
    }


class LatentConfig(_Model):
    """The latent (fundamental) price: regime-switching stochastic volatility with jumps."""

    step_ms: int = Field(250, ge=1, le=60_000, description="Grid step of the latent price, ms.")
    market_correlation: float = Field(
        0.7, ge=0, le=1, description="Correlation of latent returns between any two symbols."
    )
    regime_multipliers: tuple[float, float, float] = Field(
        (0.6, 1.0, 2.5), description="Relative volatility of the calm, normal and burst regimes."
    )
    regime_mean_duration_s: tuple[float, float, float] = Field(
        (1200.0, 2400.0, 300.0), description="Mean time spent in each regime, s."
    )
    vol_of_vol: float = Field(
        0.35, ge=0, le=2, description="Stationary std of the fast log-volatility OU factor."
    )
    vol_half_life_s: float = Field(
        600.0, gt=0, description="Half-life of the fast log-volatility OU factor, s."
    )
    slow_vol_of_vol: float = Field(
        0.35, ge=0, le=2, description="Stationary std of the slow log-volatility OU factor."
    )
    slow_vol_half_life_s: float = Field(
        172_800.0, gt=0, description="Half-life of the slow log-volatility OU factor, s."
    )
    jump_rate_per_day: float = Field(6.0, ge=0, description="Mean number of price jumps a day.")
    jump_size_bps: float = Field(20.0, ge=0, description="Std of a jump's log size, bps.")

    @field_validator("regime_multipliers", "regime_mean_duration_s")
    @classmethod
    def _positive(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(v <= 0 for v in value):
            raise ValueError("every value must be > 0")
        return value


class FlowConfig(_Model):
    """Order flow of the non-market-maker agents; rates are per second per symbol."""

    noise_market_rate: float = Field(2.0, ge=0, description="Noise market orders per second.")
    noise_limit_rate: float = Field(3.5, ge=0, description="Noise limit orders per second.")
    noise_limit_inside_prob: float = Field(
        0.2, ge=0, le=1, description="Chance a noise limit order improves the spread."
    )
    noise_limit_distance_bps: float = Field(
        3.0, gt=0, description="Mean distance of a noise limit order behind its best, bps."
    )
    noise_limit_lifetime_s: float = Field(
        20.0, gt=0, description="Mean time a noise limit order rests before it is cancelled, s."
    )
    order_notional: float = Field(
        300.0, gt=0, description="Median notional of a noise order, quote currency."
    )
    order_notional_sigma: float = Field(
        1.0, ge=0, le=3, description="Log-std of order notionals (lognormal sizes)."
    )
    momentum_rate: float = Field(1.0, ge=0, description="Momentum-trader decisions per second.")
    momentum_horizon_s: float = Field(
        60.0, gt=0, description="EMA horizon of the momentum signal, s."
    )
    momentum_z_scale: float = Field(
        2.0, gt=0, description="Trend z-score at which a momentum trader trades with p=0.76."
    )
    momentum_size_multiple: float = Field(
        1.5, gt=0, description="Momentum order notional relative to a noise order."
    )
    large_order_rate_per_hour: float = Field(6.0, ge=0, description="Large orders per hour.")
    large_order_multiple: float = Field(
        100.0, gt=0, description="Median large-order notional relative to a noise order."
    )
    large_order_max_children: int = Field(
        6, ge=1, le=100, description="A large order is split into 1..N child market orders."
    )
    large_order_child_gap_s: float = Field(
        2.0, gt=0, description="Mean gap between child orders of a large order, s."
    )
    activity_vol_elasticity: float = Field(
        1.0, ge=0, le=3, description="Event rates scale as (volatility / average)^elasticity."
    )
    max_slippage_bps: float = Field(
        50.0, gt=0, description="A market order walks the book at most this far from the best."
    )


class MarketMakerConfig(_Model):
    """Market makers quoting ladders around the latent price, skewed by inventory."""

    count: int = Field(3, ge=1, le=20, description="Market makers per symbol.")
    requote_rate: float = Field(3.0, gt=0, description="Requotes per second of the first maker.")
    half_spread_bps: float = Field(
        1.0, gt=0, description="Half-spread of the first maker at average volatility, bps."
    )
    spread_vol_elasticity: float = Field(
        1.0, ge=0, le=3, description="Half-spread scales as (volatility / average)^elasticity."
    )
    level_spacing_bps: float = Field(1.0, gt=0, description="Gap between ladder levels, bps.")
    levels: int = Field(10, ge=1, le=100, description="Ladder levels per side per maker.")
    level_notional: float = Field(
        10_000.0, gt=0, description="Notional of the first maker's best level, quote currency."
    )
    level_growth: float = Field(
        1.2, ge=1, le=3, description="Each deeper level is this many times larger."
    )
    max_inventory_notional: float = Field(
        100_000.0, gt=0, description="Inventory (quote) at which the first maker stops adding."
    )
    skew_bps: float = Field(
        2.0, ge=0, description="Shift of the quote centre at maximum inventory, bps."
    )
    take_edge: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Makers take quotes beyond their centre by this fraction of their half-spread.",
    )
    heterogeneity: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Maker i: spread, spacing *(1 + h*i), requote rate /(1 + h*i), sizes *(1+i).",
    )


class SyntheticMarketConfig(_Model):
    """Everything the synthetic market generator needs besides symbols and seed."""

    venue: str = Field("sim", min_length=1, description="Venue id written on every event.")
    instruments: dict[str, InstrumentSpec] = Field(
        default_factory=_default_instruments,
        description="Per-symbol price, tick, lot and volatility; others use default_instrument.",
    )
    default_instrument: InstrumentSpec = Field(
        default_factory=InstrumentSpec, description="Spec of any symbol not in instruments."
    )
    timeframes: tuple[str, ...] = Field(
        ("1m",), description="Timeframes of the CandleClosed events built from the trades."
    )
    emit_quotes: bool = Field(False, description="Also emit a QuoteTick when the top changes.")
    activity: float = Field(
        1.0, gt=0, le=100, description="Multiplier of every event rate (0.1 = ten times quieter)."
    )
    latency_min_ms: float = Field(1.0, ge=0, description="Minimum ts_recv - ts_event, ms.")
    latency_mean_extra_ms: float = Field(
        2.0, ge=0, description="Mean exponential jitter on top of the minimum latency, ms."
    )
    timestamp_resolution_ns: int = Field(
        1_000_000, ge=1, le=1_000_000_000, description="ts_event is floored to this (1 ms: Bybit)."
    )
    latent: LatentConfig = Field(default_factory=LatentConfig)
    flow: FlowConfig = Field(default_factory=FlowConfig)
    makers: MarketMakerConfig = Field(default_factory=MarketMakerConfig)

    @field_validator("timeframes")
    @classmethod
    def _known_timeframes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tf in value:
            timeframe_ns(tf)
        if len(set(value)) != len(value):
            raise ValueError("timeframes must be unique")
        return tuple(sorted(value, key=timeframe_ns))

    @model_validator(mode="after")
    def _aligned_timeframes(self) -> SyntheticMarketConfig:
        for tf in self.timeframes:
            if timeframe_ns(tf) % self.timestamp_resolution_ns:
                raise ValueError(
                    f"timeframe {tf} is not a multiple of timestamp_resolution_ns "
                    f"{self.timestamp_resolution_ns}"
                )
        return self

    def instrument(self, symbol: str) -> InstrumentSpec:
        """Spec of ``symbol``: exact entry, else its spot form (``BTC/USDT:USDT``), else default."""
        if symbol in self.instruments:
            return self.instruments[symbol]
        spot = symbol.split(":", 1)[0]
        return self.instruments.get(spot, self.default_instrument)
