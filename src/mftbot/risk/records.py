"""The record of every risk decision: approvals, resizes, rejections, the exits and flattens the
risk engine asks for itself, and trading-state changes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mftbot.risk.base import OrderIntent
from mftbot.risk.results import RuleResult

if TYPE_CHECKING:  # annotations only: importing them loads the risk config (pydantic settings)
    from mftbot.risk.portfolio_risk import PortfolioRiskResult
    from mftbot.risk.sizing import SizingResult


class RiskAction(StrEnum):
    """What a record is about."""

    APPROVED = "approved"
    """Sent unchanged."""
    RESIZED = "resized"
    """Sent smaller than asked."""
    REJECTED = "rejected"
    EXIT = "exit"
    """An exit the position monitor asks for (stop, target, trailing stop, reversal)."""
    FLATTEN = "flatten"
    """A close the kill switch asks for."""
    STATE = "state"
    """The trading state changed (or was restored or reset)."""


@dataclass(frozen=True, slots=True)
class RiskRecord:
    """One decision with its reasons and numbers."""

    ts: int
    action: RiskAction
    reason: str
    strategy: str = ""
    symbol: str = ""
    intent_kind: str = ""
    side: str = ""
    requested_qty: float | None = None
    final_qty: float | None = None
    rules: tuple[RuleResult, ...] = ()
    sizing: SizingResult | None = None
    portfolio: PortfolioRiskResult | None = None
    trading_state: str = ""

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        """The rules that failed."""
        return tuple(r for r in self.rules if not r.passed)

    @classmethod
    def for_intent(
        cls,
        ts: int,
        action: RiskAction,
        reason: str,
        intent: OrderIntent,
        *,
        requested_qty: float | None = None,
        final_qty: float | None = None,
        rules: tuple[RuleResult, ...] = (),
        sizing: SizingResult | None = None,
        portfolio: PortfolioRiskResult | None = None,
        trading_state: str = "",
    ) -> RiskRecord:
        """A record about ``intent``."""
        return cls(
            ts=ts,
            action=action,
            reason=reason,
            strategy=intent.strategy,
            symbol=intent.symbol,
            intent_kind=intent.intent.value,
            side=intent.side.value,
            requested_qty=intent.base_qty if requested_qty is None else requested_qty,
            final_qty=final_qty,
            rules=rules,
            sizing=sizing,
            portfolio=portfolio,
            trading_state=trading_state,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON-safe) data: the audit log's details and the results' rows."""
        return {
            "ts": self.ts,
            "action": self.action.value,
            "reason": self.reason,
            "strategy": self.strategy,
            "symbol": self.symbol,
            "intent": self.intent_kind,
            "side": self.side,
            "requested_qty": self.requested_qty,
            "final_qty": self.final_qty,
            "rules": [r.to_dict() for r in self.rules],
            "sizing": None if self.sizing is None else self.sizing.to_dict(),
            "portfolio": None if self.portfolio is None else self.portfolio.to_dict(),
            "trading_state": self.trading_state,
        }
