"""Fast mode: the compiled fill loop on hand-computed cases, and its input checks."""

from __future__ import annotations

import numpy as np
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.engine.fast import FastModeError, run_fast
from mftbot.engine.results import round_trips
from mftbot.strategies import Signals

M = 60_000_000_000
OPENS = [10.0, 10.0, 12.5, 13.0, 15.0, 15.0]
CLOSES = [10.0, 10.0, 13.0, 14.0, 15.0, 16.0]


def bars(opens: list[float], closes: list[float]) -> tuple[CandleArrays, np.ndarray]:
    o, c = np.array(opens), np.array(closes)
    candles = CandleArrays.from_arrays(
        open=o,
        high=np.maximum(o, c),
        low=np.minimum(o, c),
        close=c,
        volume=np.ones(len(o)),
        time_ns=np.arange(len(o), dtype=np.int64) * M,
    )
    return candles, candles.time_ns + M


def signals(n: int, entries: list[int], exits: list[int]) -> Signals:
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry[entries] = True
    exit_[exits] = True
    return Signals(entry_long=entry, exit_long=exit_)


def test_next_open_round_trip_by_hand() -> None:
    candles, close_ns = bars(OPENS, CLOSES)
    result = run_fast(
        candles, close_ns, signals(6, [1], [3]), fee=0.01, fill="next_open", cash=1000.0
    )
    qty = 1000.0 / (12.5 * 1.01)
    fills = result.fills
    assert fills.ts.tolist() == [2 * M, 4 * M]
    assert fills.side.tolist() == [1, -1]
    assert fills.price.tolist() == [12.5, 15.0]
    assert fills.qty.tolist() == pytest.approx([qty, qty], rel=1e-15)
    assert fills.fee.tolist() == pytest.approx([12.5 * qty * 0.01, 15.0 * qty * 0.01])
    cash = 1000.0 - 12.5 * qty * 1.01 + 15.0 * qty * 0.99
    expected = [1000.0, 1000.0, 13.0 * qty, 14.0 * qty, cash, cash]
    assert result.equity.equity.tolist() == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert result.equity.ts.tolist() == close_ns.tolist()


def test_close_fills_and_one_decision_per_bar() -> None:
    candles, close_ns = bars(OPENS, CLOSES)
    # Entry and exit flags on the same bars: flat -> enter, long -> exit.
    both = signals(6, [1, 2, 4], [1, 2, 4])
    result = run_fast(candles, close_ns, both, fee=0.0, fill="close", cash=100.0)
    assert result.fills.ts.tolist() == [2 * M, 3 * M, 5 * M]
    assert result.fills.side.tolist() == [1, -1, 1]
    assert result.fills.price.tolist() == [10.0, 13.0, 15.0]
    assert result.equity.equity[-1] == pytest.approx(130.0 / 15.0 * 16.0)
    trips = round_trips(result.fills, last_price=16.0)
    assert trips.is_open.tolist() == [False, True]
    assert trips.pnl.tolist() == pytest.approx([30.0, 130.0 / 15.0 * 1.0])


def test_signals_on_the_last_bar_never_fill_at_next_open() -> None:
    candles, close_ns = bars(OPENS, CLOSES)
    result = run_fast(candles, close_ns, signals(6, [5], []), fee=0.0, fill="next_open", cash=1.0)
    assert len(result.fills) == 0
    assert result.equity.equity.tolist() == [1.0] * 6


def test_bad_inputs() -> None:
    candles, close_ns = bars(OPENS, CLOSES)
    ok = signals(6, [1], [3])
    with pytest.raises(FastModeError, match="aligned"):
        run_fast(candles, close_ns[:3], ok, fee=0.0, fill="close", cash=1.0)
    with pytest.raises(FastModeError, match="fill"):
        run_fast(candles, close_ns, ok, fee=0.0, fill="vwap", cash=1.0)
    with pytest.raises(FastModeError, match="fee"):
        run_fast(candles, close_ns, ok, fee=-0.1, fill="close", cash=1.0)
    with pytest.raises(FastModeError, match="cash"):
        run_fast(candles, close_ns, ok, fee=0.0, fill="close", cash=0.0)
    short = Signals(
        entry_long=ok.entry_long,
        exit_long=ok.exit_long,
        entry_short=ok.exit_long,
        exit_short=np.zeros(6, dtype=np.bool_),
    )
    with pytest.raises(FastModeError, match="short"):
        run_fast(candles, close_ns, short, fee=0.0, fill="close", cash=1.0)
