"""Indicator benchmark: the hand-written indicators next to comparable TA-Lib indicators.

Builds 1,000,000 one-minute bars by tiling a real series (forward, time-reversed, forward,
... so prices stay continuous), times each hand-written indicator and a TA-Lib peer doing
comparable work, and prints the ratio (target: ≤ 3). The rolling volume profile's peer is
the rolling sums of its 24 row volumes, the least TA-Lib needs for the histogram alone;
the session VWAP's is AD, a running sum over the same four price and volume inputs
(``docs/benchmarks.md`` says why). Lighter peers (the profile's running range and volume,
MAX + MIN + SUM; SMA of the close for the VWAP) are printed next to them for reference,
not held against the target. The TA-Lib wrappers' overhead over raw TA-Lib is printed
too. Times are the best CPU time of ``--repeat`` runs after one warm-up run (numba
compilation excluded), ours and the peer alternating.

    .venv/bin/python benchmarks/bench_indicators.py [--data DIR] [--bars N] [--repeat R]
                                                    [--steady-malloc] [--only TEXT]

glibc's allocator runs with its defaults unless ``--steady-malloc`` is given.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import talib

from mftbot.analysis import indicators as ind
from mftbot.core.paths import require_data_dir

SOURCE = "candles_filimonov/BTC_USDT-1m.feather"
MINUTE_NS = 60_000_000_000
TARGET = 3.0
PROFILE_WINDOW = 240
PROFILE_ROWS = 24
REFERENCE = "(reference)"
"""Marks a peer printed for context only: the ratio is not held against the target."""

Case = tuple[str, Callable[[], object], str, Callable[[], object]]


@dataclass(frozen=True)
class Series:
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    time_ns: np.ndarray


def tiled(frame: pd.DataFrame, bars: int) -> Series:
    """``bars`` bars: the series forward, then time-reversed (open and close swapped), ..."""
    cols = {c: frame[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")}
    backward = {
        "open": cols["close"][::-1],
        "high": cols["high"][::-1],
        "low": cols["low"][::-1],
        "close": cols["open"][::-1],
        "volume": cols["volume"][::-1],
    }
    reps = -(-bars // len(frame))
    parts = [cols if i % 2 == 0 else backward for i in range(reps)]
    out = {c: np.ascontiguousarray(np.concatenate([p[c] for p in parts])[:bars]) for c in cols}
    start = int(frame["date"].iloc[0].value)
    times = start + np.arange(bars, dtype=np.int64) * MINUTE_NS
    return Series(**out, time_ns=times)


def best_pair(
    ours: Callable[[], object], peer: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Best CPU times (this thread, user + system) in seconds of ``ours`` and ``peer``, run
    alternately ``repeat`` times each after one warm-up run. CPU time rather than wall time,
    so other processes on a shared machine do not inflate the longer calls."""
    ours()
    peer()
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for k, fn in enumerate((ours, peer)):
            t0 = time.thread_time()
            fn()
            best[k] = min(best[k], time.thread_time() - t0)
    return best[0], best[1]


def cases(s: Series) -> list[Case]:
    """(ours, call, TA-Lib peer, call) pairs, default parameters."""
    o, h, lo, c, v, t = s.open, s.high, s.low, s.close, s.volume, s.time_ns
    w, rows = PROFILE_WINDOW, PROFILE_ROWS
    return [
        (
            "supertrend(10, 3)",
            lambda: ind.supertrend(h, lo, c, 10, 3.0),
            "ATR(10) + SMA(10)",
            lambda: (talib.ATR(h, lo, c, 10), talib.SMA(c, 10)),
        ),
        (
            "ichimoku(9, 26, 52)",
            lambda: ind.ichimoku(h, lo, c),
            "MIDPRICE(9, 26, 52)",
            lambda: [talib.MIDPRICE(h, lo, p) for p in (9, 26, 52)],
        ),
        (
            "keltner(20, 2, 10)",
            lambda: ind.keltner(h, lo, c),
            "EMA(20) + ATR(10)",
            lambda: (talib.EMA(c, 20), talib.ATR(h, lo, c, 10)),
        ),
        (
            "vwap (session)",
            lambda: ind.vwap(h, lo, c, v, t),
            "AD: running sum over h, l, c, v",
            lambda: talib.AD(h, lo, c, v),
        ),
        (
            "vwap (session)",
            lambda: ind.vwap(h, lo, c, v, t),
            f"SMA(20) {REFERENCE}",
            lambda: talib.SMA(c, 20),
        ),
        (
            "rolling_vwap(20)",
            lambda: ind.rolling_vwap(h, lo, c, v, 20),
            "SUM(TYPPRICE·v) / SUM(v)",
            lambda: talib.SUM(talib.TYPPRICE(h, lo, c) * v, 20) / talib.SUM(v, 20),
        ),
        (
            "cmf(20)",
            lambda: ind.cmf(h, lo, c, v, 20),
            "ADOSC(3, 10)",
            lambda: talib.ADOSC(h, lo, c, v),
        ),
        ("vpt", lambda: ind.vpt(c, v), "OBV", lambda: talib.OBV(c, v)),
        ("nvi", lambda: ind.nvi(c, v), "OBV", lambda: talib.OBV(c, v)),
        (
            "realized_vol(20)",
            lambda: ind.realized_vol(c, 20),
            "STDDEV(20)",
            lambda: talib.STDDEV(c, 20),
        ),
        (
            "parkinson_vol(20)",
            lambda: ind.parkinson_vol(h, lo, 20),
            "STDDEV(20)",
            lambda: talib.STDDEV(c, 20),
        ),
        (
            "garman_klass_vol(20)",
            lambda: ind.garman_klass_vol(o, h, lo, c, 20),
            "STDDEV(20)",
            lambda: talib.STDDEV(c, 20),
        ),
        (
            "volume_profile (1 profile, 100 rows)",
            lambda: ind.volume_profile(h, lo, v, bins=100),
            "AD",
            lambda: talib.AD(h, lo, c, v),
        ),
        (
            f"rolling_volume_profile({w}, {rows})",
            lambda: ind.rolling_volume_profile(h, lo, v, window=w, bins=rows),
            f"{rows} x SUM({w}): row volumes",
            lambda: [talib.SUM(v, w) for _ in range(rows)],
        ),
        (
            f"rolling_volume_profile({w}, {rows})",
            lambda: ind.rolling_volume_profile(h, lo, v, window=w, bins=rows),
            f"MAX + MIN + SUM({w}) {REFERENCE}",
            lambda: (talib.MAX(h, w), talib.MIN(lo, w), talib.SUM(v, w)),
        ),
    ]


def wrapper_cases(s: Series) -> list[Case]:
    """Our TA-Lib wrappers (validation included) against raw TA-Lib."""
    h, lo, c, v = s.high, s.low, s.close, s.volume
    return [
        ("sma(20)", lambda: ind.sma(c, 20), "SMA(20)", lambda: talib.SMA(c, 20)),
        ("macd()", lambda: ind.macd(c), "MACD()", lambda: talib.MACD(c)),
        (
            "adx(14) (3 outputs)",
            lambda: ind.adx(h, lo, c),
            "ADX + PLUS_DI + MINUS_DI",
            lambda: (talib.ADX(h, lo, c), talib.PLUS_DI(h, lo, c), talib.MINUS_DI(h, lo, c)),
        ),
        ("mfi(14)", lambda: ind.mfi(h, lo, c, v), "MFI(14)", lambda: talib.MFI(h, lo, c, v)),
    ]


def run_table(title: str, rows: list[Case], repeat: int, *, target: bool) -> tuple[int, int]:
    """Time and print each pair; (pairs held against the target, pairs within it)."""
    print(f"\n{title}")
    print(f"{'ours':38s} {'ms':>8s}   {'TA-Lib peer':38s} {'ms':>8s} {'ratio':>6s}")
    counted = met = 0
    for name, ours, peer_name, peer in rows:
        t_ours, t_peer = best_pair(ours, peer, repeat)
        ratio = t_ours / t_peer
        flag = ""
        if target and REFERENCE not in peer_name:
            counted += 1
            met += ratio <= TARGET
            flag = "" if ratio <= TARGET else "  > target"
        print(
            f"{name:38s} {t_ours * 1e3:8.2f}   {peer_name:38s} {t_peer * 1e3:8.2f} "
            f"{ratio:6.2f}{flag}"
        )
    return counted, met


def steady_state_malloc() -> bool:
    """Keep freed memory in the process (glibc: mmap threshold 32 MiB, no trimming), as a
    long-running process would. Without it every fresh 8 MB array is page-faulted in again,
    which costs more than most of these indicators on a VM; it applies to both sides."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok_mmap = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)
        ok_trim = libc.mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError):
        return False
    return bool(ok_mmap and ok_trim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="recorded data folder")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--steady-malloc",
        action="store_true",
        help="keep freed memory in the process (glibc mallopt), as a long-running bot does",
    )
    parser.add_argument(
        "--only", default="", help="run only the pairs whose indicator name contains TEXT"
    )
    args = parser.parse_args()
    if args.bars < PROFILE_WINDOW or args.repeat < 1:
        parser.error(f"--bars must be >= {PROFILE_WINDOW} and --repeat >= 1")
    tuned = steady_state_malloc() if args.steady_malloc else False
    path = require_data_dir(args.data) / SOURCE
    frame = pd.read_feather(path)
    series = tiled(frame, args.bars)
    print(f"{args.bars:,} bars tiled from {path.name} ({len(frame):,} rows); best of {args.repeat}")
    print(f"TA-Lib {talib.__version__}, numpy {np.__version__}; CPU time per call")
    print("malloc: " + ("steady state (no trim)" if tuned else "glibc defaults"))
    selected = [case for case in cases(series) if args.only in case[0]]
    counted, met = run_table(
        "hand-written vs comparable TA-Lib indicator", selected, args.repeat, target=True
    )
    print(f"target (<= {TARGET:g}x) met by {met} of {counted}")
    wrappers = [case for case in wrapper_cases(series) if args.only in case[0]]
    if wrappers:
        run_table("TA-Lib wrappers vs raw TA-Lib", wrappers, args.repeat, target=False)


if __name__ == "__main__":
    main()
