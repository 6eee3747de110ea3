"""The four order-book strategies on the real Binance spot BTC/USDT recording (1 s bars, book
columns built by the engine): they trade in a paper replay and in a backtest, the rolling and
the precomputed paths agree, they are causal, and they explain missing book columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import REGISTRY, CandleArrays, Entry, Kind
from mftbot.backtest.api import backtest
from mftbot.backtest.book import backtest_book
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.engine.paper import PaperConfig, PaperResult, PaperSession
from mftbot.engine.signals import needs_book
from mftbot.execution import InMemoryLedger
from mftbot.execution.sim.venue import SimulatedVenue
from mftbot.features.bar_book import BOOK_COLUMNS, IMBALANCE_5, SPREAD_BPS
from mftbot.strategies import (
    StrategyConfigError,
    StrategyError,
    get_strategy,
    list_strategies,
    strategy_spec,
)
from mftbot.strategies.base import SIGNAL_OUTPUTS
from mftbot.strategies.book_base import OrderBookStrategy
from mftbot.strategies.params import SearchSpace

NAMES = ["imbalance", "volume_flow", "liquidity_zone", "smart_money"]
SYMBOL = "BTC/USDT"
_RUNS: dict[str, PaperResult] = {}


def files(data_dir: Path) -> list[Path]:
    return find_binance_recordings(data_dir, "spot")[SYMBOL]


def paper_run(name: str, data_dir: Path) -> PaperResult:
    """A paper replay of the whole recording (rolling windows), once per strategy."""
    if name not in _RUNS:
        config = PaperConfig(symbols=(SYMBOL,), timeframe="1s", strategy=name)
        session = PaperSession(
            config, venue=SimulatedVenue({"USDT": config.cash}), ledger=InMemoryLedger()
        )
        _RUNS[name] = session.run(replay_files(files(data_dir)))
    return _RUNS[name]


@pytest.fixture(scope="module")
def bars(data_dir: Path) -> CandleArrays:
    """The recording's 1 s candles with their book columns."""
    return paper_run("imbalance", data_dir).candles[SYMBOL]


def fills(result: PaperResult) -> list[tuple[Any, ...]]:
    return [(f.ts, f.side, f.price, f.qty, f.fee) for f in result.engine.fills]


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_trades_in_paper_replay_and_backtest_alike(name: str, data_dir: Path) -> None:
    paper = paper_run(name, data_dir)
    trips = paper.trips[SYMBOL]
    assert int((~trips.is_open).sum()) >= 5, (name, len(trips))
    assert any(n.decision == "order_sent" for n in paper.signals)
    result = backtest_book(name, files(data_dir), SYMBOL, mode="precomputed", history=paper.candles)
    assert result.metrics["trades"] == len(trips) >= 5
    assert result.metrics["fees_paid"] > 0
    # the precomputed signals (one populate over the history) trade exactly as the rolling ones
    assert fills(result.paper) == fills(paper)
    assert np.array_equal(result.paper.engine.equity.equity, paper.engine.equity.equity)
    closed = result.trades.dropna(subset=["exit_time"])
    assert len(closed) >= 5
    assert (closed["exit_time"] > closed["entry_time"]).all()


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_passes_the_lookahead_checker_on_real_bars_and_book(name: str, bars: CandleArrays) -> None:
    strategy = get_strategy(name)
    entry = Entry(
        name,
        lambda c: strategy.populate(c).outputs(),
        SIGNAL_OUTPUTS,
        Kind.STRATEGY,
        strategy.warmup,
    )
    verdict = check_entry(entry, bars, cuts=25, seed=5)
    assert verdict.ok, (verdict.error, [str(v) for v in verdict.violations])
    assert verdict.cuts
    assert name not in REGISTRY  # the candle-only checker cannot feed it book columns


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_a_rolling_window_gives_the_full_history_row(name: str, bars: CandleArrays) -> None:
    strategy = get_strategy(name)
    assert strategy.lookback > strategy.warmup
    full = strategy.populate(bars).flags()
    rows = np.arange(strategy.lookback, len(bars))
    rolled = [
        strategy.populate(bars.head(t + 1).tail(strategy.lookback)).flag_at(-1)
        for t in rows.tolist()
    ]
    assert rolled == full[rows].tolist()
    assert any(rolled)


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_signals_are_well_formed(name: str, bars: CandleArrays) -> None:
    strategy = get_strategy(name)
    signals = strategy.populate(bars)
    assert len(signals) == len(bars)
    assert not signals.has_short
    assert not signals.flags()[: strategy.warmup].any()
    assert not (signals.entry_long & signals.exit_long).any()
    assert signals.entry_long.sum() >= 5
    assert signals.confidence is not None
    conf = signals.confidence[signals.entry_long]
    assert ((conf >= 0) & (conf <= 1)).all()
    assert np.isnan(signals.confidence[~signals.entry_long]).all()
    stop, take = strategy.protection(bars)  # type: ignore[attr-defined]
    entries = signals.entry_long & np.isfinite(stop)
    assert entries.any()
    assert (stop[entries] < bars.close[entries]).all()
    assert (take[entries] > bars.close[entries]).all()


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_short_flag_adds_mirror_signals(name: str, bars: CandleArrays) -> None:
    longs = get_strategy(name).populate(bars)
    both = get_strategy(name, {"short": True}).populate(bars)
    assert both.entry_short is not None
    assert both.exit_short is not None
    assert np.array_equal(both.entry_long, longs.entry_long)
    assert np.array_equal(both.exit_long, longs.exit_long)
    assert both.entry_short.sum() >= 5
    assert not (both.entry_short & both.exit_short).any()


@pytest.mark.realdata
def test_imbalance_follows_its_thresholds_and_filters(bars: CandleArrays) -> None:
    signals = get_strategy("imbalance").populate(bars)
    imb = bars.extra[IMBALANCE_5]
    assert (imb[signals.entry_long] > 0.75).all()
    assert (imb[signals.exit_long] < 0.25).all()
    warm = get_strategy("imbalance").warmup
    late = np.arange(len(bars)) >= warm
    assert signals.exit_long[late & (imb < 0.25)].all()
    narrow = get_strategy("imbalance", {"max_spread_bps": 0.001}).populate(bars)
    assert not narrow.entry_long[bars.extra[SPREAD_BPS] > 0.001].any()
    strict = get_strategy("imbalance", {"buy_above": 0.9}).populate(bars)
    assert strict.entry_long.sum() < signals.entry_long.sum()


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_missing_book_columns_are_a_clear_error(name: str, bars: CandleArrays) -> None:
    plain = CandleArrays(bars.open, bars.high, bars.low, bars.close, bars.volume, bars.time_ns)
    with pytest.raises(StrategyError, match=f"{name} reads the book columns") as info:
        get_strategy(name).populate(plain)
    assert "book_valid" in str(info.value)
    frame = pd.DataFrame(
        {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close},
        index=pd.to_datetime(bars.time_ns, utc=True),
    ).assign(volume=bars.volume)
    with pytest.raises(StrategyError, match="backtest_book"):
        backtest(name, frame)


@pytest.mark.parametrize("name", NAMES)
def test_declaration_and_parameters(name: str) -> None:
    spec = strategy_spec(name)
    assert name in list_strategies()
    assert spec.kind == "orderbook"
    assert spec.description
    strategy = get_strategy(name)
    assert needs_book(strategy)
    assert isinstance(strategy, OrderBookStrategy)
    assert set(strategy.columns) <= set(BOOK_COLUMNS)
    space = SearchSpace.of(spec.config_type)
    assert len(space) >= 6
    assert space.contains(spec.config().model_dump())
    assert "short" not in space
    for field, info in spec.config_type.model_fields.items():
        assert info.description, field
    with pytest.raises(StrategyConfigError, match="no_such_param"):
        get_strategy(name, {"no_such_param": 1})
    own = next(p for p in space if p not in ("stop_atr", "take_atr", "stop_atr_period"))
    with pytest.raises(StrategyConfigError, match=own):
        get_strategy(name, {own: -1})


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_sampled_parameters_build_working_strategies(name: str, bars: CandleArrays) -> None:
    space = SearchSpace.of(strategy_spec(name).config_type)
    rng = np.random.default_rng(8)
    built = 0
    for _ in range(10):
        try:
            strategy = get_strategy(name, space.sample(rng))
        except StrategyConfigError:
            continue  # a cross-field rule refused the combination
        built += 1
        signals = strategy.populate(bars)
        assert not signals.flags()[: strategy.warmup].any()
        assert strategy.lookback > strategy.warmup
    assert built >= 7
