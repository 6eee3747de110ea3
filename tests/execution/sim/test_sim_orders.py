"""Stops, take-profits, trailing stops and limits on scripted candles: triggers, gaps through
the stop, the stop-first rule inside one candle, and the trigger helpers."""

from __future__ import annotations

import pytest

from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.domain.fills import Liquidity
from mftbot.domain.orders import OrderType, TimeInForce
from mftbot.execution.sim.fees import FeeSchedule, FeeTable
from mftbot.execution.sim.orders import (
    TrailingMode,
    TrailingSpec,
    TrailingState,
    candle_trigger,
    triggers_on_rise,
)
from mftbot.execution.sim.slippage import SlippageParams
from mftbot.execution.sim.venue import CandleLimitRule, SimulatedVenue, SimVenueConfig
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    VenueError,
    VenueReport,
)

M = 60_000_000_000
S = "BTC/USDT"
PERP = "BTC/USDT:USDT"
NO_SLIP = SlippageParams(
    spread_bps=0, volatility_coef=0, impact_coef=0, gap_coef=0, gap_threshold_bps=0
)


def bar(i: int, o: float, h: float, lo: float, c: float, symbol: str = S) -> CandleClosed:
    return CandleClosed("sim", symbol, "1m", i * M, (i + 1) * M, (i + 1) * M, o, h, lo, c, 50.0)


def venue(**overrides: object) -> SimulatedVenue:
    settings: dict[str, object] = {"fees": FeeTable.flat(0.0), "slippage": NO_SLIP}
    settings.update(overrides)
    v = SimulatedVenue({"USDT": 10_000.0, "BTC": 1.0}, SimVenueConfig.model_validate(settings))
    assert v.on_market_event(bar(0, 100.0, 100.5, 99.5, 100.0)) == []
    return v


def order(
    coid: str,
    side: Side,
    otype: OrderType,
    *,
    qty: float = 1.0,
    stop: float | None = None,
    price: float | None = None,
    ts: int = 1 * M,
    symbol: str = S,
    reduce_only: bool = False,
    tif: TimeInForce = TimeInForce.GTC,
) -> OrderRequest:
    return OrderRequest(
        coid,
        symbol,
        side,
        otype,
        ts,
        qty=qty,
        price=price,
        stop_price=stop,
        reduce_only=reduce_only,
        time_in_force=tif,
    )


def filled(reports: list[VenueReport]) -> list[OrderFilled]:
    return [r for r in reports if isinstance(r, OrderFilled)]


# --- helpers -------------------------------------------------------------------------------


def test_trigger_directions() -> None:
    assert not triggers_on_rise(OrderType.STOP_MARKET, Side.SELL)
    assert triggers_on_rise(OrderType.STOP_LIMIT, Side.BUY)
    assert triggers_on_rise(OrderType.TAKE_PROFIT_MARKET, Side.SELL)
    assert not triggers_on_rise(OrderType.TAKE_PROFIT_LIMIT, Side.BUY)
    with pytest.raises(VenueError, match="no trigger"):
        triggers_on_rise(OrderType.LIMIT, Side.BUY)


def test_candle_trigger_prices() -> None:
    assert candle_trigger(False, 95.0, 100.0, 101.0, 94.0) == (95.0, False)
    assert candle_trigger(False, 95.0, 90.0, 96.0, 89.0) == (90.0, True)
    assert candle_trigger(False, 95.0, 100.0, 101.0, 95.5) is None
    assert candle_trigger(True, 105.0, 100.0, 105.0, 99.0) == (105.0, False)
    assert candle_trigger(True, 105.0, 107.0, 108.0, 106.0) == (107.0, True)


def test_trailing_state_ratchets_only_in_favour() -> None:
    state = TrailingState(TrailingSpec(2.0), Side.SELL)
    stop = state.observe(100.0, None)
    assert stop == 98.0
    stop = state.observe(104.0, stop)
    assert stop == 102.0
    assert state.observe(101.0, stop) == 102.0
    pct = TrailingState(TrailingSpec(0.01, TrailingMode.PERCENT), Side.BUY)
    assert pct.observe(200.0, None) == pytest.approx(202.0)
    assert pct.observe(190.0, 202.0) == pytest.approx(191.9)
    assert pct.observe(195.0, 191.9) == pytest.approx(191.9)
    gated = TrailingState(TrailingSpec(1.0, activation_price=110.0), Side.SELL)
    assert gated.observe(109.0, None) is None
    assert gated.observe(111.0, None) == 110.0
    with pytest.raises(VenueError, match="< 1"):
        TrailingSpec(1.5, TrailingMode.PERCENT)


# --- stops and targets on candles ----------------------------------------------------------


def test_stop_loss_fills_at_the_stop_inside_the_bar() -> None:
    v = venue()
    reports = v.submit(order("sl", Side.SELL, OrderType.STOP_MARKET, stop=95.0))
    assert [type(r) for r in reports] == [OrderAccepted]
    assert filled(v.on_market_event(bar(1, 100.0, 101.0, 96.0, 97.0))) == []
    (f,) = filled(v.on_market_event(bar(2, 97.0, 97.5, 94.0, 96.0)))
    assert (f.fill.price, f.fill.qty, f.fill.ts) == (95.0, 1.0, 3 * M)
    assert f.fill.liquidity is Liquidity.TAKER
    assert v.balance("BTC") == 0.0
    assert v.balance("USDT") == pytest.approx(10_095.0)


def test_gap_through_the_stop_fills_at_the_open_not_the_stop() -> None:
    v = venue()
    v.submit(order("sl", Side.SELL, OrderType.STOP_MARKET, stop=95.0))
    (f,) = filled(v.on_market_event(bar(1, 90.0, 92.0, 88.0, 91.0)))
    assert (f.fill.price, f.fill.ts) == (90.0, 1 * M)


def test_gap_fill_pays_the_slippage_model_with_its_gap_penalty() -> None:
    params = SlippageParams(
        spread_bps=2.0, volatility_coef=0.0, impact_coef=0.0, gap_coef=0.5, gap_threshold_bps=0
    )
    v = venue(slippage=params)
    v.submit(order("sl", Side.SELL, OrderType.STOP_MARKET, stop=95.0))
    (f,) = filled(v.on_market_event(bar(1, 90.0, 92.0, 88.0, 91.0)))
    gap = 0.1  # opened 10 % below the last close of 100
    assert f.fill.price == pytest.approx(90.0 * (1.0 - 1e-4 - 0.5 * gap))


def test_take_profit_fills_at_its_price_or_at_a_better_open() -> None:
    v = venue()
    v.submit(order("tp", Side.SELL, OrderType.TAKE_PROFIT_MARKET, qty=0.5, stop=105.0))
    (f,) = filled(v.on_market_event(bar(1, 101.0, 106.0, 100.0, 104.0)))
    assert (f.fill.price, f.fill.ts) == (105.0, 2 * M)
    v.submit(order("tp2", Side.SELL, OrderType.TAKE_PROFIT_MARKET, qty=0.5, stop=105.0, ts=2 * M))
    (g,) = filled(v.on_market_event(bar(2, 107.0, 108.0, 106.0, 107.0)))
    assert (g.fill.price, g.fill.ts) == (107.0, 2 * M)


def test_stop_and_target_in_one_candle_take_the_stop_first() -> None:
    v = venue()
    v.submit(order("tp", Side.SELL, OrderType.TAKE_PROFIT_MARKET, stop=105.0))
    v.submit(order("sl", Side.SELL, OrderType.STOP_MARKET, stop=95.0))
    reports = v.on_market_event(bar(1, 100.0, 106.0, 94.0, 100.0))
    (f,) = filled(reports)
    assert (f.client_order_id, f.fill.price) == ("sl", 95.0)
    canceled = [r for r in reports if isinstance(r, OrderCanceled)]
    assert [c.client_order_id for c in canceled] == ["tp"]
    assert "insufficient BTC" in canceled[0].reason
    assert v.working == []


def test_perp_stop_first_then_the_reduce_only_target_has_nothing_to_reduce() -> None:
    v = SimulatedVenue(
        {"USDT": 10_000.0}, SimVenueConfig(fees=FeeTable.flat(0.0), slippage=NO_SLIP)
    )
    v.on_market_event(bar(0, 100.0, 100.5, 99.5, 100.0, PERP))
    v.submit(order("long", Side.BUY, OrderType.MARKET, qty=2.0, symbol=PERP))
    v.on_market_event(bar(1, 100.0, 100.5, 99.5, 100.0, PERP))
    assert v.account.position(PERP).qty == 2.0
    for coid, otype, stop in (
        ("tp", OrderType.TAKE_PROFIT_MARKET, 105.0),
        ("sl", OrderType.STOP_MARKET, 95.0),
    ):
        v.submit(
            order(
                coid, Side.SELL, otype, qty=2.0, stop=stop, ts=2 * M, symbol=PERP, reduce_only=True
            )
        )
    reports = v.on_market_event(bar(2, 100.0, 106.0, 94.0, 100.0, PERP))
    (f,) = filled(reports)
    assert (f.client_order_id, f.fill.price) == ("sl", 95.0)
    (c,) = [r for r in reports if isinstance(r, OrderCanceled)]
    assert c.client_order_id == "tp"
    assert c.reason.startswith("reduce-only")
    assert v.account.position(PERP).qty == 0.0
    assert v.balance("USDT") == pytest.approx(10_000.0 - 2 * 5.0)


def test_buy_stop_enters_on_a_breakout() -> None:
    v = venue()
    v.submit(order("bo", Side.BUY, OrderType.STOP_MARKET, qty=2.0, stop=105.0))
    assert filled(v.on_market_event(bar(1, 100.0, 104.0, 99.0, 103.0))) == []
    (f,) = filled(v.on_market_event(bar(2, 103.0, 106.0, 102.0, 105.5)))
    assert (f.fill.side, f.fill.price, f.fill.qty) == (Side.BUY, 105.0, 2.0)
    assert v.balance("BTC") == 3.0


def test_stop_limit_fills_when_marketable_else_rests_as_a_limit() -> None:
    v = venue()
    v.submit(order("a", Side.SELL, OrderType.STOP_LIMIT, qty=0.5, stop=95.0, price=94.5))
    (f,) = filled(v.on_market_event(bar(1, 100.0, 100.0, 94.0, 94.2)))
    assert (f.fill.price, f.fill.liquidity) == (95.0, Liquidity.TAKER)
    v.submit(order("b", Side.SELL, OrderType.STOP_LIMIT, qty=0.5, stop=93.0, price=92.5, ts=2 * M))
    out = v.on_market_event(bar(2, 91.0, 92.0, 90.0, 91.5))  # gap below the limit: rests
    assert filled(out) == []
    sim = v.order("b")
    assert sim is not None
    assert sim.triggered
    (g,) = filled(v.on_market_event(bar(3, 91.5, 93.0, 91.0, 92.8)))
    assert (g.fill.price, g.fill.liquidity, g.fill.ts) == (92.5, Liquidity.MAKER, 4 * M)


def test_stop_that_would_trigger_at_once_is_rejected_with_the_numbers() -> None:
    v = venue()
    (r,) = v.submit(order("sl", Side.SELL, OrderType.STOP_MARKET, stop=101.0))
    assert isinstance(r, OrderRejected)
    assert r.reason == "stop_market sell would trigger immediately: stop 101 ≥ last close 100"
    lenient = venue(reject_immediate_trigger=False)
    reports = lenient.submit(order("sl", Side.SELL, OrderType.STOP_MARKET, stop=101.0))
    assert [type(x) for x in reports] == [OrderAccepted, OrderFilled]


# --- trailing stops on candles -----------------------------------------------------------


def test_trailing_stop_ratchets_after_the_bar_and_triggers_later() -> None:
    v = venue()
    v.submit(order("tr", Side.SELL, OrderType.STOP_MARKET), trailing=TrailingSpec(2.0))
    sim = v.order("tr")
    assert sim is not None
    assert sim.stop == 98.0
    # Low 98.5 stays above the old stop 98; the high 104 then ratchets it to 102 (adverse
    # move first), so this bar does not trigger on the new stop.
    assert filled(v.on_market_event(bar(1, 100.0, 104.0, 98.5, 103.0))) == []
    assert sim.stop == 102.0
    (f,) = filled(v.on_market_event(bar(2, 103.0, 103.5, 101.5, 102.0)))
    assert (f.fill.price, f.fill.ts) == (102.0, 3 * M)


def test_percent_trailing_stop_with_activation() -> None:
    v = venue()
    spec = TrailingSpec(0.02, TrailingMode.PERCENT, activation_price=110.0)
    v.submit(order("tr", Side.SELL, OrderType.STOP_MARKET), trailing=spec)
    sim = v.order("tr")
    assert sim is not None
    assert sim.stop is None
    assert filled(v.on_market_event(bar(1, 100.0, 105.0, 80.0, 104.0))) == []  # not active
    assert filled(v.on_market_event(bar(2, 104.0, 112.0, 103.0, 111.0))) == []
    assert sim.stop == pytest.approx(112.0 * 0.98)
    (f,) = filled(v.on_market_event(bar(3, 108.0, 109.0, 107.0, 108.0)))  # gap below the stop
    assert (f.fill.price, f.fill.ts) == (108.0, 3 * M)


def test_trailing_needs_a_stop_market_and_a_price() -> None:
    v = venue()
    (r,) = v.submit(
        order("x", Side.SELL, OrderType.STOP_LIMIT, stop=95.0, price=94.0),
        trailing=TrailingSpec(1.0),
    )
    assert isinstance(r, OrderRejected)
    assert "trailing stop is a stop_market" in r.reason
    fresh = SimulatedVenue({"BTC": 1.0})
    (r,) = fresh.submit(order("y", Side.SELL, OrderType.STOP_MARKET), trailing=TrailingSpec(1.0))
    assert isinstance(r, OrderRejected)
    assert r.reason == "trailing stop needs a stop_price: no price for BTC/USDT yet"


# --- limits on candles -----------------------------------------------------------------------


def test_resting_limit_fills_as_maker_when_a_bar_trades_through() -> None:
    v = venue(fees=FeeTable(spot=FeeSchedule(maker=0.0002, taker=0.001)))
    v.submit(order("bid", Side.BUY, OrderType.LIMIT, qty=2.0, price=99.0))
    assert filled(v.on_market_event(bar(1, 100.0, 100.5, 99.0, 99.5))) == []  # touch only
    (f,) = filled(v.on_market_event(bar(2, 99.5, 100.0, 98.9, 99.2)))
    assert (f.fill.price, f.fill.liquidity, f.fill.ts) == (99.0, Liquidity.MAKER, 3 * M)
    assert f.fill.fee == pytest.approx(2 * 99.0 * 0.0002)


def test_touch_rule_fills_at_the_price_itself() -> None:
    v = venue(limit_rule=CandleLimitRule.TOUCH)
    v.submit(order("bid", Side.BUY, OrderType.LIMIT, qty=2.0, price=99.0))
    (f,) = filled(v.on_market_event(bar(1, 100.0, 100.5, 99.0, 99.5)))
    assert f.fill.price == 99.0


def test_marketable_limit_takes_at_the_open_and_a_gap_fills_a_resting_one_at_its_price() -> None:
    v = venue()
    v.submit(order("take", Side.BUY, OrderType.LIMIT, qty=1.0, price=101.0))
    v.submit(order("rest", Side.BUY, OrderType.LIMIT, qty=1.0, price=98.0))
    out = v.on_market_event(bar(1, 100.0, 100.5, 99.0, 99.5))
    (f,) = filled(out)
    assert (f.client_order_id, f.fill.price, f.fill.liquidity) == ("take", 100.0, Liquidity.TAKER)
    assert f.fill.ts == 1 * M
    (g,) = filled(v.on_market_event(bar(2, 96.0, 97.0, 95.0, 96.5)))
    assert (g.client_order_id, g.fill.price, g.fill.liquidity) == ("rest", 98.0, Liquidity.MAKER)
    assert g.fill.ts == 2 * M


def test_time_in_force_on_candles() -> None:
    v = venue()
    v.submit(order("ioc", Side.BUY, OrderType.LIMIT, qty=1.0, price=99.0, tif=TimeInForce.IOC))
    v.submit(
        order("po", Side.BUY, OrderType.LIMIT, qty=1.0, price=101.0, tif=TimeInForce.POST_ONLY)
    )
    out = v.on_market_event(bar(1, 100.0, 100.5, 98.0, 99.5))
    reasons = {r.client_order_id: r.reason for r in out if isinstance(r, OrderCanceled)}
    assert reasons == {
        "ioc": "ioc: not marketable at the open 100",
        "po": "post-only buy at 101 would take liquidity at 100",
    }
    assert filled(out) == []
