"""Order-book feature benchmark: sampling, batch extraction rate, incremental latency.

Usage::

    .venv/bin/python benchmarks/bench_book_features.py [--data DIR] [--repeat 5]

Data: the continuous Binance recordings under ``DIR/hftbacktest`` — spot BTC/ETH USDT
(2024-08-08 + 09), USD-M BTC/ETH USDT (2024-07-18 + 19), COIN-M BTC/ETH perpetuals
(2024-08-08 + 09) — each set replayed on its own.

(1) Sampling: replay + venue sync + :class:`BookSampler` (top 20 levels and the interval
    aggregates), events/s, at a 1 s and a 100 ms cadence.
(2) Batch: :func:`orderbook_features_batch` over each instrument's sampled arrays, in
    snapshots (samples) per second; best of ``--repeat``.
(3) Incremental: :meth:`OrderBookFeatureState.update` timed per call over every sample of
    every instrument (rows built beforehand, as the live sampler emits them): p50/p99 µs.

Targets (issue 3, for all 110 features): batch >= 20,000 snapshots/s, incremental p99 <=
300 µs. The 50 book features should take a small share of that.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mftbot.core.logging import configure_logging
from mftbot.core.paths import require_data_dir
from mftbot.data.replay import replay_files
from mftbot.features.orderbook import OrderBookFeatureState, orderbook_features_batch
from mftbot.features.sampling import SampledBook, SamplerConfig, SampleRow, sample_events

SETS = {
    "spot": ("binance_spot", ("btcusdt_2024080", "ethusdt_2024080")),
    "usdm": ("binance_usdm", ("btcusdt_2024071", "ethusdt_2024071")),
    "coinm": ("binance_coinm", ("btcusd_perp_2024080", "ethusd_perp_2024080")),
}
CADENCES = {"1 s": 1_000_000_000, "100 ms": 100_000_000}


def _files(root: Path, folder: str, prefixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in (root / folder).glob("*.gz") if p.name.startswith(prefixes))


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best (wall, CPU) seconds of ``repeat`` runs, GC off while timing."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall = min(wall, time.perf_counter() - w0)
            cpu = min(cpu, time.process_time() - c0)
        finally:
            gc.enable()
    return wall, cpu


def sample_all(root: Path, cadence_ns: int) -> tuple[list[SampledBook], int, float, float]:
    """Sample every set: the books, the event count, and wall/CPU seconds."""
    books: list[SampledBook] = []
    events = 0
    wall = cpu = 0.0
    for folder, prefixes in SETS.values():
        stream = list(replay_files(_files(root, folder, prefixes)))
        events += len(stream)
        w0, c0 = time.perf_counter(), time.process_time()
        books.extend(sample_events(stream, SamplerConfig(cadence_ns=cadence_ns)).values())
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
    return books, events, wall, cpu


def incremental_latency(books: list[SampledBook]) -> np.ndarray:
    """Per-call nanoseconds of every update, over every instrument."""
    times: list[int] = []
    clock = time.perf_counter_ns
    for book in books:
        rows: list[SampleRow] = [book.row(i) for i in range(len(book))]
        state = OrderBookFeatureState(depth=book.depth, cadence_ns=book.cadence_ns)
        update = state.update
        gc.collect()
        gc.disable()
        try:
            for row in rows:
                t0 = clock()
                update(row)
                times.append(clock() - t0)
        finally:
            gc.enable()
    return np.array(times, dtype=np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="recorded data folder")
    parser.add_argument("--repeat", type=int, default=5, help="repeats (best is kept)")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    root = require_data_dir(args.data) / "hftbacktest"
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, {platform.machine()}, "
        f"cpu_count={os.cpu_count()}"
    )
    for label, cadence in CADENCES.items():
        books, events, s_wall, s_cpu = sample_all(root, cadence)
        n = sum(len(b) for b in books)
        print(f"\n== cadence {label}: {len(books)} instruments, {n:,} samples, {events:,} events")
        print(
            f"(1) sampling: {events / s_cpu:,.0f} events/s per CPU second "
            f"({events / s_wall:,.0f} wall), {s_cpu:.2f} s CPU"
        )
        first = books[0]  # compile / load the numba kernels before timing
        orderbook_features_batch(first.head(min(len(first), 200)))
        OrderBookFeatureState(depth=first.depth, cadence_ns=first.cadence_ns).update(first.row(0))

        def batch(books: list[SampledBook] = books) -> None:
            for book in books:
                orderbook_features_batch(book)

        wall, cpu = _best(batch, args.repeat)
        print(
            f"(2) batch: {n / cpu:,.0f} snapshots/s per CPU second ({n / wall:,.0f} wall); "
            f"{cpu / n * 1e6:.2f} µs/snapshot"
        )
        ns = incremental_latency(books)
        p50, p90, p99 = np.percentile(ns, [50, 90, 99]) / 1000
        print(
            f"(3) incremental: p50 {p50:.1f} µs, p90 {p90:.1f} µs, p99 {p99:.1f} µs, "
            f"max {ns.max() / 1000:.0f} µs over {ns.size:,} updates"
        )


if __name__ == "__main__":
    main()
