"""Market regime: synthetic trends, a range and a volatility burst; real candles; causality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.regime import (
    Regime,
    RegimeConfig,
    market_regime,
    regime_fractions,
    rolling_rank,
)
from mftbot.analysis.registry import REGISTRY, CandleArrays
from mftbot.data.candles import read_candles

FloatArray = np.ndarray


def bars_from_close(close: FloatArray, wick: FloatArray) -> tuple[FloatArray, FloatArray]:
    """High and low around a close path: the bar spans the previous and current close plus a
    wick of ``wick`` (relative) on each side."""
    prev = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(prev, close) * (1.0 + wick)
    low = np.minimum(prev, close) * (1.0 - wick)
    return high, low


def labelled(regime: FloatArray) -> FloatArray:
    return regime[~np.isnan(regime)]


def share(regime: FloatArray, code: Regime) -> float:
    lab = labelled(regime)
    return float((lab == code).mean())


def switches(regime: FloatArray) -> int:
    return int((np.diff(labelled(regime)) != 0).sum())


def trend(n: int, drift: float, seed: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(drift + rng.normal(0.0, 0.001, n)))
    high, low = bars_from_close(close, np.full(n, 0.0005))
    return high, low, close


@pytest.mark.parametrize(("drift", "code"), [(0.002, Regime.TREND_UP), (-0.002, Regime.TREND_DOWN)])
def test_a_clean_trend_is_a_trend_in_its_direction(drift: float, code: Regime) -> None:
    high, low, close = trend(1000, drift, seed=1)
    result = market_regime(high, low, close)
    assert share(result.regime, code) > 0.9
    other = Regime.TREND_DOWN if code is Regime.TREND_UP else Regime.TREND_UP
    assert share(result.regime, other) == 0.0
    assert share(result.regime, Regime.HIGH_VOLATILITY) < 0.05


def test_a_mean_reverting_range_is_ranging() -> None:
    rng = np.random.default_rng(2)
    n = 1500
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.7 * x[t - 1] + rng.normal(0.0, 0.002)  # AR(1): reverts within a few bars
    close = 100.0 * np.exp(x)
    high, low = bars_from_close(close, np.full(n, 0.0005))
    result = market_regime(high, low, close)
    assert share(result.regime, Regime.RANGING) > 0.8
    assert share(result.regime, Regime.HIGH_VOLATILITY) < 0.05


def test_a_volatility_burst_is_high_volatility_and_ends() -> None:
    rng = np.random.default_rng(3)
    n, start, stop = 900, 500, 540
    sigma = np.full(n, 0.001)
    sigma[start:stop] = 0.006
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.8 * x[t - 1] + rng.normal(0.0, sigma[t])
    close = 100.0 * np.exp(x)
    high, low = bars_from_close(close, sigma / 2)
    result = market_regime(high, low, close)
    code = result.regime
    assert np.isnan(code[: RegimeConfig().warmup]).all()
    assert not (code[RegimeConfig().warmup : start] == Regime.HIGH_VOLATILITY).any()
    burst = code[start + 5 : stop]
    assert (burst == Regime.HIGH_VOLATILITY).mean() > 0.9
    assert not (code[stop + 60 :] == Regime.HIGH_VOLATILITY).any()
    first = start + int(np.argmax(code[start:] == Regime.HIGH_VOLATILITY))
    assert first - start <= 5  # seen within a few bars of the burst starting
    assert result.vol_ratio[start + 10] > 2.0


def test_rolling_rank_and_ratio_by_hand() -> None:
    values = np.array([np.nan, 1.0, 3.0, 2.0, 2.0, 5.0])
    rank, ratio = rolling_rank(values, 3)
    np.testing.assert_array_equal(rank[:3], [np.nan, np.nan, np.nan])
    np.testing.assert_allclose(rank[3:], [2 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(ratio[3:], [1.0, 1.0, 2.5])


@pytest.fixture(scope="module", params=["BTC_USDT", "ETH_USDT"])
def candles_15m(request: pytest.FixtureRequest, data_dir: Path) -> CandleArrays:
    frame = read_candles(data_dir / f"candles_filimonov/{request.param}-15m.feather")
    return CandleArrays.from_frame(frame)


def test_real_candles_regime_fractions_are_sane(candles_15m: CandleArrays) -> None:
    """Three months of 15m candles: every regime occurs, none dominates, labels persist."""
    result = market_regime(candles_15m.high, candles_15m.low, candles_15m.close)
    fractions = regime_fractions(result.regime)
    assert sum(fractions.values()) == pytest.approx(1.0)
    for code, value in fractions.items():
        assert 0.1 < value < 0.6, (code, value)
    assert fractions[Regime.RANGING] == max(fractions.values())
    lab = labelled(result.regime)
    assert lab.size == len(candles_15m) - RegimeConfig().warmup
    assert lab.size / (switches(result.regime) + 1) > 10  # mean run over 10 bars (2.5 h)


def test_hysteresis_reduces_flicker_on_real_candles(candles_15m: CandleArrays) -> None:
    flat = RegimeConfig(trend_exit=25.0, vol_exit=0.95, ratio_exit=1.3, di_margin=0.0)
    args = (candles_15m.high, candles_15m.low, candles_15m.close)
    with_h = switches(market_regime(*args).regime)
    without = switches(market_regime(*args, flat).regime)
    assert with_h < 0.8 * without


def test_regime_is_registered_and_causal_on_real_candles(candles_15m: CandleArrays) -> None:
    entry = REGISTRY.get("regime")
    assert entry.outputs == ("regime", "vol_rank", "vol_ratio", "atr_pct")
    result = check_entry(entry, candles_15m.tail(3000), cuts=20, seed=11)
    assert result.error is None
    assert result.violations == ()


def test_truncating_changes_no_earlier_label(candles_15m: CandleArrays) -> None:
    full = market_regime(candles_15m.high, candles_15m.low, candles_15m.close)
    for cut in (150, 1000, 4321):
        part = market_regime(candles_15m.high[:cut], candles_15m.low[:cut], candles_15m.close[:cut])
        np.testing.assert_array_equal(part.regime, full.regime[:cut])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trend_exit": 30.0},
        {"vol_exit": 0.99},
        {"ratio_exit": 2.0},
        {"adx_period": 1},
        {"vol_window": 1},
        {"di_margin": -1.0},
    ],
)
def test_bad_config_is_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RegimeConfig"):
        RegimeConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_input_is_rejected() -> None:
    high, low, close = trend(50, 0.001, seed=0)
    with pytest.raises(ValueError, match="one length"):
        market_regime(high, low[:-1], close)
    close = close.copy()
    close[10] = -1.0
    with pytest.raises(ValueError, match="non-positive close at index 10"):
        market_regime(high, low, close)
