"""The candle simulated venue: fill prices and times, fees, balances, rejections."""

from __future__ import annotations

import pytest

from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed, TradeTick
from mftbot.domain.orders import OrderType
from mftbot.execution.sim import CandleFill, CandleSimVenue
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    VenueError,
)

M = 60_000_000_000


def candle(i: int, o: float, c: float, symbol: str = "ETH/BTC") -> CandleClosed:
    hi, lo = max(o, c) + 0.5, min(o, c) - 0.5
    return CandleClosed("sim", symbol, "1m", i * M, (i + 1) * M, (i + 1) * M, o, hi, lo, c, 10.0)


def buy(
    coid: str, ts: int, *, qty: float | None = None, quote: float | None = None
) -> OrderRequest:
    return OrderRequest(coid, "ETH/BTC", Side.BUY, OrderType.MARKET, ts, qty=qty, quote_qty=quote)


def sell(coid: str, ts: int, qty: float) -> OrderRequest:
    return OrderRequest(coid, "ETH/BTC", Side.SELL, OrderType.MARKET, ts, qty=qty)


def test_next_open_fills_at_the_following_bar_open_with_fee_on_notional() -> None:
    venue = CandleSimVenue({"BTC": 1000.0}, fee=0.01)
    assert venue.on_market_event(candle(0, 9.0, 10.0)) == []
    reports = venue.submit(buy("a", 1 * M, quote=1000.0))
    assert [type(r) for r in reports] == [OrderAccepted]
    assert venue.working == ["a"]
    reports = venue.on_market_event(candle(1, 12.5, 11.0))
    assert len(reports) == 1
    assert isinstance(reports[0], OrderFilled)
    fill = reports[0].fill
    qty = 1000.0 / (12.5 * 1.01)
    assert (fill.price, fill.ts, fill.side) == (12.5, 1 * M, Side.BUY)
    assert fill.qty == pytest.approx(qty, rel=1e-15)
    assert fill.fee == pytest.approx(12.5 * qty * 0.01, rel=1e-15)
    assert fill.fee_currency == "BTC"
    assert reports[0].leaves_qty == 0.0
    assert venue.balance("BTC") == pytest.approx(0.0, abs=1e-12)
    assert venue.balance("ETH") == fill.qty
    out = venue.on_market_event(candle(2, 11.0, 13.0))
    assert out == []
    reports = venue.submit(sell("b", 3 * M, fill.qty))
    reports += venue.on_market_event(candle(3, 14.0, 13.0))
    sold = reports[-1]
    assert isinstance(sold, OrderFilled)
    assert sold.fill.price == 14.0
    assert sold.fill.ts == 3 * M
    assert venue.balance("BTC") == pytest.approx(14.0 * qty * 0.99, rel=1e-12)
    assert venue.balance("ETH") == 0.0


def test_close_fills_at_once_at_the_last_close_stamped_at_its_close_time() -> None:
    venue = CandleSimVenue({"BTC": 100.0}, fee=0.0, fill="close")
    venue.on_market_event(candle(4, 9.0, 10.0))
    reports = venue.submit(buy("a", 5 * M, qty=3.0))
    assert [type(r) for r in reports] == [OrderAccepted, OrderFilled]
    filled = reports[1]
    assert isinstance(filled, OrderFilled)
    assert (filled.fill.price, filled.fill.qty, filled.fill.ts) == (10.0, 3.0, 5 * M)
    assert venue.balance("BTC") == 70.0
    assert venue.working == []


def test_a_candle_of_another_symbol_or_an_earlier_bar_does_not_fill() -> None:
    venue = CandleSimVenue({"BTC": 100.0})
    venue.on_market_event(candle(0, 9.0, 10.0))
    venue.submit(buy("a", 1 * M, quote=50.0))
    assert venue.on_market_event(candle(1, 5.0, 5.0, symbol="LTC/BTC")) == []
    trade = TradeTick("sim", "ETH/BTC", 1 * M + 5, 1 * M + 5, 1.0, 1.0, Side.BUY, "x")
    assert venue.on_market_event(trade) == []
    assert venue.working == ["a"]
    filled = venue.on_market_event(candle(1, 11.0, 12.0))
    assert isinstance(filled[0], OrderFilled)
    assert filled[0].fill.price == 11.0


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (buy("a", M, quote=100.01), "insufficient BTC"),
        (buy("a", M, qty=10.0), "insufficient BTC"),
        (sell("a", M, 0.5), "insufficient ETH"),
        (
            OrderRequest("a", "ETH/BTC", Side.BUY, OrderType.LIMIT, M, qty=1.0, price=9.0),
            "limit orders are not supported",
        ),
        (
            OrderRequest("a", "ETH/BTC:BTC", Side.BUY, OrderType.MARKET, M, qty=1.0),
            "spot only",
        ),
        (
            OrderRequest("a", "ETH/USDT", Side.BUY, OrderType.MARKET, M, qty=1.0),
            "no price for ETH/USDT",
        ),
    ],
)
def test_what_cannot_be_done_is_rejected(request_: OrderRequest, reason: str) -> None:
    venue = CandleSimVenue({"BTC": 100.0}, fee=0.001)
    venue.on_market_event(candle(0, 10.0, 10.0))
    reports = venue.submit(request_)
    assert len(reports) == 1
    assert isinstance(reports[0], OrderRejected)
    assert reason in reports[0].reason
    assert venue.balance("BTC") == 100.0


def test_an_order_that_no_longer_fits_at_the_open_is_canceled() -> None:
    venue = CandleSimVenue({"BTC": 100.0}, fee=0.0)
    venue.on_market_event(candle(0, 10.0, 10.0))
    assert isinstance(venue.submit(buy("a", M, qty=9.9))[0], OrderAccepted)
    reports = venue.on_market_event(candle(1, 20.0, 20.0))
    assert isinstance(reports[0], OrderCanceled)
    assert "insufficient BTC at fill" in reports[0].reason
    assert venue.balance("BTC") == 100.0
    assert venue.working == []


def test_cancel_a_working_order() -> None:
    venue = CandleSimVenue({"BTC": 100.0})
    venue.on_market_event(candle(0, 10.0, 10.0))
    venue.submit(buy("a", M, quote=10.0))
    reports = venue.cancel("a", M + 1)
    assert isinstance(reports[0], OrderCanceled)
    assert venue.working == []
    assert venue.on_market_event(candle(1, 10.0, 10.0)) == []
    with pytest.raises(VenueError, match="no working order"):
        venue.cancel("a", M + 2)


def test_bad_configuration_and_requests() -> None:
    with pytest.raises(VenueError, match="fee"):
        CandleSimVenue({"BTC": 1.0}, fee=1.0)
    with pytest.raises(VenueError, match="fill"):
        CandleSimVenue({"BTC": 1.0}, fill="vwap")
    with pytest.raises(VenueError, match="balance"):
        CandleSimVenue({"BTC": -1.0})
    with pytest.raises(VenueError, match="exactly one"):
        OrderRequest("a", "ETH/BTC", Side.BUY, OrderType.MARKET, 0, qty=1.0, quote_qty=1.0)
    with pytest.raises(VenueError, match="> 0"):
        OrderRequest("a", "ETH/BTC", Side.BUY, OrderType.MARKET, 0, qty=0.0)
    assert CandleSimVenue({"BTC": 1.0}, fill=CandleFill.CLOSE).fill_mode is CandleFill.CLOSE
