"""A member's simulated trades and their statistics: fills at the next open, from flat at the
window start, only trades closed by the evaluation bar; per regime; bounded by a fixed span."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis.regime import Regime, market_regime
from mftbot.analysis.registry import CandleArrays
from mftbot.data.candles import read_candles
from mftbot.strategies import get_strategy
from mftbot.strategies.consensus import reweight_bars
from mftbot.strategies.performance import (
    MIN_VOLATILITY,
    Evaluation,
    PerformanceTracker,
    TradeStats,
    regime_pad,
    simulate_trades,
)

L, X, S, XS = 1, 2, 4, 8
MEMBERS = ("supertrend_follow", "vwap_bands")


def flags_of(n: int, marks: dict[int, int]) -> np.ndarray:
    out = np.zeros(n, dtype=np.int8)
    for bar, value in marks.items():
        out[bar] = value
    return out


def test_trades_fill_at_the_next_open_with_fees() -> None:
    open_ = np.array([10.0, 11.0, 12.0, 13.0, 12.0, 11.0, 10.0, 12.0, 14.0, 15.0])
    flags = flags_of(10, {1: L, 2: L, 3: X, 5: S, 6: X, 7: XS, 8: L})
    trades = simulate_trades(open_, flags, end=9, window=10, fee=0.001)
    # long decided at 1 fills at open[2] = 12; exit decided at 3 fills at open[4] = 12
    # (the entry at 2 while long is ignored); short at 5 -> open[6] = 10, covered at 7 ->
    # open[8] = 14 (the exit-long at 6 means nothing while short); the long at 8 is still open.
    assert trades.entry_bar.tolist() == [1, 5]
    assert trades.exit_bar.tolist() == [3, 7]
    assert trades.direction.tolist() == [1, -1]
    expected = [(12 - 12 - 0.001 * 24) / 12, (-(14 - 10) - 0.001 * 24) / 10]
    np.testing.assert_allclose(trades.ret, expected, rtol=1e-15)


def test_the_window_starts_flat_and_ends_at_the_evaluation_bar() -> None:
    open_ = np.linspace(100.0, 120.0, 30)
    flags = flags_of(30, {2: L, 12: X, 14: L, 20: X, 25: L, 28: X})
    whole = simulate_trades(open_, flags, end=29, window=30, fee=0.0)
    assert whole.entry_bar.tolist() == [2, 14, 25]
    late = simulate_trades(open_, flags, end=29, window=20, fee=0.0)  # decisions from bar 10
    assert late.entry_bar.tolist() == [14, 25]  # the exit at 12 finds it flat
    early = simulate_trades(open_, flags, end=20, window=30, fee=0.0)
    assert early.exit_bar.tolist() == [12]  # exit decided at 20 would fill at 21 > end
    with pytest.raises(ValueError, match="outside"):
        simulate_trades(open_, flags, end=30, window=5, fee=0.0)


def test_trade_stats() -> None:
    stats = TradeStats.of([0.01, -0.02, 0.03, 0.02])
    assert stats.trades == 4
    assert stats.win_rate == 0.75
    assert stats.expectancy == pytest.approx(0.01)
    vol = float(np.std([0.01, -0.02, 0.03, 0.02], ddof=1))
    assert stats.volatility == pytest.approx(vol)
    assert stats.risk_adjusted == pytest.approx(0.01 / vol)
    assert TradeStats.of([]) == TradeStats(0, 0.0, 0.0, 0.0, 0.0)
    single = TradeStats.of([0.05])
    assert (single.trades, single.win_rate, single.risk_adjusted) == (1, 1.0, 0.0)
    flat = TradeStats.of([0.002, 0.002])
    assert flat.risk_adjusted == pytest.approx(0.002 / MIN_VOLATILITY)


def test_evaluation_prefers_the_current_regime_when_it_has_enough_trades() -> None:
    up = TradeStats.of([0.01] * 6)
    down = TradeStats.of([-0.01, 0.0])
    overall = TradeStats.of([0.01] * 6 + [-0.01, 0.0])
    evaluation = Evaluation(
        bar=100,
        regime=float(Regime.TREND_UP),
        overall=(overall,),
        by_regime=({Regime.TREND_UP: up, Regime.TREND_DOWN: down},),
    )
    assert evaluation.current(0, min_trades=5) == up
    assert evaluation.current(0, min_trades=7) == overall
    other = Evaluation(100, float(Regime.TREND_DOWN), (overall,), ({Regime.TREND_DOWN: down},))
    assert other.current(0, min_trades=5) == overall
    unknown = Evaluation(100, math.nan, (overall,), ({},))
    assert unknown.current(0, min_trades=1) == overall


@pytest.fixture(scope="module")
def btc(data_dir: Path) -> CandleArrays:
    df = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-1m.feather").iloc[:9000]
    return CandleArrays.from_frame(df)


def member_flags(candles: CandleArrays) -> list[np.ndarray]:
    return [get_strategy(n).populate(candles).flags() for n in MEMBERS]


def test_real_trades_are_split_by_regime(btc: CandleArrays) -> None:
    tracker = PerformanceTracker(btc, member_flags(btc), window=5000, fee=0.001)
    evaluation = tracker.evaluate(8000)
    labels = market_regime(btc.high, btc.low, btc.close).regime
    assert not math.isnan(evaluation.regime)
    for overall, groups in zip(evaluation.overall, evaluation.by_regime, strict=True):
        assert overall.trades >= 10
        assert sum(g.trades for g in groups.values()) <= overall.trades
        assert len(groups) >= 2
    assert (labels[~np.isnan(labels)] == evaluation.regime).any()


def test_an_evaluation_reads_a_fixed_span_only(btc: CandleArrays) -> None:
    window, every = 1500, 200
    full_flags = member_flags(btc)
    full = PerformanceTracker(
        btc, full_flags, window=window, fee=0.001, chunks=reweight_bars(btc.time_ns, every)
    )
    end = int(reweight_bars(btc.time_ns, every)[-3])
    lookback = max(get_strategy(n).lookback for n in MEMBERS)
    span = window - 1 + max(lookback - 1, every + regime_pad())
    part = btc.head(end + 1).tail(span + every)
    offset = end + 1 - len(part)
    cut = PerformanceTracker(
        part,
        member_flags(part),
        window=window,
        fee=0.001,
        chunks=reweight_bars(part.time_ns, every),
    )
    a, b = full.evaluate(end), cut.evaluate(end - offset)
    assert a.regime == b.regime
    assert a.overall == b.overall
    assert a.by_regime == b.by_regime
    np.testing.assert_array_equal(
        full.labels(end - window + 1, end), cut.labels(end - offset - window + 1, end - offset)
    )


def test_bad_tracker_settings_are_refused(btc: CandleArrays) -> None:
    with pytest.raises(ValueError, match="window"):
        PerformanceTracker(btc, [], window=1, fee=0.0)
    with pytest.raises(ValueError, match="fee"):
        PerformanceTracker(btc, [], window=10, fee=1.5)
