"""Walk-forward: windows, brute-force check of the optimiser, stitched out-of-sample equity."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest import backtest
from mftbot.backtest.api import validate_candles
from mftbot.backtest.walkforward import (
    Objective,
    ParamSpace,
    WalkForwardError,
    WalkForwardResult,
    WindowedStrategy,
    bars_of,
    make_windows,
    walk_forward,
    write_walkforward_report,
)
from mftbot.data.candles import read_candles
from mftbot.strategies import get_strategy

SPACE = ParamSpace({"fast": [5, 10, 20], "slow": [20, 40]})  # (20, 20) is invalid: skipped
VALID = [{"fast": f, "slow": s} for f in (5, 10, 20) for s in (20, 40) if f < s]


@pytest.fixture(scope="module")
def candles(data_dir: Path) -> pd.DataFrame:
    frame = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-15m.feather")
    return frame.iloc[:1600]


def _run(candles: pd.DataFrame, objective: Objective, **kw: object) -> WalkForwardResult:
    return walk_forward(
        "sma_cross", candles, SPACE, train=600, test=250, objective=objective,
        symbol="BTC/USDT", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize("anchored", [False, True])
def test_windows_tile_the_period(anchored: bool) -> None:
    windows = make_windows(1000, 300, 200, anchored=anchored)
    assert len(windows) == 3  # 300 + 3 × 200 = 900 ≤ 1000 < 1100
    for k, w in enumerate(windows):
        assert w.index == k
        assert w.train_end == w.test_start  # test follows train, no overlap
        assert w.train_start < w.train_end < w.test_end <= 1000
        assert w.train_start == (0 if anchored else k * 200)
        assert w.train_end - w.train_start == 300 + (k * 200 if anchored else 0)
    for a, b in itertools.pairwise(windows):
        assert b.test_start == a.test_end  # test windows are adjacent
    with pytest.raises(WalkForwardError, match="cannot hold"):
        make_windows(400, 300, 200)
    with pytest.raises(WalkForwardError, match="at least 2 bars"):
        make_windows(400, 100, 1)


def test_lengths_and_parameter_spaces() -> None:
    assert bars_of("2d", "15m") == 192
    assert bars_of(50, "1h") == bars_of("50", "1h") == 50
    with pytest.raises(WalkForwardError, match="whole number"):
        bars_of("10m", "15m")
    with pytest.raises(WalkForwardError, match="neither"):
        bars_of("soon", "15m")
    space = ParamSpace.parse(["fast=5, 10", "slow=20,30", "ratio=0.5"])
    assert space.grid()[:2] == [
        {"fast": 5, "slow": 20, "ratio": 0.5},
        {"fast": 5, "slow": 30, "ratio": 0.5},
    ]
    assert len(space) == 4
    for bad in (["fast"], ["fast="], ["fast=1", "fast=2"]):
        with pytest.raises(WalkForwardError):
            ParamSpace.parse(bad)
    assert Objective("max_drawdown").higher_is_better is False
    assert Objective("sharpe").higher_is_better is True
    assert Objective("sharpe").score({"sharpe": None, "trades": 3}) == -math.inf


@pytest.mark.parametrize("metric", ["sharpe", "max_drawdown"])
def test_chosen_parameters_are_the_argmax_on_each_train_window(
    candles: pd.DataFrame, metric: str
) -> None:
    objective = Objective(metric)
    result = _run(candles, objective)
    assert len(result.windows) == 4  # 600 + 4 × 250 = 1600
    sign = 1.0 if objective.higher_is_better else -1.0
    for w in result.windows:
        train = candles.iloc[w.window.train_start : w.window.train_end]
        scores = []
        for params in VALID:
            value = backtest("sma_cross", train, params=params, symbol="BTC/USDT").metrics[metric]
            scores.append(-math.inf if value is None else sign * value)
        best = VALID[int(np.argmax(scores))]  # argmax keeps the first of equal scores
        assert w.params == best
        assert w.train_score == max(scores)
        rows = result.scores[result.scores["window"] == w.window.index]
        assert len(rows) == len(VALID)
        assert rows["chosen"].sum() == 1


def test_stitched_equity_is_continuous_and_out_of_sample(candles: pd.DataFrame) -> None:
    result = _run(candles, Objective("total_return"))
    index = pd.DatetimeIndex(candles.index)
    step = index[1] - index[0]
    equity = result.equity
    assert equity.index.is_monotonic_increasing
    assert equity.index.is_unique
    assert equity.index[0] == index[600] + step  # close of the first test bar
    assert len(equity) == 4 * 250
    assert (np.diff(equity.index.asi8) == step.value).all()  # no gap between windows
    assert result.windows[0].cash == 10_000
    for a, b in zip(result.windows, result.windows[1:], strict=False):
        assert b.cash == a.equity.iloc[-1]  # each window starts with what the last one ended
    trades = result.trades
    assert trades["exit_time"].notna().all()  # every window ends flat
    for w in result.windows:
        mine = trades[trades["window"] == w.window.index]
        assert (mine["entry_time"] >= index[w.window.test_start]).all()
        assert (mine["exit_time"] <= index[w.window.test_end - 1]).all()
        assert w.equity.iloc[-1] == w.test.final_equity
    assert result.final_equity == pytest.approx(
        10_000 * math.prod(1 + r for r in result.table()["test_return"]), rel=1e-12
    )
    assert result.metrics["final_equity"] == result.final_equity


def test_the_test_window_sees_history_but_trades_inside_only(candles: pd.DataFrame) -> None:
    inner = get_strategy("sma_cross", {"fast": 5, "slow": 20})
    arrays = validate_candles(candles)
    times = arrays.time_ns
    start, flatten = int(times[800]), int(times[1000])
    full = inner.populate(arrays).flags()
    wrapped = WindowedStrategy(inner, start, flatten).populate(arrays)
    entry, exit_ = wrapped.entry_long, wrapped.exit_long
    assert not entry[:800].any()
    assert not exit_[:800].any()
    np.testing.assert_array_equal(entry[800:1000], (full[800:1000] & 1) > 0)
    np.testing.assert_array_equal(exit_[800:1000], (full[800:1000] & 2) > 0)
    assert not entry[1000:].any()
    assert exit_[1000:].all()


def test_report(candles: pd.DataFrame, tmp_path: Path) -> None:
    result = _run(candles, Objective("sharpe"), anchored=True)
    assert result.windows[-1].window.train_start == 0
    path = write_walkforward_report(result, tmp_path / "wf.html", candles=candles)
    html = path.read_text(encoding="utf-8")
    sections = set(re.findall(r'<section id="([^"]+)"', html))
    assert {
        "x-walk-forward-windows",
        "x-parameter-scores-on-train-windows",
        "wf-method",
    } <= sections
    doc = result.to_dict()
    assert len(doc["windows"]) == 4
    assert doc["windows"][0]["param_fast"] in (5, 10, 20)


def test_errors(candles: pd.DataFrame) -> None:
    with pytest.raises(WalkForwardError, match="unknown metric"):
        _run(candles, Objective("luck"))
    with pytest.raises(WalkForwardError, match="no parameter set"):
        walk_forward("sma_cross", candles, ParamSpace({"fast": [50]}), train=600, test=250)
    with pytest.raises(WalkForwardError, match="cannot hold"):
        walk_forward("sma_cross", candles, SPACE, train=1500, test=250)


def test_step_mode_and_close_fills(candles: pd.DataFrame) -> None:
    space = ParamSpace({"fast": [5, 10], "slow": [30]})
    args = {"train": 500, "test": 200, "symbol": "BTC/USDT"}
    fast = walk_forward("sma_cross", candles.iloc[:1100], space, **args)  # type: ignore[arg-type]
    step = walk_forward("sma_cross", candles.iloc[:1100], space, mode="step", **args)  # type: ignore[arg-type]
    pd.testing.assert_series_equal(fast.equity, step.equity)
    pd.testing.assert_frame_equal(fast.trades, step.trades)
    close = walk_forward("sma_cross", candles.iloc[:1100], space, fill="close", **args)  # type: ignore[arg-type]
    assert close.trades["exit_time"].notna().all()
    for a, b in itertools.pairwise(close.windows):
        assert b.cash == a.equity.iloc[-1]
