"""Replay recorded streams: a streaming k-way merge in local receive order, and file opening.

The merge holds one pending event per input stream, never more, so memory does not grow
with the length of the recordings. Ties on ``ts_recv`` go to the lower stream index, and
within a stream the file order is kept. Each input must itself be in ``ts_recv`` order (as a
recording is: it is written in receive order).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from heapq import heapify, heappop, heapreplace
from pathlib import Path
from typing import Protocol, TypeVar

from mftbot.core.errors import DataError
from mftbot.data.binance_recording import read_binance_recording
from mftbot.data.bybit_recording import read_bybit_orderbook
from mftbot.data.quality import BadInputLog
from mftbot.data.recordings import identify_file
from mftbot.domain.events import MarketEvent


class Stamped(Protocol):
    """Anything with a local receive timestamp (ns)."""

    @property
    def ts_recv(self) -> int:
        """Local receive time, ns since the epoch."""
        ...


E = TypeVar("E", bound=Stamped)


def merge_streams(streams: Iterable[Iterable[E]]) -> Iterator[E]:
    """Merge streams that are each in ``ts_recv`` order into one, lazily.

    Deterministic: equal ``ts_recv`` go by stream index, then by position in the stream.
    While the leading stream's next event still sorts before every other stream's head
    (a burst of one stream), it is handed out without touching the heap.
    """
    heap: list[tuple[int, int, E, Iterator[E]]] = []
    for index, stream in enumerate(streams):
        it = iter(stream)
        for first in it:
            heap.append((first.ts_recv, index, first, it))
            break
    heapify(heap)  # (ts_recv, index) is unique per entry: events are never compared
    while len(heap) > 1:
        _, index, event, it = heap[0]
        # The runner-up: the smaller child of the root (heap entries order by (ts, index)).
        runner = heap[1] if len(heap) == 2 or heap[1] < heap[2] else heap[2]
        next_ts, next_index = runner[0], runner[1]
        yield event
        for following in it:
            ts = following.ts_recv
            if ts < next_ts or (ts == next_ts and index < next_index):
                yield following  # still first: the heap is unchanged
                continue
            heapreplace(heap, (ts, index, following, it))
            break
        else:
            heappop(heap)
    if heap:
        _, _, event, it = heap[0]
        yield event
        yield from it


def open_recording(
    path: str | os.PathLike[str], *, bad: BadInputLog | None = None
) -> Iterator[MarketEvent]:
    """Events of one recording file, with the reader its name calls for (Binance ``.gz``,
    Bybit ``.data``/``.zip``). Raises :class:`DataError` for a missing or unknown file."""
    info = identify_file(path)
    if info.format == "bybit":
        return read_bybit_orderbook(info.path, bad=bad)
    return read_binance_recording(info.path, bad=bad)


def replay_files(
    paths: Iterable[str | os.PathLike[str]], *, bad: BadInputLog | None = None
) -> Iterator[MarketEvent]:
    """Replay recording files as one stream in ``ts_recv`` order.

    Files of the same venue and symbol are chained in date order (``btcusdt_20240808.gz``
    then ``btcusdt_20240809.gz``); the resulting per-symbol streams are merged, stream index
    = order of first appearance in ``paths``. A truncated or corrupt file is recorded in
    ``bad`` and the replay goes on with the next file. Every file is checked (existence,
    venue) before anything is read.
    """
    log = bad if bad is not None else BadInputLog()
    streams = []
    for files in group_files(paths):
        readers = [open_recording(p, bad=log) for p in files]
        streams.append(itertools.chain.from_iterable(readers))
    return merge_streams(streams)


def group_files(paths: Iterable[str | os.PathLike[str]]) -> list[list[Path]]:
    """The streams :func:`replay_files` merges: files of one venue and symbol, in date
    order; streams in order of first appearance. Raises :class:`DataError` for an unknown
    file or no files."""
    groups: dict[tuple[str, str, str], list[Path]] = {}
    for raw in paths:
        info = identify_file(raw)
        key = (
            info.format,
            info.venue or str(info.path.parent),
            info.exchange_symbol or str(info.path),
        )
        groups.setdefault(key, []).append(info.path)
    if not groups:
        raise DataError("replay_files: no files given")
    return [
        sorted(files, key=lambda p: (identify_file(p).date or "", p.name))
        for files in groups.values()
    ]
