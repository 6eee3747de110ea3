"""Market regime: synthetic trends, a range and a volatility burst; real candles; causality;
the compiled kernels against plain reference implementations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mftbot.analysis.indicators import adx, atr
from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.regime import (
    Regime,
    RegimeConfig,
    RegimeResult,
    _label,
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


# ----------------------------------------------------------- compiled kernels vs reference


def reference_rolling_rank(values: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Rank and median ratio straight from every window (numpy's median)."""
    rank = np.full(values.size, np.nan)
    ratio = np.full(values.size, np.nan)
    if values.size < window:
        return rank, ratio
    win = sliding_window_view(values, window)
    bad = np.isnan(win).any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (win <= win[:, -1:]).sum(axis=1) / window
        q = win[:, -1] / np.median(win, axis=1)
    r[bad] = np.nan
    q[bad] = np.nan
    rank[window - 1 :] = r
    ratio[window - 1 :] = q
    return rank, ratio


def reference_label(
    adx_: FloatArray,
    plus_di: FloatArray,
    minus_di: FloatArray,
    vol_rank: FloatArray,
    vol_ratio: FloatArray,
    cfg: RegimeConfig,
) -> FloatArray:
    """The two hysteresis state machines, one bar at a time in plain Python."""
    out = np.full(adx_.size, np.nan)
    trending, direction, volatile = False, 1, False
    for t in range(adx_.size):
        a, p, m = float(adx_[t]), float(plus_di[t]), float(minus_di[t])
        v, q = float(vol_rank[t]), float(vol_ratio[t])
        if math.isnan(a) or math.isnan(p) or math.isnan(m):
            continue
        if trending:
            if a < cfg.trend_exit:
                trending = False
            elif direction > 0 and m - p >= cfg.di_margin:
                direction = -1
            elif direction < 0 and p - m >= cfg.di_margin:
                direction = 1
        elif a >= cfg.trend_enter:
            trending, direction = True, (1 if p >= m else -1)
        if math.isnan(v) or math.isnan(q):
            continue
        if volatile:
            volatile = v >= cfg.vol_exit and q >= cfg.ratio_exit
        else:
            volatile = v >= cfg.vol_enter and q >= cfg.ratio_enter
        if volatile:
            out[t] = Regime.HIGH_VOLATILITY
        elif trending:
            out[t] = Regime.TREND_UP if direction > 0 else Regime.TREND_DOWN
        else:
            out[t] = Regime.RANGING
    return out


def reference_regime(
    high: FloatArray, low: FloatArray, close: FloatArray, cfg: RegimeConfig
) -> RegimeResult:
    trend_ = adx(high, low, close, cfg.adx_period)
    atr_pct = atr(high, low, close, cfg.atr_period) / close
    rank, ratio = reference_rolling_rank(atr_pct, cfg.vol_window)
    code = reference_label(trend_.adx, trend_.plus_di, trend_.minus_di, rank, ratio, cfg)
    return RegimeResult(code, rank, ratio, atr_pct, trend_.adx)


def assert_identical(got: FloatArray, want: FloatArray) -> None:
    """Same values bit for bit (NaN where NaN, same sign of zero and infinity)."""
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got.view(np.uint64), want.view(np.uint64))


def assert_same_regime(got: RegimeResult, want: RegimeResult) -> None:
    for name in RegimeResult._fields:
        assert_identical(getattr(got, name), getattr(want, name))


CONFIGS = [
    RegimeConfig(),
    RegimeConfig(vol_window=31, vol_enter=0.9, ratio_enter=1.1, ratio_exit=1.0),
    RegimeConfig(adx_period=7, atr_period=5, vol_window=2, trend_enter=30.0, di_margin=0.0),
]


@pytest.fixture(scope="module")
def candles_1m(data_dir: Path) -> CandleArrays:
    frame = read_candles(data_dir / "candles_filimonov/BTC_USDT-1m.feather")
    return CandleArrays.from_frame(frame)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_compiled_regime_equals_reference_on_real_1m_candles(
    candles_1m: CandleArrays, cfg: RegimeConfig
) -> None:
    part = candles_1m.tail(4000)
    got = market_regime(part.high, part.low, part.close, cfg)
    want = reference_regime(part.high, part.low, part.close, cfg)
    assert_same_regime(got, want)
    assert len(np.unique(labelled(got.regime))) == len(Regime)  # every branch was taken


def real_atr_pct(candles: CandleArrays) -> FloatArray:
    part = candles.tail(3000)
    return np.asarray(atr(part.high, part.low, part.close, 14) / part.close, dtype=np.float64)


def rank_cases(candles: CandleArrays) -> dict[str, FloatArray]:
    base = real_atr_pct(candles)
    gappy = base.copy()
    gappy[[500, 501, 900, 1000, 1150, 2998]] = np.nan
    spikes = base.copy()
    spikes[[300, 700]] = np.inf
    spikes[[310, 1200]] = -np.inf
    rng = np.random.default_rng(5)
    return {
        "real": base,
        "nan_gaps": gappy,
        "ties": np.round(base * 1e4) / 1e4,  # few distinct values: many equal to the current
        "small_ints": rng.integers(0, 4, 2000).astype(np.float64),
        "infinities": spikes,
        "constant": np.full(500, 0.25),
        "zeros": np.zeros(300),  # median 0: ratio 0 / 0
        "zero_median": np.where(rng.random(400) < 0.7, 0.0, 1.0),  # ratio 1 / 0 and 0 / 0
        "all_nan": np.full(200, np.nan),
        "empty": np.zeros(0),
    }


@pytest.mark.parametrize("window", [1, 2, 3, 4, 31, 100])
def test_compiled_rolling_rank_equals_reference(candles_1m: CandleArrays, window: int) -> None:
    for name, values in rank_cases(candles_1m).items():
        got = rolling_rank(values, window)
        want = reference_rolling_rank(values, window)
        for g, w in zip(got, want, strict=True):
            try:
                assert_identical(g, w)
            except AssertionError as exc:
                raise AssertionError(f"{name}, window {window}") from exc


@pytest.mark.parametrize("size", [0, 1, 4, 5, 9])
def test_rolling_rank_short_input(size: int) -> None:
    values = np.arange(size, dtype=np.float64)[::-1] + 1.0
    got = rolling_rank(values, 5)
    want = reference_rolling_rank(values, 5)
    for g, w in zip(got, want, strict=True):
        assert_identical(g, w)
    assert int((~np.isnan(got[0])).sum()) == max(size - 4, 0)


def test_rolling_rank_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="window must be >= 1"):
        rolling_rank(np.ones(10), 0)
    with pytest.raises(ValueError, match="1-D"):
        rolling_rank(np.ones((3, 4)), 2)


def test_compiled_label_equals_reference_with_gaps() -> None:
    """Random indicator paths crossing every threshold, with NaN holes in each input."""
    rng = np.random.default_rng(7)
    n = 5000
    adx_ = 22.0 + 12.0 * np.sin(np.arange(n) / 40.0) + rng.normal(0.0, 2.0, n)
    plus_di = rng.integers(5, 45, n).astype(np.float64)  # whole points: ties and exact margins
    minus_di = rng.integers(5, 45, n).astype(np.float64)
    vol_rank = rng.choice([0.5, 0.79, 0.8, 0.9, 0.95, 1.0], n, p=[0.4, 0.2, 0.1, 0.1, 0.1, 0.1])
    vol_ratio = rng.choice([0.9, 1.1, 1.2, 1.3, 2.0], n, p=[0.4, 0.1, 0.2, 0.15, 0.15])
    arrays = [adx_, plus_di, minus_di, vol_rank, vol_ratio]
    for arr in arrays:
        arr[:20] = np.nan
        arr[rng.integers(20, n, 60)] = np.nan
    for cfg in CONFIGS:
        got = _label(*arrays, cfg)
        want = reference_label(*arrays, cfg)
        assert_identical(got, want)
        assert len(np.unique(labelled(got))) == len(Regime)


@pytest.mark.parametrize("size", [0, 1, 50, 112, 113, 114, 300])
def test_compiled_regime_equals_reference_on_short_input(
    candles_1m: CandleArrays, size: int
) -> None:
    part = candles_1m.tail(300)
    args = (part.high[:size], part.low[:size], part.close[:size])
    got = market_regime(*args)
    assert_same_regime(got, reference_regime(*args, RegimeConfig()))
    assert int((~np.isnan(got.regime)).sum()) == max(size - RegimeConfig().warmup, 0)


def test_compiled_regime_equals_reference_on_constant_prices() -> None:
    close = np.full(400, 100.0)
    got = market_regime(close, close, close)
    assert_same_regime(got, reference_regime(close, close, close, RegimeConfig()))
    assert np.isnan(got.vol_ratio).all()  # ATR% 0 over a median of 0
    assert (got.vol_rank[RegimeConfig().warmup :] == 1.0).all()


def test_compiled_regime_equals_reference_with_leading_nans(candles_1m: CandleArrays) -> None:
    part = candles_1m.tail(1000)
    high, low, close = (np.array(x, dtype=np.float64) for x in (part.high, part.low, part.close))
    for arr in (high, low, close):
        arr[:37] = np.nan
    got = market_regime(high, low, close)
    assert_same_regime(got, reference_regime(high, low, close, RegimeConfig()))
    assert np.isnan(got.regime[: 37 + RegimeConfig().warmup]).all()
    assert not np.isnan(got.regime[37 + RegimeConfig().warmup :]).any()
