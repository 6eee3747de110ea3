"""The six candle strategies on real data: they trade, they are causal (look-ahead checker and
rolling live windows), fast and step mode agree, and their declarations hold together."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import REGISTRY, CandleArrays, Entry, Kind
from mftbot.backtest.api import backtest
from mftbot.data.candles import read_candles
from mftbot.engine.fast import FastModeError
from mftbot.strategies import (
    Strategy,
    StrategyConfigError,
    get_strategy,
    list_strategies,
    strategy_spec,
)
from mftbot.strategies.base import SIGNAL_OUTPUTS
from mftbot.strategies.params import SearchSpace, SuggestsStops

# Until mftbot.strategies imports them, importing the modules registers the strategies.
MODULES = {
    "momentum": "momentum",
    "sar_wave": "sar_wave",
    "supertrend_follow": "supertrend",
    "value_area": "volume_profile",
    "ichimoku_cloud": "ichimoku",
    "vwap_bands": "vwap",
}
for _module in MODULES.values():
    importlib.import_module(f"mftbot.strategies.{_module}")

NAMES = list(MODULES)
FILES = {
    "btc_5m": ("candles_filimonov", "BTC_USDT-5m.feather"),
    "eth_15m": ("candles_xylotech", "ETH_USDT-15m.feather"),
}
_CACHE: dict[str, pd.DataFrame] = {}


def frame(data_dir: Path, key: str, start: int, stop: int) -> pd.DataFrame:
    if key not in _CACHE:
        folder, name = FILES[key]
        _CACHE[key] = read_candles(data_dir / folder / name)
    return _CACHE[key].iloc[start:stop]


def arrays(df: pd.DataFrame) -> CandleArrays:
    return CandleArrays.from_frame(df)


def shorting(name: str) -> Strategy:
    return get_strategy(name, {"short": True})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("key", list(FILES))
def test_trades_on_a_long_real_slice(name: str, key: str, data_dir: Path) -> None:
    df = frame(data_dir, key, 0, 20_000)
    result = backtest(name, df, fee=0.001, mode="fast")
    assert result.metrics["trades"] >= 10, (name, key, result.metrics["trades"])
    assert result.metrics["fees_paid"] > 0
    trades = result.trades.dropna(subset=["exit_time"])
    assert (trades["exit_time"] > trades["entry_time"]).all()


@pytest.mark.parametrize("name", NAMES)
def test_passes_the_lookahead_checker_on_real_candles(name: str, data_dir: Path) -> None:
    entry = REGISTRY.get(name)
    assert entry.kind is Kind.STRATEGY
    assert entry.params == strategy_spec(name).config().model_dump()
    candles = arrays(frame(data_dir, "btc_5m", 3000, 8000))
    verdict = check_entry(entry, candles, cuts=20, seed=11)
    assert verdict.ok, (verdict.error, [str(v) for v in verdict.violations])
    assert verdict.cuts  # it really cut the input


@pytest.mark.parametrize("name", NAMES)
def test_short_variant_is_causal_too(name: str, data_dir: Path) -> None:
    strategy = shorting(name)
    entry = Entry(
        name,
        lambda c: strategy.populate(c).outputs(),
        SIGNAL_OUTPUTS,
        Kind.STRATEGY,
        strategy.warmup,
    )
    candles = arrays(frame(data_dir, "eth_15m", 10_000, 14_000))
    verdict = check_entry(entry, candles, cuts=12, seed=4)
    assert verdict.ok, (verdict.error, [str(v) for v in verdict.violations])


@pytest.mark.parametrize("name", NAMES)
def test_fast_and_step_modes_agree(name: str, data_dir: Path) -> None:
    df = frame(data_dir, "btc_5m", 6000, 14_000)
    fast = backtest(name, df, fee=0.001, fill="next_open", mode="fast")
    step = backtest(name, df, fee=0.001, fill="next_open", mode="step")
    assert len(fast.trades) >= 5
    assert fast.trades.equals(step.trades)
    assert fast.final_equity == step.final_equity
    assert fast.equity.equals(step.equity)


@pytest.mark.parametrize("name", NAMES)
def test_a_rolling_live_window_gives_the_full_history_row(name: str, data_dir: Path) -> None:
    strategy = get_strategy(name)
    assert strategy.lookback > strategy.warmup
    candles = arrays(frame(data_dir, "btc_5m", 0, 4000))
    full = strategy.populate(candles).flags()
    rows = np.random.default_rng(3).choice(np.arange(strategy.lookback, 4000), 120, replace=False)
    rows = np.union1d(rows, np.flatnonzero(full)[-40:])  # include bars that do signal
    rolled = [
        strategy.populate(candles.head(t + 1).tail(strategy.lookback)).flag_at(-1)
        for t in rows.tolist()
    ]
    assert rolled == full[rows].tolist()
    assert any(rolled)


@pytest.mark.parametrize("name", NAMES)
def test_signals_are_well_formed(name: str, data_dir: Path) -> None:
    strategy = get_strategy(name)
    candles = arrays(frame(data_dir, "btc_5m", 0, 6000))
    signals = strategy.populate(candles)
    assert len(signals) == len(candles)
    assert not signals.has_short
    assert not signals.flags()[: strategy.warmup].any()
    assert not (signals.entry_long & signals.exit_long).any()
    assert signals.entry_long.sum() >= 10
    assert signals.confidence is not None
    conf = signals.confidence
    assert np.isfinite(conf[signals.entry_long]).all()
    assert ((conf[signals.entry_long] >= 0) & (conf[signals.entry_long] <= 1)).all()
    assert np.isnan(conf[~signals.entry_long]).all()
    assert np.unique(conf[signals.entry_long]).size > 1  # it grades, not a constant


@pytest.mark.parametrize("name", NAMES)
def test_short_flag_adds_mirror_signals_and_leaves_the_long_side(name: str, data_dir: Path) -> None:
    candles = arrays(frame(data_dir, "eth_15m", 0, 8000))
    longs = get_strategy(name).populate(candles)
    both = shorting(name).populate(candles)
    assert both.has_short
    assert both.entry_short is not None
    assert both.exit_short is not None
    assert np.array_equal(both.entry_long, longs.entry_long)
    assert np.array_equal(both.exit_long, longs.exit_long)
    assert both.entry_short.sum() >= 10
    assert not (both.entry_long & both.entry_short).any()
    assert not (both.entry_short & both.exit_short).any()
    assert both.confidence is not None
    assert np.isfinite(both.confidence[both.entry_short]).all()
    with pytest.raises(FastModeError, match="short signals are not supported"):
        backtest(shorting(name), frame(data_dir, "eth_15m", 0, 3000))


@pytest.mark.parametrize("name", NAMES)
def test_windows_too_short_to_warm_up_never_signal(name: str, data_dir: Path) -> None:
    strategy = get_strategy(name)
    candles = arrays(frame(data_dir, "btc_5m", 0, strategy.warmup + 1))
    for n in (0, 1, 2, strategy.warmup):
        signals = strategy.populate(candles.head(n))
        assert len(signals) == n
        assert not signals.flags().any()


@pytest.mark.parametrize("name", NAMES)
def test_declaration_space_and_bad_parameters(name: str) -> None:
    spec = strategy_spec(name)
    assert name in list_strategies()
    assert spec.description
    space = SearchSpace.of(spec.config_type)
    assert len(space) >= 5
    defaults = spec.config().model_dump()
    assert space.contains(defaults)
    for field, info in spec.config_type.model_fields.items():
        assert info.description, field
    assert "short" not in space  # a venue capability, not something to optimise
    with pytest.raises(StrategyConfigError, match="no_such_param"):
        get_strategy(name, {"no_such_param": 1})
    own = [p for p in space if p not in ("stop_atr", "take_atr", "stop_atr_period")]
    with pytest.raises(StrategyConfigError, match=own[0]):
        get_strategy(name, {own[0]: -1})
    config = spec.config()
    with pytest.raises(ValueError, match="frozen"):
        setattr(config, own[0], defaults[own[0]])


@pytest.mark.parametrize("name", NAMES)
def test_sampled_parameters_build_working_strategies(name: str, data_dir: Path) -> None:
    space = SearchSpace.of(strategy_spec(name).config_type)
    candles = arrays(frame(data_dir, "btc_5m", 0, 3000))
    rng = np.random.default_rng(21)
    built = 0
    for _ in range(12):
        params: dict[str, Any] = space.sample(rng)
        try:
            strategy = get_strategy(name, params)
        except StrategyConfigError:
            continue  # a cross-field rule refused the combination
        built += 1
        signals = strategy.populate(candles)
        assert not signals.flags()[: strategy.warmup].any()
        assert strategy.lookback > strategy.warmup
    assert built >= 8


@pytest.mark.parametrize("name", NAMES)
def test_suggested_stops_follow_the_atr_multiples(name: str, data_dir: Path) -> None:
    strategy = get_strategy(name, {"stop_atr": 1.5, "take_atr": 4.5})
    candles = arrays(frame(data_dir, "btc_5m", 0, 2000))
    assert isinstance(strategy, SuggestsStops)
    levels = strategy.stops(candles)
    ready = slice(strategy.config.model_dump()["stop_atr_period"], None)
    assert (levels.stop_distance[ready] > 0).all()
    np.testing.assert_allclose(levels.take_distance[ready] / levels.stop_distance[ready], 3.0)
    stop, take = levels.long_levels(candles.close)
    assert (stop[ready] < candles.close[ready]).all()
    assert (take[ready] > candles.close[ready]).all()
