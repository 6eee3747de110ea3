"""Portfolio accounting: hand-computed scenarios and accounting identities."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill, Liquidity
from mftbot.domain.positions import PositionSide, PositionStatus
from mftbot.engine.portfolio import (
    Instrument,
    InstrumentKind,
    InsufficientFundsError,
    InsufficientHoldingsError,
    Portfolio,
    PortfolioError,
    funding_timestamps,
    isolated_liquidation_price,
)

BTC_PERP = "BTC/USDT:USDT"
ETH_PERP = "ETH/USDT:USDT"
HOUR = 3600 * 10**9
_ids = itertools.count()


def fill(
    symbol: str,
    side: Side,
    qty: float,
    price: float,
    fee: float = 0.0,
    *,
    fee_currency: str = "USDT",
    trade_id: str | None = None,
    ts: int = 1,
) -> Fill:
    return Fill(
        client_order_id="c",
        trade_id=trade_id or f"t{next(_ids)}",
        symbol=symbol,
        side=side,
        price=price,
        qty=qty,
        fee=fee,
        fee_currency=fee_currency,
        liquidity=Liquidity.TAKER,
        ts=ts,
    )


def perp_portfolio(cash: float, leverage: float, *symbols: str) -> Portfolio:
    pf = Portfolio({"USDT": cash})
    for symbol in symbols:
        pf.register(Instrument.from_symbol(symbol, leverage=leverage))
    return pf


def identity_gap(pf: Portfolio, ccy: str = "USDT") -> float:
    """equity − deposits − (realised − fees + funding + unrealised): 0 when the books balance."""
    lhs = pf.equity(ccy) - pf.net_deposits(ccy)
    rhs = pf.realised_pnl(ccy) - pf.fees(ccy) + pf.funding(ccy) + pf.unrealised_pnl(ccy)
    return lhs - rhs


def state(pf: Portfolio) -> tuple[object, ...]:
    positions = {s: (p.side, p.qty, p.avg_entry_price, p.fees) for s, p in pf.positions.items()}
    return (pf.balances, pf.realised_pnl(), pf.fees(), positions, len(pf.closed_positions))


# --- hand-computed scenarios -------------------------------------------------------------


def test_spot_round_trip_with_fees() -> None:
    pf = Portfolio({"USDT": 10_000.0})
    out = pf.apply_fill(fill("BTC/USDT", Side.BUY, 0.4, 20_000.0, fee=8.0))
    assert out.cash_change == pytest.approx(-8_008.0)
    assert pf.cash() == pytest.approx(1_992.0)
    pf.mark("BTC/USDT", 21_000.0)
    assert pf.unrealised_pnl() == pytest.approx(400.0)
    assert pf.equity() == pytest.approx(1_992.0 + 0.4 * 21_000.0)
    out = pf.apply_fill(fill("BTC/USDT", Side.SELL, 0.4, 22_000.0, fee=8.8))
    assert out.realised_pnl == pytest.approx(800.0)
    assert out.closed is not None
    assert out.closed.status is PositionStatus.CLOSED
    assert out.position is None
    assert pf.cash() == pytest.approx(10_783.2)
    assert pf.fees() == pytest.approx(16.8)
    assert pf.cash() - 10_000.0 == pytest.approx(pf.realised_pnl() - pf.fees())
    assert pf.equity() == pytest.approx(pf.cash())


def test_spot_fee_in_base_reduces_inventory_and_is_valued_at_fill_price() -> None:
    pf = Portfolio({"USDT": 1_000.0})
    pf.apply_fill(fill("BTC/USDT", Side.BUY, 1.0, 100.0, fee=0.001, fee_currency="BTC"))
    pos = pf.position("BTC/USDT")
    assert pos is not None
    assert pos.qty == pytest.approx(0.999)
    assert pos.avg_entry_price == 100.0
    assert pf.fees() == pytest.approx(0.1)
    assert pf.cash() == pytest.approx(900.0)
    with pytest.raises(InsufficientHoldingsError, match=r"1\.0 BTC needed, 0\.999 held"):
        pf.apply_fill(fill("BTC/USDT", Side.SELL, 1.0, 110.0))
    pf.apply_fill(fill("BTC/USDT", Side.SELL, 0.999, 110.0, fee=0.1))
    assert pf.realised_pnl() == pytest.approx(9.99)
    assert pf.cash() - 1_000.0 == pytest.approx(9.99 - 0.2)
    assert identity_gap(pf) == pytest.approx(0.0, abs=1e-9)


def test_spot_refusals_leave_state_unchanged() -> None:
    pf = Portfolio({"USDT": 1_000.0})
    before = state(pf)
    with pytest.raises(InsufficientFundsError, match="available would go from 1000 to -1"):
        pf.apply_fill(fill("BTC/USDT", Side.BUY, 1.0, 1_000.0, fee=1.0))
    with pytest.raises(InsufficientHoldingsError):
        pf.apply_fill(fill("BTC/USDT", Side.SELL, 0.1, 1_000.0))
    with pytest.raises(PortfolioError, match="fee currency BNB"):
        pf.apply_fill(fill("BTC/USDT", Side.BUY, 0.1, 1_000.0, fee=0.01, fee_currency="BNB"))
    assert state(pf) == before


def test_perp_long_partial_close_then_close() -> None:
    pf = perp_portfolio(1_000.0, 10.0, BTC_PERP)
    pf.apply_fill(fill(BTC_PERP, Side.BUY, 0.1, 30_000.0, fee=1.8))
    assert pf.cash() == pytest.approx(998.2)  # opening moves only the fee
    assert pf.used_margin() == pytest.approx(300.0)
    assert pf.available() == pytest.approx(698.2)
    out = pf.apply_fill(fill(BTC_PERP, Side.SELL, 0.04, 31_000.0, fee=0.744))
    assert out.realised_pnl == pytest.approx(40.0)
    assert pf.cash() == pytest.approx(1_037.456)
    assert pf.used_margin() == pytest.approx(180.0)
    pf.mark(BTC_PERP, 29_000.0)
    assert pf.unrealised_pnl() == pytest.approx(-60.0)
    assert pf.equity() == pytest.approx(977.456)
    assert pf.available() == pytest.approx(1_037.456 - 180.0 - 60.0)
    out = pf.apply_fill(fill(BTC_PERP, Side.SELL, 0.06, 29_500.0, fee=1.062))
    assert out.realised_pnl == pytest.approx(-30.0)
    assert out.closed is not None
    assert out.closed.fees == pytest.approx(3.606)
    assert pf.position(BTC_PERP) is None
    assert pf.cash() - 1_000.0 == pytest.approx(10.0 - 3.606)


def test_perp_short_flip_to_long() -> None:
    pf = perp_portfolio(1_000.0, 5.0, ETH_PERP)
    pf.apply_fill(fill(ETH_PERP, Side.SELL, 1.0, 2_000.0, fee=1.0))
    short = pf.position(ETH_PERP)
    assert short is not None
    assert short.side is PositionSide.SHORT
    out = pf.apply_fill(fill(ETH_PERP, Side.BUY, 3.0, 1_900.0, fee=3.0, ts=2))
    assert out.realised_pnl == pytest.approx(100.0)
    assert out.closed is short
    assert short.fees == pytest.approx(2.0)  # 1 + a third of the flip's fee
    assert short.realised_pnl == pytest.approx(100.0)
    long = out.position
    assert long is not None
    assert long is not short
    assert (long.side, long.qty, long.avg_entry_price) == (PositionSide.LONG, 2.0, 1_900.0)
    assert long.fees == pytest.approx(2.0)
    assert long.status is PositionStatus.OPEN
    assert pf.cash() == pytest.approx(1_096.0)
    assert pf.used_margin() == pytest.approx(760.0)
    assert pf.liquidation_price(ETH_PERP) == pytest.approx(1_900.0 * 0.805)


def test_perp_margin_is_checked_and_reducing_is_always_allowed() -> None:
    pf = perp_portfolio(100.0, 10.0, BTC_PERP)
    before = state(pf)
    with pytest.raises(InsufficientFundsError, match="needs margin 200"):
        pf.apply_fill(fill(BTC_PERP, Side.BUY, 0.1, 20_000.0))
    assert state(pf) == before
    pf.apply_fill(fill(BTC_PERP, Side.BUY, 0.04, 20_000.0, fee=0.5))  # margin 80
    pf.mark(BTC_PERP, 19_700.0)  # −12 unrealised: available = 99.5 − 80 − 12
    assert pf.available() == pytest.approx(7.5)
    with pytest.raises(InsufficientFundsError):  # margin 89.85 fits the cash, not the loss
        pf.apply_fill(fill(BTC_PERP, Side.BUY, 0.005, 19_700.0))
    pf.apply_fill(fill(BTC_PERP, Side.SELL, 0.02, 19_700.0, fee=0.2))
    assert pf.position(BTC_PERP) is not None
    assert pf.cash() == pytest.approx(100.0 - 0.5 - 6.0 - 0.2)


def test_perp_loss_beyond_wallet_is_refused() -> None:
    pf = perp_portfolio(100.0, 20.0, BTC_PERP)
    pf.apply_fill(fill(BTC_PERP, Side.BUY, 0.1, 10_000.0))
    with pytest.raises(InsufficientFundsError, match="cash would go"):
        pf.apply_fill(fill(BTC_PERP, Side.SELL, 0.1, 8_000.0))  # −200 realised


@pytest.mark.parametrize(
    ("side", "rate", "expected"),
    [
        (Side.BUY, 0.0001, -3.0),  # positive rate: longs pay
        (Side.SELL, 0.0001, 3.0),  # ... shorts receive
        (Side.BUY, -0.0002, 6.0),  # negative rate: longs receive
        (Side.SELL, -0.0002, -6.0),
    ],
)
def test_funding_sign(side: Side, rate: float, expected: float) -> None:
    pf = perp_portfolio(10_000.0, 10.0, BTC_PERP)
    pf.apply_fill(fill(BTC_PERP, side, 1.0, 29_000.0))
    cash = pf.cash()
    flow = pf.apply_funding(BTC_PERP, rate, ts=8 * HOUR, mark_price=30_000.0)
    assert flow == pytest.approx(expected)
    assert pf.cash() - cash == pytest.approx(expected)
    assert pf.funding() == pytest.approx(expected)
    position = pf.position(BTC_PERP)
    assert position is not None
    assert position.funding == pytest.approx(expected)
    assert identity_gap(pf) == pytest.approx(0.0, abs=1e-9)


def test_funding_refusals() -> None:
    pf = perp_portfolio(1_000.0, 10.0, BTC_PERP)
    assert pf.apply_funding(BTC_PERP, 0.0001, ts=8 * HOUR) == 0.0  # flat: nothing to pay
    with pytest.raises(PortfolioError, match="not after"):
        pf.apply_funding(BTC_PERP, 0.0001, ts=8 * HOUR)
    with pytest.raises(PortfolioError, match="perpetuals only"):
        pf.apply_funding("BTC/USDT", 0.0001, ts=8 * HOUR)
    pf.apply_fill(fill(BTC_PERP, Side.BUY, 0.3, 30_000.0))
    with pytest.raises(InsufficientFundsError):
        pf.apply_funding(BTC_PERP, 0.2, ts=16 * HOUR)  # 0.3 × 30 000 × 0.2 = 1 800 > 1 000


def test_funding_timestamps_are_the_8h_grid() -> None:
    assert funding_timestamps(0, 24 * HOUR) == [8 * HOUR, 16 * HOUR, 24 * HOUR]
    assert funding_timestamps(8 * HOUR, 8 * HOUR + 1) == []
    assert funding_timestamps(7 * HOUR, 9 * HOUR, interval_ns=HOUR) == [8 * HOUR, 9 * HOUR]


@pytest.mark.parametrize(
    ("leverage", "long_liq", "short_liq"),
    [(1.0, 150.0, 59_850.0), (10.0, 27_150.0, 32_850.0), (100.0, 29_850.0, 30_150.0)],
)
def test_liquidation_price_by_leverage(leverage: float, long_liq: float, short_liq: float) -> None:
    entry, mmr = 30_000.0, 0.005
    long_p = isolated_liquidation_price(PositionSide.LONG, entry, leverage, mmr)
    short_p = isolated_liquidation_price(PositionSide.SHORT, entry, leverage, mmr)
    assert long_p == pytest.approx(long_liq)
    assert short_p == pytest.approx(short_liq)
    # at that price the isolated margin plus the unrealised PnL equals the maintenance margin
    for side, price in ((PositionSide.LONG, long_p), (PositionSide.SHORT, short_p)):
        margin_left = entry / leverage + side.sign * (price - entry)
        assert margin_left == pytest.approx(entry * mmr)


def test_liquidation_price_from_the_portfolio() -> None:
    pf = Portfolio({"USDT": 10_000.0})
    pf.register(Instrument.from_symbol(BTC_PERP, leverage=10.0, maintenance_margin_rate=0.004))
    assert pf.liquidation_price(BTC_PERP) is None
    pf.apply_fill(fill(BTC_PERP, Side.SELL, 0.1, 50_000.0))
    assert pf.liquidation_price(BTC_PERP) == pytest.approx(50_000.0 * (1 + 0.1 - 0.004))
    with pytest.raises(PortfolioError, match="perpetuals only"):
        pf.liquidation_price("BTC/USDT")
    with pytest.raises(PortfolioError, match="position open"):
        pf.register(Instrument.from_symbol(BTC_PERP, leverage=20.0))


@pytest.mark.parametrize(
    ("symbol", "match"),
    [
        ("BTCUSDT", "ccxt unified"),
        ("BTC/USD:BTC", "linear perpetuals"),
        ("BTC/USDT:USDT-250328", "linear perpetuals"),
    ],
)
def test_unsupported_symbols_are_refused(symbol: str, match: str) -> None:
    with pytest.raises(PortfolioError, match=match):
        Instrument.from_symbol(symbol)


def test_instrument_terms_are_validated() -> None:
    assert Instrument.from_symbol(BTC_PERP).kind is InstrumentKind.LINEAR_PERP
    assert Instrument.from_symbol("ETH/BTC").quote == "BTC"
    with pytest.raises(PortfolioError, match="maintenance_margin_rate"):
        Instrument.from_symbol(BTC_PERP, leverage=100.0, maintenance_margin_rate=0.01)
    with pytest.raises(PortfolioError, match="leverage"):
        Instrument.from_symbol(BTC_PERP, leverage=0.5)
    with pytest.raises(PortfolioError, match="spot is unleveraged"):
        Instrument("BTC/USDT", InstrumentKind.SPOT, "BTC", "USDT", leverage=3.0)


def test_duplicate_fill_is_ignored() -> None:
    pf = Portfolio({"USDT": 1_000.0})
    f = fill("BTC/USDT", Side.BUY, 0.01, 20_000.0, fee=0.2)
    assert pf.apply_fill(f).applied
    snapshot = state(pf)
    again = pf.apply_fill(f)
    assert not again.applied
    assert state(pf) == snapshot


def test_expected_position_opens_on_fill_or_is_abandoned() -> None:
    pf = perp_portfolio(1_000.0, 5.0, BTC_PERP, ETH_PERP)
    pos = pf.expect_position(BTC_PERP, PositionSide.LONG, ts=1, stop_loss=90.0, take_profit=120.0)
    assert pos.status is PositionStatus.OPENING
    assert pf.equity() == pytest.approx(1_000.0)  # nothing marked yet, nothing held
    with pytest.raises(PortfolioError, match="cannot build the expected long"):
        pf.apply_fill(fill(BTC_PERP, Side.SELL, 1.0, 100.0))
    pf.apply_fill(fill(BTC_PERP, Side.BUY, 1.0, 100.0, ts=2))
    assert pf.position(BTC_PERP) is pos
    assert pos.status is PositionStatus.OPEN
    assert [h.target for h in pos.history] == [PositionStatus.OPENING, PositionStatus.OPEN]
    eth = pf.expect_position(ETH_PERP, PositionSide.SHORT, ts=3)
    assert pf.abandon_position(ETH_PERP, ts=4, reason="entry expired") is eth
    assert eth.status is PositionStatus.CLOSED
    assert pf.position(ETH_PERP) is None
    with pytest.raises(PortfolioError, match="long only"):
        pf.expect_position("BTC/USDT", PositionSide.SHORT, ts=5)


def test_equity_curve() -> None:
    pf = perp_portfolio(1_000.0, 10.0, BTC_PERP)
    pf.snapshot(ts=1)
    pf.apply_fill(fill(BTC_PERP, Side.BUY, 0.1, 10_000.0, fee=0.6))
    pf.mark(BTC_PERP, 10_500.0)
    snap = pf.snapshot(ts=2)
    assert snap.equity == pytest.approx(1_000.0 - 0.6 + 50.0)
    assert snap.used_margin == pytest.approx(100.0)
    assert snap.equity == pytest.approx(snap.cash + snap.unrealised_pnl)
    with pytest.raises(PortfolioError, match="not after"):
        pf.snapshot(ts=2)
    ts, eq = pf.equity_arrays()
    assert ts.tolist() == [1, 2]
    assert eq.tolist() == [s.equity for s in pf.equity_curve]


def test_cash_in_several_quote_currencies_is_kept_apart() -> None:
    pf = Portfolio({"USDT": 1_000.0, "USDC": 500.0})
    pf.apply_fill(fill("ETH/USDC", Side.BUY, 0.1, 2_000.0, fee=0.2, fee_currency="USDC"))
    assert pf.cash("USDC") == pytest.approx(299.8)
    assert pf.cash("USDT") == 1_000.0
    assert pf.equity("USDC") == pytest.approx(299.8 + 200.0)
    assert identity_gap(pf, "USDC") == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(InsufficientFundsError):
        pf.withdraw("USDC", 300.0)
    pf.withdraw("USDT", 400.0)
    assert pf.net_deposits("USDT") == 600.0


# --- properties --------------------------------------------------------------------------

Step = tuple[object, ...]
prices = st.floats(min_value=50.0, max_value=200.0)
perp_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("fill"),
            st.sampled_from([BTC_PERP, ETH_PERP]),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.floats(min_value=0.01, max_value=20.0),
            prices,
            st.floats(min_value=-0.0001, max_value=0.001),  # fee rate, rebates included
        ),
        st.tuples(st.just("mark"), st.sampled_from([BTC_PERP, ETH_PERP]), prices),
        st.tuples(
            st.just("funding"),
            st.sampled_from([BTC_PERP, ETH_PERP]),
            st.floats(min_value=-0.003, max_value=0.003),
        ),
    ),
    max_size=40,
)


@given(perp_steps, st.sampled_from([1.0, 3.0, 25.0]))
def test_perp_books_balance_after_any_sequence(steps: list[Step], leverage: float) -> None:
    pf = perp_portfolio(2_000.0, leverage, BTC_PERP, ETH_PERP)
    ts = 0
    for step in steps:
        ts += HOUR
        before = state(pf)
        try:
            if step[0] == "fill":
                _, symbol, side, qty, price, fee_rate = step
                pf.apply_fill(fill(symbol, side, qty, price, qty * price * fee_rate, ts=ts))
            elif step[0] == "mark":
                pf.mark(step[1], step[2])
            else:
                pf.apply_funding(step[1], step[2], ts=ts)
        except InsufficientFundsError:
            assert state(pf) == before  # refusals are atomic
        assert identity_gap(pf) == pytest.approx(0.0, abs=1e-6)
        # perps never move cash except through realised PnL, fees and funding
        expected_cash = pf.net_deposits() + pf.realised_pnl() - pf.fees() + pf.funding()
        assert pf.cash() == pytest.approx(expected_cash, abs=1e-6)
        assert pf.cash() >= -1e-6
        closed_fees = sum(p.fees for p in pf.closed_positions)
        open_fees = sum(p.fees for p in pf.positions.values())
        assert closed_fees + open_fees == pytest.approx(pf.fees(), abs=1e-6)


@given(
    st.lists(
        st.tuples(
            st.sampled_from([Side.BUY, Side.SELL]),
            st.floats(min_value=0.01, max_value=1.5),
            prices,
            st.booleans(),  # fee in base (else quote)
        ),
        max_size=40,
    )
)
def test_spot_books_balance_and_inventory_never_goes_negative(
    steps: list[tuple[Side, float, float, bool]],
) -> None:
    pf = Portfolio({"USDT": 1_000.0})
    for side, qty, price, base_fee in steps:
        fee = qty * 0.001 if base_fee else qty * price * 0.001
        f = fill("BTC/USDT", side, qty, price, fee, fee_currency="BTC" if base_fee else "USDT")
        before = state(pf)
        held = pf.position("BTC/USDT")
        try:
            pf.apply_fill(f)
        except InsufficientHoldingsError:
            assert side is Side.SELL
            assert held is None or held.qty < qty + (fee if base_fee else 0.0)
            assert state(pf) == before
        except InsufficientFundsError:
            assert side is Side.BUY
            assert state(pf) == before
        pos = pf.position("BTC/USDT")
        assert pos is None or pos.qty > 0
        assert pf.cash() >= -1e-9
        assert identity_gap(pf) == pytest.approx(0.0, abs=1e-6)


@given(
    st.lists(
        st.tuples(st.floats(min_value=0.01, max_value=5.0), prices),
        min_size=1,
        max_size=10,
    ),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.sampled_from([BTC_PERP, "BTC/USDT"]),
)
def test_closing_everything_at_entry_costs_exactly_the_fees(
    entries: list[tuple[float, float]], side: Side, symbol: str
) -> None:
    if symbol == "BTC/USDT":
        side = Side.BUY  # spot is long only
    pf = perp_portfolio(100_000.0, 10.0, BTC_PERP)
    for qty, price in entries:
        pf.apply_fill(fill(symbol, side, qty, price, fee=qty * price * 0.0005))
    pos = pf.position(symbol)
    assert pos is not None
    exit_side = Side.SELL if side is Side.BUY else Side.BUY
    out = pf.apply_fill(
        fill(symbol, exit_side, pos.qty, pos.avg_entry_price, fee=pos.notional() * 0.0005)
    )
    assert out.closed is pos
    assert pf.positions == {}
    assert pf.realised_pnl() == pytest.approx(0.0, abs=1e-7)
    assert pf.cash() - 100_000.0 == pytest.approx(-pf.fees())
    assert pf.equity() == pytest.approx(100_000.0 - pf.fees())
