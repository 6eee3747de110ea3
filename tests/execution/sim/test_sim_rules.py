"""Rejections with their numbers: market rules, balances and margin, fields that do not fit
the order type; and the account's spot and perpetual bookkeeping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mftbot.domain.enums import Side
from mftbot.domain.events import BookSnapshot, CandleClosed
from mftbot.domain.orders import OrderType, TimeInForce
from mftbot.execution.sim.fees import FeeTable
from mftbot.execution.sim.rules import Account, MarketRules, SymbolInfo, off_step
from mftbot.execution.sim.slippage import SlippageParams
from mftbot.execution.sim.venue import SimulatedVenue, SimVenueConfig
from mftbot.execution.venue import OrderAccepted, OrderRejected, OrderRequest, VenueError

M = 60_000_000_000
S = "BTC/USDT"
PERP = "BTC/USDT:USDT"
RULES = MarketRules(tick_size=0.01, lot_size=0.001, min_qty=0.001, max_qty=100, min_notional=5)
NO_SLIP = SlippageParams(
    spread_bps=0, volatility_coef=0, impact_coef=0, gap_coef=0, gap_threshold_bps=0
)


def make(balances: dict[str, float], **extra: object) -> SimulatedVenue:
    settings: dict[str, object] = {
        "fees": FeeTable.flat(0.001),
        "slippage": NO_SLIP,
        "rules": {S: RULES, PERP: RULES},
    }
    settings.update(extra)
    venue = SimulatedVenue(balances, SimVenueConfig.model_validate(settings))
    for symbol in (S, PERP):
        venue.on_market_event(
            CandleClosed("sim", symbol, "1m", 0, M, M, 100.0, 101.0, 99.0, 100.0, 10.0)
        )
    return venue


def reason(venue: SimulatedVenue, request: OrderRequest) -> str:
    reports = venue.submit(request)
    assert len(reports) == 1
    assert isinstance(reports[0], OrderRejected), reports
    return reports[0].reason


def req(
    coid: str = "x",
    side: Side = Side.BUY,
    otype: OrderType = OrderType.LIMIT,
    *,
    qty: float | None = 1.0,
    quote: float | None = None,
    price: float | None = 100.0,
    stop: float | None = None,
    symbol: str = S,
    tif: TimeInForce = TimeInForce.GTC,
    reduce_only: bool = False,
) -> OrderRequest:
    return OrderRequest(
        coid,
        symbol,
        side,
        otype,
        M,
        qty=qty,
        quote_qty=quote,
        price=price,
        stop_price=stop,
        time_in_force=tif,
        reduce_only=reduce_only,
    )


def test_off_tick_price_and_off_lot_qty_name_the_nearest_valid_values() -> None:
    v = make({"USDT": 1e6})
    assert reason(v, req(price=100.005)) == (
        "price 100.005 is not a multiple of the tick size 0.01 (nearest valid: 100, 100.01)"
    )
    assert reason(v, req(otype=OrderType.STOP_MARKET, price=None, stop=105.123)) == (
        "stop price 105.123 is not a multiple of the tick size 0.01 (nearest valid: 105.12, 105.13)"
    )
    assert reason(v, req(qty=0.123456)) == (
        "qty 0.123456 is not a multiple of the lot size 0.001 (nearest valid: 0.123, 0.124)"
    )
    assert reason(v, req(qty=0.0005)) == "qty 0.0005 is below the minimum qty 0.001"
    assert reason(v, req(qty=150.0)) == "qty 150 is above the maximum qty 100"
    ok = v.submit(req("ok", price=99.99, qty=0.123))
    assert isinstance(ok[0], OrderAccepted)


def test_minimum_notional_shows_how_the_notional_was_got() -> None:
    v = make({"USDT": 1e6})
    assert reason(v, req(qty=0.04, price=100.0)) == (
        "notional 4 USDT (qty 0.04 × price 100) is below the minimum notional 5 USDT"
    )
    market = req(otype=OrderType.MARKET, qty=0.02, price=None)
    assert reason(v, market) == (
        "notional 2 USDT (qty 0.02 × price 100) is below the minimum notional 5 USDT"
    )
    quote = req(otype=OrderType.MARKET, qty=None, quote=4.5, price=None)
    assert reason(v, quote) == (
        "notional 4.5 USDT (quote_qty) is below the minimum notional 5 USDT"
    )


def test_insufficient_balance_names_need_and_free() -> None:
    v = make({"USDT": 500.0, "BTC": 0.5})
    market = req(otype=OrderType.MARKET, qty=10.0, price=None)
    assert reason(v, market) == (
        "insufficient USDT: need 1001 (qty 10 × price 100 + fee 1), free 500"
    )
    sell = req(side=Side.SELL, otype=OrderType.MARKET, qty=0.8, price=None)
    assert reason(v, sell) == "insufficient BTC: sell 0.8, free 0.5"
    quote = req(otype=OrderType.MARKET, qty=None, quote=600.0, price=None)
    assert reason(v, quote) == "insufficient USDT: need 600 (quote_qty), free 500"


def test_resting_limits_lock_funds_so_a_second_one_is_refused() -> None:
    v = make({"USDT": 500.0, "BTC": 0.5})
    assert isinstance(v.submit(req("a", qty=3.0, price=99.0))[0], OrderAccepted)
    assert v.account.locked("USDT") == pytest.approx(3 * 99.0 * 1.001)
    free = 500.0 - 3 * 99.0 * 1.001
    assert reason(v, req("b", qty=3.0, price=99.0)) == (
        f"insufficient USDT: need 297.297 (qty 3 × price 99 + fee 0.297), free {free:.12g}"
    )
    assert isinstance(v.submit(req("s", Side.SELL, qty=0.5, price=110.0))[0], OrderAccepted)
    assert reason(v, req("t", Side.SELL, qty=0.1, price=110.0)) == (
        "insufficient BTC: sell 0.1, free 0"
    )
    v.cancel("a", 2 * M)
    assert v.account.locked("USDT") == 0.0
    assert isinstance(v.submit(req("b", qty=3.0, price=99.0))[0], OrderAccepted)


def test_perp_margin_check_uses_leverage() -> None:
    v = make({"USDT": 1000.0}, leverage={PERP: 5.0})
    big = req(otype=OrderType.MARKET, qty=60.0, price=None, symbol=PERP)
    assert reason(v, big) == (
        "insufficient margin in USDT: need 1206 (qty 60 × price 100 / leverage 5 + fee 6), "
        "available 1000"
    )
    ok = v.submit(req("ok", otype=OrderType.MARKET, qty=40.0, price=None, symbol=PERP))
    assert isinstance(ok[0], OrderAccepted)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (req(price=None), "limit order needs a price"),
        (req(otype=OrderType.MARKET), "market order takes no price"),
        (req(otype=OrderType.STOP_MARKET, price=None), "stop_market order needs a stop_price"),
        (req(stop=90.0), "limit order takes no stop_price"),
        (
            req(side=Side.SELL, otype=OrderType.MARKET, qty=None, quote=10, price=None),
            "quote_qty is for market buys only",
        ),
        (
            req(otype=OrderType.MARKET, price=None, tif=TimeInForce.POST_ONLY),
            "post_only applies to limit orders, not market",
        ),
        (
            req(otype=OrderType.STOP_MARKET, price=None, stop=90.0, tif=TimeInForce.IOC),
            "ioc does not apply to a stop_market order",
        ),
        (req(symbol="BTCUSDT"), "'BTCUSDT' is not a ccxt unified symbol (BASE/QUOTE[:SETTLE])"),
        (
            req(symbol="BTC/USD:BTC"),
            "BTC/USD:BTC: only spot and linear contracts settled in the quote are simulated",
        ),
        (req(reduce_only=True), "reduce_only does not apply to a spot buy"),
    ],
)
def test_fields_that_do_not_fit_are_refused(request_: OrderRequest, expected: str) -> None:
    assert reason(make({"USDT": 1e6, "BTC": 10.0}), request_) == expected


def test_duplicate_client_order_ids_and_unknown_cancels() -> None:
    v = make({"USDT": 1e6})
    assert isinstance(v.submit(req("a"))[0], OrderAccepted)
    assert reason(v, req("a")) == "duplicate client order id: an order with this id is working"
    with pytest.raises(VenueError, match="no working order 'zzz'"):
        v.cancel("zzz", M)


def test_post_only_crossing_the_book_is_refused() -> None:
    v = SimulatedVenue({"USDT": 1e6})
    v.on_market_event(BookSnapshot("sim", S, 1, 1, 1, [(99.0, 1.0)], [(101.0, 2.0)]))
    assert reason(v, req(price=101.0, tif=TimeInForce.POST_ONLY)) == (
        "post-only buy at 101 would take liquidity: best ask 101"
    )
    assert reason(v, req(otype=OrderType.MARKET, price=None, symbol="ETH/USDT")) == (
        "no price for ETH/USDT yet"
    )


def test_rules_helpers() -> None:
    assert off_step(61837.63, 0.01) is None
    assert off_step(0.00012, 0.00001) is None
    assert off_step(1.2345, 0.01) == (1.23, 1.24)
    assert RULES.round_price(100.004, Side.BUY) == 100.01
    assert RULES.round_price(100.004, Side.SELL) == 100.0
    assert RULES.round_price(100.01, Side.SELL) == 100.01
    assert MarketRules().round_price(1.23456, Side.BUY) == 1.23456
    assert RULES.round_qty(0.123456) == 0.123
    assert RULES.round_qty(0.124) == 0.124
    assert RULES.round_qty(0.1239999999999) == 0.124
    assert MarketRules().round_qty(0.123456) == 0.123456
    with pytest.raises(ValidationError, match="below min_qty"):
        MarketRules(min_qty=5, max_qty=1)


def test_account_perp_bookkeeping_realises_pnl_and_flips() -> None:
    account = Account({"USDT": 1000.0}, {PERP: 2.0})
    info = SymbolInfo.parse(PERP)
    assert account.apply_fill(info, Side.BUY, 100.0, 4.0, 0.2) == 0.0
    assert account.used_margin("USDT") == pytest.approx(200.0)
    assert account.available("USDT") == pytest.approx(1000.0 - 0.2 - 200.0)
    realised = account.apply_fill(info, Side.SELL, 110.0, 6.0, 0.3)  # close 4, open 2 short
    assert realised == pytest.approx(40.0)
    pos = account.position(PERP)
    assert (pos.qty, pos.entry) == (-2.0, 110.0)
    assert account.total("USDT") == pytest.approx(1000.0 - 0.2 + 40.0 - 0.3)
    assert account.reducible(info, Side.BUY) == 2.0
    assert account.reducible(info, Side.SELL) == 0.0
    account.apply_fill(info, Side.BUY, 105.0, 2.0, 0.1)
    assert account.position(PERP).qty == 0.0
    assert account.used_margin("USDT") == 0.0
    with pytest.raises(VenueError, match="leverage"):
        Account({}, {PERP: 0.5})
    with pytest.raises(VenueError, match="balance of USDT"):
        Account({"USDT": -1.0})
