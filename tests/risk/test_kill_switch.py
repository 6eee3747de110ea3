"""The kill-switch file: seen at the first look after the interval (event clock), stops
entries, and, with ``flatten``, closes every open position once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mftbot.core.clock import SimulatedClock
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.base import OrderIntent, RiskContext
from mftbot.risk.engine import RuleBasedRiskEngine
from mftbot.risk.kill_switch import KillSwitch
from mftbot.risk.records import RiskAction

MS = 1_000_000


def test_file_is_seen_at_the_first_check_after_the_interval(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    path = tmp_path / "KILL"
    switch = KillSwitch(path, clock, check_interval_ms=250)
    assert switch.poll() is False
    assert switch.checks == 1
    path.touch()
    clock.advance_to(clock.now_ns() + 249 * MS)
    assert switch.poll() is False  # not looked at yet
    assert switch.checks == 1
    clock.advance_to(clock.now_ns() + 1 * MS)
    assert switch.poll() is True
    assert switch.checks == 2
    assert switch.trips == 1
    assert switch.engaged_since == clock.now_ns()
    for _ in range(10):  # calling on every event costs no extra file-system look
        switch.poll()
    assert switch.checks == 2
    path.unlink()
    clock.advance_to(clock.now_ns() + 250 * MS)
    assert switch.poll() is False
    assert switch.engaged_since is None


def test_worst_case_delay_is_under_a_second(tmp_path: Path) -> None:
    """Polled by events 300 ms apart with the default 250 ms interval, the switch engages
    within a second of the file's creation, wherever the creation falls between events."""
    path = tmp_path / "KILL"
    t0 = 10**18
    for offset_ms in range(0, 1200, 37):
        path.unlink(missing_ok=True)
        clock = SimulatedClock(t0)
        switch = KillSwitch(path, clock)
        created = t0 + offset_ms * MS
        seen_at = None
        for k in range(20):
            now = t0 + k * 300 * MS
            clock.advance_to(now)
            if now >= created:
                path.touch()
            if switch.poll():
                seen_at = now
                break
        assert seen_at is not None
        assert 0 <= seen_at - created < 1000 * MS, offset_ms


def test_engage_and_release_write_and_remove_the_file(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    switch = KillSwitch(tmp_path / "sub" / "KILL", clock)
    switch.engage("ops")
    assert (tmp_path / "sub" / "KILL").read_text() == "ops\n"
    assert switch.poll() is True
    switch.release()
    assert switch.poll() is False


def _context(ts: int, qty: float, price: float) -> RiskContext:
    return RiskContext(ts, 10_000.0, 10_000.0, qty, price)


def test_engine_stops_entries_and_flattens_once(
    make_engine: Callable[..., RuleBasedRiskEngine],
    clock: SimulatedClock,
    make_bars: Callable[..., list[CandleClosed]],
    tmp_path: Path,
) -> None:
    engine = make_engine({"kill_switch": {"flatten": True}}, persist=False)
    for bar in make_bars("BTC/USDT", [100.0 + i * 0.1 for i in range(30)]):
        clock.advance_to(bar.ts_recv)
        engine.on_bar(bar)
    for bar in make_bars("ETH/USDT", [50.0 + i * 0.1 for i in range(30)]):
        engine.on_bar(bar)
    engine.on_position("BTC/USDT", 2.0, 101.0, clock.now_ns(), strategy="alpha")
    engine.on_position("ETH/USDT", -3.0, 52.0, clock.now_ns(), strategy="beta")
    now = clock.now_ns()
    entry = OrderIntent("gamma", "SOL/USDT", Side.BUY, IntentKind.ENTRY, now, qty=1.0)
    assert engine.poll() == []

    (tmp_path / "KILL").touch()
    clock.advance_to(now + 300 * MS)
    flatten = engine.poll()
    assert {(i.symbol, i.side, i.qty, i.strategy) for i in flatten} == {
        ("BTC/USDT", Side.SELL, 2.0, "alpha"),
        ("ETH/USDT", Side.BUY, 3.0, "beta"),
    }
    assert all(i.intent is IntentKind.FLATTEN and i.reduce_only for i in flatten)
    assert engine.poll() == []  # once per position
    assert [r.action for r in engine.records[-2:]] == [RiskAction.FLATTEN, RiskAction.FLATTEN]

    decision = engine.check(entry, _context(clock.now_ns(), 0.0, 20.0))
    assert not decision.approved
    assert decision.reason.startswith("rejected by kill_switch: kill switch engaged:")
    exit_ok = engine.check(flatten[0], _context(clock.now_ns(), 2.0, 103.0))
    assert exit_ok.approved  # exits pass while the switch is engaged

    engine.on_order_done("ETH/USDT", IntentKind.FLATTEN)  # the flatten order died unfilled
    assert [i.symbol for i in engine.poll()] == ["ETH/USDT"]
    engine.on_position("BTC/USDT", 0.0, 0.0, clock.now_ns())
    (tmp_path / "KILL").unlink()
    clock.advance_to(clock.now_ns() + 300 * MS)
    assert engine.poll() == []
    assert not engine.kill_switch.engaged
    engine.check(entry, _context(clock.now_ns(), 0.0, 20.0))
    assert "kill_switch" not in {r.name for r in engine.records[-1].failed}


def test_without_flatten_the_switch_only_blocks(
    make_engine: Callable[..., RuleBasedRiskEngine], clock: SimulatedClock, tmp_path: Path
) -> None:
    engine = make_engine(persist=False)
    engine.on_position("BTC/USDT", 1.0, 100.0, clock.now_ns())
    (tmp_path / "KILL").touch()
    assert engine.poll() == []
    assert engine.kill_switch.engaged
