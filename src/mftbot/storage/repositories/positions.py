"""Positions: opened, updated, moved through OPENING -> OPEN -> CLOSING -> CLOSED, closed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from mftbot.core.errors import IllegalTransitionError, StorageError
from mftbot.storage.enums import POSITION_TRANSITIONS, PositionSide, PositionStatus
from mftbot.storage.models import PositionRecord
from mftbot.storage.repositories._base import (
    Repository,
    given,
    member,
    non_negative,
    optional_positive,
    positive,
    text,
)
from mftbot.storage.types import MoneyInput, to_decimal


class PositionRepository(Repository):
    """Positions of every bot, with optimistic locking on each change."""

    def open(
        self,
        *,
        bot_id: str,
        venue: str,
        symbol: str,
        side: PositionSide | str,
        qty: MoneyInput,
        entry_price: MoneyInput | None = None,
        stop_loss: MoneyInput | None = None,
        take_profit: MoneyInput | None = None,
        opened_at: datetime | None = None,
    ) -> PositionRecord:
        """Record a position being opened (status ``OPENING``)."""
        now = self._now()
        position = PositionRecord(
            bot_id=text(bot_id, "bot_id", 32),
            venue=text(venue, "venue", 32),
            symbol=text(symbol, "symbol", 64),
            side=member(PositionSide, side, "side"),
            status=PositionStatus.OPENING,
            qty=positive(qty, "qty"),
            entry_price=optional_positive(entry_price, "entry_price"),
            realised_pnl=Decimal(0),
            fees=Decimal(0),
            stop_loss=optional_positive(stop_loss, "stop_loss"),
            take_profit=optional_positive(take_profit, "take_profit"),
            opened_at=self._time(opened_at, "opened_at"),
            updated_at=now,
        )
        self.session.add(position)
        self.session.flush()
        return position

    def get(self, position_id: int) -> PositionRecord | None:
        """The position with this ledger id."""
        return self.session.get(PositionRecord, position_id)

    def list_open(
        self, *, bot_id: str | None = None, venue: str | None = None, symbol: str | None = None
    ) -> list[PositionRecord]:
        """Positions not yet ``CLOSED``, oldest first."""
        query = (
            select(PositionRecord)
            .where(PositionRecord.status != PositionStatus.CLOSED)
            .filter_by(**given(bot_id=bot_id, venue=venue, symbol=symbol))
        )
        order = (PositionRecord.opened_at, PositionRecord.id)
        return list(self.session.scalars(query.order_by(*order)))

    def set_status(self, position: PositionRecord, status: PositionStatus | str) -> None:
        """Move to ``OPEN`` or ``CLOSING`` (use :meth:`close` to close)."""
        target = member(PositionStatus, status, "status")
        if target is PositionStatus.CLOSED:
            raise IllegalTransitionError(
                f"position {position.id}: close it with close(), which records the exit"
            )
        self._check_transition(position, target)
        position.status = target
        position.updated_at = self._now()
        self.session.flush()

    def update(
        self,
        position: PositionRecord,
        *,
        qty: MoneyInput | None = None,
        entry_price: MoneyInput | None = None,
        stop_loss: MoneyInput | None = None,
        take_profit: MoneyInput | None = None,
        add_fees: MoneyInput | None = None,
    ) -> None:
        """Change the given fields (``None`` leaves a field as it is); fees accumulate."""
        if position.status is PositionStatus.CLOSED:
            raise StorageError(f"position {position.id} is closed and cannot change")
        if qty is not None:
            position.qty = positive(qty, "qty")
        if entry_price is not None:
            position.entry_price = positive(entry_price, "entry_price")
        if stop_loss is not None:
            position.stop_loss = positive(stop_loss, "stop_loss")
        if take_profit is not None:
            position.take_profit = positive(take_profit, "take_profit")
        if add_fees is not None:
            position.fees = to_decimal(position.fees + to_decimal(add_fees, "add_fees"), "fees")
        position.updated_at = self._now()
        self.session.flush()

    def close(
        self,
        position: PositionRecord,
        *,
        exit_price: MoneyInput,
        realised_pnl: MoneyInput,
        add_fees: MoneyInput = 0,
        closed_at: datetime | None = None,
    ) -> None:
        """Close the position, recording exit price, realised PnL and the closing fees."""
        self._check_transition(position, PositionStatus.CLOSED)
        fees = to_decimal(position.fees + non_negative(add_fees, "add_fees"), "fees")
        position.exit_price = positive(exit_price, "exit_price")
        position.realised_pnl = to_decimal(realised_pnl, "realised_pnl")
        position.fees = fees
        position.status = PositionStatus.CLOSED
        position.closed_at = self._time(closed_at, "closed_at")
        position.updated_at = self._now()
        self.session.flush()

    def _check_transition(self, position: PositionRecord, target: PositionStatus) -> None:
        if target not in POSITION_TRANSITIONS[position.status]:
            raise IllegalTransitionError(
                f"position {position.id} ({position.symbol}): {position.status.value} -> "
                f"{target.value} is not a legal transition"
            )
