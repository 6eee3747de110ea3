"""The consensus on real candles: it trades in every mode, is causal (look-ahead checker and
rolling windows), fast and step mode agree, a one-member consensus is that member, and it runs
in backtest() and in a paper session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import REGISTRY, CandleArrays, Entry, Kind
from mftbot.backtest.api import backtest
from mftbot.data.candles import read_candles
from mftbot.domain.enums import Side
from mftbot.domain.events import MarketEvent, TradeTick
from mftbot.engine.paper import PaperConfig, PaperSession
from mftbot.execution.sim import CandleSimVenue
from mftbot.strategies import StrategyConfigError, get_strategy, strategy_spec
from mftbot.strategies.base import SIGNAL_OUTPUTS
from mftbot.strategies.consensus import DEFAULT_MEMBERS, Consensus, ConsensusConfig
from mftbot.strategies.params import SearchSpace

BTC_1M = ("candles_filimonov", "BTC_USDT-1m.feather")
BTC_5M = ("candles_filimonov", "BTC_USDT-5m.feather")
TRIO = ["supertrend_follow", "ichimoku_cloud", "vwap_bands"]
SMALL_ADAPTIVE: dict[str, Any] = {"window": 300, "reweight_every": 60}
_CACHE: dict[tuple[str, str], pd.DataFrame] = {}


def frame(data_dir: Path, key: tuple[str, str], start: int, stop: int) -> pd.DataFrame:
    if key not in _CACHE:
        _CACHE[key] = read_candles(data_dir.joinpath(*key))
    return _CACHE[key].iloc[start:stop]


def consensus(**params: Any) -> Consensus:
    strategy = get_strategy("consensus", params)
    assert isinstance(strategy, Consensus)
    return strategy


@pytest.mark.parametrize(
    ("params", "least"),
    [
        ({"mode": "majority"}, 100),
        ({"mode": "weighted"}, 100),
        ({"mode": "unanimous", "members": TRIO}, 20),
    ],
)
def test_trades_in_every_mode(params: dict[str, Any], least: int, data_dir: Path) -> None:
    df = frame(data_dir, BTC_1M, 0, 20_000)
    result = backtest("consensus", df, params=params, fee=0.001, mode="fast")
    assert result.metrics["trades"] >= least, result.metrics["trades"]
    assert result.metrics["fees_paid"] > 0
    diagnostics = result.diagnostics
    assert diagnostics.entries >= result.metrics["trades"]
    assert diagnostics.mode == params["mode"]
    assert diagnostics.conflicts > 0  # six real strategies disagree now and then


def test_adaptive_weights_move_within_floor_and_cap(data_dir: Path) -> None:
    candles = CandleArrays.from_frame(frame(data_dir, BTC_1M, 0, 20_000))
    strategy = consensus()
    weights = strategy.diagnostics(candles).weights
    members = list(DEFAULT_MEMBERS)
    assert list(weights.columns) == [*members, "regime"]
    assert len(weights) > 40  # every 250 bars once the first window is full
    values = weights[members].to_numpy()
    np.testing.assert_allclose(values.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (values >= 0.05 - 1e-15).all()
    assert (values <= 0.5 + 1e-15).all()
    np.testing.assert_array_equal(values[0], np.full(6, 1 / 6))  # equal until the first one
    assert np.ptp(values[1:], axis=0).max() > 0.1  # they do adapt
    assert set(weights["regime"].dropna().astype(int)) >= {-1, 0, 1}
    times = weights.index[1:]
    assert (times.as_unit("ns").asi8 % (250 * 60_000_000_000) == 0).all()  # absolute grid


def test_passes_the_lookahead_checker(data_dir: Path) -> None:
    entry = REGISTRY.get("consensus")
    assert entry.kind is Kind.STRATEGY
    assert strategy_spec("consensus").kind == "composite"
    candles = CandleArrays.from_frame(frame(data_dir, BTC_5M, 2000, 6000))
    verdict = check_entry(entry, candles, cuts=8, seed=5)
    assert verdict.ok, (verdict.error, [str(v) for v in verdict.violations])
    assert verdict.cuts
    # again with a fresh instance per run, so no remembered re-weight hides a leak
    fresh = Entry(
        "consensus_fresh",
        lambda c: consensus().populate(c).outputs(),
        SIGNAL_OUTPUTS,
        Kind.STRATEGY,
        entry.warmup,
    )
    verdict = check_entry(fresh, candles, cuts=8, seed=6)
    assert verdict.ok, (verdict.error, [str(v) for v in verdict.violations])
    assert max(verdict.cuts) > consensus().lookback  # cuts past the first re-weights


@pytest.mark.parametrize("mode", ["majority", "weighted"])
def test_fast_and_step_modes_agree(mode: str, data_dir: Path) -> None:
    df = frame(data_dir, BTC_5M, 6000, 14_000)
    fast = backtest("consensus", df, params={"mode": mode}, fill="next_open", mode="fast")
    step = backtest("consensus", df, params={"mode": mode}, fill="next_open", mode="step")
    assert len(fast.trades) >= 20
    pd.testing.assert_frame_equal(fast.trades, step.trades, check_exact=True)
    pd.testing.assert_series_equal(fast.equity, step.equity, check_exact=True)
    assert fast.to_json() == step.to_json()


@pytest.mark.parametrize("params", [{"mode": "majority"}, {"adaptive": SMALL_ADAPTIVE}])
def test_a_rolling_window_gives_the_full_history_row(
    params: dict[str, Any], data_dir: Path
) -> None:
    strategy = consensus(**params)
    candles = CandleArrays.from_frame(frame(data_dir, BTC_1M, 40_000, 46_000))
    full = strategy.populate(candles)
    weights = strategy.diagnostics(candles).weights
    flags = full.flags()
    lookback = strategy.lookback
    assert lookback > strategy.warmup
    assert not flags[: strategy.warmup].any()
    rng = np.random.default_rng(8)
    rows = rng.choice(np.arange(lookback, len(candles)), 12, replace=False)
    rows = np.union1d(rows, np.flatnonzero(flags)[-12:])
    for t in rows.tolist():
        window = candles.head(t + 1).tail(lookback)
        strategy = consensus(**params)  # fresh: no re-weight remembered from the full run
        rolled = strategy.populate(window)
        assert rolled.flag_at(-1) == flags[t], t
        np.testing.assert_allclose(rolled.confidence[-1:], full.confidence[t : t + 1], rtol=1e-9)
        seen = weights[weights.index <= pd.Timestamp(int(candles.time_ns[t]), tz="UTC")]
        last = strategy.diagnostics(window).weights
        np.testing.assert_array_equal(seen.iloc[-1, :-1].to_numpy(), last.iloc[-1, :-1].to_numpy())
    assert flags[rows].any()


def test_unanimous_entries_are_a_subset_of_majority_entries(data_dir: Path) -> None:
    candles = CandleArrays.from_frame(frame(data_dir, BTC_1M, 0, 20_000))
    unanimous = consensus(mode="unanimous", members=TRIO).populate(candles)
    majority = consensus(mode="majority", members=TRIO).populate(candles)
    assert unanimous.entry_long.sum() >= 20
    assert not (unanimous.entry_long & ~majority.entry_long).any()
    assert majority.entry_long.sum() > unanimous.entry_long.sum()


@pytest.mark.parametrize("mode", ["majority", "weighted"])
def test_a_one_member_consensus_is_that_member(mode: str, data_dir: Path) -> None:
    candles = CandleArrays.from_frame(frame(data_dir, BTC_5M, 0, 8000))
    alone = get_strategy("momentum").populate(candles)
    params = {"members": ["momentum"], "min_agree": 1, "mode": mode}
    voted = consensus(**params, adaptive={"enabled": False}).populate(candles)
    assert alone.entry_long.sum() >= 10
    np.testing.assert_array_equal(voted.entry_long, alone.entry_long)
    np.testing.assert_array_equal(voted.exit_long, alone.exit_long)
    assert voted.confidence is not None
    assert alone.confidence is not None
    np.testing.assert_array_equal(voted.confidence, alone.confidence)


def test_a_manipulation_column_blocks_entries_only(data_dir: Path) -> None:
    df = frame(data_dir, BTC_1M, 0, 12_000)
    plain = CandleArrays.from_frame(df)
    strategy = consensus(mode="majority")
    free = strategy.populate(plain)
    entries = np.flatnonzero(free.entry_long)
    active = np.zeros(len(df))
    blocked_rows = entries[::2]
    active[blocked_rows] = 1.0
    active[np.flatnonzero(free.exit_long)[:50]] = 1.0  # exits pass regardless
    marked = CandleArrays.from_frame(df)
    marked = CandleArrays(
        marked.open,
        marked.high,
        marked.low,
        marked.close,
        marked.volume,
        marked.time_ns,
        extra={"manipulation_active": active},
    )
    guarded = strategy.populate(marked)
    assert not guarded.entry_long[blocked_rows].any()
    np.testing.assert_array_equal(guarded.entry_long, free.entry_long & (active == 0.0))
    np.testing.assert_array_equal(guarded.exit_long, free.exit_long)
    report = strategy.diagnostics(marked)
    assert report.blocked == blocked_rows.size
    assert strategy.diagnostics(plain).blocked == 0


class RefuseLowConfidence:
    """A validator that keeps entries with confidence of at least ``bar``."""

    def __init__(self, bar: float) -> None:
        self.bar = bar
        self.calls = 0

    def validate(
        self, window: CandleArrays, direction: np.ndarray, confidence: np.ndarray
    ) -> np.ndarray:
        self.calls += 1
        assert direction.shape == (len(window),)
        return np.asarray(np.nan_to_num(confidence) >= self.bar)


def test_the_validator_hook_refuses_entries_after_the_vote(data_dir: Path) -> None:
    candles = CandleArrays.from_frame(frame(data_dir, BTC_1M, 0, 12_000))
    config = ConsensusConfig(mode="majority")
    plain = Consensus(config).populate(candles)
    validator = RefuseLowConfidence(0.3)
    strategy = Consensus(config, validator=validator)
    checked = strategy.populate(candles)
    assert validator.calls == 1
    assert plain.confidence is not None
    keep = np.nan_to_num(plain.confidence) >= 0.3
    np.testing.assert_array_equal(checked.entry_long, plain.entry_long & keep)
    rejected = int((plain.entry_long & ~keep).sum())
    assert rejected > 0
    assert strategy.diagnostics(candles).rejected == rejected
    with pytest.raises(TypeError, match="validate"):
        Consensus(config, validator=object())  # type: ignore[arg-type]


def test_backtest_by_name_carries_the_weights(data_dir: Path) -> None:
    df = frame(data_dir, BTC_5M, 0, 6000)
    result = backtest("consensus", df, symbol="BTC/USDT")
    assert result.strategy == "consensus"
    assert result.metrics["trades"] >= 10
    doc = result.to_dict()["diagnostics"]
    assert doc["members"] == list(DEFAULT_MEMBERS)
    assert len(doc["weights"]) == len(result.diagnostics.weights) > 1
    assert sum(doc["weights"][-1]["weights"].values()) == pytest.approx(1.0, abs=1e-12)
    assert backtest("sma_cross", df).diagnostics is None
    assert "diagnostics" not in backtest("sma_cross", df).to_dict()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"members": ["momentum", "no_such"]}, "no_such"),
        ({"members": ["momentum", "momentum"]}, "repeat"),
        ({"members": ["momentum", "consensus"]}, "composite"),
        ({"members": ["momentum"]}, "min_agree"),
        ({"params": {"sar_wave": {}}, "members": ["momentum", "vwap_bands"]}, "not members"),
        ({"params": {"momentum": {"roc_period": -1}}}, "roc_period"),
        ({"members": ["momentum", "vwap_bands"], "adaptive": {"cap": 0.4}}, "floor <= 1/2"),
        ({"weights": {"momentum": 1.0}}, "every member"),
        ({"mode": "plurality"}, "mode"),
        ({"min_confidence": 1.5}, "min_confidence"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, Any], message: str) -> None:
    with pytest.raises(StrategyConfigError, match=message):
        get_strategy("consensus", params)


def test_declaration() -> None:
    strategy = consensus()
    assert strategy.config.members == DEFAULT_MEMBERS
    assert not strategy.needs_book
    assert strategy.warmup == max(get_strategy(n).warmup for n in DEFAULT_MEMBERS)
    assert strategy.lookback > max(get_strategy(n).lookback for n in DEFAULT_MEMBERS)
    static = consensus(mode="majority")
    assert static.lookback < strategy.lookback  # no performance window without adaptation
    member = consensus(short=True).members[0]
    assert member.config.model_dump()["short"] is True
    space = SearchSpace.of(ConsensusConfig)
    assert list(space) == ["mode", "min_agree", "min_confidence", "min_weight", "hold"]
    assert space.contains(strategy.config.model_dump())
    with pytest.raises(ValueError, match="frozen"):
        strategy.config.hold = 3  # type: ignore[misc]


def trades_from(df: pd.DataFrame, symbol: str) -> Iterator[MarketEvent]:
    """Four trades per 1m candle (open, high, low, close) at 0, 15, 30 and 45 s."""
    rows = zip(
        df.index.as_unit("ns").asi8.tolist(),
        df["open"].tolist(),
        df["high"].tolist(),
        df["low"].tolist(),
        df["close"].tolist(),
        strict=True,
    )
    for bar, (t0, *prices) in enumerate(rows):
        for k, price in enumerate(prices):
            ts = t0 + k * 15_000_000_000
            yield TradeTick(
                "binance", symbol, ts, ts + 1_000_000, price, 0.5, Side.BUY, f"{bar}.{k}"
            )


@pytest.mark.slow
def test_a_paper_session_gives_the_full_history_signals(data_dir: Path) -> None:
    df = frame(data_dir, BTC_1M, 60_000, 60_900)
    params = {
        "members": ["ichimoku_cloud", "vwap_bands"],
        "min_agree": 1,
        "params": {"ichimoku_cloud": {"stop_atr_period": 5}, "vwap_bands": {"stop_atr_period": 5}},
        "adaptive": {"window": 120, "reweight_every": 30, "cap": 0.95},
    }
    config = PaperConfig(symbols=("BTC/USDT",), timeframe="1m", strategy="consensus", params=params)
    session = PaperSession(config, venue=CandleSimVenue({"USDT": config.cash}, fee=0.001))
    result = session.run(trades_from(df, "BTC/USDT"))
    candles = result.candles["BTC/USDT"]
    assert len(candles) == len(df) - 1  # the last bucket never closes
    np.testing.assert_array_equal(candles.close, df["close"].to_numpy()[:-1])
    strategy = consensus(**params)
    assert strategy.lookback < len(candles) * 2 // 3
    flags = strategy.populate(candles).flags()
    expected = ["long" if f & 1 else "flat" for f in flags[flags != 0].tolist()]
    assert [n.direction for n in result.signals] == expected
    assert expected.count("long") >= 5
    assert len(result.engine.fills) >= 2
    assert len(strategy.diagnostics(candles).weights) > 10
