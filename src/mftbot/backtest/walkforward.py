"""Walk-forward analysis: optimise on a train window, trade the window after it, roll on.

Windows are counted in bars of the candle series (a duration is converted with the
timeframe). Window *k* trains on bars ``[a_k, b_k)`` and tests on ``[b_k, b_k + test)``:

* rolling: ``a_k = k · step``, ``b_k = a_k + train``;
* anchored: ``a_k = 0``, ``b_k = train + k · step``;

``step`` defaults to ``test``, so the test windows tile the period after the first train
window without gaps or overlap (a longer step leaves gaps; a shorter one is refused); bars
after the last whole test window are left out.

On each train window every parameter set of the :class:`ParamSpace` grid (sets the strategy's
config refuses, e.g. ``fast >= slow``, are skipped) is backtested on the train bars alone, and
the set with the best ``metric`` wins (:class:`Objective`: highest, or lowest for drawdown-like
metrics; an undefined metric, or fewer than ``min_trades`` closed trades, ranks last; ties go
to the earliest set in grid order). The winner then trades the test window: the strategy sees
the ``lookback`` bars before it for its indicators but may act only inside it, and any position
is closed by the end of the window (exit signal forced at the bar that makes the order fill at
the window's last bar), so every test window ends flat and its trades are complete. Each test
window starts with the cash the previous one ended with, so the stitched out-of-sample equity
is one continuous account.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.progress import Progress

from mftbot.backtest.api import BacktestError, BacktestResult, backtest
from mftbot.backtest.metrics import Metrics, compute_metrics
from mftbot.backtest.report import ReportSection, write_report
from mftbot.core.errors import DataError, MftbotError
from mftbot.data.candles import infer_timeframe
from mftbot.data.timeframes import parse_timeframe
from mftbot.strategies import (
    CandleWindow,
    Signals,
    Strategy,
    StrategyConfig,
    StrategyError,
    strategy_spec,
)

MINIMISED_METRICS = frozenset(
    {
        "max_drawdown",
        "max_drawdown_money",
        "max_drawdown_duration_s",
        "max_drawdown_duration_bars",
        "volatility",
        "max_loss_streak",
        "losing_trades",
        "gross_loss",
        "fees_paid",
    }
)
"""Metrics where lower is better (the default direction of an :class:`Objective`)."""


class WalkForwardError(MftbotError, ValueError):
    """Walk-forward settings or inputs are invalid."""


# --------------------------------------------------------------------------- parameter space


@dataclass(frozen=True)
class ParamSpace:
    """A grid of strategy parameters: each name with the values to try."""

    values: Mapping[str, Sequence[Any]]

    def __post_init__(self) -> None:
        if not self.values:
            raise WalkForwardError("the parameter space is empty")
        for name, options in self.values.items():
            if not isinstance(name, str) or not name:
                raise WalkForwardError(f"parameter name {name!r} is not a non-empty string")
            if isinstance(options, str) or len(options) == 0:
                raise WalkForwardError(f"parameter {name!r} needs a non-empty list of values")

    def grid(self) -> list[dict[str, Any]]:
        """Every combination, the last parameter varying fastest."""
        names = list(self.values)
        return [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(self.values[n] for n in names))
        ]

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.values.values())

    @classmethod
    def parse(cls, specs: Sequence[str]) -> ParamSpace:
        """From ``["fast=5,10", "slow=20,30"]`` (values read as YAML scalars: ints, floats…)."""
        values: dict[str, list[Any]] = {}
        for spec in specs:
            name, sep, raw = spec.partition("=")
            name = name.strip()
            if not sep or not name or not raw.strip():
                raise WalkForwardError(f"{spec!r}: expected NAME=V1,V2,...")
            if name in values:
                raise WalkForwardError(f"parameter {name!r} is given twice")
            values[name] = [yaml.safe_load(v.strip()) for v in raw.split(",") if v.strip()]
        return cls(values)


@dataclass(frozen=True, slots=True)
class Objective:
    """What the optimiser ranks by: a metric of :func:`compute_metrics`, and its direction."""

    metric: str = "sharpe"
    maximize: bool | None = None
    """``None``: lower is better for :data:`MINIMISED_METRICS`, higher for the rest."""

    @property
    def higher_is_better(self) -> bool:
        """The direction actually used."""
        return self.metric not in MINIMISED_METRICS if self.maximize is None else self.maximize

    def score(self, metrics: Mapping[str, float | int | None], min_trades: int = 0) -> float:
        """The metric signed so that higher is better; ``-inf`` when undefined or when fewer
        than ``min_trades`` trades closed."""
        if self.metric not in metrics:
            known = ", ".join(sorted(metrics))
            raise WalkForwardError(f"unknown metric {self.metric!r}; known: {known}")
        value = metrics[self.metric]
        trades = metrics.get("trades") or 0
        if value is None or not math.isfinite(value) or trades < min_trades:
            return -math.inf
        return float(value) if self.higher_is_better else -float(value)


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True, slots=True)
class Window:
    """Bar ranges ``[train_start, train_end)`` and ``[test_start, test_end)`` of one step."""

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


def make_windows(
    n_bars: int, train: int, test: int, *, anchored: bool = False, step: int | None = None
) -> list[Window]:
    """The windows over ``n_bars`` bars (module docstring); at least one must fit."""
    step = test if step is None else step
    for name, value in (("train", train), ("test", test), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise WalkForwardError(f"{name} must be a whole number of bars >= 1, got {value!r}")
    if test < 2:
        raise WalkForwardError("test windows need at least 2 bars")
    if step < test:
        raise WalkForwardError(
            f"step ({step}) must be >= test ({test}): test windows may not overlap"
        )
    windows = []
    k = 0
    while True:
        start = 0 if anchored else k * step
        end = train + k * step
        if end + test > n_bars:
            break
        windows.append(Window(k, start, end, end, end + test))
        k += 1
    if not windows:
        raise WalkForwardError(
            f"{n_bars} bars cannot hold a train window of {train} and a test window of {test}"
        )
    return windows


def bars_of(length: int | str, timeframe: str) -> int:
    """A window length in bars: an int is bars; text is a duration in timeframe notation
    (``"30d"``, ``"12h"``, ``"2w"``) converted with the timeframe (a whole number of bars)."""
    if isinstance(length, int) and not isinstance(length, bool):
        return length
    text = str(length).strip()
    if text.isdigit():
        return int(text)
    try:
        span = parse_timeframe(text)
        span_ns, step = span.step_ns, parse_timeframe(timeframe).step_ns
    except DataError:
        raise WalkForwardError(
            f"{length!r} is neither a number of bars nor a duration like 30d or 12h"
        ) from None
    bars, rest = divmod(span_ns, step)
    if rest or bars < 1:
        raise WalkForwardError(f"{text} is not a whole number of {timeframe} bars")
    return int(bars)


# --------------------------------------------------------------------------- the test strategy


class WindowedStrategy:
    """``inner`` restricted to a test window: no signal before ``start_ns``; from
    ``flatten_ns`` on no entry and an exit every bar, so the position is closed in time."""

    def __init__(self, inner: Strategy, start_ns: int, flatten_ns: int) -> None:
        self.inner = inner
        self.start_ns = start_ns
        self.flatten_ns = flatten_ns

    @property
    def name(self) -> str:
        """The inner strategy's name."""
        return self.inner.name

    @property
    def config(self) -> StrategyConfig:
        """The inner strategy's parameters."""
        return self.inner.config

    @property
    def warmup(self) -> int:
        """The inner strategy's warm-up."""
        return self.inner.warmup

    @property
    def lookback(self) -> int:
        """The inner strategy's lookback."""
        return self.inner.lookback

    def populate(self, window: CandleWindow) -> Signals:
        """The inner signals, masked by time (see the class docstring)."""
        signals = self.inner.populate(window)
        times = window.time_ns
        before = times < self.start_ns
        closing = times >= self.flatten_ns

        def masked(values: np.ndarray[Any, np.dtype[np.bool_]] | None) -> Any:
            return None if values is None else values & ~before & ~closing

        return Signals(
            entry_long=masked(signals.entry_long),
            exit_long=(signals.exit_long & ~before) | closing,
            entry_short=masked(signals.entry_short),
            exit_short=(
                None if signals.exit_short is None else (signals.exit_short & ~before) | closing
            ),
            confidence=signals.confidence,
        )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class WindowResult:
    """One step: the window, the winning parameters, its train score and its test run."""

    window: Window
    params: dict[str, Any]
    train_score: float
    train_metrics: Metrics = field(repr=False)
    test: BacktestResult = field(repr=False)
    cash: float
    equity: pd.Series = field(repr=False)
    """Test-window equity (one point per test bar, at its close)."""
    bar_times: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp]
    """Open times of the first and last train bars and of the first and last test bars."""


@dataclass(frozen=True)
class WalkForwardResult:
    """All steps, the stitched out-of-sample equity and trades, and their metrics."""

    strategy: str
    objective: Objective
    anchored: bool
    train_bars: int
    test_bars: int
    cash: float
    windows: tuple[WindowResult, ...] = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    """One row per (window, parameter set): the train metric and its score."""
    equity: pd.Series = field(repr=False)
    trades: pd.DataFrame = field(repr=False)
    metrics: Metrics = field(repr=False)

    @property
    def final_equity(self) -> float:
        """Equity at the end of the last test window."""
        return float(self.equity.iloc[-1])

    def table(self) -> pd.DataFrame:
        """One row per window: spans, chosen parameters, train score, test results."""
        rows = []
        metric = self.objective.metric
        for w in self.windows:
            test_m = w.test.metrics
            train_from, train_to, test_from, test_to = w.bar_times
            rows.append(
                {
                    "window": w.window.index,
                    "train_from": train_from,
                    "train_to": train_to,
                    "test_from": test_from,
                    "test_to": test_to,
                    **{f"param_{k}": v for k, v in w.params.items()},
                    f"train_{metric}": _finite(w.train_metrics[metric]),
                    f"test_{metric}": _finite(test_m.get(metric)),
                    "test_return": float(w.equity.iloc[-1] / w.cash - 1.0),
                    "test_trades": int(test_m["trades"] or 0),
                    "start_equity": w.cash,
                    "end_equity": float(w.equity.iloc[-1]),
                }
            )
        return pd.DataFrame(rows).set_index("window")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (windows as records)."""
        table = self.table().reset_index()
        records = [{k: _json(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
        return {
            "strategy": self.strategy,
            "metric": self.objective.metric,
            "higher_is_better": self.objective.higher_is_better,
            "anchored": self.anchored,
            "train_bars": self.train_bars,
            "test_bars": self.test_bars,
            "final_equity": self.final_equity,
            "metrics": {k: _json(v) for k, v in self.metrics.items()},
            "windows": records,
        }


def _finite(value: float | int | None) -> float:
    return float("nan") if value is None else float(value)


def _json(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


# --------------------------------------------------------------------------- running


@dataclass(frozen=True, slots=True)
class _RunArgs:
    fee: float
    fill: str
    mode: str
    symbol: str | None
    timeframe: str


def _valid_grid(strategy: str, space: ParamSpace) -> list[dict[str, Any]]:
    spec = strategy_spec(strategy)
    valid = []
    for params in space.grid():
        try:
            spec.config(params)
        except StrategyError:
            continue
        valid.append(params)
    if not valid:
        raise WalkForwardError(f"no parameter set of the grid is valid for {strategy!r}")
    return valid


def _optimise(
    strategy: str,
    candles: pd.DataFrame,
    grid: Sequence[dict[str, Any]],
    objective: Objective,
    *,
    cash: float,
    args: _RunArgs,
    min_trades: int = 0,
) -> tuple[int, list[Metrics]]:
    """Backtest each parameter set on ``candles``; return the winner's position in ``grid``
    (ties: the first) and every set's metrics."""
    metrics = []
    best, best_score = 0, -math.inf
    for i, params in enumerate(grid):
        result = backtest(
            strategy,
            candles,
            fee=args.fee,
            fill=args.fill,
            mode=args.mode,
            cash=cash,
            params=params,
            symbol=args.symbol,
            timeframe=args.timeframe,
        )
        score = objective.score(result.metrics, min_trades)
        metrics.append(result.metrics)
        if score > best_score:
            best, best_score = i, score
    return best, metrics


def _test_run(
    strategy: str,
    params: dict[str, Any],
    candles: pd.DataFrame,
    window: Window,
    cash: float,
    args: _RunArgs,
) -> tuple[BacktestResult, pd.Series]:
    inner = strategy_spec(strategy).build(params)
    first = max(0, window.test_start - inner.lookback)
    times = pd.DatetimeIndex(candles.index).as_unit("ns").asi8
    last_bar = window.test_end - 1
    flatten = last_bar - 1 if args.fill == "next_open" else last_bar
    wrapped = WindowedStrategy(inner, int(times[window.test_start]), int(times[flatten]))
    result = backtest(
        wrapped,
        candles.iloc[first : window.test_end],
        fee=args.fee,
        fill=args.fill,
        mode=args.mode,
        cash=cash,
        symbol=args.symbol,
        timeframe=args.timeframe,
    )
    equity = result.equity.iloc[window.test_start - first :]
    return result, equity


def walk_forward(
    strategy: str,
    candles: pd.DataFrame,
    space: ParamSpace,
    *,
    train: int | str,
    test: int | str,
    anchored: bool = False,
    step: int | str | None = None,
    objective: Objective | None = None,
    min_trades: int = 0,
    fee: float = 0.001,
    fill: str = "next_open",
    mode: str = "fast",
    cash: float = 10_000.0,
    symbol: str | None = None,
    timeframe: str | None = None,
    console: Console | None = None,
) -> WalkForwardResult:
    """Walk-forward optimisation of ``strategy`` over ``space`` (module docstring).

    ``train`` / ``test`` / ``step``: bars, or durations such as ``"30d"``. ``objective``:
    the metric to rank by (default Sharpe). ``console``: where a progress bar goes.
    """
    objective = objective or Objective()
    if not isinstance(strategy, str):
        raise WalkForwardError("walk-forward takes a registered strategy name")
    if not isinstance(candles, pd.DataFrame) or len(candles) == 0:
        raise WalkForwardError("candles must be a non-empty DataFrame")
    tf_text = timeframe or candles.attrs.get("timeframe") or infer_timeframe(candles)
    if not tf_text:
        raise WalkForwardError("cannot tell the candles' timeframe: pass timeframe=")
    try:
        tf = parse_timeframe(str(tf_text)).text
    except DataError as exc:
        raise WalkForwardError(str(exc)) from exc
    train_bars, test_bars = bars_of(train, tf), bars_of(test, tf)
    step_bars = None if step is None else bars_of(step, tf)
    windows = make_windows(len(candles), train_bars, test_bars, anchored=anchored, step=step_bars)
    grid = _valid_grid(strategy, space)
    args = _RunArgs(fee, fill, mode, symbol, tf)
    results: list[WindowResult] = []
    score_rows: list[dict[str, Any]] = []
    equity = float(cash)
    index = pd.DatetimeIndex(candles.index)
    with Progress(console=console, disable=console is None) as progress:
        task = progress.add_task("walk-forward", total=len(windows))
        for window in windows:
            train_candles = candles.iloc[window.train_start : window.train_end]
            try:
                best, metrics = _optimise(
                    strategy, train_candles, grid, objective, cash=cash, args=args,
                    min_trades=min_trades,
                )  # fmt: skip
                params = grid[best]
                test_result, test_equity = _test_run(
                    strategy, params, candles, window, equity, args
                )
            except BacktestError as exc:
                raise WalkForwardError(f"window {window.index}: {exc}") from exc
            for i, (params_i, m) in enumerate(zip(grid, metrics, strict=True)):
                score_rows.append(
                    {
                        "window": window.index,
                        **{f"param_{k}": v for k, v in params_i.items()},
                        objective.metric: _finite(m[objective.metric]),
                        "score": objective.score(m, min_trades),
                        "trades": int(m["trades"] or 0),
                        "chosen": i == best,
                    }
                )
            results.append(
                WindowResult(
                    window=window,
                    params=dict(params),
                    train_score=objective.score(metrics[best], min_trades),
                    train_metrics=metrics[best],
                    test=test_result,
                    cash=equity,
                    equity=test_equity,
                    bar_times=(
                        index[window.train_start],
                        index[window.train_end - 1],
                        index[window.test_start],
                        index[window.test_end - 1],
                    ),
                )
            )
            equity = float(test_equity.iloc[-1])
            progress.advance(task)
    return _assemble(
        strategy, objective, anchored, train_bars, test_bars, cash, results, score_rows
    )


def _assemble(
    strategy: str,
    objective: Objective,
    anchored: bool,
    train_bars: int,
    test_bars: int,
    cash: float,
    results: list[WindowResult],
    score_rows: list[dict[str, Any]],
) -> WalkForwardResult:
    stitched = pd.concat([r.equity for r in results])
    stitched.name = "equity"
    parts = []
    for r in results:
        t = r.test.trades.copy()
        t.insert(0, "window", r.window.index)
        parts.append(t)
    trades = pd.concat(parts, ignore_index=True)
    return WalkForwardResult(
        strategy=strategy,
        objective=objective,
        anchored=anchored,
        train_bars=train_bars,
        test_bars=test_bars,
        cash=float(cash),
        windows=tuple(results),
        scores=pd.DataFrame(score_rows),
        equity=stitched,
        trades=trades,
        metrics=compute_metrics(trades, stitched, initial_cash=float(cash)),
    )


# --------------------------------------------------------------------------- report


def write_walkforward_report(
    result: WalkForwardResult, path: str | Path, *, candles: pd.DataFrame | None = None
) -> Path:
    """The HTML report: out-of-sample equity and trades, the window table, the method, and
    the score of every parameter set on every train window."""
    windows = result.windows
    direction = "highest" if result.objective.higher_is_better else "lowest"
    kind = "anchored" if result.anchored else "rolling"
    method = (
        f"<p>{kind.capitalize()} walk-forward of <b>{escape(result.strategy)}</b>: "
        f"{len(windows)} windows, train {result.train_bars} bars, test {result.test_bars} bars. "
        f"On each train window the parameter set with the {direction} "
        f"<b>{escape(result.objective.metric)}</b> is chosen and trades the next test window "
        "(positions closed by its end); test windows are chained into one account.</p>"
    )
    first = windows[0].equity.index[0]
    last = windows[-1].equity.index[-1]
    span = None
    if candles is not None:
        index = pd.DatetimeIndex(candles.index)
        span = candles.loc[(index >= first - (index[1] - index[0])) & (index <= last)]
    return write_report(
        path,
        trades=result.trades,
        equity=result.equity,
        candles=span,
        metrics=result.metrics,
        title=f"Walk-forward: {result.strategy} ({kind}, {result.objective.metric})",
        extra_tables={
            "Walk-forward windows": result.table(),
            "Parameter scores on train windows": result.scores.set_index("window"),
        },
        sections=[ReportSection("Method", method, "wf-method")],
        initial_cash=result.cash,
    )
