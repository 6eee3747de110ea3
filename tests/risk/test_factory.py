"""Building the engine a run asks for, and the risk section of results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mftbot.core.clock import SimulatedClock
from mftbot.core.config import TradingMode
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.risk.base import OrderIntent, PassThroughRisk, RiskContext
from mftbot.risk.config import RiskConfig
from mftbot.risk.engine import RuleBasedRiskEngine
from mftbot.risk.factory import build_risk_engine, risk_results


def test_none_is_the_pass_through(clock: SimulatedClock) -> None:
    engine = build_risk_engine(None, clock=clock)
    assert isinstance(engine, PassThroughRisk)
    assert risk_results(engine) == {
        "enabled": False,
        "rejections": [],
        "resizes": [],
        "exits": [],
        "states": [],
    }


def test_a_dict_builds_the_rule_engine_and_only_live_modes_persist(
    clock: SimulatedClock, risk_dict: dict[str, Any], tmp_path: Path
) -> None:
    backtest = build_risk_engine(risk_dict, clock=clock)
    assert isinstance(backtest, RuleBasedRiskEngine)
    assert backtest.store is None
    paper = build_risk_engine(RiskConfig.coerce(risk_dict), clock=clock, mode=TradingMode.PAPER)
    assert isinstance(paper, RuleBasedRiskEngine)
    assert paper.store is not None
    assert paper.store.path == tmp_path / "risk_state.json"


def test_results_list_rejections_with_rule_names_and_numbers(
    clock: SimulatedClock, risk_dict: dict[str, Any]
) -> None:
    engine = build_risk_engine(risk_dict, clock=clock)
    intent = OrderIntent("s", "BTC/USDT", Side.BUY, IntentKind.ENTRY, 0, qty=1.0)
    engine.check(intent, RiskContext(clock.now_ns(), 1_000.0, 1_000.0, 0.0, 70_000.0))
    results = risk_results(engine)
    assert results["enabled"] is True
    (row,) = results["rejections"]
    assert row["symbol"] == "BTC/USDT"
    failed = [r for r in row["rules"] if not r["passed"]]
    assert [r["name"] for r in failed] == ["market_data"]
    assert failed[0]["reason"] == "no market data received for BTC/USDT"
    assert results["summary"]["failed_rules"] == {"market_data": 1}
