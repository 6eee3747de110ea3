"""Strategies: the Strategy protocol, the registry, and the built-in strategies.

Importing this package registers every built-in strategy (into :func:`list_strategies` and
into the analysis registry, so ``mftbot check lookahead`` covers them).
"""

from __future__ import annotations

from mftbot.strategies import consensus as _consensus  # noqa: F401  (registers consensus)
from mftbot.strategies import ichimoku as _ichimoku  # noqa: F401  (registers ichimoku_cloud)
from mftbot.strategies import imbalance as _imbalance  # noqa: F401  (registers imbalance)
from mftbot.strategies import liquidity_zone as _liquidity_zone  # noqa: F401  (liquidity_zone)
from mftbot.strategies import momentum as _momentum  # noqa: F401  (registers momentum)
from mftbot.strategies import mtf as _mtf  # noqa: F401  (registers mtf)
from mftbot.strategies import sar_wave as _sar_wave  # noqa: F401  (registers sar_wave)
from mftbot.strategies import sma_cross as _sma_cross  # noqa: F401  (registers sma_cross)
from mftbot.strategies import smart_money as _smart_money  # noqa: F401  (registers smart_money)
from mftbot.strategies import supertrend as _supertrend  # noqa: F401  (registers supertrend_follow)
from mftbot.strategies import volume_flow as _volume_flow  # noqa: F401  (registers volume_flow)
from mftbot.strategies import volume_profile as _volume_profile  # noqa: F401  (registers value_area)
from mftbot.strategies import vwap as _vwap  # noqa: F401  (registers vwap_bands)
from mftbot.strategies.base import (
    ENTRY_LONG,
    ENTRY_SHORT,
    EXIT_LONG,
    EXIT_SHORT,
    STRATEGY_KINDS,
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
    "STRATEGY_KINDS",
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
