"""sma_cross: exact crossing signs, the crossover rule, parameters, causality."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import talib

from mftbot.analysis.lookahead import check_entry, synthetic_candles
from mftbot.analysis.registry import REGISTRY, CandleArrays
from mftbot.data.candles import read_candles
from mftbot.strategies import StrategyConfigError, get_strategy, list_strategies, strategy_spec
from mftbot.strategies.sma_cross import SmaCross, SmaCrossConfig, difference_sign


def candle_only() -> list[str]:
    """Registered strategies that run on plain candles (order-book ones need book columns,
    checked in test_orderbook_strategies.py)."""
    return [n for n in list_strategies() if strategy_spec(n).kind != "orderbook"]


def exact_sign(close: list[float], t: int, fast: int, slow: int) -> int:
    """sign(SMA_fast - SMA_slow) at t, in exact rational arithmetic."""
    f = sum(Fraction(x) for x in close[t - fast + 1 : t + 1]) / fast
    s = sum(Fraction(x) for x in close[t - slow + 1 : t + 1]) / slow
    return (f > s) - (f < s)


def reference_signals(close: list[float], fast: int, slow: int) -> tuple[list[bool], list[bool]]:
    """The crossover rule written out bar by bar."""
    n = len(close)
    d = [exact_sign(close, t, fast, slow) if t >= slow - 1 else None for t in range(n)]
    entry = [False] * n
    exit_ = [False] * n
    for t in range(slow, n):
        now, before = d[t], d[t - 1]
        assert now is not None
        assert before is not None
        entry[t] = now > 0 and before <= 0
        exit_[t] = now < 0 and before >= 0
    return entry, exit_


def frame_arrays(close: np.ndarray) -> CandleArrays:
    n = close.shape[0]
    return CandleArrays.from_arrays(
        open=close,
        high=close,
        low=close,
        close=close,
        volume=np.ones(n),
        time_ns=np.arange(n, dtype=np.int64) * 60_000_000_000,
    )


def test_signs_are_exact_on_flat_and_tied_windows() -> None:
    rng = np.random.default_rng(3)
    # Random walk on a 0.01 tick with long flat stretches: many exact ties of the two SMAs.
    steps = rng.choice([-1, 0, 0, 0, 1], size=3000) * 0.01
    close = np.round(17.3 + np.cumsum(steps), 2)
    close[500:560] = close[499]  # a flat hour: d is exactly 0 there
    sign = difference_sign(close, 10, 30)
    values = close.tolist()
    expected = [exact_sign(values, t, 10, 30) for t in range(29, len(values))]
    assert sign[:29].tolist() == [0] * 29
    assert sign[29:].tolist() == expected
    assert (sign[530:560] == 0).all()
    # TA-Lib's running-sum SMA leaves rounding noise where d is exactly 0.
    d = talib.SMA(close, 10) - talib.SMA(close, 30)
    assert (np.sign(d[29:]) != sign[29:]).any()


def test_populate_follows_the_crossover_rule_on_real_closes(data_dir: Path) -> None:
    df = read_candles(data_dir / "freqtrade" / "XLM_BTC-5m.feather").round(8)
    close = df["close"].to_numpy()[:2500]
    signals = SmaCross().populate(frame_arrays(close))
    entry, exit_ = reference_signals(close.tolist(), 10, 30)
    assert signals.entry_long.tolist() == entry
    assert signals.exit_long.tolist() == exit_
    assert signals.entry_long.sum() > 10
    assert not signals.has_short
    assert not (signals.entry_long & signals.exit_long).any()


def test_other_periods() -> None:
    close = synthetic_candles(1500, seed=11).close
    strategy = get_strategy("sma_cross", {"fast": 3, "slow": 7})
    assert strategy.warmup == 7
    assert strategy.lookback == 8
    signals = strategy.populate(frame_arrays(np.asarray(close)))
    entry, exit_ = reference_signals(close.tolist(), 3, 7)
    assert signals.entry_long.tolist() == entry
    assert signals.exit_long.tolist() == exit_


def test_short_and_empty_windows_do_not_signal() -> None:
    for n in (0, 1, 29, 30):
        signals = SmaCross().populate(frame_arrays(np.linspace(1.0, 2.0, n)))
        assert len(signals) == n
        assert not signals.entry_long.any()
        assert not signals.exit_long.any()


def test_non_finite_close_is_refused() -> None:
    close = np.linspace(1.0, 2.0, 50)
    close[40] = np.nan
    with pytest.raises(ValueError, match=r"close\[40\]"):
        difference_sign(close, 10, 30)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"fast": 30, "slow": 10}, "must be < slow"),
        ({"fast": 0}, "fast"),
        ({"slow": "x"}, "slow"),
        ({"period": 5}, "period"),
    ],
)
def test_bad_parameters_name_the_field(params: dict[str, object], match: str) -> None:
    with pytest.raises(StrategyConfigError, match=match):
        get_strategy("sma_cross", params)


def test_config_is_frozen_and_typed() -> None:
    config = SmaCrossConfig()
    assert (config.fast, config.slow) == (10, 30)
    with pytest.raises(ValueError, match="frozen"):
        config.fast = 5  # type: ignore[misc]


def test_every_registered_strategy_is_causal_on_real_candles(data_dir: Path) -> None:
    df = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-1m.feather").iloc[:3000]
    candles = CandleArrays.from_arrays(
        **{c: df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")},
        time_ns=df.index.as_unit("ns").asi8,
    )
    assert "sma_cross" in list_strategies()
    for name in candle_only():
        result = check_entry(REGISTRY.get(name), candles, cuts=25, seed=5)
        assert result.kind == "strategy"
        assert result.ok, (name, [str(v) for v in result.violations], result.error)


def test_rolling_window_last_row_equals_full_history(data_dir: Path) -> None:
    df = read_candles(data_dir / "freqtrade" / "ETH_BTC-5m.feather").iloc[:1500]
    candles = CandleArrays.from_arrays(
        **{c: df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")},
        time_ns=df.index.as_unit("ns").asi8,
    )
    for name in candle_only():
        strategy = get_strategy(name)
        full = strategy.populate(candles).flags()
        rolled = [
            strategy.populate(candles.head(t + 1).tail(strategy.lookback)).flag_at(-1)
            for t in range(strategy.warmup, len(candles))
        ]
        assert rolled == full[strategy.warmup :].tolist(), name
        assert not full[: strategy.warmup].any()
