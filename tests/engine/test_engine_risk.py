"""The event loop with the rule-based risk engine wired in: every hook at its point, the
strategy's signal info, the monitor's exits and the kill switch's flattens sent as orders,
records in the result and in the SQLite audit log, and no change without a risk engine."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.core.clock import SimulatedClock, datetime_to_ns
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed, MarketEvent, QuoteTick, TradeTick
from mftbot.domain.fills import Fill, Liquidity
from mftbot.domain.orders import OrderStatus
from mftbot.domain.positions import PositionStatus
from mftbot.engine.engine import Engine, EngineError, EngineResult, StrategyBinding
from mftbot.engine.feed import CandleFeed, EventFeed, MergedFeed
from mftbot.engine.portfolio import Portfolio
from mftbot.engine.results import FillLog, round_trips
from mftbot.execution.sim import CandleSimVenue
from mftbot.execution.sql_ledger import SqlLedger
from mftbot.execution.venue import OrderAccepted, OrderFilled, OrderRequest, VenueReport
from mftbot.risk import (
    OrderIntent,
    PassThroughRisk,
    RiskContext,
    RiskDecision,
    RuleBasedRiskEngine,
    SignalInfo,
)
from mftbot.risk.audit import AuditWriter
from mftbot.risk.records import RiskAction
from mftbot.risk.results import num
from mftbot.storage.database import Database
from mftbot.storage.repositories import AuditLog
from mftbot.strategies import CandleWindow, Signals, StrategyConfig

T0 = datetime_to_ns(datetime(2026, 3, 23, 12, 0, tzinfo=UTC))
"""A Monday, 12:00 UTC (no weekend factor)."""
M = 60_000_000_000
SYMBOL = "BTC/USDT"
CASH = 10_000.0
FEE = 0.001


class ScriptConfig(StrategyConfig):
    entries: tuple[int, ...] = ()
    exits: tuple[int, ...] = ()
    confidence: float | None = None
    stop_pct: float | None = None


class Script:
    """Signals at fixed bar numbers (minutes after T0); optional confidence and stop."""

    name = "script"

    def __init__(self, config: ScriptConfig) -> None:
        self.config = config

    @property
    def warmup(self) -> int:
        return 0

    @property
    def lookback(self) -> int:
        return 1

    def _bar(self, window: CandleWindow) -> np.ndarray[Any, np.dtype[np.int64]]:
        return (window.time_ns - T0) // M

    def populate(self, window: CandleWindow) -> Signals:
        bar = self._bar(window)
        conf = self.config.confidence
        return Signals(
            entry_long=np.isin(bar, self.config.entries),
            exit_long=np.isin(bar, self.config.exits),
            confidence=None if conf is None else np.full(len(bar), conf),
        )


class ProtectedScript(Script):
    """A :class:`Script` that places its stop ``stop_pct`` below each close."""

    def protection(
        self, window: CandleWindow
    ) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.float64]]]:
        pct = self.config.stop_pct or 0.0
        return window.close * (1.0 - pct), np.full(len(window), np.nan)


def candles(
    opens: list[float], closes: list[float], lows: dict[int, float] | None = None
) -> CandleArrays:
    o, c = np.array(opens), np.array(closes)
    low = np.minimum(o, c)
    for i, value in (lows or {}).items():
        low[i] = value
    return CandleArrays.from_arrays(
        open=o,
        high=np.maximum(o, c),
        low=low,
        close=c,
        volume=np.ones(len(o)),
        time_ns=T0 + np.arange(len(o), dtype=np.int64) * M,
    )


def config(tmp_path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """Fixed-fractional sizing at 0.5 % with a 2 % stop, no portfolio rule, no take profit,
    no volatility halt; files in ``tmp_path``; ``sections`` update the sections."""
    base: dict[str, Any] = {
        "sizing": {"methods": ["fixed_fractional"], "risk_per_trade": 0.005},
        "stops": {"method": "fixed_pct", "fixed_pct": 0.02, "take_profit_r": None},
        "portfolio": {"enabled": False},
        "adapters": {"vol_bands": [[1.0, 1.0]]},
        "kill_switch": {"file": str(tmp_path / "KILL")},
        "limits": {"state_file": str(tmp_path / "risk_state.json")},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return base


def make_engine(
    strategy: object,
    risk: object,
    clock: SimulatedClock,
    *,
    fill: str = "next_open",
    venue: object = None,
    **kwargs: Any,
) -> Engine:
    return Engine(
        venue=venue or CandleSimVenue({"USDT": CASH}, fee=FEE, fill=fill),  # type: ignore[arg-type]
        portfolio=Portfolio({"USDT": CASH}, account_currency="USDT"),
        strategies=[StrategyBinding(strategy, SYMBOL, "1m")],  # type: ignore[arg-type]
        clock=clock,
        risk=risk,  # type: ignore[arg-type]
        **kwargs,
    )


class Spy(RuleBasedRiskEngine):
    """The rule-based engine, noting every hook call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.calls: list[tuple[Any, ...]] = []
        super().__init__(*args, **kwargs)

    def check(
        self, intent: OrderIntent, context: RiskContext, signal: SignalInfo | None = None
    ) -> RiskDecision:
        self.calls.append(("check", intent.intent, signal))
        return super().check(intent, context, signal)

    def poll(self) -> list[OrderIntent]:
        self.calls.append(("poll", self.clock.now_ns()))
        return super().poll()

    def on_bar(self, bar: CandleClosed) -> list[OrderIntent]:
        self.calls.append(("on_bar", bar.ts_event))
        return super().on_bar(bar)

    def on_position(
        self, symbol: str, signed_qty: float, avg_entry: float, ts: int, *, strategy: str = ""
    ) -> None:
        self.calls.append(("on_position", symbol, signed_qty, avg_entry, ts, strategy))
        super().on_position(symbol, signed_qty, avg_entry, ts, strategy=strategy)

    def on_trade_closed(self, strategy: str, symbol: str, pnl: float, ts: int) -> None:
        self.calls.append(("on_trade_closed", strategy, symbol, pnl, ts))
        super().on_trade_closed(strategy, symbol, pnl, ts)

    def on_order_done(self, symbol: str, kind: IntentKind) -> None:
        self.calls.append(("on_order_done", symbol, kind))
        super().on_order_done(symbol, kind)

    def on_equity(self, ts: int, equity: float) -> None:
        self.calls.append(("on_equity", ts, equity))
        super().on_equity(ts, equity)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == name]


OPENS = [100.0, 100.0, 125.0, 130.0, 150.0, 150.0]
CLOSES = [100.0, 100.0, 130.0, 140.0, 150.0, 160.0]


def run(engine: Engine, data: CandleArrays) -> EngineResult:
    return engine.run(CandleFeed(data, symbol=SYMBOL, timeframe="1m"))


def test_every_hook_is_called_where_the_wiring_table_says(tmp_path: Path) -> None:
    clock = SimulatedClock()
    risk = Spy(config(tmp_path), clock=clock, persist=False)
    engine = make_engine(Script(ScriptConfig(entries=(1,), exits=(3,))), risk, clock)
    result = run(engine, candles(OPENS, CLOSES))

    # sizing: 0.5 % of 10,000 at a 2 % stop below the signal close 100, both fees included
    per_unit = (100.0 - 98.0) + FEE * (100.0 + 98.0)
    sized = 0.005 * CASH / per_unit
    buy, sell = result.fills
    assert buy.price == 125.0
    assert buy.qty == pytest.approx(sized * 100.0 / 125.0, rel=1e-12)  # spend kept, next open
    assert (sell.price, sell.qty) == (150.0, buy.qty)
    assert risk.named("on_position") == [
        (SYMBOL, buy.qty, 125.0, T0 + 2 * M, "script"),
        (SYMBOL, 0.0, 0.0, T0 + 4 * M, "script"),
    ]
    trip = round_trips(FillLog.from_fills(result.fills), 160.0)
    ((strategy, symbol, pnl, ts),) = risk.named("on_trade_closed")
    assert (strategy, symbol, ts) == ("script", SYMBOL, T0 + 4 * M)
    assert pnl == pytest.approx(float(trip.pnl[0]), rel=1e-12)
    assert pnl == pytest.approx(buy.qty * (150.0 * (1 - FEE) - 125.0 * (1 + FEE)), rel=1e-12)
    assert risk.named("on_order_done") == [(SYMBOL, IntentKind.ENTRY), (SYMBOL, IntentKind.EXIT)]
    # one equity point per bar close, after the mark: the run's equity curve
    equity = risk.named("on_equity")
    assert [ts for ts, _ in equity] == result.equity.ts.tolist()
    assert [e for _, e in equity] == pytest.approx(result.equity.equity.tolist(), rel=1e-12)
    assert risk.named("on_bar") == [(T0 + (i + 1) * M,) for i in range(6)]
    polls = [c[0] for c in risk.calls if c[0] in ("poll", "on_equity", "on_bar")]
    assert polls == ["poll", "on_equity", "on_bar"] * 6  # poll, equity, bar: every candle
    checks = risk.named("check")
    assert checks == [(IntentKind.ENTRY, SignalInfo()), (IntentKind.EXIT, None)]

    assert result.risk["enabled"] is True
    assert result.trading_state == "normal"
    (resize,) = result.risk["resizes"]
    assert resize["requested_qty"] == pytest.approx(CASH / (100.0 * (1 + FEE)))
    assert resize["final_qty"] == pytest.approx(sized)
    assert resize["sizing"]["binding"] == "method:fixed_fractional"
    assert resize["reason"].startswith(f"resized {num(CASH / 100.1)} → {num(sized)}")
    assert result.risk["rejections"] == []
    assert [r.action for r in result.risk_records] == [RiskAction.RESIZED, RiskAction.APPROVED]


def test_the_monitor_stop_and_the_signal_stop_and_confidence(tmp_path: Path) -> None:
    clock = SimulatedClock()
    risk = RuleBasedRiskEngine(config(tmp_path), clock=clock, persist=False)
    strategy = ProtectedScript(ScriptConfig(entries=(1,), confidence=0.5, stop_pct=0.05))
    opens = [100.0, 100.0, 101.0, 100.0, 97.0, 97.0]
    closes = [100.0, 100.0, 100.0, 97.0, 97.0, 98.0]
    engine = make_engine(strategy, risk, clock)
    result = run(engine, candles(opens, closes, lows={3: 95.5}))

    entry = result.risk_records[0]
    assert entry.action is RiskAction.RESIZED
    stop_rule = next(r for r in entry.rules if r.name == "stop")
    assert stop_rule.values["stop"] == pytest.approx(95.0)
    assert entry.sizing is not None
    factors = {f.name: f.value for f in entry.sizing.factors}
    assert factors["confidence"] == 0.5
    per_unit = 5.0 + FEE * (100.0 + 95.0)
    assert entry.final_qty == pytest.approx(0.005 * CASH / per_unit * 0.5, rel=1e-12)
    # the stop is re-anchored at the fill (101 − 5 = 96); bar 3's low 95.5 hits it
    buy, sell = result.fills
    assert buy.price == 101.0
    assert [o.client_order_id.split("-")[1] for o in result.orders] == ["en", "sl"]
    (exit_row,) = result.risk["exits"]
    assert exit_row["reason"] == "stop 96 hit (95.5)"
    assert exit_row["intent"] == "stop_loss"
    assert (sell.side, sell.price, sell.ts, sell.qty) == (Side.SELL, 97.0, T0 + 4 * M, buy.qty)
    assert [o.status for o in result.orders] == [OrderStatus.FILLED] * 2
    closed = result.portfolio.closed_positions[0]
    assert [t.target for t in closed.history][-2:] == [
        PositionStatus.CLOSING,
        PositionStatus.CLOSED,
    ]
    assert risk.state.trades("script")[0].pnl == pytest.approx(
        buy.qty * (97.0 * (1 - FEE) - 101.0 * (1 + FEE)), rel=1e-12
    )


class HoldSells:
    """Fills buys at the close at once; accepts sells and never fills them."""

    name = "sim"

    def __init__(self) -> None:
        self.inner = CandleSimVenue({"USDT": CASH}, fee=FEE, fill="close")
        self.held: list[OrderRequest] = []

    def submit(self, request: OrderRequest) -> list[VenueReport]:
        if request.side is Side.SELL:
            self.held.append(request)
            return [OrderAccepted("sim", request.client_order_id, request.ts, request.ts)]
        return self.inner.submit(request)

    def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
        return self.inner.cancel(client_order_id, ts)

    def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
        return self.inner.on_market_event(event)


def test_a_risk_exit_is_dropped_while_an_exit_is_in_flight(tmp_path: Path) -> None:
    clock = SimulatedClock()
    risk = RuleBasedRiskEngine(config(tmp_path), clock=clock, persist=False)
    venue = HoldSells()
    engine = make_engine(Script(ScriptConfig(entries=(1,), exits=(2,))), risk, clock, venue=venue)
    opens = [100.0, 100.0, 100.0, 99.0, 90.0, 90.0]
    closes = [100.0, 100.0, 99.0, 90.0, 90.0, 91.0]
    result = run(engine, candles(opens, closes))
    assert [r.action for r in risk.records if r.action is RiskAction.EXIT] == [RiskAction.EXIT]
    assert risk.records[-1].reason == "stop 98 hit (90)"  # the monitor asked at bar 3
    assert len(venue.held) == 1  # but only the strategy's exit went out
    assert [o.status for o in result.orders] == [OrderStatus.FILLED, OrderStatus.ACCEPTED]
    assert result.portfolio.position(SYMBOL) is not None


def test_the_kill_switch_on_a_timer_flattens_and_stops_entries(tmp_path: Path) -> None:
    clock = SimulatedClock()
    cfg = config(tmp_path, kill_switch={"flatten": True})
    risk = RuleBasedRiskEngine(cfg, clock=clock, persist=False)
    engine = make_engine(Script(ScriptConfig(entries=(1, 3))), risk, clock, fill="close")
    bars = list(CandleFeed(candles(OPENS, CLOSES), symbol=SYMBOL, timeframe="1m"))
    for bar in bars[:3]:
        engine.on_event(bar)
    held = engine.portfolio.position(SYMBOL)
    assert held is not None
    assert held.qty > 0
    held_qty = held.qty
    kill = tmp_path / "KILL"
    kill.write_text("stop\n")
    created = bars[2].ts_recv + 100_000_000  # 100 ms after the last event
    engine.on_timer(created + 400_000_000)  # a 500 ms timer, no market event in between
    assert risk.kill_switch.engaged
    assert risk.kill_switch.engaged_since == created + 400_000_000  # within 1 s
    flatten = engine.orders.orders[-1]
    assert flatten.client_order_id.split("-")[1] == "fl"
    assert flatten.status is OrderStatus.FILLED
    assert engine.fills[-1].price == 130.0  # the last close
    assert engine.fills[-1].qty == held_qty
    assert engine.portfolio.position(SYMBOL) is None
    for bar in bars[3:]:
        engine.on_event(bar)
    result = engine.finish()
    ((intent, ts, reason),) = [(r.intent.intent, r.ts, r.reason) for r in result.rejected]
    assert (intent, ts) == (IntentKind.ENTRY, bars[3].ts_recv)
    assert reason == f"rejected by kill_switch: kill switch engaged: {kill} exists"
    (flat,) = result.risk["exits"]
    assert (flat["action"], flat["reason"]) == ("flatten", f"kill switch {kill} engaged")
    assert result.risk["summary"]["kill_switch"] is True


def test_a_flatten_found_while_checking_waits_for_the_next_poll(tmp_path: Path) -> None:
    clock = SimulatedClock(T0)
    risk = RuleBasedRiskEngine(
        config(tmp_path, kill_switch={"flatten": True}), clock=clock, persist=False
    )
    risk.on_market_data(SYMBOL, T0, 100.0)
    risk.on_position(SYMBOL, 2.0, 100.0, T0, strategy="script")
    (tmp_path / "KILL").touch()
    entry = OrderIntent("other", "ETH/USDT", Side.BUY, IntentKind.ENTRY, T0, qty=1.0)
    assert not risk.check(entry, RiskContext(T0, CASH, CASH, 0.0, 2000.0)).approved
    (flatten,) = risk.poll()  # found by the check's look at the file, not lost
    assert (flatten.intent, flatten.symbol, flatten.qty, flatten.reduce_only) == (
        IntentKind.FLATTEN,
        SYMBOL,
        2.0,
        True,
    )
    assert risk.poll() == []


def test_market_events_feed_freshness_and_price(tmp_path: Path) -> None:
    clock = SimulatedClock()
    risk = RuleBasedRiskEngine(config(tmp_path), clock=clock, persist=False)
    engine = make_engine(Script(ScriptConfig()), risk, clock)
    t = T0 + 5 * M
    engine.on_event(TradeTick("sim", SYMBOL, t, t + 7, 101.5, 0.1, Side.BUY, "a"))
    assert (risk.state.last_price[SYMBOL], risk.state.last_data_ns[SYMBOL]) == (101.5, t + 7)
    engine.on_event(QuoteTick("sim", SYMBOL, t + 10, t + 12, 100.0, 1.0, 103.0, 1.0))
    assert (risk.state.last_price[SYMBOL], risk.state.last_data_ns[SYMBOL]) == (101.5, t + 12)


def test_without_a_risk_engine_nothing_changes(tmp_path: Path) -> None:
    strategy = Script(ScriptConfig(entries=(1,), exits=(3,)))
    runs = [
        run(make_engine(strategy, r, SimulatedClock()), candles(OPENS, CLOSES))
        for r in (None, PassThroughRisk())
    ]
    a, b = runs
    assert a.fills == b.fills
    assert np.array_equal(a.equity.equity, b.equity.equity)
    assert a.fills[0].qty == pytest.approx(CASH / (125.0 * (1 + FEE)), rel=1e-15)  # all in
    for r in runs:
        assert r.risk == {
            "enabled": False,
            "rejections": [],
            "resizes": [],
            "exits": [],
            "states": [],
        }
        assert r.risk_records == ()
        assert r.trading_state is None
    with pytest.raises(EngineError, match="audit= needs a risk engine"):
        make_engine(strategy, None, SimulatedClock(), audit=lambda record: None)


class CommittedAuditLog:
    """The audit log, one committed transaction per entry (the SQL ledger commits its own)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, action: str, **kwargs: Any) -> object:
        transaction: AbstractContextManager[Any] = self.db.transaction()
        with transaction as session:
            return AuditLog(session).append(action, **kwargs)


def test_every_decision_lands_in_the_sqlite_audit_log(tmp_path: Path) -> None:
    clock = SimulatedClock()
    with Database(f"sqlite:///{tmp_path}/run.db") as db:
        db.upgrade()
        risk = RuleBasedRiskEngine(
            config(tmp_path, checks={"max_daily_trades": 1}), clock=clock, persist=False
        )
        writer = AuditWriter(CommittedAuditLog(db))
        engine = make_engine(
            Script(ScriptConfig(entries=(1, 4), exits=(3,))),
            risk,
            clock,
            ledger=SqlLedger(db, clock=clock),
            audit=writer,
        )
        result = run(engine, candles(OPENS, CLOSES))
        with db.session() as session:
            entries = AuditLog(session).for_entity("order_intent")
        ledger = SqlLedger(db, clock=clock).entries()
    assert writer.written == len(result.risk_records) == 3
    assert [e.action for e in entries] == ["risk.resized", "risk.approved", "risk.rejected"]
    resized, approved, rejected = entries
    assert resized.entity_id == "script:BTC/USDT:entry"
    assert resized.details["final_qty"] == result.risk_records[0].final_qty
    assert resized.details["sizing"]["binding"] == "method:fixed_fractional"
    assert approved.details["intent"] == "exit"
    failed = [r for r in rejected.details["rules"] if not r["passed"]]
    assert [(r["name"], r["values"]) for r in failed] == [
        ("daily_trades", {"entries": 1, "limit": 1})
    ]
    assert rejected.details["reason"] == result.rejected[0].reason
    assert [e.intent.client_order_id for e in ledger] == [o.client_order_id for o in result.orders]
    assert [e.status for e in ledger] == [OrderStatus.FILLED, OrderStatus.FILLED]


def test_one_equity_point_per_bar_time_with_several_symbols(tmp_path: Path) -> None:
    clock = SimulatedClock()
    risk = RuleBasedRiskEngine(config(tmp_path), clock=clock, persist=False)
    data = candles(OPENS, CLOSES)
    engine = Engine(
        venue=CandleSimVenue({"USDT": CASH}, fee=FEE),
        portfolio=Portfolio({"USDT": CASH}, account_currency="USDT"),
        strategies=[
            StrategyBinding(Script(ScriptConfig(entries=(1,))), "BTC/USDT", "1m"),
            StrategyBinding(Script(ScriptConfig()), "ETH/USDT", "1m"),
        ],
        clock=clock,
        risk=risk,
    )
    feeds = [CandleFeed(data, symbol=s, timeframe="1m") for s in ("BTC/USDT", "ETH/USDT")]
    result = engine.run(MergedFeed(feeds))
    assert risk.state.equity_points() == pytest.approx(result.equity.equity.tolist(), rel=1e-12)


def test_events_through_on_event_reach_the_risk_engine_too(tmp_path: Path) -> None:
    clock = SimulatedClock()
    risk = Spy(config(tmp_path), clock=clock, persist=False)
    engine = make_engine(Script(ScriptConfig(entries=(1,))), risk, clock)
    engine.run(EventFeed(iter(CandleFeed(candles(OPENS, CLOSES), symbol=SYMBOL, timeframe="1m"))))
    assert len(risk.named("on_bar")) == 6
    assert risk.named("on_position")[0][2] > 0


class PartialBuys:
    """Fills half of a buy at once and the rest at the next candle's open; sells at once."""

    name = "sim"

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.rest: dict[str, tuple[OrderRequest, float]] = {}
        self.trades = 0

    def _fill(self, request: OrderRequest, qty: float, price: float, ts: int) -> Fill:
        self.trades += 1
        return Fill(
            request.client_order_id,
            f"t{self.trades}",
            request.symbol,
            request.side,
            price,
            qty,
            price * qty * FEE,
            "USDT",
            Liquidity.TAKER,
            ts,
        )

    def submit(self, request: OrderRequest) -> list[VenueReport]:
        coid, ts = request.client_order_id, request.ts
        price = self.last[request.symbol]
        accepted = OrderAccepted("sim", coid, ts, ts)
        if request.side is Side.SELL:
            assert request.qty is not None
            fill = self._fill(request, request.qty, price, ts)
            return [accepted, OrderFilled("sim", coid, ts, ts, fill, leaves_qty=0.0)]
        qty = request.qty or (request.quote_qty or 0.0) / (price * (1 + FEE))
        self.rest[coid] = (request, qty / 2)
        fill = self._fill(request, qty / 2, price, ts)
        return [accepted, OrderFilled("sim", coid, ts, ts, fill, leaves_qty=qty / 2)]

    def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
        return []

    def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
        reports: list[VenueReport] = []
        if isinstance(event, CandleClosed):
            for coid, (request, qty) in list(self.rest.items()):
                del self.rest[coid]
                fill = self._fill(request, qty, event.open, event.open_time)
                ts = event.open_time
                reports.append(OrderFilled("sim", coid, ts, ts, fill, leaves_qty=0.0))
            self.last[event.symbol] = event.close
        return reports


def test_a_flatten_meeting_an_entry_in_flight_is_sent_once_the_entry_ends(
    tmp_path: Path,
) -> None:
    clock = SimulatedClock()
    risk = RuleBasedRiskEngine(
        config(tmp_path, kill_switch={"flatten": True}), clock=clock, persist=False
    )
    engine = make_engine(Script(ScriptConfig(entries=(1,))), risk, clock, venue=PartialBuys())
    bars = list(CandleFeed(candles(OPENS, CLOSES), symbol=SYMBOL, timeframe="1m"))
    for bar in bars[:2]:
        engine.on_event(bar)
    half = engine.fills[0].qty
    (tmp_path / "KILL").touch()
    engine.on_timer(bars[1].ts_recv + 500_000_000)  # half filled: the entry is in flight
    assert [r.action for r in risk.records][-1] is RiskAction.FLATTEN
    assert len(engine.orders.orders) == 1  # the flatten waits for the entry
    engine.on_event(bars[2])  # the rest fills at the open, then the flatten goes out
    entry, flatten = engine.orders.orders
    assert entry.status is OrderStatus.FILLED
    assert flatten.client_order_id.split("-")[1] == "fl"
    assert flatten.status is OrderStatus.FILLED
    buy_rest, sell = engine.fills[1:]
    assert buy_rest.qty == pytest.approx(half, rel=1e-12)
    assert sell.qty == pytest.approx(2 * half, rel=1e-12)
    assert engine.portfolio.position(SYMBOL) is None
    flattens = [r for r in risk.records if r.action is RiskAction.FLATTEN]
    assert [r.final_qty for r in flattens] == pytest.approx([half, 2 * half], rel=1e-12)
