"""Strategies: the Strategy protocol, the registry, and the built-in strategies.

Importing this package registers every built-in strategy (into :func:`list_strategies` and
into the analysis registry, so ``mftbot check lookahead`` covers them).
"""

from __future__ import annotations

from mftbot.strategies import sma_cross as _sma_cross  # noqa: F401  (registers sma_cross)
from mftbot.strategies.base import (
    ENTRY_LONG,
    ENTRY_SHORT,
    EXIT_LONG,
    EXIT_SHORT,
    CandleWindow,
    Signals,
    Strategy,
    StrategyConfig,
    StrategyConfigError,
    StrategyError,
    StrategySpec,
    get_strategy,
    list_strategies,
    register_strategy,
    strategy_spec,
    unregister_strategy,
)

__all__ = [
    "ENTRY_LONG",
    "ENTRY_SHORT",
    "EXIT_LONG",
    "EXIT_SHORT",
    "CandleWindow",
    "Signals",
    "Strategy",
    "StrategyConfig",
    "StrategyConfigError",
    "StrategyError",
    "StrategySpec",
    "get_strategy",
    "list_strategies",
    "register_strategy",
    "strategy_spec",
    "unregister_strategy",
]
