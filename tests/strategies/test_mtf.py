"""``mtf`` on real 1m candles: it trades in every mode, it is causal (look-ahead checker and
rolling live windows), fast and step modes agree, a paper session gives the same signals,
disagreeing timeframes shrink the confidence, and bad parameters are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind
from mftbot.backtest.api import backtest
from mftbot.data.candles import read_candles
from mftbot.domain.enums import Side
from mftbot.domain.events import MarketEvent, TradeTick
from mftbot.engine.paper import PaperConfig, PaperSession
from mftbot.execution.sim import CandleSimVenue
from mftbot.strategies import StrategyConfigError, StrategyError, get_strategy, strategy_spec
from mftbot.strategies.mtf import MODES, Mtf
from mftbot.strategies.params import SearchSpace

S = 1_000_000_000
_CACHE: dict[str, pd.DataFrame] = {}


def btc_1m(data_dir: Path, start: int, stop: int) -> pd.DataFrame:
    if "btc" not in _CACHE:
        _CACHE["btc"] = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-1m.feather")
    return _CACHE["btc"].iloc[start:stop]


def mtf(**params: object) -> Mtf:
    strategy = get_strategy("mtf", params)
    assert isinstance(strategy, Mtf)
    return strategy


@pytest.mark.parametrize("mode", MODES)
def test_trades_on_real_1m_candles_and_fast_equals_step(mode: str, data_dir: Path) -> None:
    df = btc_1m(data_dir, 0, 20_000)
    fast = backtest("mtf", df, params={"mode": mode}, fee=0.001, mode="fast")
    step = backtest("mtf", df, params={"mode": mode}, fee=0.001, mode="step")
    assert fast.metrics["trades"] >= 10, fast.metrics["trades"]
    assert fast.metrics["fees_paid"] > 0
    assert fast.trades.equals(step.trades)
    assert fast.equity.equals(step.equity)
    assert fast.final_equity == step.final_equity


def test_registered_as_a_composite_and_passes_the_lookahead_checker(data_dir: Path) -> None:
    spec = strategy_spec("mtf")
    assert spec.kind == "composite"
    entry = REGISTRY.get("mtf")
    assert entry.kind is Kind.STRATEGY
    candles = CandleArrays.from_frame(btc_1m(data_dir, 30_000, 40_000))
    verdict = check_entry(entry, candles, cuts=20, seed=5)
    assert verdict.ok, (verdict.error, [str(v) for v in verdict.violations])
    assert verdict.cuts


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"mode": "confluence", "short": True},
        {"mode": "weighted", "timeframes": ("15m", "4h"), "trend_period": 8},
    ],
)
def test_a_rolling_live_window_gives_the_full_history_row(
    params: dict[str, object], data_dir: Path
) -> None:
    strategy = mtf(**params)
    candles = CandleArrays.from_frame(btc_1m(data_dir, 50_000, 60_000))
    full = strategy.populate(candles)
    assert full.confidence is not None
    flags = full.flags()
    rows = np.random.default_rng(7).choice(np.arange(strategy.lookback, len(candles)), 60, False)
    rows = np.union1d(rows, np.flatnonzero(flags)[-30:])
    for t in rows.tolist():
        part = strategy.populate(candles.head(t + 1).tail(strategy.lookback))
        assert part.flag_at(-1) == flags[t], t
        assert part.confidence is not None
        np.testing.assert_array_equal(part.confidence[-1], full.confidence[t])
    assert flags[rows].any()


def test_confidence_shrinks_when_timeframes_disagree(data_dir: Path) -> None:
    strategy = mtf(mode="top_down")
    candles = CandleArrays.from_frame(btc_1m(data_dir, 0, 30_000))
    signals = strategy.populate(candles)
    entries = np.flatnonzero(signals.entry_long)
    assert signals.confidence is not None
    confidence = signals.confidence[entries]
    share = strategy.agreement(candles)[entries]
    assert np.isfinite(share).all()
    assert (confidence <= share + 1e-12).all()  # never above the agreeing share
    assert (confidence >= share / 2 - 1e-12).all()
    disagree = share < 1.0
    assert disagree.any()
    assert (~disagree).any()
    assert confidence[disagree].mean() < confidence[~disagree].mean()
    direction, _ = strategy.trends(candles)
    # a top-down entry has the base and the highest timeframe up
    assert (direction[0, entries] == 1).all()
    assert (direction[-1, entries] == 1).all()
    np.testing.assert_allclose(share, (direction[:, entries] == 1).mean(axis=0))


def test_confluence_enters_only_when_every_timeframe_is_up(data_dir: Path) -> None:
    strategy = mtf(mode="confluence")
    candles = CandleArrays.from_frame(btc_1m(data_dir, 0, 20_000))
    signals = strategy.populate(candles)
    direction, _ = strategy.trends(candles)
    entries = np.flatnonzero(signals.entry_long)
    assert entries.size >= 10
    assert (direction[:, entries] == 1).all()
    assert not (direction[:, entries - 1] == 1).all(axis=0).any()  # it just became so
    exits = np.flatnonzero(signals.exit_long)
    assert ((direction[:, exits] == -1).any(axis=0)).all()


def test_weighted_score_uses_the_weights(data_dir: Path) -> None:
    candles = CandleArrays.from_frame(btc_1m(data_dir, 0, 20_000))
    heavy_top = mtf(mode="weighted", weights=(1.0, 1.0, 1.0, 10.0), entry_score=0.8)
    signals = heavy_top.populate(candles)
    direction, _ = heavy_top.trends(candles)
    entries = np.flatnonzero(signals.entry_long)
    assert entries.size
    assert (direction[-1, entries] == 1).all()  # 10 of 13 weight: the top timeframe decides
    score = (np.array([1.0, 1.0, 1.0, 10.0]) @ direction[:, entries]) / 13.0
    assert (score >= 0.8).all()


def test_warmup_bars_never_signal_and_the_declaration_holds(data_dir: Path) -> None:
    strategy = mtf()
    assert strategy.warmup == 22 * 60  # (trend_period + 2) hours of 1m bars
    assert strategy.lookback > strategy.warmup
    candles = CandleArrays.from_frame(btc_1m(data_dir, 0, 3000))
    assert not strategy.populate(candles).flags()[: strategy.warmup].any()
    assert len(strategy.populate(candles.head(0))) == 0
    space = SearchSpace.of(strategy_spec("mtf").config_type)
    assert {"mode", "trend_period", "entry_score", "exit_score"} <= set(space)
    assert space.contains(strategy_spec("mtf").config().model_dump())
    ladder = {"1m": ("5m", "15m", "1h"), "5m": ("15m", "1h", "4h"), "4h": ("1d",)}
    for base, higher in ladder.items():
        config = mtf(base_timeframe=base).config
        assert config.higher_timeframes == higher


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"base_timeframe": "5m", "timeframes": ("7m",)}, "multiple"),
        ({"timeframes": ("1m",)}, "longer"),
        ({"timeframes": ("1h", "15m")}, "ascending"),
        ({"timeframes": ("1M",)}, "calendar"),
        ({"base_timeframe": "soon"}, "timeframe"),
        ({"weights": (1.0, 2.0)}, "weights need 4"),
        ({"weights": (1.0, 2.0, 0.0, 1.0)}, "> 0"),
        ({"entry_score": 0.3, "exit_score": 0.5}, "below entry_score"),
        ({"timeframes": ()}, "needs 1 to 6"),
        ({"base_timeframe": "1d"}, "needs 1 to 6"),
        ({"mode": "vote"}, "mode"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyConfigError, match=message):
        get_strategy("mtf", params)


def test_candles_finer_than_the_base_are_refused(data_dir: Path) -> None:
    candles = CandleArrays.from_frame(btc_1m(data_dir, 0, 100))
    with pytest.raises(StrategyError, match="finer than base_timeframe 5m"):
        mtf(base_timeframe="5m", timeframes=("1h",)).populate(candles)


def trades_of(df: pd.DataFrame) -> Iterator[MarketEvent]:
    """Four trades per 1m candle (open, high, low, close), volume split evenly."""
    times = df.index.as_unit("ns").asi8
    rows = zip(times, df["open"], df["high"], df["low"], df["close"], df["volume"], strict=True)
    for i, (t, o, h, lo, c, v) in enumerate(rows):
        size = max(float(v), 1e-6) / 4
        for k, (price, offset) in enumerate(((o, 1), (h, 20), (lo, 40), (c, 59))):
            ts = int(t) + offset * S
            yield TradeTick("binance", "BTC/USDT", ts, ts, float(price), size, Side.BUY, f"{i}-{k}")


@pytest.mark.slow
def test_a_paper_session_gives_the_backtest_signals(data_dir: Path) -> None:
    params = {"timeframes": ("5m", "15m"), "trend_period": 10}
    df = btc_1m(data_dir, 2000, 3500)
    config = PaperConfig(symbols=("BTC/USDT",), timeframe="1m", strategy="mtf", params=params)
    session = PaperSession(config, venue=CandleSimVenue({"USDT": config.cash}, fee=0.001))
    result = session.run(trades_of(df))
    built = result.candles["BTC/USDT"]
    assert len(built) == len(df) - 1  # the last bar never closes
    np.testing.assert_array_equal(built.close, df["close"].to_numpy()[:-1])
    flags = get_strategy("mtf", params).populate(built).flags()
    fired = np.flatnonzero(flags)
    noted = [n.ts - 60 * S for n in result.signals]
    assert noted == built.time_ns[fired].tolist()
    assert len(fired) >= 10
    assert any(n.decision == "order_sent" for n in result.signals)
    assert len(result.engine.fills) >= 4
