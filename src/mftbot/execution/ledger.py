"""The order ledger: every intent is written with its client order id before it is sent.

:class:`Ledger` is the protocol the order manager writes to; :class:`InMemoryLedger` keeps it
in memory (backtests, tests). The SQL ledger (``mftbot.storage``) implements the same protocol
for paper and live sessions, where a restart reconciles from it (DESIGN.md principle 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from mftbot.core.errors import MftbotError
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill
from mftbot.domain.orders import OrderStatus, OrderType, TimeInForce


class LedgerError(MftbotError):
    """A ledger write is refused."""


class DuplicateIntentError(LedgerError):
    """An intent with this client order id is already in the ledger: it must not be sent twice."""


class UnknownLedgerOrderError(LedgerError):
    """A status or fill refers to a client order id the ledger does not hold."""


@dataclass(frozen=True, slots=True)
class IntentRecord:
    """What is written before an order is sent.

    ``qty`` is the order's base quantity (provisional for a quote-sized order, whose
    ``quote_qty`` is then set).
    """

    client_order_id: str
    bot_id: str
    strategy: str
    venue: str
    symbol: str
    side: Side
    order_type: OrderType
    intent: IntentKind
    signal_ts: int
    created_ts: int
    qty: float
    quote_qty: float | None = None
    price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """One status change of an order."""

    status: OrderStatus
    ts: int
    reason: str = ""


@dataclass(slots=True)
class LedgerEntry:
    """Everything the ledger knows about one order."""

    intent: IntentRecord
    statuses: list[StatusRecord] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    @property
    def status(self) -> OrderStatus:
        """The last recorded status (``PENDING`` right after the intent)."""
        return self.statuses[-1].status if self.statuses else OrderStatus.PENDING


class Ledger(Protocol):
    """Durable record of order intents, status changes and fills."""

    def record_intent(self, record: IntentRecord) -> None:
        """Write a new intent (status ``PENDING``); raise :class:`DuplicateIntentError` if its
        client order id is already there."""
        ...

    def record_status(
        self, client_order_id: str, status: OrderStatus, ts: int, reason: str = ""
    ) -> None:
        """Append a status change of a known order."""
        ...

    def record_fill(self, client_order_id: str, fill: Fill) -> None:
        """Append a fill of a known order."""
        ...

    def get(self, client_order_id: str) -> LedgerEntry | None:
        """The entry of ``client_order_id``, if any."""
        ...


class InMemoryLedger:
    """A :class:`Ledger` in a dict (lost at exit: for backtests and tests)."""

    def __init__(self) -> None:
        self._entries: dict[str, LedgerEntry] = {}

    def record_intent(self, record: IntentRecord) -> None:
        """Write a new intent; refuse a client order id seen before."""
        if record.client_order_id in self._entries:
            raise DuplicateIntentError(
                f"client order id {record.client_order_id!r} is already in the ledger"
            )
        self._entries[record.client_order_id] = LedgerEntry(record)

    def record_status(
        self, client_order_id: str, status: OrderStatus, ts: int, reason: str = ""
    ) -> None:
        """Append a status change."""
        self._entry(client_order_id).statuses.append(StatusRecord(status, ts, reason))

    def record_fill(self, client_order_id: str, fill: Fill) -> None:
        """Append a fill."""
        self._entry(client_order_id).fills.append(fill)

    def get(self, client_order_id: str) -> LedgerEntry | None:
        """The entry of ``client_order_id``, if any."""
        return self._entries.get(client_order_id)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[LedgerEntry]:
        """All entries, in the order their intents were written."""
        return list(self._entries.values())

    def _entry(self, client_order_id: str) -> LedgerEntry:
        try:
            return self._entries[client_order_id]
        except KeyError:
            raise UnknownLedgerOrderError(
                f"client order id {client_order_id!r} is not in the ledger"
            ) from None
