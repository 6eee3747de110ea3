"""``retain_terminal=False``: ended orders and ledger entries are dropped, ids still refused."""

from __future__ import annotations

import pytest

from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import MarketEvent
from mftbot.domain.fills import Fill, Liquidity
from mftbot.domain.orders import OrderStatus, OrderType
from mftbot.execution import (
    DuplicateIntentError,
    InMemoryLedger,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderManager,
    OrderRequest,
    UnknownOrderError,
    VenueReport,
)
from mftbot.execution.ledger import IntentRecord, UnknownLedgerOrderError
from mftbot.risk import OrderIntent

M = 60_000_000_000


class QuietVenue:
    """Accepts every request and answers nothing by itself."""

    name = "sim"

    def submit(self, request: OrderRequest) -> list[VenueReport]:
        return []

    def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
        return [OrderCanceled(self.name, client_order_id, ts, ts, "asked")]

    def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
        return []


def buy(signal_ts: int) -> OrderIntent:
    return OrderIntent("s", "ETH/BTC", Side.BUY, IntentKind.ENTRY, signal_ts, qty=1.0)


def filled(coid: str, trade_id: str) -> OrderFilled:
    fill = Fill(coid, trade_id, "ETH/BTC", Side.BUY, 10.0, 1.0, 0.01, "BTC", Liquidity.TAKER, 7)
    return OrderFilled("sim", coid, 7, 7, fill, leaves_qty=0.0)


def manager(retain: bool) -> tuple[OrderManager, InMemoryLedger]:
    ledger = InMemoryLedger(retain_terminal=retain)
    return OrderManager(QuietVenue(), ledger, retain_terminal=retain), ledger


def test_an_ended_order_stays_until_the_next_submit_then_is_dropped() -> None:
    om, ledger = manager(retain=False)
    first, _ = om.submit(buy(1 * M), ts=1)
    coid = first.client_order_id
    assert om.apply(filled(coid, "t1")) is not None
    assert om.order(coid).status is OrderStatus.FILLED  # still there for the engine's hooks
    assert om.intent(coid).signal_ts == 1 * M
    assert ledger.get(coid) is None
    assert coid in ledger
    assert ledger.dropped_count == 1
    second, _ = om.submit(buy(2 * M), ts=2)
    assert [o.client_order_id for o in om.orders] == [second.client_order_id]
    assert om.dropped_count == 1
    with pytest.raises(UnknownOrderError, match="dropped"):
        om.order(coid)
    with pytest.raises(DuplicateIntentError):
        om.submit(buy(1 * M), ts=3)  # the ledger still refuses the dropped id
    assert len(om.orders) == 1


def test_working_orders_are_kept_and_every_ending_counts() -> None:
    om, ledger = manager(retain=False)
    working, _ = om.submit(buy(1 * M), ts=1)
    om.apply(OrderAccepted("sim", working.client_order_id, 2, 2, "v1"))
    canceled, _ = om.submit(buy(2 * M), ts=3)
    for report in om.cancel(canceled.client_order_id, ts=4):
        om.apply(report)
    om.submit(buy(3 * M), ts=5)
    held = {o.client_order_id for o in om.orders}
    assert working.client_order_id in held
    assert canceled.client_order_id not in held
    entry = ledger.get(working.client_order_id)
    assert entry is not None
    assert [s.status for s in entry.statuses] == [OrderStatus.SUBMITTED, OrderStatus.ACCEPTED]
    assert len(ledger) == 2
    assert ledger.dropped_count == 1


def test_the_default_keeps_everything() -> None:
    om, ledger = manager(retain=True)
    order, _ = om.submit(buy(1 * M), ts=1)
    om.apply(filled(order.client_order_id, "t1"))
    om.submit(buy(2 * M), ts=2)
    assert len(om.orders) == 2
    assert om.dropped_count == 0
    entry = ledger.get(order.client_order_id)
    assert entry is not None
    assert entry.status is OrderStatus.FILLED
    assert ledger.dropped_count == 0


def test_a_dropped_ledger_entry_refuses_later_writes() -> None:
    ledger = InMemoryLedger(retain_terminal=False)
    record = IntentRecord(
        "c1", "b", "s", "sim", "ETH/BTC", Side.BUY, OrderType.MARKET, IntentKind.ENTRY, 1, 1, 1.0
    )
    ledger.record_intent(record)
    ledger.record_status("c1", OrderStatus.SUBMITTED, 2)
    ledger.record_status("c1", OrderStatus.REJECTED, 3, "no")
    with pytest.raises(UnknownLedgerOrderError, match="dropped"):
        ledger.record_status("c1", OrderStatus.CANCELED, 4)
    with pytest.raises(DuplicateIntentError):
        ledger.record_intent(record)
    assert ledger.entries() == []
