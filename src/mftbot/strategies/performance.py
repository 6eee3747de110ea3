"""Per-strategy performance from its own simulated trades: win rate, expectancy, risk-adjusted
return, overall and per market regime.

A member of a consensus is judged on the trades it would have made alone, replayed from flat
over a window of bars that ends at an evaluation bar ``r`` (:func:`simulate_trades`):

* a decision at bar ``j`` fills at ``open[j + 1]`` (the engine's ``next_open`` fill), so the
  window's decisions are bars ``r − window + 1 .. r − 1`` and every fill lies at or before ``r``;
* while flat, an entry flag opens a position (long before short when both fire); while long
  (short), an exit-long (exit-short) flag closes it; one decision per bar;
* a trade's net return is ``d · (exit − entry) / entry − fee · (entry + exit) / entry`` with
  ``d = ±1``; a position still open at ``r`` does not count.

So an evaluation at ``r`` reads bars ``≤ r`` only, and only bars of a fixed span before it:
it gives the same result on any window of candles that holds that span (the rolling-window
contract of :class:`~mftbot.strategies.base.Strategy`).

The market regime (:func:`mftbot.analysis.regime.market_regime`) of a trade is the label at
its entry decision bar, computed chunk by chunk (:class:`PerformanceTracker`), each chunk over
a fixed span before it, so it too reads a fixed span only. :class:`TradeStats` summarise a set
of trade returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from mftbot.analysis.regime import Regime, RegimeConfig, market_regime
from mftbot.analysis.registry import CandleArrays

_F = TypeVar("_F", bound=Callable[..., Any])
_njit = cast(Callable[[_F], _F], numba.njit(cache=True))

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Int8Array: TypeAlias = npt.NDArray[np.int8]

MIN_VOLATILITY = 1e-4
"""Floor of the per-trade return volatility in the risk-adjusted return (1 basis point), so a
handful of identical returns does not divide by zero."""


@dataclass(frozen=True, slots=True)
class Trades:
    """Closed trades of one member: decision bars of entry and exit, direction, net return."""

    entry_bar: IntArray
    exit_bar: IntArray
    direction: Int8Array
    ret: FloatArray

    def __len__(self) -> int:
        return int(self.ret.shape[0])


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Summary of a set of trade returns (all zero without trades).

    ``risk_adjusted`` is ``expectancy / max(volatility, MIN_VOLATILITY)``: the per-trade
    Sharpe ratio (0 with fewer than two trades, where no volatility exists).
    """

    trades: int
    win_rate: float
    expectancy: float
    volatility: float
    risk_adjusted: float

    @classmethod
    def of(cls, returns: npt.ArrayLike) -> TradeStats:
        """Stats of ``returns`` (net fractional returns per trade)."""
        r = np.asarray(returns, dtype=np.float64).tolist()
        n = len(r)
        if n == 0:
            return cls(0, 0.0, 0.0, 0.0, 0.0)
        mean = math.fsum(r) / n
        wins = sum(1 for x in r if x > 0.0) / n
        if n == 1:
            return cls(1, wins, mean, 0.0, 0.0)
        vol = math.sqrt(math.fsum((x - mean) ** 2 for x in r) / (n - 1))
        return cls(n, wins, mean, vol, mean / max(vol, MIN_VOLATILITY))


@_njit
def _simulate(
    open_: FloatArray,
    flags: Int8Array,
    first: int,
    last: int,
    fee: float,
    out_entry: IntArray,
    out_exit: IntArray,
    out_dir: Int8Array,
    out_ret: FloatArray,
) -> int:
    position = 0
    entry_bar = 0
    entry_price = 0.0
    k = 0
    for j in range(first, last):
        f = flags[j]
        price = open_[j + 1]
        if position == 0:
            if f & 1:
                position = 1
            elif f & 4:
                position = -1
            if position != 0:
                entry_bar = j
                entry_price = price
        elif (position == 1 and f & 2) or (position == -1 and f & 8):
            out_entry[k] = entry_bar
            out_exit[k] = j
            out_dir[k] = position
            out_ret[k] = (
                position * (price - entry_price) - fee * (entry_price + price)
            ) / entry_price
            k += 1
            position = 0
    return k


def simulate_trades(
    open_: FloatArray, flags: Int8Array, end: int, window: int, fee: float
) -> Trades:
    """Closed trades of ``flags`` (the :meth:`~mftbot.strategies.base.Signals.flags` bits)
    replayed from flat over the ``window`` bars ending at bar ``end`` (see the module doc)."""
    if not 0 <= end < open_.shape[0] or flags.shape != open_.shape:
        raise ValueError(f"end {end} outside the {open_.shape[0]} bars, or flags misaligned")
    first = max(end - window + 1, 0)
    cap = max((end - first) // 2 + 1, 1)
    out_entry = np.empty(cap, dtype=np.int64)
    out_exit = np.empty(cap, dtype=np.int64)
    out_dir = np.empty(cap, dtype=np.int8)
    out_ret = np.empty(cap, dtype=np.float64)
    k = _simulate(
        np.ascontiguousarray(open_, dtype=np.float64),
        np.ascontiguousarray(flags, dtype=np.int8),
        first,
        end,
        float(fee),
        out_entry,
        out_exit,
        out_dir,
        out_ret,
    )
    return Trades(out_entry[:k], out_exit[:k], out_dir[:k], out_ret[:k])


def regime_pad(config: RegimeConfig | None = None) -> int:
    """Bars of regime warm-up taken before each chunk of labels (twice the detector's)."""
    return 2 * (config or RegimeConfig()).warmup


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the tracker found at one evaluation bar.

    ``regime`` is the :class:`~mftbot.analysis.regime.Regime` code at the evaluation bar
    (NaN when not known); ``overall[i]`` the stats of member ``i``'s trades in the window;
    ``by_regime[i]`` those of its trades entered in each regime.
    """

    bar: int
    regime: float
    overall: tuple[TradeStats, ...]
    by_regime: tuple[Mapping[Regime, TradeStats], ...]

    def current(self, i: int, min_trades: int) -> TradeStats:
        """Member ``i``'s stats in the current regime when it has at least ``min_trades``
        trades there, else its overall stats."""
        if not math.isnan(self.regime):
            here = self.by_regime[i].get(Regime(int(self.regime)))
            if here is not None and here.trades >= max(min_trades, 1):
                return here
        return self.overall[i]


class PerformanceTracker:
    """Evaluates each member's simulated trades over the ``window`` bars before a bar.

    ``flags`` holds one row of signal flag bits per member, aligned to the candles.

    Regime labels come in chunks: ``chunks`` are the sorted first bars of consecutive chunks
    (a schedule fixed by the bars' absolute times, such as the re-weight bars); the labels of a
    chunk are :func:`~mftbot.analysis.regime.market_regime` over the chunk preceded by
    :func:`regime_pad` bars, so a label depends on a fixed span before its chunk, and each
    bar is labelled once. Bars before the first chunk form a chunk from bar 0. With
    ``regimes`` off no label is computed (``Evaluation.regime`` is NaN).
    """

    def __init__(
        self,
        candles: CandleArrays,
        flags: Sequence[Int8Array],
        *,
        window: int,
        fee: float,
        regimes: bool = True,
        chunks: IntArray | None = None,
        regime_config: RegimeConfig | None = None,
    ) -> None:
        if window < 2:
            raise ValueError(f"window must be >= 2 bars, got {window}")
        if not (math.isfinite(fee) and 0.0 <= fee < 1.0):
            raise ValueError(f"fee must be in [0, 1), got {fee}")
        self._candles = candles
        self._open = np.ascontiguousarray(candles.open, dtype=np.float64)
        self._flags = [np.ascontiguousarray(f, dtype=np.int8) for f in flags]
        self.window = window
        self.fee = fee
        self.regimes = regimes
        self.regime_config = regime_config or RegimeConfig()
        starts = np.zeros(0, dtype=np.int64) if chunks is None else np.asarray(chunks, np.int64)
        self._starts = np.union1d(np.zeros(1, dtype=np.int64), starts)
        self._labels = np.full(len(candles), np.nan)
        self._done = np.zeros(self._starts.size, dtype=np.bool_)

    def _fill(self, k: int) -> None:
        c = self._candles
        first = int(self._starts[k])
        stop = int(self._starts[k + 1]) if k + 1 < self._starts.size else len(c)
        start = max(first - regime_pad(self.regime_config), 0)
        sl = slice(start, stop)
        labels = market_regime(c.high[sl], c.low[sl], c.close[sl], self.regime_config).regime
        self._labels[first:stop] = labels[first - start :]
        self._done[k] = True

    def labels(self, first: int, last: int) -> FloatArray:
        """Regime labels of bars ``first..last`` (NaN during the detector's warm-up)."""
        lo = int(np.searchsorted(self._starts, first, side="right")) - 1
        hi = int(np.searchsorted(self._starts, last, side="right")) - 1
        for k in range(lo, hi + 1):
            if not self._done[k]:
                self._fill(k)
        return self._labels[first : last + 1]

    def evaluate(self, end: int) -> Evaluation:
        """Stats of every member's trades closed by bar ``end``."""
        first = max(end - self.window + 1, 0)
        labels = self.labels(first, end) if self.regimes else None
        regime = math.nan if labels is None else float(labels[-1])
        overall: list[TradeStats] = []
        by_regime: list[Mapping[Regime, TradeStats]] = []
        for flags in self._flags:
            trades = simulate_trades(self._open, flags, end, self.window, self.fee)
            overall.append(TradeStats.of(trades.ret))
            groups: dict[Regime, TradeStats] = {}
            if labels is not None and len(trades):
                entry_regime = labels[trades.entry_bar - first]
                for code in np.unique(entry_regime[~np.isnan(entry_regime)]).tolist():
                    groups[Regime(int(code))] = TradeStats.of(trades.ret[entry_regime == code])
            by_regime.append(groups)
        return Evaluation(end, regime, tuple(overall), tuple(by_regime))
