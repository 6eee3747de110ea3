"""Fee schedules: venue defaults, overrides, maker/taker selection and validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mftbot.domain.fills import Liquidity
from mftbot.execution.sim.fees import (
    BINANCE_SPOT,
    BINANCE_USDM,
    BYBIT_LINEAR,
    BYBIT_SPOT,
    FeeSchedule,
    FeeTable,
    MarketType,
    default_fees,
    market_type,
)


def test_published_base_tier_rates() -> None:
    assert (BINANCE_SPOT.maker, BINANCE_SPOT.taker) == (0.001, 0.001)
    assert (BINANCE_USDM.maker, BINANCE_USDM.taker) == (0.0002, 0.0005)
    assert (BYBIT_SPOT.maker, BYBIT_SPOT.taker) == (0.001, 0.001)
    assert (BYBIT_LINEAR.maker, BYBIT_LINEAR.taker) == (0.0002, 0.00055)


def test_market_type_from_the_unified_symbol() -> None:
    assert market_type("BTC/USDT") is MarketType.SPOT
    assert market_type("BTC/USDT:USDT") is MarketType.LINEAR


@pytest.mark.parametrize(
    ("venue", "symbol", "expected"),
    [
        ("binance", "BTC/USDT", BINANCE_SPOT),
        ("binance", "BTC/USDT:USDT", BINANCE_USDM),
        ("binanceusdm", "ETH/USDT:USDT", BINANCE_USDM),
        ("bybit", "BTC/USDT", BYBIT_SPOT),
        ("bybit", "BTC/USDT:USDT", BYBIT_LINEAR),
    ],
)
def test_table_defaults_follow_the_venue_and_market(
    venue: str, symbol: str, expected: FeeSchedule
) -> None:
    assert FeeTable(venue=venue).for_symbol(symbol) == expected


def test_fee_is_notional_times_the_rate_of_the_liquidity() -> None:
    fees = FeeTable(venue="bybit").for_symbol("BTC/USDT:USDT")
    notional = 61_837.63 * 0.25
    assert fees.fee(notional, Liquidity.TAKER) == pytest.approx(notional * 0.00055, rel=1e-15)
    assert fees.fee(notional, Liquidity.MAKER) == pytest.approx(notional * 0.0002, rel=1e-15)
    assert fees.rate(Liquidity.TAKER) == 0.00055
    assert fees.max_rate == 0.00055


def test_overrides_win_in_order_symbol_then_market_type_then_venue() -> None:
    vip = FeeSchedule(maker=-0.0001, taker=0.0003)
    table = FeeTable(
        venue="binance",
        linear=FeeSchedule.flat(0.0004),
        symbols={"ETH/USDT:USDT": vip},
    )
    assert table.for_symbol("ETH/USDT:USDT") == vip
    assert table.for_symbol("BTC/USDT:USDT") == FeeSchedule.flat(0.0004)
    assert table.for_symbol("BTC/USDT") == BINANCE_SPOT
    rebate = vip.fee(1000.0, Liquidity.MAKER)
    assert rebate == pytest.approx(-0.1)


def test_flat_table_charges_one_rate_everywhere() -> None:
    table = FeeTable.flat(0.00075)
    for symbol in ("BTC/USDT", "BTC/USDT:USDT"):
        s = table.for_symbol(symbol)
        assert (s.maker, s.taker) == (0.00075, 0.00075)


def test_unknown_venue_needs_explicit_schedules() -> None:
    with pytest.raises(ValidationError, match="okx"):
        FeeTable(venue="okx")
    table = FeeTable(venue="okx", spot=FeeSchedule.flat(0.001), linear=FeeSchedule.flat(0.0005))
    assert table.for_symbol("BTC/USDT").taker == 0.001
    with pytest.raises(ValueError, match="binanceusdm/spot"):
        default_fees("binanceusdm", MarketType.SPOT)
    with pytest.raises(ValueError, match="binanceusdm/spot"):
        FeeTable(venue="binanceusdm").for_symbol("BTC/USDT")


@pytest.mark.parametrize("rate", [0.02, -0.02, float("nan")])
def test_absurd_rates_are_refused(rate: float) -> None:
    with pytest.raises(ValidationError):
        FeeSchedule(maker=rate, taker=0.001)
