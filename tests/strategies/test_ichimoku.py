"""ichimoku_cloud: the entry and exit rules, and the lagging span: it never feeds a decision
at time t (later bars cannot change a signal; a version that reads the span as charted,
``close[t + displacement]`` at t, is caught by the look-ahead checker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis.indicators import ichimoku
from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import CandleArrays, Entry, Kind
from mftbot.data.candles import read_candles
from mftbot.strategies import Signals, StrategyConfigError, get_strategy
from mftbot.strategies.base import SIGNAL_OUTPUTS
from mftbot.strategies.ichimoku import IchimokuCloud, IchimokuCloudConfig, lagging_span


@pytest.fixture(scope="module")
def real(data_dir: Path) -> CandleArrays:
    df = read_candles(data_dir / "candles_xylotech" / "BTC_USDT-1h.feather").iloc[:4000]
    return CandleArrays.from_frame(df)


def test_entries_and_exits_follow_the_rules(real: CandleArrays) -> None:
    strategy = IchimokuCloud()
    signals = strategy.populate(real)
    lines = ichimoku(real.high, real.low, real.close)
    close = real.close
    entries = np.flatnonzero(signals.entry_long)
    assert entries.size >= 10
    for t in range(strategy.warmup, len(close)):
        top = max(lines.senkou_a[t], lines.senkou_b[t])
        bottom = min(lines.senkou_a[t], lines.senkou_b[t])
        crossed = lines.tenkan[t] > lines.kijun[t] and lines.tenkan[t - 1] <= lines.kijun[t - 1]
        want = crossed and close[t] > top and close[t] > close[t - 26]
        assert signals.entry_long[t] == want, t
        assert signals.exit_long[t] == (lines.tenkan[t] < lines.kijun[t] or close[t] < bottom)


def test_the_lagging_span_check_reads_no_later_bar() -> None:
    close = np.array([5.0, 6.0, 4.0, 7.0, 7.0, 3.0])
    assert np.isnan(lagging_span(close, 2)[:2]).all()
    assert lagging_span(close, 2)[2:].tolist() == [-1.0, 1.0, 1.0, -1.0]


def test_later_bars_never_change_a_signal(real: CandleArrays) -> None:
    strategy = IchimokuCloud()
    base = strategy.populate(real)
    rng = np.random.default_rng(8)
    for t in rng.choice(np.arange(strategy.warmup, len(real) - 30), 25, replace=False).tolist():
        # Rewrite the next `displacement` bars (the bars a charted lagging span at t shows).
        later = slice(t + 1, t + 27)
        factor = np.exp(rng.normal(0.0, 0.05, 26))
        arrays = {
            name: getattr(real, name).copy() for name in ("open", "high", "low", "close", "volume")
        }
        for name in ("open", "high", "low", "close"):
            arrays[name][later] *= factor
        changed = CandleArrays.from_arrays(**arrays, time_ns=real.time_ns)
        again = strategy.populate(changed)
        assert np.array_equal(again.flags()[: t + 1], base.flags()[: t + 1]), t


class _ChartedChikou(IchimokuCloud):
    """The classic bug: the lagging span as charted (close[t + displacement] drawn at t)."""

    def populate(self, window: CandleArrays) -> Signals:
        signals = super().populate(window)
        d = self.config.displacement
        charted = np.full(len(window), np.nan)
        charted[:-d] = window.close[d:]
        with np.errstate(invalid="ignore"):
            entry = signals.entry_long & (charted > window.close)
        return Signals(entry_long=entry, exit_long=signals.exit_long)


def test_the_checker_catches_a_strategy_reading_the_charted_span(real: CandleArrays) -> None:
    for strategy, leaks in ((IchimokuCloud(), False), (_ChartedChikou(), True)):
        entry = Entry(
            "chikou_probe",
            lambda c, s=strategy: s.populate(c).outputs(),
            SIGNAL_OUTPUTS,
            Kind.STRATEGY,
            strategy.warmup,
        )
        verdict = check_entry(entry, real, cuts=30, seed=3)
        assert verdict.ok is not leaks, [str(v) for v in verdict.violations]


def test_without_the_lagging_span_filter_entries_are_a_superset(real: CandleArrays) -> None:
    strict = IchimokuCloud().populate(real)
    loose = IchimokuCloud(IchimokuCloudConfig(chikou_confirm=False)).populate(real)
    assert (loose.entry_long >= strict.entry_long).all()
    assert loose.entry_long.sum() > strict.entry_long.sum()


def test_periods_must_be_ordered() -> None:
    with pytest.raises(StrategyConfigError, match="tenkan < kijun < senkou_b"):
        get_strategy("ichimoku_cloud", {"tenkan": 30, "kijun": 26})
