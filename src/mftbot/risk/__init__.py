"""Risk: the interface every order intent passes, and the rule-based risk engine behind it.

The names below load on first use (PEP 562), so code that needs only the interface
(:mod:`mftbot.risk.base`) does not import the rule-based engine and its indicators.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mftbot.risk.base import (
        InvalidIntentError,
        OrderIntent,
        PassThroughRisk,
        RiskContext,
        RiskDecision,
        RiskEngine,
        SignalInfo,
        StatefulRiskEngine,
    )
    from mftbot.risk.config import RiskConfig
    from mftbot.risk.engine import RuleBasedRiskEngine
    from mftbot.risk.factory import build_risk_engine, risk_results
    from mftbot.risk.limits import TradingState
    from mftbot.risk.records import RiskAction, RiskRecord

_SOURCES = {
    "InvalidIntentError": "base",
    "OrderIntent": "base",
    "PassThroughRisk": "base",
    "RiskContext": "base",
    "RiskDecision": "base",
    "RiskEngine": "base",
    "SignalInfo": "base",
    "StatefulRiskEngine": "base",
    "RiskConfig": "config",
    "RuleBasedRiskEngine": "engine",
    "build_risk_engine": "factory",
    "risk_results": "factory",
    "TradingState": "limits",
    "RiskAction": "records",
    "RiskRecord": "records",
}

__all__ = [
    "InvalidIntentError",
    "OrderIntent",
    "PassThroughRisk",
    "RiskAction",
    "RiskConfig",
    "RiskContext",
    "RiskDecision",
    "RiskEngine",
    "RiskRecord",
    "RuleBasedRiskEngine",
    "SignalInfo",
    "StatefulRiskEngine",
    "TradingState",
    "build_risk_engine",
    "risk_results",
]


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
