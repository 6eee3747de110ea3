"""Backtesting: the quick single-strategy backtest (:func:`backtest`), metrics, reports,
Monte Carlo. ``from mftbot.backtest import backtest`` loads the engine on first use only, so
importing a light submodule (``mftbot.backtest.metrics``) does not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mftbot.backtest.api import BacktestError, BacktestResult, backtest

__all__ = ["BacktestError", "BacktestResult", "backtest"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mftbot.backtest import api

        return getattr(api, name)
    raise AttributeError(f"module 'mftbot.backtest' has no attribute {name!r}")
