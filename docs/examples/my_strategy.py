"""``my_rsi_dip``: a worked example of a user strategy (see docs/strategies-writing.md).

Buy when RSI climbs back above ``oversold`` while the close is above its ``trend_period``
SMA (a dip inside an up-trend); sell when RSI rises above ``overbought`` or the close falls
below the SMA. Put a file like this in your strategy folder and load it with
``mftbot.strategies.loader.load_user_strategies(folder)``.
"""

from __future__ import annotations

import numpy as np

from mftbot.analysis.indicators import rsi, sma
from mftbot.strategies import CandleWindow, Signals, StrategyConfig, register_strategy
from mftbot.strategies.params import (
    AtrStops,
    FloatRange,
    IntRange,
    StopLevels,
    atr_stop_levels,
    settle_bars,
    tunable,
)


class RsiDipConfig(AtrStops, StrategyConfig):
    """Parameters of ``my_rsi_dip``: default, description, bounds and search range each."""

    rsi_period: int = tunable(14, "RSI period (bars).", IntRange(5, 30), ge=2)
    oversold: float = tunable(35.0, "RSI crossing back above this buys.", FloatRange(15.0, 45.0))
    overbought: float = tunable(70.0, "RSI above this sells.", FloatRange(60.0, 85.0))
    trend_period: int = tunable(100, "SMA period of the trend filter.", IntRange(20, 300), ge=2)


class RsiDip:
    """Buy RSI dips above the trend SMA; sell when RSI is overbought or the trend breaks."""

    name = "my_rsi_dip"

    def __init__(self, config: RsiDipConfig | None = None) -> None:
        self.config = config if config is not None else RsiDipConfig()

    @property
    def warmup(self) -> int:
        """Rows before this never signal: RSI (plus the bar before it) and the SMA exist."""
        return max(self.config.rsi_period + 1, self.config.trend_period - 1)

    @property
    def lookback(self) -> int:
        """Bars a live window needs: the warm-up plus RSI's settling time."""
        return self.warmup + settle_bars(self.config.rsi_period) + 1

    def populate(self, window: CandleWindow) -> Signals:
        """Vectorised rules over the whole window; row t reads bars <= t only."""
        c, close = self.config, window.close
        strength = rsi(close, c.rsi_period)
        before = np.concatenate(([np.nan], strength[:-1]))
        trend = sma(close, c.trend_period)
        with np.errstate(invalid="ignore"):
            entry = (before <= c.oversold) & (strength > c.oversold) & (close > trend)
            exit_ = (strength > c.overbought) | (close < trend)
        entry &= ~exit_
        entry[: self.warmup] = False
        exit_[: self.warmup] = False
        depth = np.clip((c.oversold - before) / 10.0, 0.0, 1.0)  # how deep the dip went
        confidence = np.where(entry, 0.5 + 0.5 * depth, np.nan)
        return Signals(entry_long=entry, exit_long=exit_, confidence=confidence)

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances from the config's ATR multiples."""
        return atr_stop_levels(window, self.config)


register_strategy(RsiDip.name, RsiDip, RsiDipConfig, description="RSI dip inside an up-trend")
