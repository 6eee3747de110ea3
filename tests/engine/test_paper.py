"""Paper sessions: candles from trades, signals and what came of them, orders through the
ledger, equity snapshots; on a built stream and on the real Binance spot recordings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from mftbot.core.clock import SimulatedClock, datetime_to_ns
from mftbot.core.ids import IntentKind
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.domain.enums import Side
from mftbot.domain.events import MarketEvent, TradeTick
from mftbot.domain.orders import OrderStatus
from mftbot.engine.paper import PaperConfig, PaperError, PaperResult, PaperSession
from mftbot.execution import InMemoryLedger
from mftbot.execution.sim import CandleSimVenue
from mftbot.execution.sim.venue import SimulatedVenue
from mftbot.execution.sql_ledger import SqlLedger
from mftbot.risk.base import OrderIntent, RiskContext, RiskDecision, RiskEngine
from mftbot.storage import Database, SignalRecord
from mftbot.storage.models import EquitySnapshot

S = 1_000_000_000
MS = 1_000_000
T0 = 1_723_161_600 * S
SYMBOLS = ("BTC/USDT", "ETH/USDT")

# BTC/USDT closes per 1 s bar: a cross down while flat, a cross up, a cross down.
BTC = [100, 100, 100, 100, 99, 99, 101, 103, 100, 97, 96, 96, 95]
ETH = [50] * 13
ETH_GAP = 7  # no ETH/USDT trade in this bar: a flat candle fills it


@dataclass
class Journal:
    """A SessionJournal in memory."""

    signals: list[dict[str, Any]]
    equity: list[dict[str, Any]]

    def record_signal(self, **fields: Any) -> None:
        self.signals.append(fields)

    def record_equity(self, **fields: Any) -> None:
        self.equity.append(fields)


def built_stream() -> Iterator[MarketEvent]:
    """One trade per bar and symbol (BTC at +100 ms, ETH at +600 ms), in receive order."""
    for bar in range(len(BTC)):
        for symbol, prices, offset in (("BTC/USDT", BTC, 100), ("ETH/USDT", ETH, 600)):
            if symbol == "ETH/USDT" and bar == ETH_GAP:
                continue
            ts = T0 + bar * S + offset * MS
            yield TradeTick(
                "binance", symbol, ts, ts + MS, float(prices[bar]), 1.0, Side.BUY, f"{bar}"
            )


def crosses(closes: list[int], fast: int, slow: int) -> list[tuple[int, str]]:
    """(bar, "long" | "flat") where SMA(fast) − SMA(slow) changes sign, in exact arithmetic."""

    def d(t: int) -> Fraction:
        return Fraction(sum(closes[t - fast + 1 : t + 1]), fast) - Fraction(
            sum(closes[t - slow + 1 : t + 1]), slow
        )

    out = []
    for t in range(slow, len(closes)):
        if d(t) > 0 >= d(t - 1):
            out.append((t, "long"))
        elif d(t) < 0 <= d(t - 1):
            out.append((t, "flat"))
    return out


class NoEntries:
    """A risk engine that refuses every entry."""

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskDecision:
        if intent.intent is IntentKind.ENTRY:
            return RiskDecision.reject(f"no entries ({context.equity:.0f} equity)")
        return RiskDecision.approve(intent)


def built_session(
    journal: Journal | None = None, risk: RiskEngine | None = None
) -> tuple[PaperSession, PaperResult]:
    config = PaperConfig(
        symbols=SYMBOLS, timeframe="1s", params={"fast": 2, "slow": 4}, bot_id="test"
    )
    venue = CandleSimVenue({"USDT": config.cash}, fee=0.001)
    session = PaperSession(config, venue=venue, journal=journal, risk=risk)
    return session, session.run(built_stream())


def test_candles_are_built_from_trades_in_time_order_with_gaps_filled() -> None:
    session, result = built_session()
    closed = len(BTC) - 1  # the last bar never closes
    for symbol, prices in (("BTC/USDT", BTC), ("ETH/USDT", ETH)):
        bars = result.candles[symbol]
        assert np.array_equal(bars.time_ns, T0 + np.arange(closed) * S)
        assert bars.close.tolist() == [float(p) for p in prices[:closed]]
    eth = result.candles["ETH/USDT"]
    assert eth.volume[ETH_GAP] == 0.0
    assert eth.volume.sum() == closed - 1
    # every candle of a bar reached the engine before any candle of a later bar
    assert np.array_equal(result.engine.equity.ts, T0 + (np.arange(closed) + 1) * S)
    assert session.source_candles_skipped == 0


def test_signals_and_decisions_follow_the_crossings() -> None:
    journal = Journal([], [])
    session, result = built_session(journal)
    expected = crosses(BTC[: len(BTC) - 1], 2, 4)
    assert [d for _, d in expected] == ["flat", "long", "flat"]  # the path does what it says
    got = [(n.ts, n.symbol, n.direction) for n in result.signals]
    assert got == [(T0 + (t + 1) * S, "BTC/USDT", d) for t, d in expected]
    assert [n.decision for n in result.signals] == ["no_action", "order_sent", "order_sent"]
    assert result.signals[0].detail == "exit while flat"
    assert [(s["direction"], s["decision"]) for s in journal.signals] == [
        (n.direction, n.decision) for n in result.signals
    ]

    entry, exit_ = result.engine.fills
    assert (entry.side, exit_.side) == (Side.BUY, Side.SELL)
    btc = result.candles["BTC/USDT"]
    for fill, signal in ((entry, result.signals[1]), (exit_, result.signals[2])):
        assert fill.ts > signal.ts  # never at a price from before the decision
        bar = int(np.flatnonzero(btc.time_ns == fill.ts)[0])
        assert fill.price == btc.open[bar]
    # an equal split of equity per symbol: half the cash, fee included
    assert entry.price * entry.qty + entry.fee == pytest.approx(session.config.cash / 2)
    assert exit_.qty == entry.qty
    assert [o.status for o in result.engine.orders] == [OrderStatus.FILLED] * 2

    # equity journal = the engine's curve; the round trip explains the final equity
    curve = result.engine.equity
    assert [e["ts"] for e in journal.equity] == curve.ts.tolist()
    assert [e["equity"] for e in journal.equity] == curve.equity.tolist()
    (trip_pnl,) = result.trips["BTC/USDT"].pnl.tolist()
    assert curve.equity[-1] == pytest.approx(session.config.cash + trip_pnl, rel=1e-12)
    assert [a.kind for a in session.activity if a.kind != "signal"] == ["order", "fill"] * 2


def test_risk_rejections_are_noted() -> None:
    _, result = built_session(risk=NoEntries())
    assert [(n.direction, n.decision) for n in result.signals] == [
        ("flat", "no_action"),
        ("long", "rejected_by_risk"),
        ("flat", "no_action"),
    ]
    assert result.signals[1].detail == "no entries (10000 equity)"
    assert result.engine.orders == ()
    assert len(result.engine.rejected) == 1


def test_refresh_sees_the_session_while_it_runs() -> None:
    config = PaperConfig(symbols=SYMBOLS, timeframe="1s", params={"fast": 2, "slow": 4})
    session = PaperSession(config, venue=CandleSimVenue({"USDT": config.cash}))
    seen: list[int] = []
    session.run(
        built_stream(),
        on_refresh=lambda s: seen.append(s.replay.events),
        refresh_every_s=0.0,
    )
    assert seen
    assert seen[-1] == session.replay.events == 2 * len(BTC) - 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"symbols": ()}, "at least one symbol"),
        ({"symbols": ("BTC/USDT", "BTC/USDT")}, "duplicate symbols"),
        ({"symbols": ("BTC/USDT", "ETH/BTC")}, "one quote currency"),
        ({"symbols": ("BTC/USDT:USDT",)}, "spot symbols"),
        ({"symbols": SYMBOLS, "timeframe": "7x"}, "timeframe"),
        ({"symbols": SYMBOLS, "cash": 0.0}, "cash"),
    ],
)
def test_bad_configuration_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PaperError, match=message):
        PaperConfig(**fields)


# --- the real Binance spot recordings ---------------------------------------------------------


@dataclass
class SpotRuns:
    """A session with the SQL ledger, and a second one in memory, on the same recording."""

    db: Database
    sql: PaperResult
    memory: PaperResult
    ledger: SqlLedger


@pytest.fixture(scope="module")
def spot_runs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpotRuns]:
    found = find_binance_recordings(data_dir, "spot")
    files = [p for s in SYMBOLS for p in found[s]]
    config = PaperConfig(
        symbols=SYMBOLS, timeframe="5s", params={"fast": 5, "slow": 20}, bot_id="demo"
    )
    path = tmp_path_factory.mktemp("paper") / "ledger.db"
    with Database(f"sqlite:///{path}") as db:
        db.upgrade()
        clock = SimulatedClock()
        ledger = SqlLedger(db, clock=clock)
        venue = SimulatedVenue({"USDT": config.cash})
        session = PaperSession(config, venue=venue, ledger=ledger, journal=ledger, clock=clock)
        sql = session.run(replay_files(files, bad=session.replay.bad))
        twin = PaperSession(
            config, venue=SimulatedVenue({"USDT": config.cash}), ledger=InMemoryLedger()
        )
        memory = twin.run(replay_files(files))
        yield SpotRuns(db, sql, memory, ledger)


@pytest.mark.realdata
def test_spot_session_trades_and_the_ledger_holds_every_order(spot_runs: SpotRuns) -> None:
    engine = spot_runs.sql.engine
    assert len(engine.orders) >= 4  # the demo parameters trade on this recording
    entries = spot_runs.ledger.entries(bot_id="demo")
    assert [e.intent.client_order_id for e in entries] == [o.client_order_id for o in engine.orders]
    assert [e.status for e in entries] == [o.status for o in engine.orders]
    stored = [f for e in entries for f in e.fills]
    assert len(stored) == len(engine.fills)
    by_id = {(f.client_order_id, f.trade_id): f for f in engine.fills}
    for fill in stored:
        mine = by_id[(fill.client_order_id, fill.trade_id)]
        assert (fill.price, fill.side) == (mine.price, mine.side)
        assert fill.qty == pytest.approx(mine.qty, rel=1e-15)
    for order in engine.orders:  # each order's fills add up to what it filled
        total = sum(f.qty for f in stored if f.client_order_id == order.client_order_id)
        assert total == pytest.approx(order.filled_qty, rel=1e-12)


@pytest.mark.realdata
def test_spot_session_journal_matches_the_engine(spot_runs: SpotRuns) -> None:
    result = spot_runs.sql
    curve = result.engine.equity
    assert len(curve) == len(result.candles["BTC/USDT"]) > 100
    with spot_runs.db.session() as session:
        snapshots = session.scalars(select(EquitySnapshot).order_by(EquitySnapshot.id)).all()
        signals = session.scalars(select(SignalRecord).order_by(SignalRecord.id)).all()
    assert [datetime_to_ns(s.ts) for s in snapshots] == curve.ts.tolist()
    assert [float(s.equity) for s in snapshots] == pytest.approx(curve.equity.tolist(), rel=1e-12)
    assert [(s.symbol, s.decision) for s in signals] == [
        (n.symbol, n.decision) for n in result.signals
    ]
    # flat or marked at the last close, the equity is the cash plus the round trips' PnL
    pnl = sum(float(t.pnl.sum()) for t in result.trips.values())
    assert curve.equity[-1] == pytest.approx(10_000.0 + pnl, rel=1e-12)


@pytest.mark.realdata
def test_spot_session_is_deterministic(spot_runs: SpotRuns) -> None:
    a, b = spot_runs.sql.engine, spot_runs.memory.engine
    assert len(a.fills) > 0
    assert [(f.trade_id, f.symbol, f.side, f.price, f.qty, f.fee, f.ts) for f in a.fills] == [
        (f.trade_id, f.symbol, f.side, f.price, f.qty, f.fee, f.ts) for f in b.fills
    ]
    assert np.array_equal(a.equity.equity, b.equity.equity)
    assert spot_runs.sql.signals == spot_runs.memory.signals
