"""Sizing methods, and properties: never above a cap, monotone in the stop distance, zero on
negative expectancy."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mftbot.domain.enums import Side
from mftbot.risk.config import SizingConfig
from mftbot.risk.results import Factor, RiskError
from mftbot.risk.sizing import (
    PositionSizer,
    SizingInputs,
    fixed_fractional,
    kelly,
    kelly_stats,
    loss_per_unit,
    round_down,
    volatility_target,
)


def test_loss_per_unit_includes_both_fees_and_checks_the_side() -> None:
    assert loss_per_unit(Side.BUY, 100.0, 95.0, 0.001) == pytest.approx(5.0 + 0.001 * 195.0)
    assert loss_per_unit(Side.SELL, 100.0, 104.0, 0.0) == pytest.approx(4.0)
    with pytest.raises(RiskError, match="stop 101 is not below the entry 100 of a buy"):
        loss_per_unit(Side.BUY, 100.0, 101.0, 0.001)
    with pytest.raises(RiskError, match="not above"):
        loss_per_unit(Side.SELL, 100.0, 99.0, 0.001)


def test_fixed_fractional_is_risk_over_stop_distance() -> None:
    size = fixed_fractional(10_000.0, 500.0, 0.005)
    assert size.qty == pytest.approx(0.1)
    assert size.reason == "risk 0.50 % of 10,000.00 = 50.00 / 500 per unit"


def test_round_down_to_the_lot() -> None:
    assert round_down(0.12345, 0.001) == pytest.approx(0.123)
    assert round_down(0.3, 0.1) == pytest.approx(0.3)
    assert round_down(0.0009, 0.001) == 0.0
    assert round_down(1.7, None) == 1.7


def test_kelly_statistics() -> None:
    stats = kelly_stats([2.0, -1.0, 2.0, -1.0])
    assert stats.win_rate == 0.5
    assert stats.payoff == 2.0
    assert stats.kelly == pytest.approx(0.25)
    assert kelly_stats([1.0, 1.0]).kelly == 1.0
    assert kelly_stats([-1.0, 0.0]).kelly == -1.0


def test_kelly_fractions_cap_and_minimum_trades() -> None:
    pnls = [2.0, -1.0] * 20
    cfg = SizingConfig(kelly_fraction="half", kelly_cap=0.25, kelly_min_trades=10)
    half = kelly(10_000.0, 100.0, pnls, cfg)
    assert half.qty == pytest.approx(0.125 * 10_000 / 100)
    quarter = kelly(10_000.0, 100.0, pnls, cfg.model_copy(update={"kelly_fraction": "quarter"}))
    assert quarter.qty == pytest.approx(0.0625 * 100)
    capped = kelly(10_000.0, 100.0, pnls, cfg.model_copy(update={"kelly_cap": 0.02}))
    assert capped.qty == pytest.approx(0.02 * 100)
    assert "(capped)" in capped.reason
    few = kelly(10_000.0, 100.0, pnls[:5], cfg)
    assert few.qty is None
    assert few.reason == "5 recorded trades < 10 needed"


def test_negative_expectancy_sizes_to_zero_with_the_reason() -> None:
    pnls = [1.0, -1.0, -1.0] * 12
    size = kelly(10_000.0, 100.0, pnls, SizingConfig())
    assert size.qty == 0.0
    assert size.reason.startswith("negative expectancy: 36 trades, win rate 33.33 %, payoff 1")
    sizer = PositionSizer(SizingConfig())
    result = sizer.size(SizingInputs(Side.BUY, 10_000.0, 100.0, 95.0, 0.001, pnls))
    assert result.qty == 0.0
    assert result.binding == "method:kelly"
    assert "negative expectancy" in result.reason


def test_volatility_target() -> None:
    cfg = SizingConfig(vol_target=0.2, vol_min_obs=30)
    size = volatility_target(10_000.0, 50.0, 0.8, 100, cfg)
    assert size.qty == pytest.approx(10_000 * 0.25 / 50)
    assert volatility_target(10_000.0, 50.0, 0.8, 10, cfg).qty is None


def test_final_size_is_the_minimum_after_multipliers_then_caps_then_lot() -> None:
    sizer = PositionSizer(SizingConfig(methods=("fixed_fractional", "volatility_target")))
    inp = SizingInputs(Side.BUY, 10_000.0, 100.0, 98.0, 0.0, realised_vol=0.5, vol_observations=100)
    # fixed fractional: 50 / 2 = 25 units; vol target: 10,000 × 0.4 / 100 = 40 units
    factors = [Factor("volatility", 0.5, "x"), Factor("weekend", 0.8, "y")]
    result = sizer.size(inp, factors, {"balance": 50.0}, lot_size=0.5)
    assert result.base_qty == pytest.approx(25.0)
    assert result.multiplier == pytest.approx(0.4)
    assert result.qty == pytest.approx(10.0)
    assert result.binding == "method:fixed_fractional"
    capped = sizer.size(inp, factors, {"balance": 7.3}, lot_size=0.5)
    assert capped.qty == pytest.approx(7.0)
    assert capped.binding == "cap:balance"
    assert "capped by balance at 7.3" in capped.reason
    halted = sizer.size(inp, [Factor("volatility", 0.0, "ATR above the top band")])
    assert halted.qty == 0.0
    assert halted.binding == "factor:volatility"
    dumped = result.to_dict()
    assert {m["name"] for m in dumped["methods"]} == {"fixed_fractional", "volatility_target"}
    assert [f["name"] for f in dumped["factors"]] == ["volatility", "weekend"]
    assert dumped["caps"]["balance"] == 50.0


# --- properties -------------------------------------------------------------------------------

prices = st.floats(10.0, 100_000.0)
fractions = st.floats(0.001, 0.2)
pnl_lists = st.lists(
    st.floats(-100.0, 100.0).filter(lambda x: abs(x) > 1e-6), min_size=0, max_size=60
)


@st.composite
def sizing_case(draw: st.DrawFn) -> tuple[SizingInputs, dict[str, float], list[Factor], float]:
    price = draw(prices)
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    dist = draw(fractions) * price
    stop = price - dist if side is Side.BUY else price + dist
    inp = SizingInputs(
        side=side,
        equity=draw(st.floats(100.0, 1e7)),
        price=price,
        stop_price=stop,
        fee_rate=draw(st.floats(0.0, 0.002)),
        trade_pnls=draw(pnl_lists),
        realised_vol=draw(st.floats(0.05, 3.0)),
        vol_observations=draw(st.integers(0, 200)),
    )
    caps = {
        name: draw(st.floats(0.0, 1e6))
        for name in draw(st.sets(st.sampled_from(["balance", "exposure", "risk", "intent"])))
    }
    factors = [
        Factor(f"f{i}", draw(st.floats(0.0, 1.0)), "p") for i in range(draw(st.integers(0, 4)))
    ]
    lot = draw(st.sampled_from([0.0, 0.001, 0.01, 1.0]))
    return inp, caps, factors, lot


CONFIGS = [
    SizingConfig(kelly_min_trades=5, kelly_cap=0.05),
    SizingConfig(methods=("kelly",), kelly_min_trades=5, kelly_fraction="full"),
    SizingConfig(methods=("volatility_target", "fixed_fractional"), max_position_fraction=0.5),
]


@settings(max_examples=150, deadline=None)
@given(sizing_case(), st.sampled_from(CONFIGS))
def test_size_never_exceeds_any_cap(
    case: tuple[SizingInputs, dict[str, float], list[Factor], float], cfg: SizingConfig
) -> None:
    inp, caps, factors, lot = case
    result = PositionSizer(cfg).size(inp, factors, caps, lot or None)
    assert result.qty >= 0.0
    for name, cap in result.caps.items():
        assert result.qty <= cap * (1 + 1e-12) + 1e-15, name
    assert result.qty <= cfg.max_position_fraction * inp.equity / inp.price * (1 + 1e-12)
    if "fixed_fractional" in cfg.methods:
        assert result.risk_amount <= cfg.risk_per_trade * inp.equity * (1 + 1e-9)
    if "kelly" in cfg.methods and len(inp.trade_pnls) >= cfg.kelly_min_trades:
        assert result.risk_amount <= cfg.kelly_cap * inp.equity * (1 + 1e-9)
    if lot:
        steps = result.qty / lot
        assert abs(steps - round(steps)) < 1e-6


@settings(max_examples=150, deadline=None)
@given(sizing_case(), st.sampled_from(CONFIGS), st.floats(1.0, 5.0))
def test_size_is_monotone_non_increasing_in_stop_distance(
    case: tuple[SizingInputs, dict[str, float], list[Factor], float],
    cfg: SizingConfig,
    widen: float,
) -> None:
    inp, caps, factors, lot = case
    dist = abs(inp.price - inp.stop_price) * widen
    if dist >= inp.price * 0.99:
        return
    wider_stop = inp.price - dist if inp.side is Side.BUY else inp.price + dist
    sizer = PositionSizer(cfg)
    near = sizer.size(inp, factors, caps, lot or None)
    far = sizer.size(
        SizingInputs(
            inp.side,
            inp.equity,
            inp.price,
            wider_stop,
            inp.fee_rate,
            inp.trade_pnls,
            inp.realised_vol,
            inp.vol_observations,
        ),
        factors,
        caps,
        lot or None,
    )
    assert far.qty <= near.qty * (1 + 1e-12) + 1e-15


@settings(max_examples=100, deadline=None)
@given(
    sizing_case(),
    st.integers(0, 200),
    st.floats(0.1, 100.0),
    st.integers(1, 39),
    st.floats(0.05, 0.95),
)
def test_negative_expectancy_gives_zero(
    case: tuple[SizingInputs, dict[str, float], list[Factor], float],
    seed: int,
    loss: float,
    wins: int,
    edge: float,
) -> None:
    inp, caps, factors, lot = case
    n = 40
    w = wins / n
    payoff = edge * (1 - w) / w  # below the break-even payoff (1 - W) / W: f* < 0
    pnls = [loss * payoff] * wins + [-loss] * (n - wins)
    pnls = pnls[seed % n :] + pnls[: seed % n]
    assert kelly_stats(pnls).kelly < 0
    biased = SizingInputs(
        inp.side,
        inp.equity,
        inp.price,
        inp.stop_price,
        inp.fee_rate,
        pnls,
        inp.realised_vol,
        inp.vol_observations,
    )
    result = PositionSizer(SizingConfig(kelly_min_trades=10)).size(
        biased, factors, caps, lot or None
    )
    assert result.qty == 0.0
    assert math.isfinite(result.loss_per_unit)
