"""What every repository shares: the session, the injected clock and input checks."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from mftbot.core.clock import Clock, WallClock, ns_to_datetime
from mftbot.core.errors import StorageError
from mftbot.storage.jsoncodec import json_dumps
from mftbot.storage.types import MoneyInput, ensure_utc, to_decimal

E = TypeVar("E", bound=StrEnum)


class Repository:
    """A small data-access object over one :class:`~sqlalchemy.orm.Session`.

    Repositories flush (so ids exist and constraint errors surface at the call) but never
    commit: the caller owns the transaction. Record times come from the injected ``clock``
    (a ``SimulatedClock`` in a backtest), never from the machine directly.
    """

    def __init__(self, session: Session, clock: Clock | None = None) -> None:
        self.session = session
        self.clock: Clock = clock if clock is not None else WallClock()

    def _now(self) -> datetime:
        return ns_to_datetime(self.clock.now_ns())

    def _time(self, value: datetime | None, field: str) -> datetime:
        """``value`` in UTC, or the clock's now when ``None``."""
        return self._now() if value is None else ensure_utc(value, field)


def given(**filters: object) -> dict[str, object]:
    """The ``filters`` that are not ``None``: optional equality filters for ``filter_by``."""
    return {name: value for name, value in filters.items() if value is not None}


def member(enum: type[E], value: E | str, field: str) -> E:
    """``value`` as a member of ``enum``; anything else is a :class:`StorageError`."""
    try:
        return enum(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum)
        raise StorageError(f"{field}: {value!r} is not one of {allowed}") from exc


def text(value: str, field: str, max_length: int) -> str:
    """A non-empty string that fits its column."""
    if not isinstance(value, str) or not value.strip():
        raise StorageError(f"{field}: must be a non-empty string, got {value!r}")
    if len(value) > max_length:
        raise StorageError(f"{field}: {value!r} is longer than {max_length} characters")
    return value


def positive(value: MoneyInput, field: str) -> Decimal:
    """An exact decimal strictly greater than zero."""
    number = to_decimal(value, field)
    if number <= 0:
        raise StorageError(f"{field}: must be > 0, got {value!r}")
    return number


def non_negative(value: MoneyInput, field: str) -> Decimal:
    """An exact decimal greater than or equal to zero."""
    number = to_decimal(value, field)
    if number < 0:
        raise StorageError(f"{field}: must be >= 0, got {value!r}")
    return number


def optional_positive(value: MoneyInput | None, field: str) -> Decimal | None:
    """``None``, or an exact decimal strictly greater than zero."""
    return None if value is None else positive(value, field)


def json_document(value: dict[str, Any] | None, field: str) -> dict[str, Any] | None:
    """``value`` as it will read back from a JSON column (decimals as strings, ...).

    Converting on the way in keeps the in-memory record equal to the stored one and turns
    an unserialisable payload into a clear error at the call, not at commit.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StorageError(f"{field}: expected a JSON object (dict), got {type(value).__name__}")
    try:
        document = json.loads(json_dumps(value))
    except (TypeError, ValueError) as exc:
        raise StorageError(f"{field}: not storable as JSON: {exc}") from exc
    assert isinstance(document, dict)
    return document


def time_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """A half-open UTC range ``[start, end)``; an empty or reversed range is an error."""
    lo, hi = ensure_utc(start, "start"), ensure_utc(end, "end")
    if hi <= lo:
        raise StorageError(f"time range: end {hi.isoformat()} is not after start {lo.isoformat()}")
    return lo, hi
