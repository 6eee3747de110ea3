"""Signals the strategies emitted and what the bot decided about each."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mftbot.core.errors import StorageError
from mftbot.storage.enums import SignalDirection
from mftbot.storage.models import SignalRecord
from mftbot.storage.repositories._base import Repository, json_document, member, text, time_range
from mftbot.storage.types import ensure_utc


class SignalRepository(Repository):
    """Signal history (for the dashboard, audits and meta-labelling datasets)."""

    def add(
        self,
        *,
        strategy: str,
        symbol: str,
        timeframe: str,
        direction: SignalDirection | str,
        confidence: float,
        signal_time: datetime,
        payload: dict[str, Any] | None = None,
        decision: str | None = None,
    ) -> SignalRecord:
        """Record a signal; ``confidence`` must lie in [0, 1]."""
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            raise StorageError(f"confidence: {confidence!r} is not a number")
        if not math.isfinite(confidence) or not 0.0 <= confidence <= 1.0:
            raise StorageError(f"confidence: must lie in [0, 1], got {confidence!r}")
        signal = SignalRecord(
            strategy=text(strategy, "strategy", 64),
            symbol=text(symbol, "symbol", 64),
            timeframe=text(timeframe, "timeframe", 16),
            direction=member(SignalDirection, direction, "direction"),
            confidence=float(confidence),
            signal_time=ensure_utc(signal_time, "signal_time"),
            payload=json_document(payload, "payload"),
            decision=None if decision is None else text(decision, "decision", 32),
        )
        self.session.add(signal)
        self.session.flush()
        return signal

    def set_decision(self, signal: SignalRecord, decision: str) -> None:
        """Record what was done with the signal (e.g. ``taken``, ``rejected_by_risk``)."""
        signal.decision = text(decision, "decision", 32)
        self.session.flush()

    def list(
        self,
        *,
        strategy: str | None = None,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[SignalRecord]:
        """Signals matching the filters, by signal time; ``[start, end)`` when both given."""
        query = select(SignalRecord)
        if strategy is not None:
            query = query.where(SignalRecord.strategy == strategy)
        if symbol is not None:
            query = query.where(SignalRecord.symbol == symbol)
        if start is not None and end is not None:
            lo, hi = time_range(start, end)
            query = query.where(SignalRecord.signal_time >= lo, SignalRecord.signal_time < hi)
        elif start is not None:
            query = query.where(SignalRecord.signal_time >= ensure_utc(start, "start"))
        elif end is not None:
            query = query.where(SignalRecord.signal_time < ensure_utc(end, "end"))
        order = (SignalRecord.signal_time, SignalRecord.id)
        return list(self.session.scalars(query.order_by(*order)))
