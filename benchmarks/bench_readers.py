"""Reader throughput on the real recordings: messages/s per file, per market and in total.

Run: ``.venv/bin/python benchmarks/bench_readers.py [--data DIR] [--repeat N]``

For every Binance file (spot, USD-M, COIN-M) and the Bybit file it times reading the gz,
decoding every line into events (best of N runs, one core), then the full replay of each
market and of everything (read + decode + streaming merge). As a peer on the same data it
times the obvious stdlib reader: ``gzip`` + ``json.loads`` per line, building no events.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from mftbot.core.paths import require_data_dir
from mftbot.data.binance_recording import read_binance_recording
from mftbot.data.bybit_recording import read_bybit_orderbook
from mftbot.data.quality import BadInputLog
from mftbot.data.recordings import find_binance_recordings, find_bybit_recordings
from mftbot.data.replay import replay_files


def best_rate(run: Callable[[], int], repeat: int) -> tuple[int, float, float]:
    """(messages, best messages per wall second, best messages per CPU second).

    The CPU-time rate is the one-core cost, steadier than wall time on a shared machine.
    """
    wall = cpu = float("inf")
    count = 0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        count = run()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return count, count / wall, count / cpu


def count(events: Iterable[object]) -> int:
    n = 0
    for _ in events:
        n += 1
    return n


def read_file(path: Path, bad: BadInputLog) -> int:
    """Events in one recording, with the reader its format calls for."""
    if path.suffix == ".gz":
        return count(read_binance_recording(path, bad=bad))
    return count(read_bybit_orderbook(path, bad=bad))


def replay(paths: list[Path], bad: BadInputLog) -> int:
    """Events in the merged replay of ``paths``."""
    return count(replay_files(paths, bad=bad))


def stdlib_peer(paths: list[Path]) -> int:
    """gzip + json.loads per line: the baseline a plain Python reader gets."""
    n = 0
    for path in paths:
        with gzip.open(path, "rb") as fh:
            for line in fh:
                json.loads(line.partition(b" ")[2])
                n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="recorded data folder (../shared/data)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    args = parser.parse_args()
    data = require_data_dir(args.data)
    bad = BadInputLog()

    print(f"{'file':<44} {'messages':>9} {'msg/s wall':>11} {'msg/s cpu':>11}")
    markets: dict[str, list[Path]] = {}
    for market in ("spot", "usdm", "coinm"):
        files = [p for ps in find_binance_recordings(data, market).values() for p in ps]
        markets[market] = files
        for path in files:
            n, rate, cpu = best_rate(partial(read_file, path, bad), args.repeat)
            print(f"{path.parent.name + '/' + path.name:<44} {n:>9,} {rate:>11,.0f} {cpu:>11,.0f}")
    for paths in find_bybit_recordings(data).values():
        for path in paths:
            n, rate, cpu = best_rate(partial(read_file, path, bad), args.repeat)
            print(f"{path.parent.name + '/' + path.name:<44} {n:>9,} {rate:>11,.0f} {cpu:>11,.0f}")

    print()
    print(f"{'replay (read + decode + merge)':<44}")
    everything = [p for files in markets.values() for p in files]
    for name, files in [*markets.items(), ("all Binance files", everything)]:
        n, rate, cpu = best_rate(partial(replay, files, bad), args.repeat)
        print(f"{name:<44} {n:>9,} {rate:>11,.0f} {cpu:>11,.0f}")
    n, rate, cpu = best_rate(partial(stdlib_peer, everything), 1)
    print(f"{'peer: stdlib gzip + json.loads, no events':<44} {n:>9,} {rate:>11,.0f} {cpu:>11,.0f}")
    if bad.total:
        print(f"bad input: {dict(bad.counts)}")


if __name__ == "__main__":
    main()
