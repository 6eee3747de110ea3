"""Optimistic locking: two real sessions (two connections) race on the same row.

The loser gets a ``ConcurrencyConflictError`` naming the row and the version it expected,
its session is rolled back and usable, and the winner's change is intact.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from mftbot.core.clock import SimulatedClock
from mftbot.core.errors import ConcurrencyConflictError
from mftbot.domain.enums import Side
from mftbot.storage.database import Database
from mftbot.storage.enums import OrderStatus, OrderType, PositionSide, PositionStatus
from mftbot.storage.errors import DuplicateClientOrderIdError, VersionConflictError
from mftbot.storage.models import OrderRecord
from mftbot.storage.repositories import AuditLog, OrderRepository, PositionRepository

CLOCK = SimulatedClock(1_700_000_000_000_000_000)


def _seed_order(db: Database) -> int:
    with db.transaction() as s:
        order = OrderRepository(s, CLOCK).add_intent(
            client_order_id="race-1",
            bot_id="bot1",
            strategy="s",
            venue="bybit",
            symbol="ETH/USDT",
            side=Side.SELL,
            order_type=OrderType.LIMIT,
            quantity="2",
            price="3000",
        )
        return order.id


def _seed_position(db: Database) -> int:
    with db.transaction() as s:
        position = PositionRepository(s, CLOCK).open(
            bot_id="bot1", venue="bybit", symbol="ETH/USDT", side=PositionSide.LONG, qty="1"
        )
        return position.id


def test_second_writer_of_an_order_gets_a_clear_conflict_and_nothing_is_lost(
    db: Database,
) -> None:
    order_id = _seed_order(db)
    with db.session() as first, db.session() as second:
        repo1, repo2 = OrderRepository(first, CLOCK), OrderRepository(second, CLOCK)
        mine, theirs = repo1.get(order_id), repo2.get(order_id)
        assert mine is not None
        assert theirs is not None
        assert mine.version == theirs.version == 1

        repo1.update_status(mine, OrderStatus.SUBMITTED, venue_order_id="v-1")
        first.commit()

        AuditLog(second, CLOCK).append("cancel", actor="operator", entity_type="order")
        with pytest.raises(ConcurrencyConflictError) as caught:
            repo2.update_status(theirs, OrderStatus.CANCELED)  # flushes: fails here
        error = caught.value
        assert isinstance(error, VersionConflictError)
        assert (error.entity, error.entity_id) == ("orders", order_id)
        assert (error.expected_version, error.found_version) == (1, 2)
        assert "order id=" in str(error)
        assert "race-1" in str(error)
        assert "expected version 1" in str(error)
        assert not second.in_transaction()

        # The loser reloads and retries; the winner's change is still there.
        again = repo2.get(order_id)
        assert again is not None
        assert (again.status, again.venue_order_id, again.version) == (
            OrderStatus.SUBMITTED,
            "v-1",
            2,
        )
        repo2.update_status(again, OrderStatus.CANCELED)
        second.commit()

    with db.session() as check:
        repo = OrderRepository(check)
        final = repo.get(order_id)
        assert final is not None
        assert (final.status, final.version) == (OrderStatus.CANCELED, 3)
        statuses = [e.to_status for e in repo.events(final)]
        assert statuses == [OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.CANCELED]
        assert AuditLog(check).for_entity("order") == []  # the loser's audit line rolled back


def test_a_stale_update_fails_at_commit(db: Database) -> None:
    order_id = _seed_order(db)
    with db.session() as first, db.session() as second:
        mine, theirs = first.get_one(OrderRecord, order_id), second.get_one(OrderRecord, order_id)
        mine.price = Decimal("3100")
        first.commit()
        theirs.price = Decimal("2900")
        with pytest.raises(ConcurrencyConflictError, match="expected version 1"):
            second.commit()
    with db.session() as check:
        assert check.get_one(OrderRecord, order_id).price == Decimal("3100")


def test_second_writer_of_a_position_gets_a_conflict(db: Database) -> None:
    position_id = _seed_position(db)
    with db.session() as first, db.session() as second:
        repo1, repo2 = PositionRepository(first, CLOCK), PositionRepository(second, CLOCK)
        mine, theirs = repo1.get(position_id), repo2.get(position_id)
        assert mine is not None
        assert theirs is not None
        repo1.set_status(mine, PositionStatus.OPEN)
        repo1.update(mine, entry_price="3000", stop_loss="2900")
        first.commit()
        with pytest.raises(VersionConflictError, match="position id=") as caught:
            repo2.close(theirs, exit_price="3010", realised_pnl="10")
        assert caught.value.entity == "positions"
        assert caught.value.expected_version == 1
        assert caught.value.found_version == 3
    with db.session() as check:
        final = PositionRepository(check).get(position_id)
        assert final is not None
        assert (final.status, final.stop_loss, final.exit_price) == (
            PositionStatus.OPEN,
            Decimal("2900"),
            None,
        )


def test_writers_racing_on_two_threads_one_wins(db: Database) -> None:
    """The loser's UPDATE waits on the winner's lock (or runs after it); either way it loses."""
    order_id = _seed_order(db)
    read_done, go = threading.Event(), threading.Event()
    outcome: list[BaseException | str] = []

    def loser() -> None:
        try:
            with db.session() as s:
                repo = OrderRepository(s, CLOCK)
                order = repo.get(order_id)
                assert order is not None
                read_done.set()
                assert go.wait(30)
                repo.update_status(order, OrderStatus.REJECTED)
                s.commit()
                outcome.append("committed")
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=loser)
    thread.start()
    assert read_done.wait(30)
    with db.session() as s:
        repo = OrderRepository(s, CLOCK)
        order = repo.get(order_id)
        assert order is not None
        repo.update_status(order, OrderStatus.ACCEPTED)  # holds the row's write lock
        go.set()
        s.commit()
    thread.join(60)
    assert not thread.is_alive()
    [result] = outcome
    assert isinstance(result, ConcurrencyConflictError), result
    with db.session() as check:
        final = OrderRepository(check).get(order_id)
        assert final is not None
        assert (final.status, final.version) == (OrderStatus.ACCEPTED, 2)


def _stale_write_in_a_transaction_block(db: Database, order_id: int) -> None:
    with db.transaction() as loser:
        stale = loser.get_one(OrderRecord, order_id)
        with db.transaction() as winner:
            winner.get_one(OrderRecord, order_id).reduce_only = True
        stale.strategy = "changed-too-late"  # flushed by the block's commit on exit


def test_a_lost_race_inside_a_transaction_block_raises_the_conflict(db: Database) -> None:
    order_id = _seed_order(db)
    with pytest.raises(VersionConflictError, match="expected version 1, found 2"):
        _stale_write_in_a_transaction_block(db, order_id)
    with db.session() as check:
        final = check.get_one(OrderRecord, order_id)
        assert (final.reduce_only, final.strategy, final.version) == (True, "s", 2)


def test_a_lost_race_found_by_autoflush_in_a_query_rolls_back(db: Database) -> None:
    order_id = _seed_order(db)
    with db.session() as loser:
        stale = loser.get_one(OrderRecord, order_id)
        with db.transaction() as winner:
            winner.get_one(OrderRecord, order_id).strategy = "winner"
        stale.strategy = "loser"
        with pytest.raises(VersionConflictError):
            OrderRepository(loser).list_non_terminal()  # the query autoflushes first
        assert not loser.in_transaction()
        assert OrderRepository(loser).list_non_terminal()[0].strategy == "winner"


def test_two_writers_of_the_same_client_order_id_one_wins(db: Database) -> None:
    """Whether the loser's check or its INSERT meets the winner's row, it gets a clear error."""
    winner_flushed = threading.Event()
    outcome: list[BaseException | str] = []

    def intent(repo: OrderRepository, qty: str) -> None:
        repo.add_intent(
            client_order_id="same-id",
            bot_id="bot1",
            strategy="s",
            venue="bybit",
            symbol="ETH/USDT",
            side="buy",
            order_type="market",
            quantity=qty,
        )

    def loser() -> None:
        try:
            assert winner_flushed.wait(30)
            with db.session() as s:
                intent(OrderRepository(s, CLOCK), "2")
                s.commit()
                outcome.append("committed")
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=loser)
    thread.start()
    with db.session() as s:
        intent(OrderRepository(s, CLOCK), "1")  # flushed: holds the unique key / write lock
        winner_flushed.set()
        s.commit()
    thread.join(60)
    assert not thread.is_alive()
    [result] = outcome
    assert isinstance(result, DuplicateClientOrderIdError), result
    with db.session() as check:
        [order] = OrderRepository(check).list_non_terminal()
        assert order.quantity == Decimal("1")
