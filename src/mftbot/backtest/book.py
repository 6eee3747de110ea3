"""Backtest a strategy over recorded market data (books and trades), order-book strategies
included.

:func:`backtest_book` replays a recording through a :class:`~mftbot.engine.paper.PaperSession`
at full speed: the same engine, candles of ``timeframe`` built from the trades (seconds
included), the book columns of :mod:`mftbot.features.bar_book` built from the same stream,
and the simulated venue filling market orders against the replayed book. ``mode="step"``
computes each bar's signal on the rolling window; ``mode="precomputed"`` first collects the
candles and book columns of the stream (or takes them as ``history``) and computes the
signals once over them. Both give the same trades (no look-ahead, principle 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from mftbot.analysis.registry import CandleArrays
from mftbot.backtest.metrics import compute_metrics
from mftbot.core.errors import ConfigError
from mftbot.data.replay import replay_files
from mftbot.domain.events import MarketEvent
from mftbot.engine.paper import PaperConfig, PaperResult, PaperSession
from mftbot.execution.sim.venue import SimulatedVenue
from mftbot.features.bar_book import BarBookConfig
from mftbot.strategies.base import StrategyConfig, StrategySpec, strategy_spec

Source = Iterable[MarketEvent] | Sequence[str | os.PathLike[str]]
Mode = Literal["step", "precomputed"]


class BookBacktestError(ConfigError):
    """A book backtest is configured inconsistently."""


@dataclass(frozen=True)
class BookBacktestResult:
    """What a book backtest produced.

    ``trades``: one row per round trip (``symbol``, ``side``, ``entry_time``, ``exit_time``,
    ``entry_price``, ``exit_price``, ``qty``, ``pnl``, ``fees``); ``equity``: the portfolio
    value at each bar close (UTC index); ``metrics``: :func:`compute_metrics` of both;
    ``candles``: each symbol's candles with the book columns in ``extra``; ``paper``: the
    session's full result (orders, fills, signal notes).
    """

    strategy: str
    timeframe: str
    mode: str
    trades: pd.DataFrame
    equity: pd.Series
    metrics: dict[str, Any]
    candles: Mapping[str, CandleArrays]
    paper: PaperResult


def _paths(source: object) -> list[Path] | None:
    """The recording paths ``source`` names, or ``None`` when it is a stream of events."""
    if isinstance(source, str | os.PathLike):
        raise BookBacktestError("source: give a list of recording paths, or market events")
    if isinstance(source, Sequence) and all(isinstance(p, str | os.PathLike) for p in source):
        return [Path(p) for p in source]
    return None


def _trades(result: PaperResult) -> pd.DataFrame:
    frames = []
    for symbol, trips in result.trips.items():
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "side": "long",
                    "entry_time": pd.to_datetime(trips.entry_ts, utc=True),
                    "exit_time": pd.to_datetime(
                        np.where(trips.is_open, np.iinfo(np.int64).min, trips.exit_ts), utc=True
                    ),
                    "entry_price": trips.entry_price,
                    "exit_price": trips.exit_price,
                    "qty": trips.qty,
                    "pnl": trips.pnl,
                    "fees": trips.fees,
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                "symbol": pd.Series(dtype="object"),
                "side": pd.Series(dtype="object"),
                "entry_time": pd.Series(dtype="datetime64[ns, UTC]"),
                "exit_time": pd.Series(dtype="datetime64[ns, UTC]"),
                **{
                    c: pd.Series(dtype="float64")
                    for c in ("entry_price", "exit_price", "qty", "pnl", "fees")
                },
            }
        )
    return pd.concat(frames, ignore_index=True).sort_values("entry_time", ignore_index=True)


def _equity(result: PaperResult) -> pd.Series:
    curve = result.engine.equity
    return pd.Series(
        np.asarray(curve.equity, dtype=np.float64),
        index=pd.to_datetime(np.asarray(curve.ts, dtype=np.int64), utc=True),
        name="equity",
    )


def backtest_book(
    strategy: str,
    source: Source,
    symbols: str | Sequence[str],
    *,
    timeframe: str = "1s",
    params: StrategyConfig | Mapping[str, Any] | None = None,
    cash: float = 10_000.0,
    mode: Mode = "step",
    history: Mapping[str, CandleArrays] | None = None,
    book: BarBookConfig | None = None,
) -> BookBacktestResult:
    """Backtest the registered ``strategy`` over ``source`` (recording paths, or market
    events in ``ts_recv`` order) on ``symbols`` (spot, one quote currency).

    ``history`` (precomputed mode only): the candles with book columns a previous run of the
    same source and timeframe produced (``BookBacktestResult.candles``), saving the pass
    that collects them.
    """
    spec: StrategySpec = strategy_spec(strategy)
    config = spec.config(params)
    names = (symbols,) if isinstance(symbols, str) else tuple(symbols)
    if mode not in ("step", "precomputed"):
        raise BookBacktestError(f"mode must be 'step' or 'precomputed', got {mode!r}")
    if history is not None and mode != "precomputed":
        raise BookBacktestError("history is for mode='precomputed'")
    paper = PaperConfig(
        symbols=names,
        timeframe=timeframe,
        strategy=strategy,
        params=config.model_dump(),
        cash=cash,
        bot_id="backtest",
    )
    paths = _paths(source)
    if paths is not None:
        files = paths

        def events() -> Iterable[MarketEvent]:
            return replay_files(files)
    else:
        given = cast(Iterable[MarketEvent], source)
        stream = list(given) if mode == "precomputed" and history is None else given

        def events() -> Iterable[MarketEvent]:
            return stream

    if mode == "precomputed" and history is None:
        history = _collect(paper, events(), book)
    if history is not None:
        missing = [s for s in names if s not in history]
        if missing:
            raise BookBacktestError(f"history lacks the symbols {missing}")
    session = PaperSession(
        paper, venue=SimulatedVenue({paper.quote: cash}), history=history, book=book
    )
    result = session.run(events())
    equity = _equity(result)
    trades = _trades(result)
    metrics: dict[str, Any] = {}
    if len(equity) >= 2:
        metrics = dict(compute_metrics(trades, equity, initial_cash=cash))
    metrics["trades"] = len(trades)
    metrics["fees_paid"] = float(sum(f.fee for f in result.engine.fills))
    return BookBacktestResult(
        strategy=strategy,
        timeframe=session.timeframe,
        mode=mode,
        trades=trades,
        equity=equity,
        metrics=metrics,
        candles=result.candles,
        paper=result,
    )


def _collect(
    paper: PaperConfig, events: Iterable[MarketEvent], book: BarBookConfig | None
) -> dict[str, CandleArrays]:
    """The candles and book columns of the stream: a step run of the same session (the
    columns come from the engine exactly as a step run sees them)."""
    session = PaperSession(paper, venue=SimulatedVenue({paper.quote: paper.cash}), book=book)
    result = session.run(events)
    return dict(result.candles)
