"""The risk state: incremental ATR equals TA-Lib, correlations, volatility, positions."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from mftbot.analysis.indicators import atr as talib_atr
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.config import RiskConfig
from mftbot.risk.results import RiskError
from mftbot.risk.state import RiskState, WilderATR

RealBars = Callable[[str, int, int], list[CandleClosed]]


def test_incremental_atr_matches_talib_on_real_candles(real_bars: RealBars) -> None:
    bars = real_bars("ETH", 5000, 400)
    high = np.array([b.high for b in bars])
    low = np.array([b.low for b in bars])
    close = np.array([b.close for b in bars])
    expected = talib_atr(high, low, close, 14)
    atr = WilderATR(14)
    got = np.array([atr.update(b.high, b.low, b.close) for b in bars])
    assert np.isnan(got[:14]).all()
    np.testing.assert_allclose(got[14:], expected[14:], rtol=1e-9)


def test_state_keeps_one_timeframe_per_symbol(make_bars: Callable[..., list[CandleClosed]]) -> None:
    state = RiskState(RiskConfig())
    bars = make_bars("BTC/USDT", [100.0, 101.0, 102.0])
    for bar in bars:
        state.on_bar(bar)
    other = CandleClosed(
        "sim",
        "BTC/USDT",
        "5m",
        bars[-1].open_time,
        bars[-1].ts_event + 10,
        bars[-1].ts_event + 10,
        1.0,
        1.0,
        1.0,
        90.0,
        1.0,
    )
    state.on_bar(other)
    assert len(state.history["BTC/USDT"].close) == 3
    assert state.last_price["BTC/USDT"] == 90.0
    assert state.data_age_ns("BTC/USDT", other.ts_recv + 5) == 5
    with pytest.raises(RiskError, match="is not after"):
        state.on_bar(bars[0])


def test_correlation_of_related_and_unrelated_series(
    make_bars: Callable[..., list[CandleClosed]],
) -> None:
    rng = np.random.default_rng(7)
    common = rng.normal(0, 0.001, 300)
    a = 100 * np.exp(np.cumsum(common + rng.normal(0, 0.0003, 300)))
    b = 50 * np.exp(np.cumsum(common + rng.normal(0, 0.0003, 300)))
    c = 10 * np.exp(np.cumsum(rng.normal(0, 0.001, 300)))
    state = RiskState(RiskConfig())
    for sym, series in (("A/USDT", a), ("B/USDT", b), ("C/USDT", c)):
        for bar in make_bars(sym, list(series)):
            state.on_bar(bar)
    corr, obs = state.correlation(["A/USDT", "B/USDT", "C/USDT"])
    assert corr[0, 1] > 0.85
    assert abs(corr[0, 2]) < 0.2
    assert obs[0, 1] == 240  # the window
    ra = np.diff(np.log(a[-241:]))
    rb = np.diff(np.log(b[-241:]))
    assert corr[0, 1] == pytest.approx(np.corrcoef(ra, rb)[0, 1], rel=1e-12)
    unknown, n = state.correlation(["A/USDT", "Z/USDT"])
    assert unknown[0, 1] == 1.0  # default_correlation without data
    assert n[0, 1] == 0


def test_realised_volatility_is_annualised(make_bars: Callable[..., list[CandleClosed]]) -> None:
    rng = np.random.default_rng(3)
    rets = rng.normal(0, 0.001, 200)
    closes = 100 * np.exp(np.cumsum(rets))
    state = RiskState(RiskConfig())
    for bar in make_bars("A/USDT", list(closes)):
        state.on_bar(bar)
    vol, n = state.realised_vol("A/USDT")
    assert n == 100
    expected = np.std(np.diff(np.log(closes[-101:])), ddof=1) * math.sqrt(365 * 24 * 60)
    assert vol == pytest.approx(expected, rel=1e-12)


def test_positions_pending_entries_and_exposure() -> None:
    state = RiskState(RiskConfig())
    state.note_entry("BTC/USDT", Side.BUY, 0.1, 0, stop_distance=500.0)
    assert state.open_symbols() == {"BTC/USDT"}
    state.on_market_data("BTC/USDT", 1, price=70_000.0)
    assert state.exposure("BTC/USDT") == pytest.approx(7_000.0)
    info = state.on_position("BTC/USDT", 0.1, 70_100.0, 2, strategy="s")
    assert info is not None
    assert info.stop == pytest.approx(69_600.0)  # the planned distance from the fill price
    assert state.pending == {}
    assert state.on_position("BTC/USDT", 0.0, 0.0, 3) is None
    assert state.open_symbols() == set()
    with pytest.raises(RiskError, match="finite"):
        state.on_position("BTC/USDT", float("nan"), 1.0, 4)
