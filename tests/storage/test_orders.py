"""The order ledger: intents, status changes, fills and their events, on both backends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from mftbot.core.clock import SimulatedClock, datetime_to_ns
from mftbot.core.errors import IllegalTransitionError, StorageError
from mftbot.domain.enums import Side
from mftbot.storage.database import Database
from mftbot.storage.enums import OrderStatus, OrderType, TimeInForce
from mftbot.storage.errors import DuplicateClientOrderIdError, DuplicateFillError
from mftbot.storage.models import OrderRecord
from mftbot.storage.repositories import OrderRepository
from mftbot.storage.session import LedgerSession

T0 = SimulatedClock(0)


def _intent(repo: OrderRepository, coid: str = "mft-1", **overrides: Any) -> OrderRecord:
    fields: dict[str, Any] = {
        "client_order_id": coid,
        "bot_id": "bot1",
        "strategy": "breakout",
        "venue": "bybit",
        "symbol": "BTC/USDT:USDT",
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": "0.5",
        "price": "60000.5",
    }
    fields.update(overrides)
    return repo.add_intent(**fields)


def test_an_intent_is_written_pending_with_a_created_event(
    session: LedgerSession, clock: SimulatedClock
) -> None:
    repo = OrderRepository(session, clock)
    order = _intent(repo, payload={"signal_id": 7})
    session.commit()

    assert order.status is OrderStatus.PENDING
    assert order.version == 1
    assert order.filled_qty == 0
    assert order.time_in_force is TimeInForce.GTC
    assert datetime_to_ns(order.created_at) == clock.now_ns()
    [event] = repo.events(order)
    assert (event.event_type, event.from_status, event.to_status) == (
        "created",
        None,
        OrderStatus.PENDING,
    )
    assert event.payload == {"signal_id": 7}


def test_an_intent_reads_back_identically_from_a_new_session(
    db: Database, clock: SimulatedClock
) -> None:
    with db.transaction() as s:
        _intent(OrderRepository(s, clock), quantity=0.1, price="60000.123456789012345678")
    with db.session() as s:
        loaded = OrderRepository(s).get_by_client_order_id("mft-1")
        assert loaded is not None
        assert loaded.quantity == Decimal("0.1")
        assert str(loaded.price) == "60000.123456789012345678"
        assert loaded.side is Side.BUY
        assert loaded.order_type is OrderType.LIMIT
        assert loaded.created_at.utcoffset() == timedelta(0)


def test_a_client_order_id_is_never_written_twice(db: Database, clock: SimulatedClock) -> None:
    with db.transaction() as s:
        _intent(OrderRepository(s, clock))
    with db.session() as s, pytest.raises(DuplicateClientOrderIdError, match="mft-1"):
        _intent(OrderRepository(s, clock), quantity="9")
    with db.session() as s:
        [order] = OrderRepository(s).list_non_terminal()
        assert order.quantity == Decimal("0.5")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"price": None}, "needs a price"),
        ({"order_type": "stop_limit"}, "needs a stop_price"),
        ({"quantity": 0}, "quantity: must be > 0"),
        ({"quantity": "-1"}, "quantity: must be > 0"),
        ({"quantity": float("nan")}, "not a finite number"),
        ({"price": "abc"}, "price: 'abc' is not a number"),
        ({"side": "up"}, "side: 'up' is not one of buy, sell"),
        ({"order_type": "iceberg"}, "order_type"),
        ({"client_order_id": ""}, "client_order_id"),
        ({"client_order_id": "x" * 65}, "longer than 64"),
    ],
)
def test_a_bad_intent_is_refused_with_a_clear_error(
    sqlite_session: LedgerSession, overrides: dict[str, Any], message: str
) -> None:
    repo = OrderRepository(sqlite_session, T0)
    with pytest.raises(StorageError, match=message):
        _intent(repo, **overrides)
    assert repo.list_non_terminal() == []


def test_a_market_order_needs_no_price(session: LedgerSession) -> None:
    order = _intent(OrderRepository(session, T0), order_type="market", price=None)
    assert order.price is None


def test_full_lifecycle_with_partial_fills(session: LedgerSession, clock: SimulatedClock) -> None:
    repo = OrderRepository(session, clock)
    order = _intent(repo)
    repo.update_status(order, OrderStatus.SUBMITTED)
    repo.update_status(order, "accepted", venue_order_id="v-123", payload={"latency_ms": 12})
    clock.advance_to(clock.now_ns() + 1_000_000_000)
    repo.add_fill(order, venue_trade_id="t1", price="100", qty="0.3", liquidity="maker", fee="0.01")
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.avg_fill_price == Decimal("100")
    repo.add_fill(order, venue_trade_id="t2", price="101", qty="0.2", liquidity="taker")
    session.commit()

    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == Decimal("0.5")
    assert order.avg_fill_price == Decimal("100.4")  # (0.3 * 100 + 0.2 * 101) / 0.5
    assert order.version == 5
    assert order.venue_order_id == "v-123"
    steps = [(e.event_type, e.from_status, e.to_status) for e in repo.events(order)]
    assert steps == [
        ("created", None, OrderStatus.PENDING),
        ("status", OrderStatus.PENDING, OrderStatus.SUBMITTED),
        ("status", OrderStatus.SUBMITTED, OrderStatus.ACCEPTED),
        ("fill", OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED),
        ("fill", OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED),
    ]
    fills = repo.fills(order)
    assert [(f.venue_trade_id, f.qty, f.fee) for f in fills] == [
        ("t1", Decimal("0.3"), Decimal("0.01")),
        ("t2", Decimal("0.2"), Decimal("0")),
    ]
    assert fills[0].venue == "bybit"
    assert repo.events(order)[3].payload == {"venue_trade_id": "t1", "price": "100", "qty": "0.3"}
    assert order not in repo.list_non_terminal()


def test_average_fill_price_is_exact(session: LedgerSession) -> None:
    repo = OrderRepository(session, T0)
    order = _intent(repo, quantity="3")
    for i, price in enumerate(("0.1", "0.2", "0.4")):
        repo.add_fill(order, venue_trade_id=f"t{i}", price=price, qty=1, liquidity="taker")
    # (0.1 + 0.2 + 0.4) / 3 rounded half-up at 18 places, exactly
    assert order.avg_fill_price == Decimal("0.233333333333333333")


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((OrderStatus.SUBMITTED, OrderStatus.ACCEPTED), OrderStatus.SUBMITTED),
        ((OrderStatus.CANCELED,), OrderStatus.ACCEPTED),
        ((OrderStatus.ACCEPTED,), OrderStatus.REJECTED),
        ((), OrderStatus.PENDING),
    ],
)
def test_an_illegal_transition_raises_and_changes_nothing(
    session: LedgerSession, path: tuple[OrderStatus, ...], illegal: OrderStatus
) -> None:
    repo = OrderRepository(session, T0)
    order = _intent(repo)
    for status in path:
        repo.update_status(order, status)
    before = (order.status, order.version, len(repo.events(order)))
    with pytest.raises(IllegalTransitionError, match=f"-> {illegal.value}"):
        repo.update_status(order, illegal)
    assert (order.status, order.version, len(repo.events(order))) == before


@pytest.mark.parametrize("status", [OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED])
def test_fill_states_are_reached_only_through_fills(
    session: LedgerSession, status: OrderStatus
) -> None:
    repo = OrderRepository(session, T0)
    order = _intent(repo)
    with pytest.raises(IllegalTransitionError, match="add_fill"):
        repo.update_status(order, status)
    assert order.status is OrderStatus.PENDING


def test_recovery_may_record_a_fill_on_a_pending_intent(session: LedgerSession) -> None:
    repo = OrderRepository(session, T0)
    order = _intent(repo)
    repo.add_fill(order, venue_trade_id="t1", price="60000", qty="0.5", liquidity="taker")
    assert order.status is OrderStatus.FILLED


def test_overfill_and_duplicate_fills_are_refused(session: LedgerSession) -> None:
    repo = OrderRepository(session, T0)
    order = _intent(repo)
    repo.add_fill(order, venue_trade_id="t1", price="100", qty="0.4", liquidity="maker")
    with pytest.raises(StorageError, match="overfill"):
        repo.add_fill(order, venue_trade_id="t2", price="100", qty="0.2", liquidity="maker")
    with pytest.raises(DuplicateFillError, match="t1"):
        repo.add_fill(order, venue_trade_id="t1", price="100", qty="0.1", liquidity="maker")
    assert order.filled_qty == Decimal("0.4")
    assert [f.venue_trade_id for f in repo.fills(order)] == ["t1"]


def test_the_same_trade_id_on_another_venue_is_a_different_fill(session: LedgerSession) -> None:
    repo = OrderRepository(session, T0)
    bybit = _intent(repo, "a")
    binance = _intent(repo, "b", venue="binance")
    repo.add_fill(bybit, venue_trade_id="42", price="1", qty="0.1", liquidity="maker")
    repo.add_fill(binance, venue_trade_id="42", price="1", qty="0.1", liquidity="maker")
    assert repo.get_fill("binance", "42") is not None
    assert repo.get_fill("bybit", "42") is not None


def test_no_fill_on_a_terminal_order(session: LedgerSession) -> None:
    repo = OrderRepository(session, T0)
    order = _intent(repo)
    repo.update_status(order, OrderStatus.CANCELED)
    with pytest.raises(IllegalTransitionError, match="canceled"):
        repo.add_fill(order, venue_trade_id="t1", price="100", qty="0.1", liquidity="maker")
    assert repo.fills(order) == []


def test_a_venue_order_id_cannot_be_replaced(session: LedgerSession) -> None:
    repo = OrderRepository(session, T0)
    order = _intent(repo)
    repo.update_status(order, OrderStatus.SUBMITTED, venue_order_id="v1")
    with pytest.raises(StorageError, match="v1"):
        repo.update_status(order, OrderStatus.ACCEPTED, venue_order_id="v2")
    assert repo.get_by_venue_order_id("bybit", "v1") is order
    assert repo.get_by_venue_order_id("bybit", "v2") is None


def test_non_terminal_orders_are_listed_oldest_first_with_filters(
    session: LedgerSession, clock: SimulatedClock
) -> None:
    repo = OrderRepository(session, clock)
    made = {}
    for coid, status, bot in [
        ("a", OrderStatus.PENDING, "bot1"),
        ("b", OrderStatus.ACCEPTED, "bot1"),
        ("c", OrderStatus.CANCELED, "bot1"),
        ("d", OrderStatus.SUBMITTED, "bot2"),
        ("e", OrderStatus.REJECTED, "bot2"),
    ]:
        clock.advance_to(clock.now_ns() + 1_000)
        made[coid] = order = _intent(repo, coid, bot_id=bot)
        if status is not OrderStatus.PENDING:
            repo.update_status(order, status)
    repo.add_fill(made["b"], venue_trade_id="x", price="1", qty="0.1", liquidity="maker")
    session.commit()
    assert [o.client_order_id for o in repo.list_non_terminal()] == ["a", "b", "d"]
    assert [o.client_order_id for o in repo.list_non_terminal(bot_id="bot2")] == ["d"]
    assert repo.list_non_terminal(venue="binance") == []
    assert repo.list_non_terminal(symbol="BTC/USDT:USDT")[0].client_order_id == "a"


def _crash_after_intent(db: Database) -> None:
    with db.transaction() as s:
        _intent(OrderRepository(s, T0))
        raise RuntimeError("crash before commit")


def test_work_in_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError, match="crash"):
        _crash_after_intent(db)
    with db.session() as s:
        assert OrderRepository(s).get_by_client_order_id("mft-1") is None
