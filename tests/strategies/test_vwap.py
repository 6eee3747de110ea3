"""vwap_bands: the anchored VWAP and σ against numpy's weighted statistics, the session reset
at 00:00 UTC, the crossing rules, and exact rolling windows for the session anchor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis.indicators import rolling_vwap, vwap
from mftbot.analysis.registry import CandleArrays
from mftbot.data.candles import read_candles
from mftbot.strategies.vwap import VwapBands, VwapBandsConfig, vwap_bands

DAY_NS = 86_400 * 10**9


@pytest.fixture(scope="module")
def real(data_dir: Path) -> CandleArrays:
    df = read_candles(data_dir / "candles_filimonov" / "ETH_USDT-5m.feather").iloc[1000:5000]
    return CandleArrays.from_frame(df)


def weighted(typical: np.ndarray, volume: np.ndarray) -> tuple[float, float]:
    mean = float(np.average(typical, weights=volume))
    return mean, float(np.sqrt(np.average((typical - mean) ** 2, weights=volume)))


def test_rolling_anchor_matches_weighted_statistics(real: CandleArrays) -> None:
    center, sigma, count = vwap_bands(real, "rolling", 50)
    typical = (real.high + real.low + real.close) / 3.0
    assert np.isnan(center[:49]).all()
    for t in range(49, len(real), 37):
        mean, std = weighted(typical[t - 49 : t + 1], real.volume[t - 49 : t + 1])
        assert center[t] == pytest.approx(mean, rel=1e-12)
        assert sigma[t] == pytest.approx(std, rel=1e-9)
        assert count[t] == 50
    ref = rolling_vwap(real.high, real.low, real.close, real.volume, 50)
    np.testing.assert_allclose(center[49:], ref[49:], rtol=1e-12)


def test_session_anchor_resets_at_midnight_utc(real: CandleArrays) -> None:
    center, sigma, count = vwap_bands(real, "session", 0)
    typical = (real.high + real.low + real.close) / 3.0
    day = real.time_ns // DAY_NS
    ref = vwap(real.high, real.low, real.close, real.volume, real.time_ns)
    np.testing.assert_allclose(center, ref, rtol=1e-12)
    starts = np.flatnonzero(np.diff(day)) + 1
    assert starts.size >= 10
    for s in starts.tolist():
        assert count[s] == 1
        assert center[s] == pytest.approx(typical[s], rel=1e-15)
        assert sigma[s] == 0.0
        end = s + 100
        mean, std = weighted(typical[s : end + 1], real.volume[s : end + 1])
        assert center[end] == pytest.approx(mean, rel=1e-12)
        assert sigma[end] == pytest.approx(std, rel=1e-9)
        assert count[end] == 101


def test_entries_and_exits_follow_the_crossing_rules(real: CandleArrays) -> None:
    strategy = VwapBands(VwapBandsConfig(window=100, band_mult=2.0, cross_band=0.5))
    signals = strategy.populate(real)
    center, sigma, _ = vwap_bands(real, "rolling", 100)
    close = real.close
    upper, lower = center + 2.0 * sigma, center - 2.0 * sigma

    def up(level: np.ndarray, t: int) -> bool:
        return bool(close[t] >= level[t] and close[t - 1] < level[t - 1])

    def down(level: np.ndarray, t: int) -> bool:
        return bool(close[t] < level[t] and close[t - 1] >= level[t - 1])

    hi, lo = center + 0.5 * sigma, center - 0.5 * sigma
    floor = lower - 0.5 * sigma
    reversions = crosses = 0
    for t in range(strategy.warmup, len(close)):
        exit_ = up(upper, t) or down(lo, t) or down(floor, t)
        reversion, cross = up(lower, t), up(hi, t)
        assert signals.exit_long[t] == exit_, t
        assert signals.entry_long[t] == ((reversion or cross) and not exit_), t
        reversions += reversion and not exit_
        crosses += cross and not exit_
    assert reversions >= 10
    assert crosses >= 10


def test_session_strategy_is_exact_on_a_rolling_window(data_dir: Path) -> None:
    df = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-1m.feather").iloc[:4500]
    candles = CandleArrays.from_frame(df)
    strategy = VwapBands(VwapBandsConfig(anchor="session"))
    full = strategy.populate(candles)
    assert full.entry_long.sum() >= 5
    rows = np.union1d(np.arange(2880, 2900), np.flatnonzero(full.flags())[-30:])  # midnight too
    for t in rows.tolist():
        live = strategy.populate(candles.head(t + 1).tail(strategy.lookback))
        assert live.flag_at(-1) == full.flag_at(t), t
        assert live.confidence is not None
        assert full.confidence is not None
        # The confidence reads TA-Lib's running-sum volume SMA: equal to rounding.
        np.testing.assert_allclose(live.confidence[-1], full.confidence[t], rtol=1e-9)


def test_an_unknown_anchor_is_refused() -> None:
    candles = CandleArrays.from_arrays(
        open=np.ones(3),
        high=np.ones(3),
        low=np.ones(3),
        close=np.ones(3),
        volume=np.ones(3),
        time_ns=np.arange(3, dtype=np.int64),
    )
    with pytest.raises(ValueError, match="anchor"):
        vwap_bands(candles, "weekly", 10)
    with pytest.raises(ValueError, match="anchor"):
        VwapBandsConfig(anchor="weekly")  # type: ignore[arg-type]
