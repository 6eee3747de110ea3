"""Risk: the interface every order intent passes, and the rule-based risk engine behind it."""

from __future__ import annotations

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
