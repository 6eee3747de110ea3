"""Backtest benchmark: ``sma_cross`` through mftbot (fast and step mode), backtesting.py and
vectorbt, on the same 1,000,000 one-minute bars in one run.

The peers live in their own environment (never in the project's)::

    bash benchmarks/setup_peers.sh
    benchmarks/.venv-peers/bin/python benchmarks/bench_backtest.py [--data DIR] [--bars N]
        [--compare-bars M] [--repeat R] [--slow-repeat S] [--engines a,b,...]
        [--profile ENGINE]

Data: ``candles_filimonov/BTC_USDT-1m.feather`` (130,708 real 1m bars) tiled to ``N`` bars —
forward, time-reversed (open and close swapped), forward, ... so the price stays continuous —
with timestamps regenerated at 1-minute spacing. The arrays are written once (one ``.npy`` per
column) and every engine loads the same files in its own subprocess, so its peak RSS (``VmHWM``
of the child, see ``_rss_mb``) is its own: imports, the loaded bars, its input frame and the run.

Semantics, identical for all four: fast = SMA(close, 10), slow = SMA(close, 30),
d = fast − slow; entry when d[t] > 0 and d[t−1] ≤ 0, exit when d[t] < 0 and d[t−1] ≥ 0; long
only; all-in (qty = cash / (price × (1 + fee))); fee 0.1 % of notional on each side; the order
fills at the next bar's open; cash 10,000.

* mftbot: ``backtest(strategy="sma_cross", candles=df, fee=0.001, fill="next_open",
  mode="fast"|"step", cash=10_000)``. Its sign of d is exact (see ``strategies/sma_cross.py``).
* backtesting.py: ``FractionalBacktest(..., commission=0.001, trade_on_close=False,
  exclusive_orders=True)`` with a ``Strategy`` on two ``pandas.rolling(n).mean()`` indicators,
  ``buy(size=1 − 1e-12)`` (the fraction of available cash, sized at the fill price with the
  commission, as mftbot does) and ``position.close()``. backtesting.py trades whole units, so the
  prices are scaled by a fractional unit of 2**-100 (a power of two: the scaling is exact, and
  the unit stays far below the position even after the fees have eaten nearly all the equity:
  19,576 round trips at 0.2 % leave ~1e-14 of the 10,000).
* vectorbt: ``vbt.MA.run`` (a running-sum rolling mean) for both SMAs, the crossing flags from d,
  shifted one bar, and ``Portfolio.from_signals(close, entries, exits, price=open, fees=0.001,
  init_cash=10_000, direction="longonly", min_size=0)``: the shifted flag fires on the fill bar
  and fills at that bar's open (size defaults to all-in, fees included). vectorbt treats sizes
  below 1e-12 as zero (and rejects below ``min_size``, 1e-8 by default), which the drained
  account reaches, so its cash is scaled by 2**40 and the results scaled back (exactly).

Timed: one call that takes the engine's prepared input frame and returns its trades and final
equity (mftbot: ``backtest()``, which also computes its metrics; backtesting.py: constructing the
``Backtest`` plus ``run()``, which computes its stats; vectorbt: the two MAs, the flags,
``from_signals``, the trade records and ``final_value()``). Best CPU time (user + system of the
child) of ``--repeat`` calls, wall-clock too; the slow engines (mftbot step, backtesting.py) run
``--slow-repeat`` times. Each engine first runs once on the first ``--compare-bars`` bars: that
run pays any one-off compilation (reported as "first call") and gives the trade list that is
compared across engines: entry / exit bars and prices of every trade must match mftbot fast
mode, except at bars where a running-sum SMA gets the sign of d wrong; each difference is listed
with its cause. The same comparison is then made on all bars (the full runs), and the sign of d
from each peer's SMA (and from TA-Lib's, for reference) is checked against the exact sign. Step
mode must match fast mode exactly (quantities, fees and final equity too).

Targets: fast ≥ 2,000,000 bars/s, ≥ 8× backtesting.py, ≥ 10× vectorbt; step ≥ 100,000 bars/s;
peak RSS ≤ 400 MB. ``--profile ENGINE`` prints a cProfile of one full run of that engine.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SOURCE = "candles_filimonov/BTC_USDT-1m.feather"
MINUTE_NS = 60_000_000_000
OHLCV = ("open", "high", "low", "close", "volume")
FAST, SLOW = 10, 30
FEE = 0.001
CASH = 10_000.0
BT_UNIT = 2.0**-100
"""backtesting.py trades whole units: prices are scaled by this power of two (exactly)."""
VBT_CASH_SCALE = 2.0**40
"""vectorbt's cash and sizes are scaled by this power of two (exactly): it treats a size below
1e-12 as zero, and the fees drain this account to ~1e-14 over the million bars."""
BT_ALL_IN = 1.0 - 1e-12
"""backtesting.py sizes an order given as a fraction in (0, 1) of the available cash."""

PEER_SMA = {"backtesting.py": "pandas rolling mean", "vectorbt": "vbt.MA"}
MAX_LISTED = 20
"""Differing fills listed per engine and comparison."""
ENGINES = ("mftbot-fast", "mftbot-step", "backtesting.py", "vectorbt")
SLOW_ENGINES = ("mftbot-step", "backtesting.py")
REFERENCE = "mftbot-fast"
TARGET_FAST = 2_000_000.0
TARGET_STEP = 100_000.0
TARGET_VS_BT = 8.0
TARGET_VS_VBT = 10.0
TARGET_RSS_MB = 400.0


# --------------------------------------------------------------------------- data


def tiled(frame: pd.DataFrame, bars: int) -> dict[str, FloatArray | IntArray]:
    """``bars`` bars: the series forward, then time-reversed (open and close swapped), ...;
    ``time_ns`` regenerated at 1-minute spacing from the first bar's open time."""
    cols = {c: frame[c].to_numpy(np.float64) for c in OHLCV}
    backward = {
        "open": cols["close"][::-1],
        "high": cols["high"][::-1],
        "low": cols["low"][::-1],
        "close": cols["open"][::-1],
        "volume": cols["volume"][::-1],
    }
    reps = -(-bars // len(frame))
    parts = [cols if i % 2 == 0 else backward for i in range(reps)]
    out: dict[str, FloatArray | IntArray] = {
        c: np.ascontiguousarray(np.concatenate([p[c] for p in parts])[:bars]) for c in OHLCV
    }
    start = int(pd.Timestamp(frame["date"].iloc[0]).value)
    out["time_ns"] = start + np.arange(bars, dtype=np.int64) * MINUTE_NS
    return out


BAR_COLUMNS = (*OHLCV, "time_ns")


def save_bars(folder: Path, arrays: dict[str, FloatArray | IntArray]) -> None:
    """One ``.npy`` file per column in ``folder`` (read back by :func:`load_bars`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in BAR_COLUMNS:
        np.save(folder / f"{k}.npy", arrays[k])


def load_bars(folder: Path, bars: int | None = None) -> dict[str, Any]:
    """The arrays written by the parent (the first ``bars`` of them), each a private copy.

    The files are memory-mapped and only the rows asked for are copied, so reading the first
    100,000 bars does not leave the whole series' worth of freed heap in the engine's process
    (its peak RSS is the engine's own)."""
    out: dict[str, Any] = {}
    for k in BAR_COLUMNS:
        mapped = np.load(folder / f"{k}.npy", mmap_mode="r")
        out[k] = np.array(mapped[:bars], copy=True, order="C")
        del mapped
    return out


def utc_index(time_ns: IntArray) -> pd.DatetimeIndex:
    """A UTC index over the bars' int64 ns times, sharing their buffer (every engine's frame
    then holds the loaded bars once; a copy where pandas offers no such route)."""
    values = np.ascontiguousarray(time_ns, dtype=np.int64).view("datetime64[ns]")
    try:
        array = pd.arrays.DatetimeArray._simple_new(  # type: ignore[attr-defined]
            values, dtype=pd.DatetimeTZDtype("ns", "UTC")
        )
        return pd.DatetimeIndex(array, copy=False, name="time")
    except (AttributeError, TypeError):
        return pd.DatetimeIndex(pd.to_datetime(time_ns, unit="ns", utc=True), name="time")


# --------------------------------------------------------------------------- engines


@dataclass
class Outcome:
    """Trades (fill bar indices and prices; exit bar −1 for a trade still open) and final
    equity of one run, plus what the comparison needs."""

    entry_bar: IntArray
    entry_price: FloatArray
    exit_bar: IntArray
    exit_price: FloatArray
    qty: FloatArray
    fees: FloatArray
    final_equity: float
    d: FloatArray | None = None
    """The engine's own float fast − slow (peers), for classifying differences."""
    notes: list[str] = field(default_factory=list)


class Engine:
    """One engine: ``prepare`` builds its native input (untimed) and returns the timed call;
    ``outcome`` turns that call's result into an :class:`Outcome` (untimed)."""

    name = ""

    def version(self) -> str:
        raise NotImplementedError

    def prepare(self, bars: dict[str, Any]) -> Callable[[], Any]:
        raise NotImplementedError

    def outcome(self, result: Any, bars: dict[str, Any]) -> Outcome:
        raise NotImplementedError


class Mftbot(Engine):
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.name = f"mftbot-{mode}"
        self.backtest = importlib.import_module("mftbot.backtest.api").backtest

    def version(self) -> str:
        import mftbot

        return f"mftbot {getattr(mftbot, '__version__', '?')}"

    def prepare(self, bars: dict[str, Any]) -> Callable[[], Any]:
        backtest = self.backtest
        df = pd.DataFrame({c: bars[c] for c in OHLCV}, index=utc_index(bars["time_ns"]), copy=False)
        mode = self.mode
        return lambda: backtest(
            strategy="sma_cross", candles=df, fee=FEE, fill="next_open", mode=mode, cash=CASH
        )

    def outcome(self, result: Any, bars: dict[str, Any]) -> Outcome:
        rt = result.round_trips
        times = bars["time_ns"]
        is_open = np.asarray(rt.is_open, dtype=bool)
        exit_bar = np.searchsorted(times, rt.exit_ts).astype(np.int64)
        exit_bar[is_open] = -1
        return Outcome(
            entry_bar=np.searchsorted(times, rt.entry_ts).astype(np.int64),
            entry_price=np.asarray(rt.entry_price, dtype=np.float64),
            exit_bar=exit_bar,
            exit_price=np.where(is_open, np.nan, rt.exit_price),
            qty=np.asarray(rt.qty, dtype=np.float64),
            fees=np.asarray(rt.fees, dtype=np.float64),
            final_equity=float(result.final_equity),
        )


def _rolling_mean(values: FloatArray, n: int) -> FloatArray:
    out: FloatArray = pd.Series(values).rolling(n).mean().to_numpy()
    return out


class BacktestingPy(Engine):
    name = "backtesting.py"

    def __init__(self) -> None:
        self.bt = importlib.import_module("backtesting")
        self.lib = importlib.import_module("backtesting.lib")

    def version(self) -> str:
        return f"backtesting {self.bt.__version__}"

    def prepare(self, bars: dict[str, Any]) -> Callable[[], Any]:
        df = pd.DataFrame(
            {c.capitalize(): bars[c] for c in OHLCV}, index=utc_index(bars["time_ns"])
        )

        class SmaCrossBt(self.bt.Strategy):  # type: ignore[name-defined,misc]
            """sma_cross: d = SMA(10) − SMA(30) from two pandas rolling means."""

            def init(self) -> None:
                self.fast = self.I(_rolling_mean, self.data.Close, FAST)
                self.slow = self.I(_rolling_mean, self.data.Close, SLOW)

            def next(self) -> None:
                d_now = self.fast[-1] - self.slow[-1]
                d_prev = self.fast[-2] - self.slow[-2]
                if not self.position:
                    if d_now > 0 and d_prev <= 0:
                        self.buy(size=BT_ALL_IN)
                elif d_now < 0 and d_prev >= 0:
                    self.position.close()

        fractional = self.lib.FractionalBacktest

        def run() -> Any:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                bt = fractional(
                    df,
                    SmaCrossBt,
                    cash=CASH,
                    commission=FEE,
                    trade_on_close=False,
                    exclusive_orders=True,
                    fractional_unit=BT_UNIT,
                )
                stats = bt.run()
            return stats, bt, [str(w.message) for w in caught]

        return run

    def outcome(self, result: Any, bars: dict[str, Any]) -> Outcome:
        stats, _bt, caught = result
        trades = stats["_trades"]
        n = len(bars["close"])
        # backtesting.py leaves a trade still open out of its trade list (finalize_trades=False)
        strategy = stats["_strategy"]
        open_trades = list(strategy._broker.trades)
        fees_closed = trades["Commission"].to_numpy(np.float64) if "Commission" in trades else None
        entry_bar = [*trades["EntryBar"].tolist(), *(t.entry_bar for t in open_trades)]
        entry_price = [
            *trades["EntryPrice"].tolist(),
            *(t.entry_price / BT_UNIT for t in open_trades),
        ]
        qty = [*trades["Size"].tolist(), *(t.size * BT_UNIT for t in open_trades)]
        k = len(open_trades)
        equity = float(stats["Equity Final [$]"])
        close = bars["close"]
        notes = sorted({m for m in caught if "canceled" in m or "insufficient" in m})
        fees = (
            np.r_[fees_closed, np.full(k, np.nan)]
            if fees_closed is not None
            else np.full(len(qty), np.nan)
        )
        return Outcome(
            entry_bar=np.asarray(entry_bar, dtype=np.int64),
            entry_price=np.asarray(entry_price, dtype=np.float64),
            exit_bar=np.r_[trades["ExitBar"].to_numpy(np.int64), np.full(k, -1, np.int64)],
            exit_price=np.r_[trades["ExitPrice"].to_numpy(np.float64), np.full(k, np.nan)],
            qty=np.asarray(qty, dtype=np.float64),
            fees=np.asarray(fees, dtype=np.float64),
            final_equity=equity,
            d=_rolling_mean(close, FAST) - _rolling_mean(close, SLOW) if n >= SLOW else None,
            notes=notes,
        )


class Vectorbt(Engine):
    name = "vectorbt"

    def __init__(self) -> None:
        self.vbt = importlib.import_module("vectorbt")

    def version(self) -> str:
        return f"vectorbt {self.vbt.__version__}"

    def prepare(self, bars: dict[str, Any]) -> Callable[[], Any]:
        index = utc_index(bars["time_ns"])
        close = pd.Series(bars["close"], index=index, name="close")
        open_ = pd.Series(bars["open"], index=index, name="open")
        vbt = self.vbt

        def run() -> Any:
            fast = vbt.MA.run(close, FAST).ma.to_numpy()
            slow = vbt.MA.run(close, SLOW).ma.to_numpy()
            d = fast - slow
            prev = np.empty_like(d)
            prev[0] = np.nan
            prev[1:] = d[:-1]
            entry = (d > 0) & (prev <= 0)
            exit_ = (d < 0) & (prev >= 0)
            # decided at the close of bar t, filled at the open of bar t + 1
            entries = np.zeros_like(entry)
            exits = np.zeros_like(exit_)
            entries[1:] = entry[:-1]
            exits[1:] = exit_[:-1]
            pf = vbt.Portfolio.from_signals(
                close,
                entries,
                exits,
                price=open_,
                fees=FEE,
                init_cash=CASH * VBT_CASH_SCALE,
                min_size=0.0,
                direction="longonly",
                freq="1min",
            )
            final = float(pf.final_value()) / VBT_CASH_SCALE
            return pf, pf.trades.values, pf.orders.values, final, d

        return run

    def outcome(self, result: Any, bars: dict[str, Any]) -> Outcome:
        """Trades from the order records: a trade record's entry / exit price is a
        size-weighted average (``size × price / size``), which can be off the fill price in
        the last bit."""
        pf, trades, orders, final_value, d = result
        final = float(pf.value().iloc[-1]) / VBT_CASH_SCALE
        notes = []
        if not np.isclose(final, final_value, rtol=1e-9, atol=0.0):
            notes.append(
                f"final_value() = {final_value:.6g} (init_cash + total_profit, cancellation: "
                f"~eps x init_cash of noise) vs value()[-1] = {final:.6g}; the latter is shown"
            )
        buys = orders[orders["side"] == 0]
        sells = orders[orders["side"] == 1]
        k = len(sells)
        if len(buys) != len(trades) or k not in (len(buys), len(buys) - 1):
            raise RuntimeError(f"vectorbt: {len(buys)} buys, {k} sells, {len(trades)} trades")
        if not (sells["idx"] > buys["idx"][:k]).all():
            raise RuntimeError("vectorbt: a sell is not after its buy")
        pad = len(buys) - k
        return Outcome(
            entry_bar=buys["idx"].astype(np.int64),
            entry_price=buys["price"].astype(np.float64),
            exit_bar=np.r_[sells["idx"].astype(np.int64), np.full(pad, -1, np.int64)],
            exit_price=np.r_[sells["price"].astype(np.float64), np.full(pad, np.nan)],
            qty=buys["size"] / VBT_CASH_SCALE,
            fees=(buys["fees"] + np.r_[sells["fees"], np.zeros(pad)]) / VBT_CASH_SCALE,
            final_equity=final,
            d=np.asarray(d, dtype=np.float64),
            notes=notes,
        )


def make_engine(name: str) -> Engine:
    if name == "mftbot-fast":
        return Mftbot("fast")
    if name == "mftbot-step":
        return Mftbot("step")
    if name == "backtesting.py":
        return BacktestingPy()
    if name == "vectorbt":
        return Vectorbt()
    raise SystemExit(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")


# --------------------------------------------------------------------------- child


def _rss_mb() -> float:
    """Peak resident set size of this process in MiB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the high-water mark of this process's own
    address space. ``ru_maxrss`` is not used there: the kernel carries it over ``exec`` from
    the address space it replaces, so a child started by ``subprocess`` (vfork + exec) reports
    at least its parent's resident size. Elsewhere ``ru_maxrss`` (KiB on Linux and BSD)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, IndexError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_now_mb() -> float:
    """Current resident set size in MiB (Linux ``/proc``; the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return _rss_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / 2.0**20


def _timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - w0, time.process_time() - c0


def child(args: argparse.Namespace) -> None:
    """Run one engine (in its own process) and write its figures and outcomes to ``--out``."""
    engine = make_engine(args.child)
    rss_imports = _rss_mb()
    compare = load_bars(args.arrays, args.compare_bars)
    first, first_wall, first_cpu = _timed(engine.prepare(compare))
    small = engine.outcome(first, compare)
    compare_bars = len(compare["close"])
    del first, compare

    bars = load_bars(args.arrays)
    call = engine.prepare(bars)
    gc.collect()
    rss_loaded = _rss_now_mb()
    if args.child_profile:
        profiler = cProfile.Profile()
        profiler.enable()
        call()
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        print(f"--- cProfile of one {engine.name} run, {len(bars['close']):,} bars (tottime)")
        print("\n".join(text.getvalue().splitlines()[:45]))
    runs: list[tuple[float, float]] = []
    result: Any = None
    for _ in range(args.repeat):
        result = None
        result, wall, cpu = _timed(call)
        runs.append((wall, cpu))
    rss_peak = _rss_mb()
    full = engine.outcome(result, bars)
    meta = {
        "engine": engine.name,
        "version": engine.version(),
        "bars": len(bars["close"]),
        "compare_bars": compare_bars,
        "runs": runs,
        "first_call": [first_wall, first_cpu],
        "rss_imports_mb": rss_imports,
        "rss_loaded_mb": rss_loaded,
        "rss_peak_mb": rss_peak,
        "final_equity": {"small": small.final_equity, "full": full.final_equity},
        "n_trades": len(full.entry_bar),
        "notes": sorted({*small.notes, *full.notes}),
    }
    arrays: dict[str, Any] = {
        f"{part}_{k}": v
        for part, o in (("small", small), ("full", full))
        for k, v in vars(o).items()
        if isinstance(v, np.ndarray)
    }
    np.savez(args.out, meta=np.array(json.dumps(meta)), **arrays)


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Fill:
    bar: int
    kind: str  # "entry" | "exit"
    price: float


def fills(o: Outcome) -> list[Fill]:
    out = [Fill(int(b), "entry", float(p)) for b, p in zip(o.entry_bar, o.entry_price, strict=True)]
    out += [
        Fill(int(b), "exit", float(p))
        for b, p in zip(o.exit_bar, o.exit_price, strict=True)
        if b >= 0
    ]
    return sorted(out, key=lambda f: (f.bar, f.kind))


def signals_from_sign(sign: npt.NDArray[Any]) -> tuple[npt.NDArray[np.bool_], ...]:
    """Entry / exit flags per bar from a sign (or a float d; NaN compares false)."""
    n = sign.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    if n > SLOW:
        now, before = sign[SLOW:], sign[SLOW - 1 : -1]
        entry[SLOW:] = (now > 0) & (before <= 0)
        exit_[SLOW:] = (now < 0) & (before >= 0)
    return entry, exit_


def exact_d(close: FloatArray, t: int) -> Fraction:
    """SMA(close, 10) − SMA(close, 30) at bar ``t`` in exact rational arithmetic."""
    window = [Fraction(x) for x in close[t - SLOW + 1 : t + 1].tolist()]
    return sum(window[-FAST:], Fraction(0)) / FAST - sum(window, Fraction(0)) / SLOW


def signal_causes(close: FloatArray, exact: npt.NDArray[np.int8], d: FloatArray) -> dict[int, str]:
    """Bars where a peer's float d gives another entry/exit flag than the exact sign, with
    the cause: the bar (t or t−1) whose sign the peer got wrong, the exact d there and whether
    it is 0 (a tie: fast and slow SMA equal) or a nonzero value the rounding flipped."""
    ours = signals_from_sign(exact)
    theirs = signals_from_sign(d)
    peer_sign = np.sign(np.nan_to_num(d)).astype(np.int8)
    out: dict[int, str] = {}
    differ = (ours[0] != theirs[0]) | (ours[1] != theirs[1])
    for t in np.flatnonzero(differ).tolist():
        what = []
        for j in (t - 1, t):
            if peer_sign[j] != exact[j]:
                kind = "an exact tie" if exact[j] == 0 else "rounding flipped the sign"
                what.append(
                    f"bar {j}: exact d = {float(exact_d(close, j)):.3e}, "
                    f"peer d = {d[j]:.3e} ({kind})"
                )
        flags = ["entry" if ours[0][t] else "", "exit" if ours[1][t] else ""]
        peer = ["entry" if theirs[0][t] else "", "exit" if theirs[1][t] else ""]
        out[t] = (
            f"signal bar {t}: mftbot {'/'.join(f for f in flags if f) or 'none'}, peer "
            f"{'/'.join(f for f in peer if f) or 'none'}; " + "; ".join(what)
        )
    return out


def sign_check(close: FloatArray, exact: npt.NDArray[np.int8], name: str, d: FloatArray) -> str:
    """One line: bars where ``d``'s sign differs from the exact one, and flags changed."""
    ours, theirs = signals_from_sign(exact), signals_from_sign(d)
    valid = np.arange(close.shape[0]) >= SLOW - 1
    wrong = np.flatnonzero(valid & (np.sign(np.nan_to_num(d)).astype(np.int8) != exact))
    flags = int(((ours[0] != theirs[0]) | (ours[1] != theirs[1])).sum())
    ties = int((exact[valid] == 0).sum())
    shown = ", ".join(str(b) for b in wrong[:8].tolist())
    return (
        f"  {name:<28} sign wrong at {len(wrong)} bars{f' ({shown})' if shown else ''}, "
        f"{flags} entry/exit flags differ (exact ties in the series: {ties})"
    )


def compare(
    name: str,
    ref: Outcome,
    other: Outcome,
    close: FloatArray,
    exact: npt.NDArray[np.int8],
    times: IntArray,
) -> list[str]:
    """Lines describing how ``other``'s trades differ from the reference's, each explained."""
    lines: list[str] = []
    a, b = fills(ref), fills(other)
    set_a, set_b = set(a), set(b)
    only_ref = [f for f in a if f not in set_b]
    only_other = [f for f in b if f not in set_a]
    causes = signal_causes(close, exact, other.d) if other.d is not None else {}
    closed_ref = int((ref.exit_bar >= 0).sum())
    closed_other = int((other.exit_bar >= 0).sum())
    header = (
        f"{name}: {closed_other} closed trades (mftbot {closed_ref}), "
        f"{len(b) - len(only_other)} of {len(b)} fills identical (bar and price)"
    )
    if causes:
        n_tie = sum("exact tie" in c for c in causes.values())
        header += (
            f"; {len(causes)} signal bars differ ({n_tie} at exact ties, "
            f"{len(causes) - n_tie} rounding)"
        )
    lines.append(header)
    paired: set[Fill] = set()
    listed = 0
    for f in sorted(only_ref + only_other, key=lambda f: (f.bar, f.kind)):
        if f in paired:
            continue
        listed += 1
        if listed > MAX_LISTED:
            rest = len(set(only_ref + only_other) - paired)
            lines.append(f"  ... and {rest} more differing fills")
            break
        mine = f in set_a
        pool = only_other if mine else only_ref
        near = [g for g in pool if g.kind == f.kind and abs(g.bar - f.bar) == 1 and g not in paired]
        when = pd.Timestamp(int(times[f.bar]), unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M")
        window = range(f.bar - 2, f.bar + 1)
        if near:
            g = near[0]
            paired.update((f, g))
            ours, theirs = (f, g) if mine else (g, f)
            window = range(min(f.bar, g.bar) - 2, max(f.bar, g.bar))
            what = (
                f"{f.kind} one bar apart: mftbot bar {ours.bar} @ {ours.price:g}, "
                f"{name} bar {theirs.bar} @ {theirs.price:g} ({when})"
            )
        else:
            paired.add(f)
            who = "only mftbot" if mine else f"only {name}"
            what = f"{f.kind} at bar {f.bar} @ {f.price:g} ({when}): {who}"
        why = [causes[t] for t in window if t in causes]
        lines.append(f"  {what}")
        lines.extend(f"    cause: {c}" for c in why)
        if not why:
            lines.append("    cause: UNEXPLAINED (no signal difference at the bars before)")
    first_diff = min((f.bar for f in only_ref + only_other), default=None)
    m = min(len(ref.entry_bar), len(other.entry_bar))
    same = (ref.entry_bar[:m] == other.entry_bar[:m]).cumprod().astype(bool)
    if first_diff is not None:
        same &= ref.entry_bar[:m] < first_diff
    if same.any():
        rel = np.abs(other.qty[:m][same] / ref.qty[:m][same] - 1.0)
        lines.append(
            f"  qty: max relative difference {rel.max():.1e} over the "
            f"{int(same.sum())} trades before the first differing fill"
        )
    return lines


def compare_exact(ref: Outcome, other: Outcome) -> bool:
    return all(
        np.array_equal(getattr(ref, k), getattr(other, k), equal_nan=True)
        for k in ("entry_bar", "entry_price", "exit_bar", "exit_price", "qty", "fees")
    ) and (ref.final_equity == other.final_equity)


# --------------------------------------------------------------------------- parent


@dataclass
class Report:
    meta: dict[str, Any]
    small: Outcome
    full: Outcome

    @property
    def best_cpu(self) -> float:
        return float(min(c for _, c in self.meta["runs"]))

    @property
    def best_wall(self) -> float:
        return float(min(w for w, _ in self.meta["runs"]))

    @property
    def rate_cpu(self) -> float:
        return float(self.meta["bars"] / self.best_cpu)

    @property
    def rate_wall(self) -> float:
        return float(self.meta["bars"] / self.best_wall)


def read_report(path: Path) -> Report:
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        parts = {
            part: {k.removeprefix(f"{part}_"): z[k] for k in z.files if k.startswith(f"{part}_")}
            for part in ("small", "full")
        }

    def outcome(part: str) -> Outcome:
        a = parts[part]
        return Outcome(
            entry_bar=a["entry_bar"],
            entry_price=a["entry_price"],
            exit_bar=a["exit_bar"],
            exit_price=a["exit_price"],
            qty=a["qty"],
            fees=a["fees"],
            final_equity=float(meta["final_equity"][part]),
            d=a.get("d"),
        )

    return Report(meta, outcome("small"), outcome("full"))


def run_child(engine: str, arrays: Path, out: Path, args: argparse.Namespace) -> Report:
    repeat = args.slow_repeat if engine in SLOW_ENGINES else args.repeat
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        engine,
        "--arrays",
        str(arrays),
        "--out",
        str(out),
        "--repeat",
        str(repeat),
        "--compare-bars",
        str(args.compare_bars),
    ]
    if args.profile == engine:
        cmd.append("--child-profile")
    env = {**os.environ, "TQDM_DISABLE": "1"}
    print(f"running {engine} ...", flush=True)
    done = subprocess.run(cmd, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed (exit {done.returncode})")
    return read_report(out)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_table(reports: dict[str, Report]) -> None:
    print(
        f"\n{'engine':<15} {'bars/s CPU':>12} {'bars/s wall':>12} {'best CPU s':>10} "
        f"{'runs':>4} {'first call':>10} {'RSS MB: imports':>15} {'loaded':>6} {'peak':>5} "
        f"{'trades':>7} {'final equity':>13}"
    )
    for name, r in reports.items():
        m = r.meta
        print(
            f"{name:<15} {r.rate_cpu:>12,.0f} {r.rate_wall:>12,.0f} {r.best_cpu:>10.3f} "
            f"{len(m['runs']):>4} {m['first_call'][1]:>9.2f}s {m['rss_imports_mb']:>15.0f} "
            f"{m['rss_loaded_mb']:>6.0f} {m['rss_peak_mb']:>5.0f} {m['n_trades']:>7,} "
            f"{r.full.final_equity:>13.6g}"
        )
    small = next(iter(reports.values())).meta["compare_bars"]
    print(
        f"first call: CPU s of the first run (on the first {small:,} bars), one-off compilation "
        "included. RSS of the engine's own process: 'imports' = peak after its imports; "
        "'loaded' = resident with the bars and its input frame, before the timed runs; "
        "'peak' = the process's maximum."
    )
    for name, r in reports.items():
        for note in r.meta["notes"]:
            print(f"note ({name}): {note}")


def print_targets(reports: dict[str, Report]) -> None:
    bars = next(iter(reports.values())).meta["bars"]
    print(f"\ntargets ({bars:,} bars; CPU time, wall-clock in brackets):")
    fast = reports.get("mftbot-fast")
    step = reports.get("mftbot-step")
    if fast:
        print(
            f"  fast mode {fast.rate_cpu:,.0f} bars/s ({fast.rate_wall:,.0f}) "
            f">= {TARGET_FAST:,.0f}: {verdict(fast.rate_cpu >= TARGET_FAST)}"
        )
        for peer, target in (("backtesting.py", TARGET_VS_BT), ("vectorbt", TARGET_VS_VBT)):
            if peer in reports:
                p = reports[peer]
                ratio = fast.rate_cpu / p.rate_cpu
                print(
                    f"  fast / {peer} = {ratio:,.1f}x ({fast.rate_wall / p.rate_wall:,.1f}x) "
                    f">= {target:g}x: {verdict(ratio >= target)}"
                )
    if step:
        print(
            f"  step mode {step.rate_cpu:,.0f} bars/s ({step.rate_wall:,.0f}) "
            f">= {TARGET_STEP:,.0f}: {verdict(step.rate_cpu >= TARGET_STEP)}"
        )
    for name in ("mftbot-fast", "mftbot-step"):
        if name in reports:
            rss = reports[name].meta["rss_peak_mb"]
            ok = verdict(rss <= TARGET_RSS_MB)
            print(f"  {name} peak RSS {rss:.0f} MB <= {TARGET_RSS_MB:.0f} MB: {ok}")


def print_trades(reports: dict[str, Report], close: FloatArray, times: IntArray) -> None:
    """Every engine's trades against mftbot fast mode: on the first ``compare_bars`` bars
    (where they must agree) and on all bars (differences listed with their cause)."""
    if REFERENCE not in reports:
        return
    from mftbot.strategies.sma_cross import difference_sign

    ref = reports[REFERENCE]
    exact = difference_sign(close, FAST, SLOW)
    for part, n in (("small", ref.meta["compare_bars"]), ("full", ref.meta["bars"])):
        print(f"\ntrade lists on the first {n:,} bars (reference: mftbot fast mode):")
        for name, r in reports.items():
            ours, theirs = getattr(ref, part), getattr(r, part)
            if name == REFERENCE:
                continue
            if name == "mftbot-step":
                same = compare_exact(ours, theirs)
                print(
                    f"mftbot-step: {'identical' if same else 'DIFFERENT'} trades (bars, prices, "
                    f"quantities, fees) and final equity"
                )
                continue
            for line in compare(name, ours, theirs, close[:n], exact[:n], times[:n]):
                print(line)
    print(f"\nsign of d = SMA(10) − SMA(30) against the exact sign, all {len(close):,} bars:")
    for name, r in reports.items():
        if r.full.d is not None:
            print(sign_check(close, exact, f"{name} ({PEER_SMA[name]})", r.full.d))
    talib = importlib.import_module("talib")
    d_talib = talib.SMA(close, FAST) - talib.SMA(close, SLOW)
    print(sign_check(close, exact, "TA-Lib SMA (not an engine)", d_talib))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", help="recorded data folder (default: ../shared/data)")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--compare-bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the fast engines")
    parser.add_argument(
        "--slow-repeat", type=int, default=1, help="runs of mftbot step and backtesting.py"
    )
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--profile", metavar="ENGINE", help="cProfile one full run of ENGINE")
    parser.add_argument("--child-profile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--arrays", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINES:
            parser.error(f"unknown engine {e!r}; choose from {', '.join(ENGINES)}")
    if args.profile not in (None, *engines):
        parser.error(f"--profile needs one of the engines run: {', '.join(engines)}")
    if not 2 * SLOW < args.compare_bars <= args.bars:
        parser.error("need 60 < --compare-bars <= --bars")

    from mftbot.core.paths import require_data_dir

    path = require_data_dir(args.data) / SOURCE
    source = pd.read_feather(path)
    arrays = tiled(source, args.bars)
    times = np.asarray(arrays["time_ns"], dtype=np.int64)
    close = np.asarray(arrays["close"], dtype=np.float64)
    versions = {m: importlib.import_module(m).__version__ for m in ("numpy", "pandas", "numba")}
    print(
        f"sma_cross({FAST}, {SLOW}) on {args.bars:,} 1m bars: {path.name} ({len(source):,} bars) "
        "tiled forward / time-reversed; fee 0.1 %/side, fill at next open, all-in, "
        f"cash {CASH:,.0f}"
    )
    print(
        f"machine: {platform.machine()}, cpu_count={os.cpu_count()}, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; python {platform.python_version()}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
    )
    reports: dict[str, Report] = {}
    with tempfile.TemporaryDirectory(prefix="bench_backtest_") as tmp:
        data = Path(tmp) / "bars"
        save_bars(data, arrays)
        del arrays
        for engine in engines:
            reports[engine] = run_child(engine, data, Path(tmp) / f"{engine}.npz", args)
            print(f"  {reports[engine].meta['version']}: {reports[engine].rate_cpu:,.0f} bars/s")
    print_table(reports)
    print_targets(reports)
    print_trades(reports, close, times)


if __name__ == "__main__":
    main()
