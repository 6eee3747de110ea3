"""Order-book benchmark: book application rate and end-to-end replay throughput.

Usage::

    .venv/bin/python benchmarks/bench_book.py [--data DIR] [--repeat 3] [--profile]

(1) Book application: every recording under ``DIR`` is decoded into memory first; only the
    apply loop is timed, on one core. Figures in level updates per second for

    * ``sync``: the real path, :class:`BookSynchronizer` per instrument (sequence checks, level
      validation, crossed-book check after every delta, ticker-check hook off);
    * ``book``: :class:`OrderBook.apply_delta` alone on the deltas the sync accepted;
    * ``peer``: the same deltas applied to a plain ``sortedcontainers.SortedDict`` per side
      (the usual Python L2 book), reading best bid/ask after each message like the sync does.

(2) End-to-end: read + decode + merge + apply (``mftbot book replay`` without output) over all
    files at once, in messages (events yielded by the readers) per second. First the
    reference path (``replay_books(..., fast=False)``: Python events routed by
    ``BookSet.consume``), built up stage by stage: read + decode only, + merge, + books, + the
    bookTicker check; the cost of each stage per message is the difference of CPU times.
    Then the compiled fast path that ``mftbot book replay`` runs (``replay_books``, same
    results), without and with the bookTicker check, and its speed-up over the reference in
    the same run. ``--profile`` adds a cProfile of the fast path.

Every figure is the best of ``--repeat`` runs, single-threaded, with the cyclic GC paused
while timing (as ``mftbot book replay`` runs). The first figure is per CPU second of this
process (``time.process_time``: the one-core cost, steadier on a shared machine), the second
per wall second.

Targets: >= 1,000,000 level updates/s (1, sync) and >= 300,000 messages/s (2, CLI path).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeAlias

from sortedcontainers import SortedDict

from mftbot.cli.book_cmd import replay_books
from mftbot.core.logging import configure_logging
from mftbot.core.paths import require_data_dir
from mftbot.data.quality import BadInputLog
from mftbot.data.recordings import Recording, discover_recordings
from mftbot.data.replay import merge_streams, open_recording, replay_files
from mftbot.domain.book_sync import BookSet, make_synchronizer
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent
from mftbot.domain.orderbook import OrderBook

BookEvent: TypeAlias = BookSnapshot | BookDelta


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best (wall, CPU) seconds of ``repeat`` runs, GC off while timing.

    CPU time is the one-core cost, steadier than wall time on a shared machine.
    """
    wall = cpu = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall = min(wall, time.perf_counter() - start)
            cpu = min(cpu, time.process_time() - start_cpu)
        finally:
            gc.enable()
    return wall, cpu


def _book_events(rec: Recording) -> list[BookEvent]:
    bad = BadInputLog()
    merged = merge_streams([open_recording(p, bad=bad) for p in rec.files])
    return [e for e in merged if isinstance(e, BookSnapshot | BookDelta)]


def _sync_all(streams: list[tuple[Recording, list[BookEvent]]]) -> int:
    levels = 0
    for rec, events in streams:
        sync = make_synchronizer(rec.venue, rec.symbol)
        on_event = sync.on_event
        for event in events:
            on_event(event)
        levels += sync.stats.level_updates
    return levels


def _accepted(rec: Recording, events: list[BookEvent]) -> list[BookEvent]:
    """The snapshot and deltas a synchronizer applied, in the order it applied them."""
    applied: list[int] = []
    sync = make_synchronizer(rec.venue, rec.symbol, on_update=lambda b: applied.append(b.update_id))
    for event in events:
        sync.on_event(event)
    ids = set(applied)
    snaps = [e for e in events if isinstance(e, BookSnapshot) and e.update_id == applied[0]]
    return snaps[:1] + [e for e in events if isinstance(e, BookDelta) and e.update_id in ids]


def _book_only(accepted: list[list[BookEvent]]) -> None:
    for events in accepted:
        book = OrderBook()
        for event in events:
            if isinstance(event, BookDelta):
                book.apply_delta(event.bids, event.asks, update_id=event.update_id)
            else:
                book.apply_snapshot(event.bids, event.asks, update_id=event.update_id)


def _peer_sorteddict(accepted: list[list[BookEvent]]) -> None:
    for events in accepted:
        bids: SortedDict = SortedDict()
        asks: SortedDict = SortedDict()
        for event in events:
            if isinstance(event, BookSnapshot):
                bids.clear()
                asks.clear()
            for side, levels in ((bids, event.bids), (asks, event.asks)):
                for price, size in levels:
                    if size == 0.0:
                        side.pop(price, None)
                    else:
                        side[price] = size
            if bids and asks:
                bids.peekitem(-1)
                asks.peekitem(0)


def _consume(events: Iterable[MarketEvent]) -> int:
    count = 0
    for _ in events:
        count += 1
    return count


def _read_only(files: list[Path]) -> int:
    bad = BadInputLog()
    return sum(_consume(open_recording(p, bad=bad)) for p in files)


def _read_merge(files: list[Path]) -> int:
    return _consume(replay_files(files, bad=BadInputLog()))


def _full(files: list[Path]) -> int:
    return replay_books(files, bad=BadInputLog(), fast=False).events


def _full_no_tickers(files: list[Path]) -> int:
    return replay_books(files, books=BookSet(check_tickers=False), fast=False).events


def _fast(files: list[Path]) -> int:
    return replay_books(files, bad=BadInputLog()).events


def _fast_no_tickers(files: list[Path]) -> int:
    return replay_books(files, books=BookSet(check_tickers=False)).events


def _machine() -> str:
    """CPU model, cores and load: what the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"machine: {model}, cpu_count={os.cpu_count()}, usable cores={affinity}, "
        f"load average {load}; python {sys.version.split()[0]}; single-threaded runs"
    )


_TARGET_LEVELS = 1_000_000
_TARGET_MESSAGES = 300_000


def _verdict(rate: float, target: int) -> str:
    return "met" if rate >= target else f"missed by {target / rate:.2f}x"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="recorded data folder (default: ../shared/data)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best kept")
    parser.add_argument("--profile", action="store_true", help="cProfile the end-to-end run")
    args = parser.parse_args(argv)
    configure_logging(level="ERROR")  # the USD-M 0719 -> 0808 jump resyncs once per symbol

    recordings = discover_recordings(require_data_dir(args.data))
    files = [f for rec in recordings for f in rec.files]
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    print(_machine())
    print(f"data: {len(recordings)} recordings, {len(files)} files")

    start = time.perf_counter()
    streams = [(rec, _book_events(rec)) for rec in recordings]
    decode_s = time.perf_counter() - start
    n_events = sum(len(ev) for _, ev in streams)
    levels = _sync_all(streams)
    accepted = [_accepted(rec, ev) for rec, ev in streams]
    accepted_levels = sum(len(e.bids) + len(e.asks) for ev in accepted for e in ev)
    print(f"decoded {n_events:,} book events in {decode_s:.2f} s (not timed below)")

    print(f"\n(1) book application, one core, best of {args.repeat} (per CPU second / wall)")
    sync_rate = 0.0
    for name, count, fn in (
        ("sync  (sequencing + checks)", levels, lambda: _sync_all(streams)),
        ("book  (OrderBook only)     ", accepted_levels, lambda: _book_only(accepted)),
        ("peer  (SortedDict book)    ", accepted_levels, lambda: _peer_sorteddict(accepted)),
    ):
        wall, cpu = _timed(fn, args.repeat)
        sync_rate = sync_rate or count / cpu
        print(f"  {name}: {count / cpu:>11,.0f} / {count / wall:>11,.0f} level updates/s")
    print(f"  ({levels:,} level updates in {n_events:,} book messages)")
    print(
        f"  target >= {_TARGET_LEVELS:,} level updates/s (sync): "
        f"{_verdict(sync_rate, _TARGET_LEVELS)}"
    )

    print(f"\n(2) end-to-end replay of all files at once, best of {args.repeat} (per CPU s / wall)")
    _fast(files[:1])  # compile (or load the cached) kernels before timing
    print("  reference path (fast=False), stage by stage:")
    previous = 0.0
    ref_rate = 0.0
    for name, run in (
        ("read + decode", _read_only),
        ("+ merge", _read_merge),
        ("+ books", _full_no_tickers),
        ("+ ticker check", _full),
    ):
        counts: list[int] = []
        wall, cpu = _timed(lambda run=run, counts=counts: counts.append(run(files)), args.repeat)
        counted = counts[-1]
        ref_rate = counted / cpu
        step_us = (cpu - previous) / counted * 1e6
        previous = cpu
        print(
            f"    {name:<19} {counted / cpu:>9,.0f} / {counted / wall:>9,.0f} messages/s "
            f"({counted:,} messages, {cpu:.2f} s CPU, {wall:.2f} s wall; "
            f"this stage {step_us:.2f} us/message)"
        )
    print("  fast path (compiled), the whole replay:")
    full_rate = 0.0
    for name, run in (("books, no ticker check", _fast_no_tickers), ("= CLI path", _fast)):
        counts = []
        wall, cpu = _timed(lambda run=run, counts=counts: counts.append(run(files)), args.repeat)
        counted = counts[-1]
        full_rate = counted / cpu
        print(
            f"    {name:<22} {counted / cpu:>9,.0f} / {counted / wall:>9,.0f} messages/s "
            f"({counted:,} messages, {cpu:.2f} s CPU, {wall:.2f} s wall)"
        )
    print(f"  fast / reference (CPU, with ticker check): x{full_rate / ref_rate:.2f}")
    print(
        f"  target >= {_TARGET_MESSAGES:,} messages/s (CLI path): "
        f"{_verdict(full_rate, _TARGET_MESSAGES)}"
    )

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(_fast, files)
        print("\nprofile of the full run (top 15 by own time):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
