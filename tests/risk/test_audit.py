"""Risk records in the real audit log (SQLite): one entry per record, every number kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mftbot.core.clock import SimulatedClock, ns_to_datetime
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.audit import AuditWriter, audit_action, audit_entity
from mftbot.risk.base import OrderIntent, RiskContext
from mftbot.risk.engine import RuleBasedRiskEngine
from mftbot.risk.records import RiskAction, RiskRecord
from mftbot.storage.database import Database
from mftbot.storage.repositories import AuditLog


def test_decisions_land_in_the_audit_log(
    tmp_path: Path,
    make_engine: Callable[..., RuleBasedRiskEngine],
    make_bars: Callable[..., list[CandleClosed]],
    clock: SimulatedClock,
) -> None:
    with Database(f"sqlite:///{tmp_path}/audit.db") as db:
        db.upgrade()
        with db.transaction() as session:
            writer = AuditWriter(AuditLog(session))
            engine = make_engine({"checks": {"max_open_positions": 1}}, persist=False, sink=writer)
            for bar in make_bars("BTC/USDT", [100.0 + i * 0.1 for i in range(40)]):
                clock.advance_to(bar.ts_recv)
                engine.on_bar(bar)
            now = clock.now_ns()
            big = OrderIntent("alpha", "BTC/USDT", Side.BUY, IntentKind.ENTRY, now, qty=500.0)
            assert engine.check(big, RiskContext(now, 10_000.0, 10_000.0, 0.0, 103.9)).approved
            other = OrderIntent("beta", "ETH/USDT", Side.BUY, IntentKind.ENTRY, now, qty=1.0)
            assert not engine.check(other, RiskContext(now, 10_000.0, 10_000.0, 0.0, 2.0)).approved
            engine.on_equity(now, 10_000.0)
            engine.on_equity(now + 1, 9_000.0)
        assert writer.written == len(engine.records) == 3
        with db.session() as session:
            intents = AuditLog(session).for_entity("order_intent")
            states = AuditLog(session).for_entity("trading_state")
    resized, rejected = intents
    assert resized.action == "risk.resized"
    assert resized.actor == "risk"
    assert resized.entity_id == "alpha:BTC/USDT:entry"
    assert resized.ts == ns_to_datetime(now)
    sizing = resized.details["sizing"]
    assert {m["name"] for m in sizing["methods"]} == {
        "fixed_fractional",
        "kelly",
        "volatility_target",
    }
    assert sizing["caps"]["intent"] == 500.0
    assert resized.details["final_qty"] == engine.resizes[0].final_qty
    assert rejected.action == "risk.rejected"
    failed = [r for r in rejected.details["rules"] if not r["passed"]]
    assert [r["name"] for r in failed] == ["market_data", "max_open_positions"]
    assert failed[1]["reason"] == "max open positions: 1 open (BTC/USDT), limit 1"
    assert failed[1]["values"] == {"open": 1, "limit": 1}
    assert [s.action for s in states] == ["risk.state"]
    assert states[0].details["trading_state"] == "halted"


def test_action_and_entity_names() -> None:
    record = RiskRecord(5, RiskAction.STATE, "normal → halted")
    assert audit_action(record) == "risk.state"
    assert audit_entity(record) == ("trading_state", None)
    long = RiskRecord(
        5, RiskAction.EXIT, "x", strategy="s" * 70, symbol="BTC/USDT", intent_kind="stop_loss"
    )
    kind, ident = audit_entity(long)
    assert kind == "order_intent"
    assert ident is not None
    assert len(ident) == 64
