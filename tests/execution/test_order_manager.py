"""The order manager: ledger before send, deterministic ids, reports through the FSM."""

from __future__ import annotations

import pytest

from mftbot.core.ids import IntentKind, client_order_id
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed, MarketEvent
from mftbot.domain.fills import Fill, Liquidity
from mftbot.domain.orders import OrderStatus
from mftbot.execution import (
    DuplicateIntentError,
    InMemoryLedger,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderManager,
    OrderRejected,
    OrderRequest,
    UnknownOrderError,
    VenueError,
    VenueReport,
)
from mftbot.execution.sim import CandleSimVenue
from mftbot.risk import OrderIntent

M = 60_000_000_000


class SpyVenue:
    """Records each request and what the ledger held when it arrived; answers nothing."""

    name = "sim"

    def __init__(self, ledger: InMemoryLedger) -> None:
        self.ledger = ledger
        self.requests: list[OrderRequest] = []
        self.ledger_at_send: list[OrderStatus | None] = []

    def submit(self, request: OrderRequest) -> list[VenueReport]:
        entry = self.ledger.get(request.client_order_id)
        self.ledger_at_send.append(entry.status if entry is not None else None)
        self.requests.append(request)
        return []

    def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
        return [OrderCanceled(self.name, client_order_id, ts, ts, "asked")]

    def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
        return []


def entry(ts: int = 5 * M, quote: float = 100.0) -> OrderIntent:
    return OrderIntent(
        "sma_cross", "ETH/BTC", Side.BUY, IntentKind.ENTRY, ts, quote_qty=quote, ref_price=10.0
    )


def fill_for(coid: str, qty: float, trade_id: str = "t1", price: float = 10.0) -> Fill:
    return Fill(coid, trade_id, "ETH/BTC", Side.BUY, price, qty, 0.01, "BTC", Liquidity.TAKER, 7)


def test_intent_is_in_the_ledger_before_it_is_sent() -> None:
    ledger = InMemoryLedger()
    venue = SpyVenue(ledger)
    om = OrderManager(venue, ledger, bot_id="alpha")
    order, reports = om.submit(entry(), ts=5 * M + 1)
    assert reports == []
    assert venue.ledger_at_send == [OrderStatus.SUBMITTED]
    coid = client_order_id("alpha", "sma_cross", "ETH/BTC", 5 * M, IntentKind.ENTRY, venue="sim")
    assert order.client_order_id == coid == venue.requests[0].client_order_id
    record = ledger.get(coid)
    assert record is not None
    assert record.intent.quote_qty == 100.0
    assert record.intent.qty == pytest.approx(10.0)
    assert [s.status for s in record.statuses] == [OrderStatus.SUBMITTED]
    assert order.status is OrderStatus.SUBMITTED
    assert venue.requests[0].quote_qty == 100.0
    assert venue.requests[0].qty is None


def test_the_same_intent_is_never_sent_twice() -> None:
    ledger = InMemoryLedger()
    venue = SpyVenue(ledger)
    om = OrderManager(venue, ledger)
    om.submit(entry(), ts=1)
    with pytest.raises(DuplicateIntentError):
        om.submit(entry(), ts=2)
    other = OrderManager(venue, ledger)  # a restarted process with the same ledger
    with pytest.raises(DuplicateIntentError):
        other.submit(entry(), ts=3)
    assert len(venue.requests) == 1


def test_reports_drive_the_order_and_the_ledger() -> None:
    ledger = InMemoryLedger()
    om = OrderManager(SpyVenue(ledger), ledger)
    order, _ = om.submit(entry(quote=100.0), ts=1)
    coid = order.client_order_id
    assert om.apply(OrderAccepted("sim", coid, 2, 2, "v1")) is None
    assert order.status is OrderStatus.ACCEPTED
    assert order.venue_order_id == "v1"
    first = fill_for(coid, 4.0)
    report = OrderFilled("sim", coid, 3, 3, first, leaves_qty=5.8)
    assert om.apply(report) == first
    assert order.qty == pytest.approx(9.8)  # the venue fixed the quote-sized order's size
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert om.apply(report) is None  # a repeated execution report
    second = fill_for(coid, 5.8, "t2")
    assert om.apply(OrderFilled("sim", coid, 4, 4, second, leaves_qty=0.0)) == second
    assert order.status is OrderStatus.FILLED
    assert om.open_orders() == []
    record = ledger.get(coid)
    assert record is not None
    assert [s.status for s in record.statuses] == [
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    assert record.fills == [first, second]


def test_cancel_reject_and_repeats() -> None:
    ledger = InMemoryLedger()
    om = OrderManager(SpyVenue(ledger), ledger)
    a, _ = om.submit(entry(ts=1), ts=1)
    b, _ = om.submit(entry(ts=2), ts=2)
    assert om.open_orders("ETH/BTC") == [a, b]
    for report in om.cancel(a.client_order_id, 3):
        om.apply(report)
    om.apply(OrderCanceled("sim", a.client_order_id, 4, 4, "again"))
    om.apply(OrderRejected("sim", b.client_order_id, 5, 5, "no balance"))
    assert a.status is OrderStatus.CANCELED
    assert b.status is OrderStatus.REJECTED
    entry_a = ledger.get(a.client_order_id)
    assert entry_a is not None
    assert entry_a.status is OrderStatus.CANCELED
    assert len(entry_a.statuses) == 2
    entry_b = ledger.get(b.client_order_id)
    assert entry_b is not None
    assert entry_b.statuses[-1].reason == "no balance"
    with pytest.raises(VenueError, match="not working"):
        om.cancel(a.client_order_id, 6)


def test_unknown_ids_and_incomplete_quote_fills_are_errors() -> None:
    ledger = InMemoryLedger()
    om = OrderManager(SpyVenue(ledger), ledger)
    with pytest.raises(UnknownOrderError):
        om.apply(OrderAccepted("sim", "foreign", 1, 1))
    order, _ = om.submit(entry(), ts=1)
    report = OrderFilled("sim", order.client_order_id, 2, 2, fill_for(order.client_order_id, 3.0))
    with pytest.raises(VenueError, match="leaves_qty"):
        om.apply(report)


def test_with_the_candle_venue_end_to_end() -> None:
    venue = CandleSimVenue({"BTC": 100.0}, fee=0.001)
    om = OrderManager(venue)
    venue.on_market_event(CandleClosed("sim", "ETH/BTC", "1m", 0, M, M, 9, 11, 8, 10, 1))
    order, reports = om.submit(entry(ts=M, quote=100.0), ts=M)
    for report in reports:
        om.apply(report)
    assert order.status is OrderStatus.ACCEPTED
    bar = CandleClosed("sim", "ETH/BTC", "1m", M, 2 * M, 2 * M, 12, 13, 11, 12, 1)
    fills = [om.apply(r) for r in venue.on_market_event(bar)]
    assert order.status is OrderStatus.FILLED
    assert fills[0] is not None
    assert fills[0].price == 12.0
    assert order.qty == fills[0].qty == pytest.approx(100.0 / (12.0 * 1.001))
