"""Strategy benchmark: the consensus of every candle strategy over 1,000,000 bars in fast mode,
and the per-bar signal latency of the full strategy set in step mode, each beside a peer.

    .venv/bin/python benchmarks/bench_strategies.py [--data DIR] [--bars N] [--window W]
        [--closes K] [--repeat R] [--skip-fast | --skip-step] [--json PATH]

**Fast mode.** ``candles_filimonov/BTC_USDT-1m.feather`` (130,708 real 1m bars) tiled to
``N`` bars as ``bench_backtest.py`` does (forward, time-reversed, forward, ...; times
regenerated at 1-minute spacing). Timed: ``backtest("consensus", df, mode="fast")`` (default
consensus: the six candle strategies vote, weighted, adaptive weights on), and each member
alone through the same call. Peer in the same run: the TA-Lib indicators those strategies are
built from (ROC, RSI, SMA of volume, SAR, ADX, ATR ×2, rolling MAX / MIN ×3 of Ichimoku,
rolling sums of the VWAP) called directly on the same arrays: the floor a strategy set built
on TA-Lib would pay for its indicators alone, before any signal logic or backtest.
Best of ``--repeat`` runs, CPU time (user + system) and wall time.

**Step mode.** The live path calls ``populate`` on the rolling window at each closed bar and
reads the last row (``engine/signals.py`` ``RollingSignals``). The series: the BTC/USDT
Binance spot recording (``hftbacktest``) replayed through a paper session
(``mftbot.backtest.book``) into 1-second candles with their real book columns (imbalance,
depth, flows, walls, …), tiled to the longest window plus ``K`` bars. At each of ``K``
closed bars every strategy of the set (the six candle strategies and the four order-book
ones, when registered) runs ``populate`` on the last ``W`` bars; the time of the ten
together is one sample. Also timed per bar: the consensus alone on the same window, each
strategy on its own ``lookback`` window (what the engine really passes), ``mtf`` (1s base)
on its lookback window, and the TA-Lib peer on the window. Seed target: consensus < 50 ms;
ours: p99 ≤ 2 ms for the ten on a 500-bar window. Each sample is CPU time of the thread
(``thread_time_ns``, so other work on a shared machine does not count); the wall time of the
ten per bar is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import talib

from mftbot.analysis.registry import CandleArrays
from mftbot.backtest.api import backtest
from mftbot.core.paths import find_data_dir
from mftbot.data.candles import read_candles
from mftbot.data.recordings import find_binance_recordings
from mftbot.strategies import Strategy, get_strategy, list_strategies, strategy_spec

FloatArray = npt.NDArray[np.float64]
SOURCE = "candles_filimonov/BTC_USDT-1m.feather"
MINUTE_NS = 60_000_000_000
SECOND_NS = 1_000_000_000
OHLCV = ("open", "high", "low", "close", "volume")
CANDLE_SET = (
    "momentum",
    "sar_wave",
    "supertrend_follow",
    "value_area",
    "ichimoku_cloud",
    "vwap_bands",
)
BOOK_SET = ("imbalance", "volume_flow", "liquidity_zone", "smart_money")
SEED_TARGET_MS = 50.0
TARGET_P99_MS = 2.0


# --------------------------------------------------------------------------- data


def tiled(frame: pd.DataFrame, bars: int, step_ns: int) -> dict[str, Any]:
    """``bars`` bars: the series forward, time-reversed (open and close swapped), forward, …;
    times regenerated at ``step_ns`` from the first bar; ``extra`` columns tiled alike."""
    cols = {c: frame[c].to_numpy(np.float64) for c in frame.columns}
    backward = {c: v[::-1] for c, v in cols.items()}
    if "open" in cols:
        backward["open"], backward["close"] = cols["close"][::-1], cols["open"][::-1]
    reps = -(-bars // len(frame))
    parts = [cols if i % 2 == 0 else backward for i in range(reps)]
    out: dict[str, Any] = {
        c: np.ascontiguousarray(np.concatenate([p[c] for p in parts])[:bars]) for c in cols
    }
    start = int(frame.index[0].value)
    out["time_ns"] = start + np.arange(bars, dtype=np.int64) * step_ns
    return out


def candle_frame(arrays: Mapping[str, Any]) -> pd.DataFrame:
    """A candle DataFrame (UTC open-time index) from tiled arrays."""
    index = pd.DatetimeIndex(pd.to_datetime(arrays["time_ns"], unit="ns", utc=True), name="date")
    return pd.DataFrame({c: arrays[c] for c in OHLCV}, index=index)


def book_series(data: Path) -> CandleArrays:
    """1-second BTC/USDT candles with every book column, from the recorded spot stream."""
    from mftbot.backtest.book import backtest_book

    files = find_binance_recordings(data, "spot").get("BTC/USDT")
    if not files:
        raise SystemExit(f"no Binance spot BTC/USDT recording under {data}")
    result = backtest_book("imbalance", [str(f) for f in files], "BTC/USDT", timeframe="1s")
    return result.candles["BTC/USDT"]


def book_frame(candles: CandleArrays) -> pd.DataFrame:
    """The candles and their book columns as one frame (time index)."""
    index = pd.DatetimeIndex(pd.to_datetime(candles.time_ns, unit="ns", utc=True))
    data = {c: getattr(candles, c) for c in OHLCV}
    data.update({k: np.asarray(v, dtype=np.float64) for k, v in candles.extra.items()})
    return pd.DataFrame(data, index=index)


def arrays_of(columns: Mapping[str, Any], rows: slice) -> CandleArrays:
    """CandleArrays of ``rows`` (book columns in ``extra``)."""
    extra = {k: v[rows] for k, v in columns.items() if k not in (*OHLCV, "time_ns")}
    return CandleArrays.from_arrays(
        open=columns["open"][rows],
        high=columns["high"][rows],
        low=columns["low"][rows],
        close=columns["close"][rows],
        volume=columns["volume"][rows],
        time_ns=columns["time_ns"][rows],
        extra=extra,
    )


# --------------------------------------------------------------------------- peer


def talib_indicators(a: CandleArrays) -> None:
    """The TA-Lib indicators the six candle strategies are built from, on ``a``."""
    h, lo, c, v = a.high, a.low, a.close, a.volume
    talib.ROC(c, 12)
    talib.RSI(c, 14)
    talib.SMA(v, 20)
    talib.SAR(h, lo, 0.02, 0.2)
    talib.ADX(h, lo, c, 14)
    talib.ATR(h, lo, c, 14)
    talib.ATR(h, lo, c, 10)
    for n in (9, 26, 52):
        talib.MAX(h, n)
        talib.MIN(lo, n)
    talib.SUM(c * v, 240)
    talib.SUM(v, 240)


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class Timed:
    """Best CPU and wall seconds of repeated calls."""

    cpu: float
    wall: float


def best_of(fn: Callable[[], object], repeat: int) -> Timed:
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return Timed(min(cpu), min(wall))


def _runner(name: str, df: pd.DataFrame) -> Callable[[], object]:
    return lambda: backtest(name, df, fee=0.001, mode="fast")


def fast_part(data: Path, bars: int, repeat: int) -> dict[str, Any]:
    frame = read_candles(data / SOURCE)
    arrays = tiled(frame[list(OHLCV)], bars, MINUTE_NS)
    df = candle_frame(arrays)
    candles = CandleArrays.from_arrays(**{c: arrays[c] for c in (*OHLCV, "time_ns")})
    out: dict[str, Any] = {"bars": bars, "runs": {}}
    names = ["consensus", *CANDLE_SET] if "consensus" in list_strategies() else [*CANDLE_SET]
    for name in names:
        first = time.perf_counter()
        result = backtest(name, df.iloc[:5000], fee=0.001, mode="fast")  # compile / warm
        warm = time.perf_counter() - first
        timed = best_of(_runner(name, df), repeat)
        result = backtest(name, df, fee=0.001, mode="fast")
        out["runs"][name] = {
            "cpu_s": timed.cpu,
            "wall_s": timed.wall,
            "bars_per_s_cpu": bars / timed.cpu,
            "trades": result.metrics["trades"],
            "first_call_5000_bars_s": warm,
        }
        print(
            f"fast {name:18s} {timed.cpu:7.2f} s CPU {timed.wall:7.2f} s wall "
            f"{bars / timed.cpu / 1e6:6.2f} M bars/s  trades {result.metrics['trades']}",
            flush=True,
        )
    peer = best_of(lambda: talib_indicators(candles), repeat)
    out["talib_indicators"] = {"cpu_s": peer.cpu, "wall_s": peer.wall}
    print(f"fast talib indicators    {peer.cpu:7.2f} s CPU {peer.wall:7.2f} s wall", flush=True)
    return out


def percentiles(samples_ns: Sequence[int]) -> dict[str, float]:
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "mean_ms": float(ms.mean()),
    }


def step_part(data: Path, window: int, closes: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    series = book_series(data)
    replay_s = time.perf_counter() - t0
    frame = book_frame(series)
    registered = set(list_strategies())
    members = [n for n in (*CANDLE_SET, *BOOK_SET) if n in registered]
    strategies: dict[str, Strategy] = {n: get_strategy(n) for n in members}
    consensus = get_strategy("consensus") if "consensus" in registered else None
    mtf = get_strategy("mtf", {"base_timeframe": "1s"}) if "mtf" in registered else None
    longest = max([window, *(s.lookback for s in strategies.values())])
    start = max(longest, mtf.lookback if mtf is not None else 0)
    columns = tiled(frame, start + closes, SECOND_NS)
    # warm every code path (numba compilation) before timing
    warm = arrays_of(columns, slice(0, window))
    for s in strategies.values():
        s.populate(warm)
    if consensus is not None:
        consensus.populate(warm)
    if mtf is not None:
        mtf.populate(arrays_of(columns, slice(0, mtf.lookback)))
    talib_indicators(warm)
    total: list[int] = []
    total_wall: list[int] = []
    own: list[int] = []
    each: dict[str, list[int]] = {n: [] for n in members}
    cons: list[int] = []
    peer: list[int] = []
    multi: list[int] = []
    clock = time.thread_time_ns  # CPU time of this thread: the machine may be shared
    wall = time.perf_counter_ns
    for t in range(start, start + closes):
        w = arrays_of(columns, slice(t - window + 1, t + 1))
        bar = 0
        w0 = wall()
        for name, strategy in strategies.items():
            s0 = clock()
            strategy.populate(w).flag_at(-1)
            dt = clock() - s0
            each[name].append(dt)
            bar += dt
        total_wall.append(wall() - w0)
        total.append(bar)
        lb = 0
        for strategy in strategies.values():
            rows = slice(max(t - strategy.lookback + 1, 0), t + 1)
            wl = arrays_of(columns, rows)
            s0 = clock()
            strategy.populate(wl).flag_at(-1)
            lb += clock() - s0
        own.append(lb)
        if consensus is not None:
            s0 = clock()
            consensus.populate(w).flag_at(-1)
            cons.append(clock() - s0)
        if mtf is not None:
            wm = arrays_of(columns, slice(max(t - mtf.lookback + 1, 0), t + 1))
            s0 = clock()
            mtf.populate(wm).flag_at(-1)
            multi.append(clock() - s0)
        s0 = clock()
        talib_indicators(w)
        peer.append(clock() - s0)
    out: dict[str, Any] = {
        "window": window,
        "closes": closes,
        "series_bars": len(series),
        "replay_s": replay_s,
        "strategies": members,
        "set_on_window": percentiles(total),
        "set_on_window_wall": percentiles(total_wall),
        "set_on_own_lookback": percentiles(own),
        "each_on_window": {n: percentiles(v) for n, v in each.items()},
        "talib_on_window": percentiles(peer),
    }
    if cons:
        out["consensus_on_window"] = percentiles(cons)
    if multi and mtf is not None:
        out["mtf_on_lookback"] = {"bars": mtf.lookback, **percentiles(multi)}
    s = out["set_on_window"]
    print(
        f"step {len(members)} strategies on {window} bars: p50 {s['p50_ms']:.3f} ms, "
        f"p99 {s['p99_ms']:.3f} ms, max {s['max_ms']:.3f} ms (target p99 <= {TARGET_P99_MS} ms)"
    )
    s = out["set_on_window_wall"]
    print(f"step same set, wall clock: p50 {s['p50_ms']:.3f} p99 {s['p99_ms']:.3f} ms")
    s = out["set_on_own_lookback"]
    print(f"step same set on own lookback windows: p50 {s['p50_ms']:.3f} p99 {s['p99_ms']:.3f} ms")
    if cons:
        s = out["consensus_on_window"]
        print(
            f"step consensus on {window} bars: p50 {s['p50_ms']:.3f} ms, p99 "
            f"{s['p99_ms']:.3f} ms (seed target < {SEED_TARGET_MS:g} ms)"
        )
    if "mtf_on_lookback" in out:
        s = out["mtf_on_lookback"]
        print(
            f"step mtf (1s base: 5s, 15s, 1m) on its {s['bars']}-bar lookback window: "
            f"p50 {s['p50_ms']:.3f} p99 {s['p99_ms']:.3f} ms"
        )
    s = out["talib_on_window"]
    print(f"step talib indicators on {window} bars: p50 {s['p50_ms']:.3f} p99 {s['p99_ms']:.3f} ms")
    for name, stats in out["each_on_window"].items():
        kind = strategy_spec(name).kind
        print(f"    {name:18s} {kind:9s} p50 {stats['p50_ms']:.3f} p99 {stats['p99_ms']:.3f} ms")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="recorded data folder")
    parser.add_argument("--bars", type=int, default=1_000_000, help="fast-mode bars")
    parser.add_argument("--window", type=int, default=500, help="step-mode window (bars)")
    parser.add_argument("--closes", type=int, default=2000, help="step-mode closed bars timed")
    parser.add_argument("--repeat", type=int, default=3, help="fast-mode repeats (best of)")
    parser.add_argument("--skip-fast", action="store_true", help="only the step part")
    parser.add_argument("--skip-step", action="store_true", help="only the fast part")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.bars < 10_000 or args.window < 100 or args.closes < 100 or args.repeat < 1:
        parser.error("need --bars >= 10000, --window >= 100, --closes >= 100, --repeat >= 1")
    data = find_data_dir(args.data)
    if data is None:
        parser.error("no recorded data folder: pass --data or set MFTBOT_DATA_DIR")
    print(
        f"python {platform.python_version()} numpy {np.__version__} talib {talib.__version__} "
        f"on {platform.machine()} ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    report: dict[str, Any] = {}
    if not args.skip_fast:
        report["fast"] = fast_part(data, args.bars, args.repeat)
    if not args.skip_step:
        report["step"] = step_part(data, args.window, args.closes)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
