"""Risk: the pre-trade interface every order intent passes (a pass-through default for now)."""

from __future__ import annotations

from mftbot.risk.base import (
    InvalidIntentError,
    OrderIntent,
    PassThroughRisk,
    RiskContext,
    RiskDecision,
    RiskEngine,
)

__all__ = [
    "InvalidIntentError",
    "OrderIntent",
    "PassThroughRisk",
    "RiskContext",
    "RiskDecision",
    "RiskEngine",
]
