"""Latency: an order works from ts + latency, against market data from then on; cancels are
delayed too; random delays are seeded."""

from __future__ import annotations

import pytest

from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, CandleClosed, TradeTick
from mftbot.domain.orders import OrderType
from mftbot.execution.sim.fees import FeeTable
from mftbot.execution.sim.latency import JitterKind, Latency, LatencyConfig
from mftbot.execution.sim.slippage import SlippageParams
from mftbot.execution.sim.venue import SimulatedVenue, SimVenueConfig
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRequest,
    VenueError,
)

MS = 1_000_000
M = 60_000 * MS
S = "BTC/USDT"
NO_SLIP = SlippageParams(
    spread_bps=0, volatility_coef=0, impact_coef=0, gap_coef=0, gap_threshold_bps=0
)


def make(latency: LatencyConfig) -> SimulatedVenue:
    config = SimVenueConfig(fees=FeeTable.flat(0.0), slippage=NO_SLIP, latency=latency)
    return SimulatedVenue({"USDT": 10_000.0, "BTC": 5.0}, config)


def test_fixed_latency_delays_arrival_and_matches_the_book_at_arrival() -> None:
    v = make(LatencyConfig.fixed(500 * MS))
    v.on_market_event(BookSnapshot("sim", S, 0, 0, 1, [(100.0, 1.0)], [(101.0, 1.0), (103.0, 5)]))
    request = OrderRequest("m", S, Side.BUY, OrderType.MARKET, 0, qty=1.0)
    assert v.submit(request) == []
    assert v.working == []
    moved = BookDelta("sim", S, 200 * MS, 200 * MS, 2, 2, [], [(101.0, 0.0), (102.0, 1.0)])
    assert v.on_market_event(moved) == []  # not arrived yet: the 101 ask goes untouched
    later = BookDelta("sim", S, 600 * MS, 600 * MS, 3, 3, [], [(102.0, 0.0)])
    reports = v.on_market_event(later)
    accepted, fill = reports
    assert isinstance(accepted, OrderAccepted)
    assert accepted.ts_event == 500 * MS
    assert isinstance(fill, OrderFilled)
    assert (fill.fill.price, fill.fill.ts) == (102.0, 500 * MS)  # the book as it was at arrival


def test_candle_orders_arriving_inside_a_bar_wait_for_the_next_open() -> None:
    v = make(LatencyConfig.fixed(5_000 * MS))

    def bar(i: int, o: float) -> CandleClosed:
        return CandleClosed(
            "sim", S, "1m", i * M, (i + 1) * M, (i + 1) * M, o, o + 1, o - 1, o, 9.0
        )

    v.on_market_event(bar(0, 100.0))
    assert v.submit(OrderRequest("m", S, Side.BUY, OrderType.MARKET, 1 * M, qty=1.0)) == []
    reports = v.on_market_event(bar(1, 110.0))
    assert [type(r) for r in reports] == [OrderAccepted]
    assert reports[0].ts_event == 1 * M + 5_000 * MS
    (fill,) = v.on_market_event(bar(2, 120.0))
    assert isinstance(fill, OrderFilled)
    assert (fill.fill.price, fill.fill.ts) == (120.0, 2 * M)
    zero = make(LatencyConfig())
    zero.on_market_event(bar(0, 100.0))
    zero.submit(OrderRequest("m", S, Side.BUY, OrderType.MARKET, 1 * M, qty=1.0))
    (fill,) = zero.on_market_event(bar(1, 110.0))
    assert isinstance(fill, OrderFilled)
    assert fill.fill.price == 110.0


def test_a_cancel_takes_effect_after_the_latency_and_loses_to_a_fill_before_it() -> None:
    v = make(LatencyConfig.fixed(100 * MS))
    v.on_market_event(BookSnapshot("sim", S, 0, 0, 1, [(100.0, 1.0)], [(101.0, 1.0)]))
    bid = OrderRequest("a", S, Side.BUY, OrderType.LIMIT, 0, qty=0.5, price=99.0)
    v.submit(bid)
    v.on_market_event(TradeTick("sim", S, 150 * MS, 150 * MS, 100.0, 0.1, Side.SELL, "t1"))
    assert v.working == ["a"]
    assert v.cancel("a", 200 * MS) == []
    through = TradeTick("sim", S, 250 * MS, 250 * MS, 98.0, 0.1, Side.SELL, "t2")
    (fill,) = v.on_market_event(through)
    assert isinstance(fill, OrderFilled)
    assert fill.fill.price == 99.0
    assert v.on_market_event(TradeTick("sim", S, 400 * MS, 400 * MS, 99.0, 1, Side.BUY, "t3")) == []

    v.submit(OrderRequest("b", S, Side.BUY, OrderType.LIMIT, 400 * MS, qty=0.5, price=98.0))
    v.on_market_event(TradeTick("sim", S, 550 * MS, 550 * MS, 99.0, 1, Side.BUY, "t4"))
    v.cancel("b", 600 * MS)
    (canceled,) = v.on_market_event(
        TradeTick("sim", S, 700 * MS, 700 * MS, 99.0, 1, Side.BUY, "t5")
    )
    assert isinstance(canceled, OrderCanceled)
    assert canceled.ts_event == 700 * MS
    assert canceled.reason == "canceled on request"


def test_cancel_of_an_order_on_its_way_applies_after_it_arrives() -> None:
    v = make(LatencyConfig.fixed(100 * MS))
    v.on_market_event(BookSnapshot("sim", S, 0, 0, 1, [(100.0, 1.0)], [(101.0, 1.0)]))
    v.submit(OrderRequest("a", S, Side.BUY, OrderType.LIMIT, 0, qty=0.5, price=99.0))
    assert v.cancel("a", 10 * MS) == []
    reports = v.on_market_event(TradeTick("sim", S, 300 * MS, 300 * MS, 100, 1, Side.BUY, "t"))
    assert [type(r) for r in reports] == [OrderAccepted, OrderCanceled]
    assert [r.ts_event for r in reports] == [100 * MS, 110 * MS]
    with pytest.raises(VenueError, match="no working order 'a'"):
        v.cancel("a", 400 * MS)


@pytest.mark.parametrize("kind", list(JitterKind))
def test_random_latency_is_seeded_and_bounded(kind: JitterKind) -> None:
    config = LatencyConfig(base_ns=1_000, jitter_ns=10_000, jitter=kind, seed=7)
    first, second = Latency(config), Latency(config)
    run1 = [first.delay_ns() for _ in range(2000)]
    assert run1 == [second.delay_ns() for _ in range(2000)]
    assert len(set(run1)) > 500
    assert min(run1) >= 1_000
    assert max(run1) <= (11_000 if kind is JitterKind.UNIFORM else 1_000 + 20 * 10_000)
    mean_jitter = 5_000 if kind is JitterKind.UNIFORM else 10_000
    assert sum(run1) / len(run1) == pytest.approx(1_000 + mean_jitter, rel=0.1)
    other = Latency(config.model_copy(update={"seed": 8}))
    assert [other.delay_ns() for _ in range(2000)] != run1
    assert not first.is_zero
    assert Latency().is_zero
    assert Latency(LatencyConfig.fixed(7)).delay_ns() == 7
