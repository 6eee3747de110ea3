"""Building the risk engine a run asks for, and the risk section of a run's results.

``risk=None`` means no risk engine (:class:`PassThroughRisk`: reference comparisons with other
backtesters stay like for like); a :class:`RiskConfig` or a dict of it builds a
:class:`RuleBasedRiskEngine`. A backtest does not persist HALTED (each run starts clean);
paper and live do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from mftbot.core.modes import TradingMode
from mftbot.risk.base import PassThroughRisk, RiskEngine, StatefulRiskEngine
from mftbot.risk.records import RiskAction

if TYPE_CHECKING:
    from mftbot.core.clock import Clock
    from mftbot.risk.config import RiskConfig
    from mftbot.risk.records import RiskRecord
    from mftbot.risk.rules_market import ManipulationSource

RiskArg: TypeAlias = "RiskConfig | Mapping[str, Any] | None"


def build_risk_engine(
    risk: RiskArg,
    *,
    clock: Clock,
    mode: TradingMode = TradingMode.BACKTEST,
    manipulation: ManipulationSource | None = None,
    sink: Callable[[RiskRecord], None] | None = None,
) -> RiskEngine:
    """:class:`PassThroughRisk` for ``None``; otherwise a :class:`RuleBasedRiskEngine` that
    persists its trading state unless ``mode`` is a backtest."""
    if risk is None:
        return PassThroughRisk()
    from mftbot.risk.config import RiskConfig  # the rule-based engine loads only when asked for
    from mftbot.risk.engine import RuleBasedRiskEngine

    return RuleBasedRiskEngine(
        RiskConfig.coerce(risk),
        clock=clock,
        manipulation=manipulation,
        persist=mode is not TradingMode.BACKTEST,
        sink=sink,
    )


def risk_results(engine: RiskEngine) -> dict[str, Any]:
    """The risk section of a run's results: every rejection and resize (rule names and
    numbers), the exits and flattens risk asked for, state changes, and the counts (with the
    final trading state) — for any :class:`StatefulRiskEngine`. Empty lists for an engine
    that keeps no records (the pass-through)."""
    if not isinstance(engine, StatefulRiskEngine):
        return {"enabled": False, "rejections": [], "resizes": [], "exits": [], "states": []}
    records = engine.records

    def rows(*actions: RiskAction) -> list[dict[str, Any]]:
        return [r.to_dict() for r in records if r.action in actions]

    return {
        "enabled": True,
        "rejections": rows(RiskAction.REJECTED),
        "resizes": rows(RiskAction.RESIZED),
        "exits": rows(RiskAction.EXIT, RiskAction.FLATTEN),
        "states": rows(RiskAction.STATE),
        "summary": engine.summary(),
    }
