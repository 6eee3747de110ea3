"""Equity snapshots: the account's value over time, per trading mode."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from mftbot.core.config import TradingMode
from mftbot.storage.models import EquitySnapshot
from mftbot.storage.repositories._base import Repository, member, time_range
from mftbot.storage.types import MoneyInput, to_decimal


class EquityRepository(Repository):
    """Append and read equity snapshots."""

    def record(
        self,
        *,
        equity: MoneyInput,
        cash: MoneyInput,
        unrealised_pnl: MoneyInput,
        realised_pnl: MoneyInput,
        mode: TradingMode | str,
        ts: datetime | None = None,
    ) -> EquitySnapshot:
        """Store one snapshot (``ts`` defaults to the clock's now)."""
        snapshot = EquitySnapshot(
            ts=self._time(ts, "ts"),
            equity=to_decimal(equity, "equity"),
            cash=to_decimal(cash, "cash"),
            unrealised_pnl=to_decimal(unrealised_pnl, "unrealised_pnl"),
            realised_pnl=to_decimal(realised_pnl, "realised_pnl"),
            mode=member(TradingMode, mode, "mode"),
        )
        self.session.add(snapshot)
        self.session.flush()
        return snapshot

    def latest(self, mode: TradingMode | str) -> EquitySnapshot | None:
        """The most recent snapshot of ``mode``."""
        query = (
            select(EquitySnapshot)
            .where(EquitySnapshot.mode == member(TradingMode, mode, "mode"))
            .order_by(EquitySnapshot.ts.desc(), EquitySnapshot.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).one_or_none()

    def between(
        self, start: datetime, end: datetime, *, mode: TradingMode | str | None = None
    ) -> list[EquitySnapshot]:
        """Snapshots with ``start <= ts < end``, oldest first."""
        lo, hi = time_range(start, end)
        query = select(EquitySnapshot).where(EquitySnapshot.ts >= lo, EquitySnapshot.ts < hi)
        if mode is not None:
            query = query.where(EquitySnapshot.mode == member(TradingMode, mode, "mode"))
        return list(self.session.scalars(query.order_by(EquitySnapshot.ts, EquitySnapshot.id)))
