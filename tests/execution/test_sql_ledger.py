"""The SQL ledger: intents committed before the venue is called, statuses and fills recorded,
read back after a restart the same as the in-memory ledger holds them; SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mftbot.core.clock import SimulatedClock
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed, MarketEvent
from mftbot.domain.fills import Fill, Liquidity
from mftbot.domain.orders import OrderStatus, OrderType
from mftbot.execution import (
    DuplicateIntentError,
    InMemoryLedger,
    IntentRecord,
    LedgerEntry,
    LedgerError,
    OrderManager,
    OrderRequest,
    VenueReport,
)
from mftbot.execution.ledger import UnknownLedgerOrderError
from mftbot.execution.sim import CandleSimVenue
from mftbot.execution.sql_ledger import SqlLedger
from mftbot.risk import OrderIntent
from mftbot.storage import Database, OrderRecord, OrderRepository, SignalRecord, make_engine
from mftbot.storage.models import EquitySnapshot

S = 1_000_000_000
T0 = 1_723_161_600 * S  # 2024-08-09 00:00 UTC
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated ledger database: a SQLite file, or a fresh schema on the test server."""
    if request.param == "sqlite":
        with Database(f"sqlite:///{tmp_path}/ledger.db") as sqlite:
            sqlite.upgrade()
            yield sqlite
        return
    pg_url = request.getfixturevalue("pg_url")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        with Database(pg_url, schema=schema) as pg:
            pg.upgrade()
            yield pg
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def candle(open_s: int, price: float, symbol: str = "ETH/USDT") -> CandleClosed:
    open_ns = T0 + open_s * S
    close_ns = open_ns + 60 * S
    return CandleClosed(
        "sim", symbol, "1m", open_ns, close_ns, close_ns, price, price, price, price, 1.0
    )


class CommittedCheckVenue(CandleSimVenue):
    """A candle venue that, on each submit, reads the order through a *separate* connection:
    what it sees there was committed before the venue was called."""

    def __init__(self, db: Database, balances: dict[str, float]) -> None:
        super().__init__(balances, fee=0.001)
        self.db = db
        self.seen_at_send: list[OrderStatus | None] = []

    def submit(self, request: OrderRequest) -> list[VenueReport]:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(OrderRecord.status).where(
                    OrderRecord.client_order_id == request.client_order_id
                )
            ).one_or_none()
        self.seen_at_send.append(None if row is None else OrderStatus(row[0]))
        return super().submit(request)


def run_round_trip(manager: OrderManager, venue: CandleSimVenue) -> list[str]:
    """Entry (quote-sized) and exit of ETH/USDT through ``manager``; returns the client ids."""
    coids: list[str] = []

    def feed(event: MarketEvent) -> None:
        for report in venue.on_market_event(event):
            manager.apply(report)

    feed(candle(0, 2_600.0))
    entry = OrderIntent(
        "sma_cross",
        "ETH/USDT",
        Side.BUY,
        IntentKind.ENTRY,
        T0 + 60 * S,
        quote_qty=1_000.0,
        ref_price=2_600.0,
    )
    order, reports = manager.submit(entry, T0 + 59 * S + 123)
    coids.append(order.client_order_id)
    for report in reports:
        manager.apply(report)
    feed(candle(60, 2_610.5))
    filled = manager.order(order.client_order_id).filled_qty
    exit_ = OrderIntent(
        "sma_cross", "ETH/USDT", Side.SELL, IntentKind.EXIT, T0 + 120 * S, qty=filled
    )
    order, reports = manager.submit(exit_, T0 + 119 * S + 456)
    coids.append(order.client_order_id)
    for report in reports:
        manager.apply(report)
    feed(candle(120, 2_590.25))
    return coids


def test_round_trip_is_committed_before_send_and_reads_back_like_memory(db: Database) -> None:
    clock = SimulatedClock(T0)
    sql = SqlLedger(db, clock=clock)
    venue = CommittedCheckVenue(db, {"USDT": 10_000.0})
    coids = run_round_trip(OrderManager(venue, sql, bot_id="demo"), venue)

    memory = InMemoryLedger()
    twin = CandleSimVenue({"USDT": 10_000.0}, fee=0.001)
    assert run_round_trip(OrderManager(twin, memory, bot_id="demo"), twin) == coids

    assert venue.seen_at_send == [OrderStatus.SUBMITTED, OrderStatus.SUBMITTED]
    restarted = SqlLedger(db)  # a new process would read the same
    for coid in coids:
        stored = restarted.get(coid)
        expected = memory.get(coid)
        assert stored is not None
        assert expected is not None
        assert stored.intent == expected.intent
        assert [s.status for s in stored.statuses] == [s.status for s in expected.statuses]
        assert [s.ts for s in stored.statuses] == [s.ts for s in expected.statuses]
        assert stored.status is OrderStatus.FILLED
        assert len(stored.fills) == len(expected.fills) == 1
        got, want = stored.fills[0], expected.fills[0]
        assert (got.trade_id, got.side, got.fee_currency) == (
            want.trade_id,
            want.side,
            want.fee_currency,
        )
        assert got.price == want.price
        assert got.qty == pytest.approx(want.qty, rel=1e-15)
        assert got.fee == pytest.approx(want.fee, rel=1e-15)
        assert got.ts == want.ts  # candle open times are whole µs
    assert [e.intent.client_order_id for e in restarted.entries(bot_id="demo")] == coids
    assert len(restarted) == 2
    with db.session() as session:
        repo = OrderRepository(session)
        order = repo.get_by_client_order_id(coids[0])
        assert order is not None
        assert float(order.filled_qty) == pytest.approx(memory.entries()[0].fills[0].qty)
        assert order.quantity == order.filled_qty  # the quote-sized quantity is fixed


def intent_record(coid: str, *, qty: float = 0.5, quote_qty: float | None = None) -> IntentRecord:
    return IntentRecord(
        client_order_id=coid,
        bot_id="demo",
        strategy="sma_cross",
        venue="sim",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        intent=IntentKind.ENTRY,
        signal_ts=T0,
        created_ts=T0 + 1,
        qty=qty,
        quote_qty=quote_qty,
    )


def fill(coid: str, trade_id: str, qty: float, price: float = 60_000.0) -> Fill:
    return Fill(
        coid, trade_id, "BTC/USDT", Side.BUY, price, qty, 0.01, "USDT", Liquidity.TAKER, T0 + 5
    )


def entry_of(ledger: SqlLedger, coid: str) -> LedgerEntry:
    found = ledger.get(coid)
    assert found is not None
    return found


def test_duplicate_and_unknown_ids_are_refused(db: Database) -> None:
    ledger = SqlLedger(db)
    ledger.record_intent(intent_record("demo-en-1"))
    with pytest.raises(DuplicateIntentError, match="already in the ledger"):
        ledger.record_intent(intent_record("demo-en-1", qty=9.0))
    assert entry_of(ledger, "demo-en-1").intent.qty == 0.5
    assert ledger.get("demo-en-2") is None
    with pytest.raises(UnknownLedgerOrderError):
        ledger.record_status("demo-en-2", OrderStatus.SUBMITTED, T0)
    with pytest.raises(UnknownLedgerOrderError):
        ledger.record_fill("demo-en-2", fill("demo-en-2", "t1", 0.1))
    with pytest.raises(LedgerError, match="is for 'x', not 'demo-en-1'"):
        ledger.record_fill("demo-en-1", fill("x", "t1", 0.1))


def test_quote_sized_order_is_provisional_until_filled(db: Database) -> None:
    ledger = SqlLedger(db)
    ledger.record_intent(intent_record("q-1", qty=0.1, quote_qty=6_000.0))
    ledger.record_status("q-1", OrderStatus.SUBMITTED, T0 + 2)
    ledger.record_fill("q-1", fill("q-1", "t1", 0.06))
    ledger.record_status("q-1", OrderStatus.PARTIALLY_FILLED, T0 + 5)
    ledger.record_fill("q-1", fill("q-1", "t2", 0.045))  # past the provisional 0.1
    assert entry_of(ledger, "q-1").status is OrderStatus.PARTIALLY_FILLED
    ledger.record_status("q-1", OrderStatus.FILLED, T0 + 6, "done")
    entry = entry_of(ledger, "q-1")
    assert [s.status for s in entry.statuses] == [
        OrderStatus.SUBMITTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    assert entry.statuses[-1].reason == "done"
    assert [f.trade_id for f in entry.fills] == ["t1", "t2"]
    with db.session() as session:
        order = OrderRepository(session).get_by_client_order_id("q-1")
        assert order is not None
        assert (order.status, str(order.quantity), str(order.filled_qty)) == (
            OrderStatus.FILLED,
            "0.105",
            "0.105",
        )
    with pytest.raises(LedgerError, match="not a legal transition"):
        ledger.record_status("q-1", OrderStatus.CANCELED, T0 + 7)


def test_quote_sized_partial_fill_then_cancel(db: Database) -> None:
    ledger = SqlLedger(db)
    ledger.record_intent(intent_record("q-2", qty=0.1, quote_qty=6_000.0))
    ledger.record_status("q-2", OrderStatus.SUBMITTED, T0 + 2)
    ledger.record_fill("q-2", fill("q-2", "t1", 0.07))
    ledger.record_status("q-2", OrderStatus.PARTIALLY_FILLED, T0 + 5)
    ledger.record_status("q-2", OrderStatus.CANCELED, T0 + 6, "book exhausted")
    entry = entry_of(ledger, "q-2")
    assert entry.status is OrderStatus.CANCELED
    assert entry.statuses[-1].reason == "book exhausted"
    assert sum(f.qty for f in entry.fills) == 0.07


def test_base_sized_fills_complete_within_float_tolerance_only(db: Database) -> None:
    ledger = SqlLedger(db)
    ledger.record_intent(intent_record("b-1", qty=0.3))
    ledger.record_status("b-1", OrderStatus.SUBMITTED, T0 + 2)
    ledger.record_fill("b-1", fill("b-1", "t1", 0.1))
    ledger.record_fill("b-1", fill("b-1", "t2", 0.2000000000001))  # float noise above 0.3
    ledger.record_status("b-1", OrderStatus.FILLED, T0 + 5)
    assert entry_of(ledger, "b-1").status is OrderStatus.FILLED

    ledger.record_intent(intent_record("b-2", qty=0.3))
    ledger.record_status("b-2", OrderStatus.SUBMITTED, T0 + 2)
    ledger.record_fill("b-2", fill("b-2", "t3", 0.1))
    with pytest.raises(LedgerError, match="leave it partially_filled"):
        ledger.record_status("b-2", OrderStatus.FILLED, T0 + 5)
    with pytest.raises(LedgerError, match="overfill"):
        ledger.record_fill("b-2", fill("b-2", "t4", 0.25))
    with pytest.raises(LedgerError, match="already recorded"):
        ledger.record_fill("b-2", fill("b-2", "t3", 0.1))
    assert [f.trade_id for f in entry_of(ledger, "b-2").fills] == ["t3"]


def test_signals_equity_and_audit_are_stored(db: Database) -> None:
    ledger = SqlLedger(db, clock=SimulatedClock(T0))
    ledger.record_signal(
        strategy="sma_cross",
        symbol="BTC/USDT",
        timeframe="5s",
        direction="long",
        ts=T0 + 5 * S,
        decision="order_sent",
        payload={"close": 60_000.5},
    )
    ledger.record_equity(
        ts=T0 + 5 * S, equity=10_010.5, cash=5_000.0, unrealised_pnl=12.5, realised_pnl=-2.0
    )
    ledger.audit("session_started", actor="demo", ts=T0, details={"symbols": ["BTC/USDT"]})
    with db.session() as session:
        signal = session.scalars(select(SignalRecord)).one()
        assert (signal.symbol, signal.direction.value, signal.decision) == (
            "BTC/USDT",
            "long",
            "order_sent",
        )
        assert signal.payload == {"close": 60_000.5}
        snap = session.scalars(select(EquitySnapshot)).one()
        assert (str(snap.equity), snap.mode.value) == ("10010.5", "paper")
