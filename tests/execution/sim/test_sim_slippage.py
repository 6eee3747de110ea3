"""Candle slippage: the formula term by term, preset ordering, the gap penalty, no look-ahead,
and preset ordering of real fills through the venue."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftbot.data.candles import candles_to_events, read_candles
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.domain.orders import OrderType
from mftbot.execution.sim.fees import FeeTable
from mftbot.execution.sim.slippage import (
    PRESETS,
    CandleSlippage,
    SlippageParams,
    SlippagePreset,
    gap_fraction,
    parkinson_sigma,
    slippage_cost,
    slipped_price,
)
from mftbot.execution.sim.venue import SimulatedVenue, SimVenueConfig
from mftbot.execution.venue import OrderFilled, OrderRequest

M = 60_000_000_000
SYMBOL = "BTC/USDT"

CONS, REAL, OPT = (PRESETS[p] for p in SlippagePreset)


def bar(i: int, o: float, h: float, lo: float, c: float, v: float = 10.0) -> CandleClosed:
    return CandleClosed("sim", SYMBOL, "1m", i * M, (i + 1) * M, (i + 1) * M, o, h, lo, c, v)


def test_formula_term_by_term() -> None:
    p = SlippageParams(
        spread_bps=3.0, volatility_coef=0.2, impact_coef=1.5, gap_coef=0.5, gap_threshold_bps=10
    )
    cost = slippage_cost(p, sigma=0.004, participation=0.09, gap=0.003)
    assert cost.spread == pytest.approx(1.5e-4)
    assert cost.volatility == pytest.approx(0.2 * 0.004)
    assert cost.impact == pytest.approx(1.5 * 0.004 * 0.3)
    assert cost.gap == pytest.approx(0.5 * (0.003 - 0.001))
    assert cost.total == pytest.approx(1.5e-4 + 8e-4 + 1.8e-3 + 1e-3)
    assert slipped_price(Side.BUY, 100.0, cost.total) == pytest.approx(100.0 * (1 + cost.total))
    assert slipped_price(Side.SELL, 100.0, cost.total) == pytest.approx(100.0 * (1 - cost.total))


def test_parkinson_sigma_and_gap_fraction() -> None:
    assert parkinson_sigma(math.exp(0.01), 1.0) == pytest.approx(0.01 / math.sqrt(4 * math.log(2)))
    assert parkinson_sigma(5.0, 5.0) == 0.0
    with pytest.raises(ValueError, match="low <= high"):
        parkinson_sigma(1.0, 2.0)
    assert gap_fraction(101.0, 100.0) == pytest.approx(0.01)
    assert gap_fraction(99.0, 100.0) == pytest.approx(0.01)
    assert gap_fraction(99.0, None) == 0.0


@given(
    sigma=st.floats(0.0, 0.05),
    participation=st.floats(0.0, 5.0),
    gap=st.floats(0.0, 0.2),
)
def test_presets_are_ordered_for_any_fill(sigma: float, participation: float, gap: float) -> None:
    costs = [
        slippage_cost(p, sigma=sigma, participation=participation, gap=gap).total
        for p in (CONS, REAL, OPT)
    ]
    assert costs[0] >= costs[1] >= costs[2] > 0.0


def test_presets_differ_on_a_typical_fill() -> None:
    costs = [
        slippage_cost(p, sigma=0.002, participation=0.05, gap=0.02).total for p in (CONS, REAL, OPT)
    ]
    assert costs[0] > costs[1] > costs[2]
    assert SlippageParams.preset("realistic") == REAL
    with pytest.raises(ValueError, match="known: conservative"):
        SlippageParams.preset("reckless")


def test_gap_penalty_applies_beyond_the_threshold_only_at_an_open() -> None:
    model = CandleSlippage(REAL)
    model.update(bar(0, 100.0, 101.0, 99.0, 100.0))
    flat = model.cost(SYMBOL, 1.0, open_price=100.0)
    small = model.cost(SYMBOL, 1.0, open_price=100.05)  # 5 bps: under the 10 bps threshold
    big = model.cost(SYMBOL, 1.0, open_price=102.0)  # 200 bps
    down = model.cost(SYMBOL, 1.0, open_price=98.0)
    intrabar = model.cost(SYMBOL, 1.0)
    assert flat.gap == small.gap == intrabar.gap == 0.0
    assert big.gap == pytest.approx(REAL.gap_coef * (0.02 - 0.001))
    assert down.gap == pytest.approx(big.gap)
    assert big.total - flat.total == pytest.approx(big.gap)
    buy_gap, _ = model.price(SYMBOL, Side.BUY, 102.0, 1.0, at_open=True)
    buy_plain, _ = model.price(SYMBOL, Side.BUY, 102.0, 1.0, at_open=False)
    assert buy_gap > buy_plain > 102.0


def test_statistics_use_closed_bars_only() -> None:
    model = CandleSlippage(SlippageParams(span=3))
    assert model.cost(SYMBOL, 5.0) == slippage_cost(model.params, sigma=0.0, participation=0.0)
    bars = [(100.0, 102.0, 99.0, 101.0, 20.0), (101.0, 101.5, 100.5, 101.0, 10.0)]
    alpha = 2.0 / 4.0
    var = vol = 0.0
    for i, (o, h, lo, c, v) in enumerate(bars):
        model.update(bar(i, o, h, lo, c, v))
        pv = parkinson_sigma(h, lo) ** 2
        var, vol = (pv, v) if i == 0 else (var + alpha * (pv - var), vol + alpha * (v - vol))
    stats = model.stats(SYMBOL)
    assert stats.sigma == pytest.approx(math.sqrt(var))
    assert stats.volume == pytest.approx(vol)
    assert stats.last_close == 101.0
    cost = model.cost(SYMBOL, 3.0)
    assert cost.impact == pytest.approx(
        model.params.impact_coef * math.sqrt(var) * math.sqrt(3 / vol)
    )


def _buy_prices(preset: SlippagePreset, candles: list[CandleClosed]) -> list[float]:
    config = SimVenueConfig(fees=FeeTable.flat(0.0), slippage=preset)
    venue = SimulatedVenue({"USDT": 1e12}, config)
    prices = []
    for i, candle in enumerate(candles):
        for report in venue.on_market_event(candle):
            if isinstance(report, OrderFilled):
                prices.append(report.fill.price / candle.open)
        request = OrderRequest(f"b{i}", SYMBOL, Side.BUY, OrderType.MARKET, candle.ts_recv, qty=2)
        venue.submit(request)
    return prices


def test_real_candles_fill_ordered_by_preset(data_dir: Path) -> None:
    df = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-1m.feather").iloc[:400]
    candles = list(candles_to_events(df, "binance", SYMBOL, "1m"))
    cons, real, opt = (_buy_prices(p, candles) for p in SlippagePreset)
    assert len(cons) == len(real) == len(opt) == len(candles) - 1
    assert all(c >= r >= o > 1.0 for c, r, o in zip(cons, real, opt, strict=True))
    mean_bps = [(sum(x) / len(x) - 1.0) * 1e4 for x in (cons, real, opt)]
    assert mean_bps[0] > mean_bps[1] > mean_bps[2] >= OPT.spread_bps / 2
    assert mean_bps[0] < 50.0  # 2 BTC on BTC/USDT 1m bars is not a 0.5 % event
