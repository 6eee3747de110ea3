"""Positions through OPENING -> OPEN -> CLOSING -> CLOSED, on both backends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mftbot.core.clock import SimulatedClock
from mftbot.core.errors import IllegalTransitionError, StorageError
from mftbot.storage.database import Database
from mftbot.storage.enums import PositionSide, PositionStatus
from mftbot.storage.models import PositionRecord
from mftbot.storage.repositories import PositionRepository
from mftbot.storage.session import LedgerSession


def _open(repo: PositionRepository, symbol: str = "BTC/USDT", bot: str = "bot1") -> PositionRecord:
    return repo.open(
        bot_id=bot,
        venue="bybit",
        symbol=symbol,
        side=PositionSide.SHORT,
        qty="0.25",
        stop_loss="61000",
        take_profit="58000",
    )


def test_a_position_lives_through_its_states(db: Database, clock: SimulatedClock) -> None:
    with db.transaction() as s:
        repo = PositionRepository(s, clock)
        position = _open(repo)
        assert (position.status, position.version, position.realised_pnl) == (
            PositionStatus.OPENING,
            1,
            0,
        )
        repo.set_status(position, PositionStatus.OPEN)
        repo.update(position, entry_price="60000.5", add_fees="0.75")
        repo.set_status(position, "closing")
        repo.set_status(position, PositionStatus.OPEN)  # the exit order was canceled
        repo.update(position, stop_loss="60500")
        repo.set_status(position, PositionStatus.CLOSING)
        closed_at = position.opened_at + timedelta(minutes=5)
        repo.close(
            position,
            exit_price="59000.25",
            realised_pnl="250.0625",
            add_fees="0.74",
            closed_at=closed_at,
        )
        position_id = position.id
    with db.session() as s:
        loaded = PositionRepository(s).get(position_id)
        assert loaded is not None
        assert loaded.status is PositionStatus.CLOSED
        assert loaded.side is PositionSide.SHORT
        assert (loaded.entry_price, loaded.exit_price) == (Decimal("60000.5"), Decimal("59000.25"))
        assert loaded.realised_pnl == Decimal("250.0625")
        assert loaded.fees == Decimal("1.49")
        assert loaded.stop_loss == Decimal("60500")
        assert loaded.closed_at == closed_at
        assert loaded.version == 8


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), PositionStatus.CLOSING),
        ((PositionStatus.OPEN,), PositionStatus.OPENING),
        ((PositionStatus.OPEN, PositionStatus.CLOSING), PositionStatus.CLOSING),
    ],
)
def test_an_illegal_transition_raises(
    session: LedgerSession, path: tuple[PositionStatus, ...], illegal: PositionStatus
) -> None:
    repo = PositionRepository(session)
    position = _open(repo)
    for status in path:
        repo.set_status(position, status)
    with pytest.raises(IllegalTransitionError, match=f"-> {illegal.value}"):
        repo.set_status(position, illegal)


def test_closing_goes_through_close_and_a_closed_position_is_final(
    session: LedgerSession,
) -> None:
    repo = PositionRepository(session)
    position = _open(repo)
    with pytest.raises(IllegalTransitionError, match="close"):
        repo.set_status(position, PositionStatus.CLOSED)
    repo.close(position, exit_price="1", realised_pnl="-3.5")  # entry never filled
    assert position.realised_pnl == Decimal("-3.5")
    with pytest.raises(StorageError, match="closed"):
        repo.update(position, qty="1")
    with pytest.raises(IllegalTransitionError, match="closed -> closed"):
        repo.close(position, exit_price="1", realised_pnl="0")


def test_open_positions_are_listed_with_filters(session: LedgerSession) -> None:
    repo = PositionRepository(session)
    a = _open(repo, "BTC/USDT")
    b = _open(repo, "ETH/USDT")
    c = _open(repo, "ETH/USDT", bot="bot2")
    repo.close(a, exit_price="1", realised_pnl="0")
    assert repo.list_open() == [b, c]
    assert repo.list_open(symbol="ETH/USDT", bot_id="bot2") == [c]
    assert repo.list_open(venue="binance") == []


@pytest.mark.parametrize(
    ("field", "value"), [("qty", "0"), ("side", "up"), ("stop_loss", "-1"), ("symbol", "")]
)
def test_bad_position_input_is_refused(
    sqlite_session: LedgerSession, field: str, value: str
) -> None:
    fields = {"bot_id": "b", "venue": "bybit", "symbol": "X/Y", "side": "long", "qty": "1"}
    fields[field] = value
    with pytest.raises(StorageError, match=field):
        PositionRepository(sqlite_session).open(**fields)  # type: ignore[arg-type]
