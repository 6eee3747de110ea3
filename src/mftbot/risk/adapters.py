"""Size multipliers in [0, 1], each with its reason: volatility (ATR % bands, halt above the
top band), drawdown bands, the equity curve against its moving average, weekend / overnight
gap protection, signal confidence, multi-timeframe agreement and the trading state."""

from __future__ import annotations

import math
from collections.abc import Sequence

from mftbot.risk.calendar import is_weekend, utc_hour
from mftbot.risk.config import AdaptersConfig
from mftbot.risk.limits import TradingState
from mftbot.risk.results import Factor, RiskError, money, num, pct


def _band(value: float, bands: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """The first (bound, multiplier) band with ``value ≤ bound``; ``None`` past the top."""
    for bound, factor in bands:
        if value <= bound:
            return bound, factor
    return None


def volatility_factor(atr: float, price: float, config: AdaptersConfig) -> Factor:
    """ATR % of price looked up in ``vol_bands``; 0 (entries halt) above the top band."""
    if not (math.isfinite(price) and price > 0):
        raise RiskError(f"price must be finite and > 0, got {price}")
    if not math.isfinite(atr):
        return Factor("volatility", 1.0, "ATR unknown (warm-up): no adjustment")
    atr_pct = atr / price
    band = _band(atr_pct, config.vol_bands)
    if band is None:
        top = config.vol_bands[-1][0]
        return Factor("volatility", 0.0, f"ATR {pct(atr_pct)} above the top band {pct(top)}: halt")
    return Factor("volatility", band[1], f"ATR {pct(atr_pct)} ≤ {pct(band[0])} → ×{band[1]:g}")


def drawdown_factor(drawdown: float, config: AdaptersConfig) -> Factor:
    """Drawdown from the peak looked up in ``drawdown_bands`` (``drawdown_floor`` past them)."""
    if not (math.isfinite(drawdown) and drawdown >= 0):
        raise RiskError(f"drawdown must be finite and ≥ 0, got {drawdown}")
    band = _band(drawdown, config.drawdown_bands)
    if band is None:
        top = config.drawdown_bands[-1][0]
        floor = config.drawdown_floor
        return Factor("drawdown", floor, f"drawdown {pct(drawdown)} > {pct(top)} → ×{floor:g}")
    return Factor("drawdown", band[1], f"drawdown {pct(drawdown)} ≤ {pct(band[0])} → ×{band[1]:g}")


def equity_curve_factor(points: Sequence[float], config: AdaptersConfig) -> Factor:
    """``equity_below_ma_factor`` while the last equity is below the mean of the last
    ``equity_ma_points`` points; 1 until that many points exist."""
    n = config.equity_ma_points
    if len(points) < n:
        return Factor("equity_curve", 1.0, f"{len(points)} equity points < {n}: no adjustment")
    window = points[-n:]
    mean = math.fsum(window) / n
    last = window[-1]
    if last < mean:
        f = config.equity_below_ma_factor
        return Factor(
            "equity_curve",
            f,
            f"equity {money(last)} below its {n}-point mean {money(mean)} → ×{f:g}",
        )
    return Factor("equity_curve", 1.0, f"equity {money(last)} ≥ its {n}-point mean {money(mean)}")


def weekend_factor(ts: int, config: AdaptersConfig) -> Factor:
    """Gap protection: ``weekend_factor`` on Saturday and Sunday (UTC)."""
    if is_weekend(ts):
        f = config.weekend_factor
        return Factor("weekend", f, f"weekend (UTC) → ×{f:g}")
    return Factor("weekend", 1.0, "weekday")


def overnight_factor(ts: int, config: AdaptersConfig) -> Factor:
    """Gap protection: ``overnight_factor`` in the ``overnight_hours_utc``."""
    hour = utc_hour(ts)
    if hour in config.overnight_hours_utc:
        f = config.overnight_factor
        return Factor("overnight", f, f"{hour:02d}:00 UTC is overnight → ×{f:g}")
    return Factor("overnight", 1.0, f"{hour:02d}:00 UTC is not overnight")


def confidence_factor(confidence: float, config: AdaptersConfig) -> Factor:
    """The signal's confidence in [0, 1] as the multiplier; 0 below ``min_confidence``."""
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise RiskError(f"signal confidence must be in [0, 1], got {confidence}")
    if confidence < config.min_confidence:
        return Factor(
            "confidence",
            0.0,
            f"confidence {num(confidence)} < minimum {num(config.min_confidence)}",
        )
    return Factor("confidence", confidence, f"confidence {num(confidence)}")


def mtf_factor(agreement: float, config: AdaptersConfig) -> Factor:
    """The share of timeframes agreeing with the signal as the multiplier; 0 below
    ``mtf_min_agreement``."""
    if not (math.isfinite(agreement) and 0.0 <= agreement <= 1.0):
        raise RiskError(f"timeframe agreement must be in [0, 1], got {agreement}")
    if agreement < config.mtf_min_agreement:
        return Factor(
            "mtf", 0.0, f"timeframe agreement {pct(agreement)} < {pct(config.mtf_min_agreement)}"
        )
    return Factor("mtf", agreement, f"timeframe agreement {pct(agreement)}")


def state_factor(state: TradingState, reducing_factor: float) -> Factor:
    """1 when NORMAL, ``reducing_factor`` when REDUCING, 0 when HALTED."""
    if state is TradingState.HALTED:
        return Factor("trading_state", 0.0, "trading halted")
    if state is TradingState.REDUCING:
        return Factor("trading_state", reducing_factor, f"reducing → ×{reducing_factor:g}")
    return Factor("trading_state", 1.0, "normal")
