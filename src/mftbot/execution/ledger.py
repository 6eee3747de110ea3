"""The order ledger: every intent is written with its client order id before it is sent.

:class:`Ledger` is the protocol the order manager writes to; :class:`InMemoryLedger` keeps it
in memory (backtests, tests). The SQL ledger (``mftbot.storage``) implements the same protocol
for paper and live sessions, where a restart reconciles from it (DESIGN.md principle 4).

``InMemoryLedger(retain_terminal=False)`` (long backtests) drops an order's entry once a
terminal status (filled, canceled, rejected, expired) is written and keeps only its client
order id, so memory stays flat while a reused id is still refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from mftbot.core.errors import MftbotError
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill
from mftbot.domain.orders import ORDER_EDGES, OrderStatus, OrderType, TimeInForce


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
    """A :class:`Ledger` in a dict (lost at exit: for backtests and tests).

    ``retain_terminal=False``: an entry is dropped when its order reaches a terminal status
    (only the id is kept, to refuse it again); :meth:`get` and :meth:`entries` then return the
    orders still working.
    """

    def __init__(self, *, retain_terminal: bool = True) -> None:
        self.retain_terminal = retain_terminal
        self._entries: dict[str, LedgerEntry] = {}
        self._ended: set[str] = set()

    def record_intent(self, record: IntentRecord) -> None:
        """Write a new intent; refuse a client order id seen before."""
        coid = record.client_order_id
        if coid in self._entries or coid in self._ended:
            raise DuplicateIntentError(f"client order id {coid!r} is already in the ledger")
        self._entries[coid] = LedgerEntry(record)

    def record_status(
        self, client_order_id: str, status: OrderStatus, ts: int, reason: str = ""
    ) -> None:
        """Append a status change (with ``retain_terminal`` off, a terminal one ends the entry)."""
        entry = self._entry(client_order_id)
        if not self.retain_terminal and not ORDER_EDGES[status]:
            del self._entries[client_order_id]
            self._ended.add(client_order_id)
            return
        entry.statuses.append(StatusRecord(status, ts, reason))

    def record_fill(self, client_order_id: str, fill: Fill) -> None:
        """Append a fill."""
        self._entry(client_order_id).fills.append(fill)

    def get(self, client_order_id: str) -> LedgerEntry | None:
        """The entry of ``client_order_id``, if any."""
        return self._entries.get(client_order_id)

    def __contains__(self, client_order_id: object) -> bool:
        """Whether the id was ever written (dropped ended entries included)."""
        return client_order_id in self._entries or client_order_id in self._ended

    def __len__(self) -> int:
        """Entries held (dropped ended ones excluded)."""
        return len(self._entries)

    @property
    def dropped_count(self) -> int:
        """Entries dropped once ended (``retain_terminal`` off)."""
        return len(self._ended)

    def entries(self) -> list[LedgerEntry]:
        """All entries, in the order their intents were written."""
        return list(self._entries.values())

    def _entry(self, client_order_id: str) -> LedgerEntry:
        try:
            return self._entries[client_order_id]
        except KeyError:
            state = "ended and was dropped" if client_order_id in self._ended else "is not"
            raise UnknownLedgerOrderError(
                f"client order id {client_order_id!r} {state} in the ledger"
            ) from None
