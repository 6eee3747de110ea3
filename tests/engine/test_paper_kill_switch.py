"""A paper replay of the recorded spot markets with the rule-based risk engine (paper mode):
creating the kill-switch file mid-session stops every later entry and flattens the books."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from mftbot.core.clock import SimulatedClock
from mftbot.core.config import TradingMode
from mftbot.core.ids import IntentKind
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.domain.enums import Side
from mftbot.domain.events import MarketEvent
from mftbot.engine.paper import TIMER_NS, PaperConfig, PaperResult, PaperSession
from mftbot.execution.sim.venue import SimulatedVenue
from mftbot.risk.factory import build_risk_engine

SYMBOLS = ("BTC/USDT", "ETH/USDT")


def _session(tmp_path: Path, clock: SimulatedClock) -> PaperSession:
    config = PaperConfig(symbols=SYMBOLS, timeframe="5s", params={"fast": 5, "slow": 20})
    risk = build_risk_engine(
        {
            "kill_switch": {"file": str(tmp_path / ".kill_switch"), "flatten": True},
            "limits": {"state_file": str(tmp_path / "state.json")},
        },
        clock=clock,
        mode=TradingMode.PAPER,
    )
    venue = SimulatedVenue({"USDT": config.cash})
    return PaperSession(config, venue=venue, risk=risk, clock=clock)


@pytest.fixture(scope="module")
def killed(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[PaperResult, int]:
    """The session, and the event time at which the kill-switch file appeared: just after the
    first entry filled."""
    tmp_path = tmp_path_factory.mktemp("kill")
    found = find_binance_recordings(data_dir, "spot")
    files = [p for s in SYMBOLS for p in found[s]]
    clock = SimulatedClock()
    session = _session(tmp_path, clock)
    created: list[int] = []

    def switch_on(events: Iterable[MarketEvent]) -> Iterator[MarketEvent]:
        for event in events:
            if not created and any(f.side is Side.BUY for f in session.fills):
                (tmp_path / ".kill_switch").touch()
                created.append(event.ts_recv)
            yield event

    result = session.run(switch_on(replay_files(files)))
    assert created, "no entry filled on the recording"
    return result, created[0]


@pytest.mark.realdata
def test_entries_stop_after_the_kill_switch(killed: tuple[PaperResult, int]) -> None:
    result, created = killed
    engine = result.engine
    seen_by = created + 1_000_000_000  # within one second of event time
    late_entries = [o for o in engine.orders if o.created_ts > seen_by and o.side is Side.BUY]
    assert late_entries == []
    by_switch = [r for r in engine.rejected if "kill_switch" in r.reason]
    assert len(by_switch) >= 1
    assert all(r.ts >= created for r in by_switch)
    assert all(r.intent.intent is IntentKind.ENTRY for r in by_switch)
    rejections = engine.risk["rejections"]
    assert len(rejections) == len(engine.rejected)
    failed = [{u["name"] for u in r["rules"] if not u["passed"]} for r in rejections]
    assert sum("kill_switch" in names for names in failed) == len(by_switch)
    entry_signals = [s for s in result.signals if s.direction == "long" and s.ts > seen_by]
    assert entry_signals
    assert {s.decision for s in entry_signals} <= {"rejected_by_risk", "no_action"}


@pytest.mark.realdata
def test_the_kill_switch_flattens_every_position(killed: tuple[PaperResult, int]) -> None:
    result, created = killed
    engine = result.engine
    flattens = [r for r in engine.risk["exits"] if r["action"] == "flatten"]
    assert len(flattens) >= 1
    flatten_fills = [
        f
        for f in engine.fills
        if f.side is Side.SELL and "-fl-" in f.client_order_id and f.ts >= created
    ]
    assert flatten_fills
    assert min(f.ts for f in flatten_fills) <= created + 1_000_000_000 + TIMER_NS
    assert all(p.qty == 0.0 for p in engine.portfolio.positions.values())
