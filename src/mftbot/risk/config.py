"""The typed risk configuration: every rule, sizer, adapter, limit and stop setting.

:class:`RiskConfig` is frozen, rejects unknown keys and accepts a plain dict
(:meth:`RiskConfig.coerce`). Every default is conservative: 0.5 % of equity risked per trade,
no leverage, three open positions at most, halting at a 3 % daily loss or a 15 % drawdown.
:meth:`RiskConfig.from_settings` maps the ``risk:`` section of the application settings onto it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mftbot.core.config import RiskSettings, format_validation_error
from mftbot.core.errors import ConfigError

SizingMethod = Literal["fixed_fractional", "kelly", "volatility_target"]
KellyFraction = Literal["full", "half", "quarter"]
StopMethod = Literal["atr", "support_resistance", "fixed_pct"]
TrailingMethod = Literal["none", "percent", "atr", "chandelier"]

KELLY_MULTIPLIERS: Mapping[str, float] = {"full": 1.0, "half": 0.5, "quarter": 0.25}
"""The fraction of the Kelly bet each setting takes."""

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _bands_ok(bands: tuple[tuple[float, float], ...], what: str) -> tuple[tuple[float, float], ...]:
    """Bands are (upper bound, multiplier) pairs: bounds increasing, multipliers in [0, 1]."""
    if not bands:
        raise ValueError(f"{what} needs at least one band")
    last = -math.inf
    for bound, factor in bands:
        if not (math.isfinite(bound) and bound > last and bound > 0):
            raise ValueError(f"{what} bounds must be finite, > 0 and increasing, got {bound}")
        if not (math.isfinite(factor) and 0.0 <= factor <= 1.0):
            raise ValueError(f"{what} multipliers must be in [0, 1], got {factor}")
        last = bound
    return bands


class MarketSpec(_Section):
    """Exchange rules of one symbol (ccxt market precision and limits); ``None``: no rule."""

    tick_size: float | None = Field(None, gt=0, description="Price increment.")
    lot_size: float | None = Field(None, gt=0, description="Quantity increment (sizes round down).")
    min_qty: float | None = Field(None, gt=0, description="Smallest order quantity.")
    max_qty: float | None = Field(None, gt=0, description="Largest order quantity.")
    min_notional: float | None = Field(None, gt=0, description="Smallest order value, quote.")


class ChecksConfig(_Section):
    """Pre-trade rules."""

    allowed_symbols: tuple[str, ...] = Field((), description="Symbols that may trade; empty: all.")
    fee_rate: float = Field(0.001, ge=0, lt=0.1, description="Fee rate assumed per side.")
    min_notional: float = Field(5.0, ge=0, description="Smallest order value, quote currency.")
    max_notional: float = Field(100_000.0, gt=0, description="Largest order value, quote.")
    max_price_deviation: float = Field(
        0.05, gt=0, le=0.5, description="Refuse prices this far from the last price (fat finger)."
    )
    max_open_positions: int = Field(3, ge=1, le=100, description="Open positions at most.")
    max_symbol_exposure: float = Field(
        1.0, gt=0, le=20, description="Position value in one symbol at most, × equity."
    )
    max_leverage: float = Field(
        1.0, ge=1.0, le=20.0, description="Gross exposure at most, × equity; 1 = none."
    )
    max_daily_trades: int = Field(20, ge=1, description="New entries per trading day at most.")
    max_risk_per_trade: float = Field(
        0.01, gt=0, le=0.1, description="Hard cap on the loss at the stop, × equity."
    )
    max_data_age_s: float = Field(
        120.0, gt=0, description="Refuse entries when the symbol's data is older (seconds)."
    )
    block_on_manipulation: bool = Field(
        True, description="Refuse entries while a manipulation pattern is active."
    )
    manipulation_min_confidence: float = Field(
        0.0, ge=0, le=1, description="Only patterns at least this confident block."
    )
    block_weekend: bool = Field(False, description="Refuse entries on Saturday and Sunday (UTC).")
    blocked_hours_utc: tuple[int, ...] = Field(
        (), description="UTC hours (0-23) in which entries are refused (overnight rule)."
    )

    @field_validator("blocked_hours_utc")
    @classmethod
    def _hours(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [h for h in value if not 0 <= h <= 23]
        if bad:
            raise ValueError(f"hours must be 0..23, got {bad}")
        return value

    @model_validator(mode="after")
    def _notional_order(self) -> ChecksConfig:
        if self.min_notional >= self.max_notional:
            raise ValueError(
                f"min_notional ({self.min_notional}) must be below max_notional "
                f"({self.max_notional})"
            )
        return self


class SizingConfig(_Section):
    """Position sizing: the methods whose minimum (after multipliers) is the size."""

    methods: tuple[SizingMethod, ...] = Field(
        ("fixed_fractional", "kelly", "volatility_target"),
        description="Sizers; the smallest size wins.",
    )
    risk_per_trade: float = Field(
        0.005, gt=0, le=0.05, description="Fixed fractional: equity fraction lost at the stop."
    )
    kelly_fraction: KellyFraction = Field("half", description="full, half or quarter Kelly.")
    kelly_cap: float = Field(
        0.02, gt=0, le=0.25, description="Kelly risk fraction at most (× equity at the stop)."
    )
    kelly_min_trades: int = Field(30, ge=2, description="Recorded trades needed to use Kelly.")
    kelly_window: int = Field(200, ge=2, description="Most recent trades Kelly looks at.")
    vol_target: float = Field(
        0.20, gt=0, le=5, description="Volatility targeting: annualised volatility of a position."
    )
    vol_window: int = Field(100, ge=5, description="Bars of returns for realised volatility.")
    vol_min_obs: int = Field(30, ge=5, description="Returns needed before volatility targeting.")
    max_position_fraction: float = Field(
        1.0, gt=0, le=20, description="Position value at most, × equity."
    )
    enabled: bool = Field(True, description="Size entries (else only check them).")

    @field_validator("methods")
    @classmethod
    def _some_method(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one sizing method")
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate sizing methods in {value}")
        return value


class AdaptersConfig(_Section):
    """Size multipliers."""

    vol_bands: tuple[tuple[float, float], ...] = Field(
        ((0.01, 1.0), (0.02, 0.75), (0.04, 0.5)),
        description="(ATR % upper bound, multiplier); above the top band entries halt.",
    )
    atr_period: int = Field(14, ge=1, description="ATR period of the volatility adapter.")
    drawdown_bands: tuple[tuple[float, float], ...] = Field(
        ((0.05, 1.0), (0.10, 0.5)),
        description="(drawdown upper bound, multiplier); beyond the top band: drawdown_floor.",
    )
    drawdown_floor: float = Field(0.25, ge=0, le=1, description="Multiplier past every band.")
    equity_ma_points: int = Field(50, ge=2, description="Equity points in the equity-curve MA.")
    equity_below_ma_factor: float = Field(
        0.5, ge=0, le=1, description="Multiplier while equity is below its moving average."
    )
    weekend_factor: float = Field(0.5, ge=0, le=1, description="Multiplier on Sat/Sun (UTC).")
    overnight_hours_utc: tuple[int, ...] = Field((), description="UTC hours taken as overnight.")
    overnight_factor: float = Field(0.75, ge=0, le=1, description="Multiplier overnight.")
    min_confidence: float = Field(
        0.0, ge=0, le=1, description="Signals less confident than this size to zero."
    )
    mtf_min_agreement: float = Field(
        0.5, ge=0, le=1, description="Timeframe agreement below this sizes to zero."
    )

    @field_validator("vol_bands")
    @classmethod
    def _vol(cls, value: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        return _bands_ok(value, "vol_bands")

    @field_validator("drawdown_bands")
    @classmethod
    def _dd(cls, value: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        return _bands_ok(value, "drawdown_bands")

    @field_validator("overnight_hours_utc")
    @classmethod
    def _hours(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [h for h in value if not 0 <= h <= 23]
        if bad:
            raise ValueError(f"hours must be 0..23, got {bad}")
        return value


class PortfolioConfig(_Section):
    """Correlation-aware portfolio risk."""

    enabled: bool = Field(True, description="Apply the portfolio risk rule to entries.")
    corr_window: int = Field(240, ge=10, description="Bars of returns in the correlation matrix.")
    min_obs: int = Field(30, ge=5, description="Common returns needed to trust a correlation.")
    default_correlation: float = Field(
        1.0, ge=-1, le=1, description="Correlation assumed when there is too little data."
    )
    max_portfolio_risk: float = Field(
        0.01, gt=0, le=0.5, description="Effective risk √(rᵀCr) at most, × equity."
    )
    cluster_threshold: float = Field(
        0.7, gt=0, le=1, description="Correlation at which two symbols share a cluster."
    )
    max_cluster_risk: float = Field(
        0.01, gt=0, le=0.5, description="Summed risk of one correlated cluster at most."
    )
    min_scale: float = Field(
        0.1, gt=0, le=1, description="An entry cut below this fraction is refused instead."
    )


class LimitsConfig(_Section):
    """Loss limits and the trading state (NORMAL / REDUCING / HALTED)."""

    daily_loss_limit: float = Field(
        0.03, gt=0, le=0.5, description="Halt after losing this fraction of the day's start equity."
    )
    daily_loss_abs: float | None = Field(
        None, gt=0, description="Halt after losing this much (quote) in a day; None: off."
    )
    daily_reset_utc: str = Field("00:00", description="UTC time (HH:MM) a trading day starts.")
    max_consecutive_losses: int = Field(
        5, ge=1, description="Halt after this many losses in a row."
    )
    reduce_after_losses: int = Field(3, ge=1, description="Reduce after this many losses in a row.")
    max_drawdown: float = Field(
        0.15, gt=0, le=0.9, description="Halt at this drawdown from the equity peak."
    )
    reduce_at: float = Field(
        0.5, gt=0, le=1, description="Reduce once a loss limit is this far used (0.5 = half)."
    )
    reducing_factor: float = Field(0.5, gt=0, le=1, description="Size multiplier while REDUCING.")
    auto_resume: bool = Field(
        False, description="Daily-loss and loss-streak halts clear at the next trading day."
    )
    state_file: Path = Field(
        Path(".risk_state.json"), description="Where HALTED is persisted until a reset."
    )

    @field_validator("daily_reset_utc")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"must be HH:MM (UTC), got {value!r}")
        return value

    @model_validator(mode="after")
    def _streaks(self) -> LimitsConfig:
        if self.reduce_after_losses > self.max_consecutive_losses:
            raise ValueError(
                f"reduce_after_losses ({self.reduce_after_losses}) must not exceed "
                f"max_consecutive_losses ({self.max_consecutive_losses})"
            )
        return self

    @property
    def daily_reset_ns(self) -> int:
        """Offset of the day boundary from 00:00 UTC, ns."""
        hours, minutes = (int(p) for p in self.daily_reset_utc.split(":"))
        return (hours * 60 + minutes) * 60 * 1_000_000_000


class KillSwitchConfig(_Section):
    """The kill-switch file."""

    file: Path = Field(Path(".kill_switch"), description="Creating this file stops new entries.")
    check_interval_ms: int = Field(
        250, ge=1, le=1000, description="Look for the file at most this often (clock ms)."
    )
    flatten: bool = Field(False, description="Also close every open position when it appears.")


class StopsConfig(_Section):
    """Stop-loss, take-profit, trailing stops and the reversal detector."""

    method: StopMethod = Field(
        "atr", description="Initial stop: atr, support_resistance, fixed_pct."
    )
    atr_period: int = Field(14, ge=1, description="ATR period for stops.")
    atr_mult: float = Field(2.0, gt=0, description="ATR stop distance, × ATR.")
    fixed_pct: float = Field(
        0.02, gt=0, lt=1, description="Fixed-% stop; also the fallback without ATR."
    )
    sr_buffer: float = Field(0.002, ge=0, lt=0.5, description="Margin beyond a level, × price.")
    take_profit_r: float | None = Field(
        2.0, gt=0, description="Take profit at this multiple of the initial risk; None: none."
    )
    trailing: TrailingMethod = Field("none", description="none, percent, atr or chandelier.")
    trail_pct: float = Field(0.02, gt=0, lt=1, description="Percent trailing distance.")
    trail_atr_mult: float = Field(3.0, gt=0, description="ATR trailing distance, × ATR.")
    chandelier_period: int = Field(22, ge=1, description="Chandelier extreme lookback, bars.")
    chandelier_mult: float = Field(3.0, gt=0, description="Chandelier distance, × ATR.")
    break_even_r: float | None = Field(
        1.0, gt=0, description="Move the stop to entry after this many R in profit; None: never."
    )
    close_on_reversal: bool = Field(False, description="Exit early when a reversal is detected.")
    reversal_lookback: int = Field(3, ge=1, description="Bars whose extreme a reversal breaks.")
    reversal_body_atr: float = Field(
        1.0, gt=0, description="Reversal bar body at least this many ATR."
    )
    monitor: bool = Field(True, description="Watch open positions and emit exit intents.")


class RiskConfig(_Section):
    """Everything the rule-based risk engine needs."""

    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    sizing: SizingConfig = Field(default_factory=SizingConfig)
    adapters: AdaptersConfig = Field(default_factory=AdaptersConfig)
    portfolio: PortfolioConfig = Field(default_factory=PortfolioConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    kill_switch: KillSwitchConfig = Field(default_factory=KillSwitchConfig)
    stops: StopsConfig = Field(default_factory=StopsConfig)
    markets: dict[str, MarketSpec] = Field(
        default_factory=dict, description="Exchange rules by symbol (ccxt form)."
    )

    @model_validator(mode="after")
    def _risk_under_cap(self) -> RiskConfig:
        if self.sizing.risk_per_trade > self.checks.max_risk_per_trade:
            raise ValueError(
                f"sizing.risk_per_trade ({self.sizing.risk_per_trade}) exceeds "
                f"checks.max_risk_per_trade ({self.checks.max_risk_per_trade})"
            )
        return self

    def market(self, symbol: str) -> MarketSpec:
        """The rules of ``symbol`` (no rules when it is not listed)."""
        return self.markets.get(symbol) or MarketSpec()

    @classmethod
    def coerce(cls, value: RiskConfig | Mapping[str, Any] | None) -> RiskConfig:
        """A config from itself, a (nested) dict, or ``None`` (the defaults).

        Raises :class:`ConfigError` naming each bad field and the reason.
        """
        if value is None:
            return cls()
        if isinstance(value, RiskConfig):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"risk config must be a RiskConfig or a dict, got {type(value)}")
        try:
            return cls.model_validate(dict(value))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, "risk")) from exc

    @classmethod
    def from_settings(
        cls, settings: RiskSettings, overrides: Mapping[str, Any] | None = None
    ) -> RiskConfig:
        """The config implied by the application's ``risk:`` settings, then ``overrides``."""
        data: dict[str, Any] = {
            "checks": {
                "max_leverage": settings.max_leverage,
                "max_open_positions": settings.max_open_positions,
                "max_price_deviation": settings.max_price_deviation,
                "max_risk_per_trade": max(0.01, settings.risk_per_trade),
            },
            "sizing": {"risk_per_trade": settings.risk_per_trade},
            "limits": {
                "daily_loss_limit": settings.daily_loss_limit,
                "max_drawdown": settings.max_drawdown,
            },
            "kill_switch": {"file": settings.kill_switch_file},
        }
        for section, values in (overrides or {}).items():
            if isinstance(values, Mapping) and isinstance(data.get(section), dict):
                data[section] = {**data[section], **values}
            else:
                data[section] = values
        return cls.coerce(data)
