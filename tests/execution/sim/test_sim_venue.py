"""End to end: the simulated venue driven by a real recording through the order manager and
the portfolio (accept → fills → cancel, fees, balances), and by the engine on real candles
(parity with the candle venue when slippage is off; realistic slippage costs money)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mftbot.backtest.api import validate_candles
from mftbot.core.clock import SimulatedClock
from mftbot.core.ids import IntentKind
from mftbot.data.candles import read_candles
from mftbot.data.replay import replay_files
from mftbot.domain.enums import Side
from mftbot.domain.events import BookSnapshot, TradeTick
from mftbot.domain.fills import Liquidity
from mftbot.domain.orders import Order, OrderStatus, OrderType, TimeInForce
from mftbot.engine.engine import Engine, StrategyBinding
from mftbot.engine.feed import CandleFeed
from mftbot.engine.portfolio import Portfolio
from mftbot.execution import OrderManager, Venue
from mftbot.execution.sim import CandleSimVenue
from mftbot.execution.sim.fees import FeeSchedule, FeeTable
from mftbot.execution.sim.slippage import SlippageParams, SlippagePreset
from mftbot.execution.sim.venue import DataSource, SimulatedVenue, SimVenueConfig
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    VenueReport,
)
from mftbot.risk.base import OrderIntent
from mftbot.strategies import get_strategy

S = "BTC/USDT"
SEC = 1_000_000_000
FEES = FeeSchedule(maker=0.0002, taker=0.001)
NO_SLIP = SlippageParams(
    spread_bps=0, volatility_coef=0, impact_coef=0, gap_coef=0, gap_threshold_bps=0
)


def test_the_venue_implements_the_protocol() -> None:
    venue: Venue = SimulatedVenue({"USDT": 1.0})
    assert venue.name == "sim"


def intent(
    name: str,
    side: Side,
    otype: OrderType,
    qty: float,
    ts: int,
    kind: IntentKind = IntentKind.ENTRY,
    *,
    price: float | None = None,
    stop: float | None = None,
) -> OrderIntent:
    return OrderIntent(
        strategy=name,
        symbol=S,
        side=side,
        intent=kind,
        signal_ts=ts,
        qty=qty,
        order_type=otype,
        price=price,
        stop_price=stop,
    )


def test_real_recording_accept_fill_cancel_with_fees(data_dir: Path) -> None:
    path = data_dir / "hftbacktest" / "binance_spot" / "btcusdt_20240808.gz"
    venue = SimulatedVenue(
        {"USDT": 100_000.0, "BTC": 1.0},
        SimVenueConfig(name="binance", fees=FeeTable(spot=FEES)),
    )
    manager = OrderManager(venue)
    portfolio = Portfolio({"USDT": 100_000.0})
    start: int | None = None
    ids: dict[str, Order] = {}
    stop_price = 0.0
    first_trade_through_stop: int | None = None
    canceled_at: int | None = None

    def apply(reports: list[VenueReport]) -> None:
        for report in reports:
            fill = manager.apply(report)
            if fill is not None:
                portfolio.apply_fill(fill)

    for event in replay_files([path]):
        apply(venue.on_market_event(event))
        ts = event.ts_recv
        book = venue.book(S)
        if book is None or book.best_bid is None:
            continue
        if start is None:
            start = ts + 10 * SEC  # ten seconds after the book is ready
        if not ids and ts >= start:
            bid = book.best_bid[0]
            last = book.mid() or bid
            stop_price = round(last * 0.9995, 2)
            for name, req in (
                ("mkt", intent("mkt", Side.BUY, OrderType.MARKET, 0.5, ts)),
                ("join", intent("join", Side.BUY, OrderType.LIMIT, 0.2, ts, price=bid)),
                ("far", intent("far", Side.BUY, OrderType.LIMIT, 0.1, ts, price=bid - 200)),
                (
                    "stop",
                    intent(
                        "stop",
                        Side.SELL,
                        OrderType.STOP_MARKET,
                        0.3,
                        ts,
                        IntentKind.STOP_LOSS,
                        stop=stop_price,
                    ),
                ),
            ):
                order, reports = manager.submit(req, ts)
                ids[name] = order
                apply(reports)
        through = isinstance(event, TradeTick) and event.price <= stop_price
        if ids and through and first_trade_through_stop is None:
            first_trade_through_stop = ts
        if ids and canceled_at is None and ts >= start + 60 * SEC:
            canceled_at = ts
            apply(manager.cancel(ids["far"].client_order_id, ts))
    assert ids
    assert start is not None
    assert canceled_at is not None

    mkt = ids["mkt"]
    assert mkt.status is OrderStatus.FILLED
    assert mkt.filled_qty == pytest.approx(0.5)
    assert all(f.liquidity is Liquidity.TAKER and f.ts == mkt.created_ts for f in mkt.fills)
    targets = [t.target for t in mkt.history]
    assert targets[:3] == [OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED]
    assert targets[-1] is OrderStatus.FILLED
    assert set(targets[3:-1]) <= {OrderStatus.PARTIALLY_FILLED}

    far = ids["far"]
    assert far.status is OrderStatus.CANCELED
    assert far.history[-1].reason == "canceled on request"
    assert far.history[-1].ts == canceled_at
    assert far.fills == []

    join = ids["join"]
    assert join.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED, OrderStatus.ACCEPTED)
    assert all(f.liquidity is Liquidity.MAKER and f.price == join.price for f in join.fills)

    stop = ids["stop"]
    if first_trade_through_stop is None:
        assert stop.status is OrderStatus.ACCEPTED
    else:
        assert stop.status is OrderStatus.FILLED
        assert stop.fills[0].ts == first_trade_through_stop
        assert all(f.liquidity is Liquidity.TAKER for f in stop.fills)

    every = [f for o in ids.values() for f in o.fills]
    assert every, "the recording must produce fills"
    for f in every:
        rate = FEES.maker if f.liquidity is Liquidity.MAKER else FEES.taker
        assert f.fee == pytest.approx(f.price * f.qty * rate, rel=1e-12)
        assert f.fee_currency == "USDT"
    assert portfolio.cash("USDT") == pytest.approx(venue.account.total("USDT"), rel=1e-12)
    bought = sum(f.qty for f in every if f.side is Side.BUY)
    sold = sum(f.qty for f in every if f.side is Side.SELL)
    assert venue.balance("BTC") == pytest.approx(1.0 + bought - sold, rel=1e-12)
    position = portfolio.position(S)
    assert position is not None
    assert position.qty == pytest.approx(bought - sold, rel=1e-12)
    assert venue.source(S) is DataSource.BOOK


def _engine_run(venue: Venue, data_dir: Path) -> tuple[list[tuple[float, float]], float]:
    df = read_candles(data_dir / "candles_filimonov" / "ETH_USDT-5m.feather").iloc[:3000]
    arrays = validate_candles(df)
    engine = Engine(
        venue=venue,
        portfolio=Portfolio({"USDT": 10_000.0}, account_currency="USDT"),
        strategies=[StrategyBinding(get_strategy("sma_cross"), "ETH/USDT", "5m")],
        clock=SimulatedClock(),
    )
    result = engine.run(CandleFeed(arrays, symbol="ETH/USDT", timeframe="5m"))
    return [(f.price, f.qty) for f in result.fills], float(result.equity.equity[-1])


def test_engine_on_real_candles_matches_the_candle_venue_without_slippage(
    data_dir: Path,
) -> None:
    reference, ref_equity = _engine_run(CandleSimVenue({"USDT": 10_000.0}, fee=0.001), data_dir)
    assert len(reference) > 20
    flat = SimVenueConfig(fees=FeeTable.flat(0.001), slippage=NO_SLIP)
    fills, equity = _engine_run(SimulatedVenue({"USDT": 10_000.0}, flat), data_dir)
    np.testing.assert_allclose(np.array(fills), np.array(reference), rtol=1e-12)
    assert equity == pytest.approx(ref_equity, rel=1e-12)
    real = SimVenueConfig(fees=FeeTable.flat(0.001), slippage=SlippagePreset.REALISTIC)
    slipped, slipped_equity = _engine_run(SimulatedVenue({"USDT": 10_000.0}, real), data_dir)
    assert len(slipped) == len(reference)
    assert slipped_equity < ref_equity
    for (p, _), (q, _), side in zip(
        slipped, reference, [Side.BUY, Side.SELL] * len(reference), strict=False
    ):
        assert p > q if side is Side.BUY else p < q


# --- scripted book and trades: marketable limits, time in force, trades-only symbols ----------

MS = 1_000_000


def _book_venue() -> SimulatedVenue:
    venue = SimulatedVenue(
        {"USDT": 10_000.0, "BTC": 10.0},
        SimVenueConfig(fees=FeeTable(spot=FEES), slippage=NO_SLIP),
    )
    venue.on_market_event(
        BookSnapshot("sim", S, MS, MS, 1, [(99.0, 1.0)], [(100.0, 1.0), (100.5, 1.0), (102, 5)])
    )
    return venue


def _limit(coid: str, qty: float, price: float, tif: TimeInForce) -> OrderRequest:
    return OrderRequest(
        coid, S, Side.BUY, OrderType.LIMIT, 2 * MS, qty=qty, price=price, time_in_force=tif
    )


def test_marketable_limit_takes_up_to_its_price_then_rests_in_the_queue() -> None:
    venue = _book_venue()
    reports = venue.submit(_limit("gtc", 3.0, 100.5, TimeInForce.GTC))
    taken = [r.fill for r in reports if isinstance(r, OrderFilled)]
    assert [(f.price, f.qty, f.liquidity) for f in taken] == [
        (100.0, 1.0, Liquidity.TAKER),
        (100.5, 1.0, Liquidity.TAKER),
    ]
    order = venue.order("gtc")
    assert order is not None
    assert order.queue is not None
    assert (order.remaining, order.queue.ahead) == (1.0, 0.0)
    out = venue.on_market_event(TradeTick("sim", S, 3 * MS, 3 * MS, 100.5, 2.0, Side.SELL, "t"))
    (rest,) = [r.fill for r in out if isinstance(r, OrderFilled)]
    assert (rest.price, rest.qty, rest.liquidity) == (100.5, 1.0, Liquidity.MAKER)
    assert rest.fee == pytest.approx(100.5 * FEES.maker)


def test_ioc_and_fok_limits_in_the_book() -> None:
    venue = _book_venue()
    reports = venue.submit(_limit("ioc", 3.0, 100.5, TimeInForce.IOC))
    assert [type(r) for r in reports] == [OrderAccepted, OrderFilled, OrderFilled, OrderCanceled]
    ioc_cancel = reports[-1]
    assert isinstance(ioc_cancel, OrderCanceled)
    assert ioc_cancel.reason == "ioc: rest canceled"
    venue = _book_venue()
    accepted, fok_cancel = venue.submit(_limit("fok", 3.0, 100.5, TimeInForce.FOK))
    assert isinstance(accepted, OrderAccepted)
    assert isinstance(fok_cancel, OrderCanceled)
    assert fok_cancel.reason == "fok: only 2 of 3 available at 100.5 or better"
    market_fok = OrderRequest(
        "m", S, Side.BUY, OrderType.MARKET, 2 * MS, qty=8.0, time_in_force=TimeInForce.FOK
    )
    (rejected,) = venue.submit(market_fok)
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason == "fok: the book fills only 7 of 8"


def test_trades_only_symbol_fills_market_at_the_last_trade_and_limits_on_trade_through() -> None:
    params = SlippageParams(
        spread_bps=10, volatility_coef=0, impact_coef=0, gap_coef=0, gap_threshold_bps=0
    )
    venue = SimulatedVenue(
        {"USDT": 10_000.0}, SimVenueConfig(fees=FeeTable.flat(0), slippage=params)
    )
    venue.on_market_event(TradeTick("sim", S, MS, MS, 100.0, 1.0, Side.BUY, "a"))
    assert venue.source(S) is DataSource.TRADES
    reports = venue.submit(OrderRequest("m", S, Side.BUY, OrderType.MARKET, MS, qty=1.0))
    fill = next(r.fill for r in reports if isinstance(r, OrderFilled))
    assert fill.price == pytest.approx(100.0 * 1.0005)
    venue.submit(OrderRequest("l", S, Side.BUY, OrderType.LIMIT, MS, qty=1.0, price=99.0))
    at_price = TradeTick("sim", S, 2 * MS, 2 * MS, 99.0, 5.0, Side.SELL, "b")
    assert venue.on_market_event(at_price) == []  # queue unknown: a touch is not enough
    through = TradeTick("sim", S, 3 * MS, 3 * MS, 98.9, 0.01, Side.SELL, "c")
    (filled,) = venue.on_market_event(through)
    assert isinstance(filled, OrderFilled)
    assert (filled.fill.price, filled.fill.qty) == (99.0, 1.0)
    stop = OrderRequest("s", S, Side.SELL, OrderType.STOP_MARKET, 3 * MS, qty=2.0, stop_price=98.0)
    venue.submit(stop)
    (sold,) = venue.on_market_event(TradeTick("sim", S, 4 * MS, 4 * MS, 97.5, 1, Side.SELL, "d"))
    assert isinstance(sold, OrderFilled)
    assert sold.fill.price == pytest.approx(97.5 * (1 - 0.0005))
