"""``backtest_book``: a strategy over a replayed recording, step and precomputed alike."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from mftbot.backtest.book import BookBacktestError, backtest_book
from mftbot.core.errors import DataError
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.domain.events import MarketEvent
from mftbot.features.bar_book import BOOK_COLUMNS
from mftbot.strategies import StrategyError

SYMBOL = "BTC/USDT"
EVENTS = 50_000


def events(data_dir: Path) -> list[MarketEvent]:
    files = find_binance_recordings(data_dir, "spot")[SYMBOL][:1]
    return list(itertools.islice(replay_files(files), EVENTS))


@pytest.mark.slow
@pytest.mark.realdata
def test_step_and_precomputed_backtests_agree(data_dir: Path) -> None:
    stream = events(data_dir)
    step = backtest_book("imbalance", stream, SYMBOL, timeframe="1s")
    pre = backtest_book("imbalance", iter(stream), [SYMBOL], timeframe="1s", mode="precomputed")
    assert step.mode == "step"
    assert pre.mode == "precomputed"
    assert step.metrics["trades"] == len(step.trades) >= 5
    assert step.trades.equals(pre.trades)
    assert step.equity.equals(pre.equity)
    assert step.metrics == pre.metrics
    assert set(step.metrics) >= {"total_return", "sharpe", "max_drawdown", "win_rate", "fees_paid"}
    assert step.metrics["fees_paid"] == pytest.approx(float(step.trades["fees"].sum()))
    candles = step.candles[SYMBOL]
    assert set(candles.extra) == set(BOOK_COLUMNS)
    assert len(step.equity) == len(candles)
    assert step.equity.index.tz is not None
    assert step.trades["pnl"].sum() == pytest.approx(step.metrics["net_profit"], rel=1e-9)


def test_bad_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BookBacktestError, match="mode"):
        backtest_book("imbalance", [], SYMBOL, mode="fast")  # type: ignore[arg-type]
    with pytest.raises(BookBacktestError, match="history is for"):
        backtest_book("imbalance", [], SYMBOL, history={})
    with pytest.raises(BookBacktestError, match="lacks the symbols"):
        backtest_book("imbalance", [], SYMBOL, mode="precomputed", history={})
    with pytest.raises(StrategyError, match="unknown strategy"):
        backtest_book("no_such_strategy", [], SYMBOL)
    with pytest.raises(StrategyError, match="levels"):
        backtest_book("imbalance", [], SYMBOL, params={"levels": 7})
    with pytest.raises(DataError, match="recording"):
        backtest_book("imbalance", [tmp_path / "nothing.txt"], SYMBOL)
