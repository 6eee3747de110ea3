"""Trading modes, apart from the settings so the engine can name one without loading them."""

from __future__ import annotations

from enum import StrEnum


class TradingMode(StrEnum):
    """How orders are executed."""

    PAPER = "paper"
    LIVE = "live"
    BACKTEST = "backtest"
