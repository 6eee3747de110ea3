"""Queue position of resting limits: scripted trades and book updates, and a real recording
where the fills must sit between "traded through" and "touched"."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mftbot.data.replay import replay_files
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, Level, TradeTick
from mftbot.domain.fills import Liquidity
from mftbot.domain.orders import OrderType
from mftbot.execution.sim.fees import FeeSchedule, FeeTable
from mftbot.execution.sim.queue import QueuePosition
from mftbot.execution.sim.venue import SimulatedVenue, SimVenueConfig
from mftbot.execution.venue import OrderCanceled, OrderFilled, OrderRequest, VenueReport

S = "BTC/USDT"
MS = 1_000_000


# --- the estimate on its own ----------------------------------------------------------------


def test_trades_at_our_price_consume_the_queue_ahead_first() -> None:
    q = QueuePosition.place(100.0, True, 5.0)
    assert q.on_trade(100.0, 2.0, Side.SELL) == 0.0
    assert q.on_trade(100.0, 2.0, Side.SELL) == 0.0
    assert q.ahead == pytest.approx(1.0)
    assert q.on_trade(100.0, 1.5, Side.SELL) == pytest.approx(0.5)
    assert q.ahead == 0.0
    assert q.on_trade(100.0, 0.7, Side.SELL) == pytest.approx(0.7)


def test_only_opposite_aggressors_at_or_through_our_price_count() -> None:
    q = QueuePosition.place(100.0, True, 5.0)
    assert q.on_trade(100.0, 3.0, Side.BUY) == 0.0  # a buyer never hits our bid
    assert q.on_trade(100.5, 3.0, Side.SELL) == 0.0  # hit a better bid, not ours
    assert q.ahead == 5.0
    assert q.on_trade(99.5, 0.01, Side.SELL) == math.inf  # our level was emptied
    ask = QueuePosition.place(101.0, False, 2.0)
    assert ask.on_trade(101.0, 3.0, Side.BUY) == pytest.approx(1.0)
    assert ask.on_trade(101.5, 0.1, Side.BUY) == math.inf


def test_cancellations_move_us_forward_pro_rata() -> None:
    q = QueuePosition.place(100.0, True, 2.0)
    q.on_level_update(5.0)  # 3 joined behind us
    assert q.ahead == 2.0
    q.on_level_update(4.0)  # 1 canceled somewhere in the level of 5
    assert q.ahead == pytest.approx(2.0 - 1.0 * 2.0 / 5.0)
    q.on_trade(100.0, 1.0, Side.SELL)
    q.on_level_update(3.0)  # explained by the trade: no cancel
    assert q.ahead == pytest.approx(0.6)
    q.on_level_update(0.0)
    assert q.ahead == 0.0


def test_without_proportional_cancels_only_trades_and_the_level_size_move_us() -> None:
    q = QueuePosition.place(100.0, True, 5.0, proportional_cancels=False)
    q.on_level_update(4.0)
    assert q.ahead == 4.0  # capped at the level size only
    q.on_level_update(6.0)
    assert q.ahead == 4.0


def test_crossing() -> None:
    q = QueuePosition.place(100.0, True, 5.0)
    assert not q.crossed_by(100.01)
    assert q.crossed_by(100.0)
    assert not q.crossed_by(None)
    assert QueuePosition.place(101.0, False, 0.0).crossed_by(101.0)


# --- through the venue, scripted -------------------------------------------------------------


def snap(ts: int, bids: list[Level], asks: list[Level]) -> BookSnapshot:
    return BookSnapshot("sim", S, ts, ts, ts, bids, asks)


def delta(ts: int, bids: list[Level], asks: list[Level]) -> BookDelta:
    return BookDelta("sim", S, ts, ts, ts, ts, bids, asks)


def trade(ts: int, price: float, size: float, side: Side) -> TradeTick:
    return TradeTick("sim", S, ts, ts, price, size, side, str(ts))


def fills(reports: list[VenueReport]) -> list[OrderFilled]:
    return [r for r in reports if isinstance(r, OrderFilled)]


def test_a_bid_behind_n_units_fills_only_after_n_units_trade_at_its_price() -> None:
    config = SimVenueConfig(
        fees=FeeTable.flat(0.0).model_copy(update={"spot": FeeSchedule(maker=0.0002, taker=0.001)})
    )
    venue = SimulatedVenue({"USDT": 10_000.0}, config)
    venue.on_market_event(snap(1 * MS, [(100.0, 4.0), (99.0, 9.0)], [(101.0, 3.0)]))
    venue.on_market_event(trade(2 * MS, 100.5, 0.1, Side.BUY))
    request = OrderRequest("bid", S, Side.BUY, OrderType.LIMIT, 3 * MS, qty=1.5, price=100.0)
    venue.submit(request)
    order = venue.order("bid")
    assert order is not None
    assert order.queue is not None
    assert order.queue.ahead == 4.0
    assert venue.account.locked("USDT") == pytest.approx(1.5 * 100.0 * 1.001)
    out = venue.on_market_event(trade(4 * MS, 100.0, 2.5, Side.SELL))
    out += venue.on_market_event(delta(5 * MS, [(100.0, 1.5)], []))
    out += venue.on_market_event(trade(6 * MS, 100.0, 1.0, Side.SELL))
    assert fills(out) == []  # 3.5 of the 4 ahead traded
    out = venue.on_market_event(trade(7 * MS, 100.0, 1.0, Side.SELL))
    (first,) = fills(out)
    assert first.fill.qty == pytest.approx(0.5)
    assert first.fill.price == 100.0
    assert first.fill.liquidity is Liquidity.MAKER
    assert first.fill.fee == pytest.approx(0.5 * 100.0 * 0.0002)
    assert first.leaves_qty == pytest.approx(1.0)
    out = venue.on_market_event(trade(8 * MS, 100.0, 3.0, Side.SELL))
    (second,) = fills(out)
    assert second.fill.qty == pytest.approx(1.0)
    assert second.leaves_qty == 0.0
    assert venue.working == []
    assert venue.account.locked("USDT") == pytest.approx(0.0, abs=1e-9)
    assert venue.balance("BTC") == pytest.approx(1.5)
    assert venue.balance("USDT") == pytest.approx(10_000.0 - 150.0 * 1.0002)


def test_cancellations_in_the_book_advance_the_order() -> None:
    venue = SimulatedVenue({"USDT": 10_000.0}, SimVenueConfig(fees=FeeTable.flat(0.0)))
    venue.on_market_event(snap(1 * MS, [(100.0, 4.0)], [(101.0, 3.0)]))
    venue.submit(OrderRequest("bid", S, Side.BUY, OrderType.LIMIT, 1 * MS, qty=1.0, price=100.0))
    venue.on_market_event(delta(2 * MS, [(100.0, 6.0)], []))  # 2 joined behind
    venue.on_market_event(delta(3 * MS, [(100.0, 3.0)], []))  # 3 canceled of 6
    order = venue.order("bid")
    assert order is not None
    assert order.queue is not None
    assert order.queue.ahead == pytest.approx(4.0 - 3.0 * 4.0 / 6.0)
    out = venue.on_market_event(trade(4 * MS, 100.0, 2.0, Side.SELL))
    assert fills(out) == []
    out = venue.on_market_event(trade(5 * MS, 100.0, 0.5, Side.SELL))
    assert fills(out)[0].fill.qty == pytest.approx(0.5)


def test_an_ask_crossing_our_bid_fills_it_at_our_price() -> None:
    venue = SimulatedVenue({"USDT": 10_000.0}, SimVenueConfig(fees=FeeTable.flat(0.0)))
    venue.on_market_event(snap(1 * MS, [(99.0, 4.0)], [(101.0, 3.0)]))
    venue.submit(OrderRequest("bid", S, Side.BUY, OrderType.LIMIT, 1 * MS, qty=2.0, price=100.0))
    order = venue.order("bid")
    assert order is not None
    assert order.queue is not None
    assert order.queue.ahead == 0.0
    out = venue.on_market_event(delta(2 * MS, [], [(99.5, 0.5)]))
    (f,) = fills(out)
    assert (f.fill.price, f.fill.qty, f.fill.liquidity) == (100.0, 0.5, Liquidity.MAKER)
    out = venue.on_market_event(delta(3 * MS, [], [(99.8, 0.2)]))  # our 0.5 stays taken
    assert fills(out)[0].fill.qty == pytest.approx(0.2)


# --- a real recording -------------------------------------------------------------------------


@dataclass
class _Probe:
    side: Side
    price: float
    placed: int
    filled: float = 0.0
    through: bool = False
    touched: bool = False
    fills: list[float] = field(default_factory=list)


def test_real_recording_fills_between_through_and_touch(data_dir: Path) -> None:
    """Every 5 s a 0.001 BTC bid at the best bid and ask at the best ask, canceled after 5 s.
    An order the tape traded through must fill; one the tape and the book never reached must
    not; the rest depend on the queue."""
    path = data_dir / "hftbacktest" / "binance_spot" / "btcusdt_20240808.gz"
    venue = SimulatedVenue({"USDT": 1e6, "BTC": 10.0}, SimVenueConfig(fees=FeeTable.flat(0.0)))
    probes: dict[str, _Probe] = {}
    live: list[str] = []
    next_ts = 0
    life = 5_000 * MS
    for event in replay_files([path]):
        for report in venue.on_market_event(event):
            if isinstance(report, OrderFilled):
                probes[report.client_order_id].filled += report.fill.qty
        ts = event.ts_recv
        for coid in [c for c in live if probes[c].placed + life <= ts]:
            live.remove(coid)
            if coid in venue.working:
                assert isinstance(venue.cancel(coid, ts)[0], OrderCanceled)
        book = venue.book(S)
        if book is None or book.best_bid is None or book.best_ask is None:
            continue
        for coid in live:
            p = probes[coid]
            if isinstance(event, TradeTick) and event.side is not p.side:
                beyond = event.price < p.price if p.side is Side.BUY else event.price > p.price
                p.through |= beyond
                p.touched |= beyond or event.price == p.price
            opposite = book.best_ask if p.side is Side.BUY else book.best_bid
            reached = opposite[0] <= p.price if p.side is Side.BUY else opposite[0] >= p.price
            p.touched |= reached
        if ts >= next_ts:
            next_ts = ts + life
            for side, (price, _) in ((Side.BUY, book.best_bid), (Side.SELL, book.best_ask)):
                coid = f"{side.value}{len(probes)}"
                probes[coid] = _Probe(side, price, ts)
                venue.submit(
                    OrderRequest(coid, S, side, OrderType.LIMIT, ts, qty=0.001, price=price)
                )
                live.append(coid)
    done = [p for p in probes.values() if p.placed + life <= next_ts - life]
    assert len(done) >= 100
    filled = [p for p in done if p.filled > 0]
    for p in done:
        if p.through:
            assert p.filled == pytest.approx(0.001)
        if not p.touched:
            assert p.filled == 0.0
    n_through = sum(p.through for p in done)
    n_touched = sum(p.touched for p in done)
    assert n_through <= len(filled) <= n_touched
    assert len(filled) < n_touched  # the queue keeps some touched orders unfilled
    fraction = len(filled) / len(done)
    assert 0.1 < fraction < 0.9
