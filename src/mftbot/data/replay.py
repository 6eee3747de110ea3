"""Replay recorded streams: streaming k-way merges in local receive order, and file opening.

Two merges with the same order: :func:`merge_streams` takes event streams and holds one
pending event per stream; :func:`merge_batches` takes streams of event lists (what the
readers produce, one list per block of lines) and holds about one list per stream, merging a
whole span of time at once with a stable sort (the fast path :func:`replay_files` uses).
Memory does not grow with the length of the recordings either way. Ties on ``ts_recv`` go to
the lower stream index, and within a stream the file order is kept. Each input must itself be
in ``ts_recv`` order (as a recording is: it is written in receive order).
"""

from __future__ import annotations

import itertools
import os
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from heapq import heapify, heappop, heapreplace
from operator import attrgetter
from pathlib import Path
from typing import Protocol, TypeVar

from mftbot.core.errors import DataError
from mftbot.data.binance_recording import read_binance_batches
from mftbot.data.bybit_recording import read_bybit_batches
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
        yield event
        for following in it:
            heapreplace(heap, (following.ts_recv, index, following, it))
            break
        else:
            heappop(heap)
    if heap:
        _, _, event, it = heap[0]
        yield event
        yield from it


_TS = attrgetter("ts_recv")


def merge_batches(streams: Iterable[Iterable[list[E]]]) -> Iterator[list[E]]:
    """Merge streams of event lists, each stream in ``ts_recv`` order, into ordered lists.

    Concatenating the output gives exactly :func:`merge_streams` of the concatenated inputs.
    Each round takes, from every stream, the events strictly before the horizon (the
    smallest last ``ts_recv`` among the buffers of streams that may still send more), so no
    later event can precede them; they are joined in stream order and stably sorted by
    ``ts_recv``. A stream whose buffer ends at the horizon reads its next list first.
    """
    sources = [iter(stream) for stream in streams]
    bufs: list[list[E]] = [[] for _ in sources]
    starts = [0] * len(sources)
    live = list(range(len(sources)))  # streams that may still send lists
    horizon: int | None = None
    while live:
        for i in list(live):  # refill: a buffer must reach past the last horizon
            buf, start = bufs[i], starts[i]
            while start == len(buf) or (horizon is not None and _TS(buf[-1]) <= horizon):
                batch = next(sources[i], None)
                if batch is None:
                    live.remove(i)
                    break
                if batch:
                    buf = buf[start:] + batch if start < len(buf) else batch
                    start = 0
            bufs[i], starts[i] = buf, start
        if len(live) == 1 and all(
            starts[i] == len(bufs[i]) for i in range(len(bufs)) if i != live[0]
        ):
            i = live[0]  # one stream left: its lists pass through
            if starts[i] < len(bufs[i]):
                yield bufs[i][starts[i] :]
            yield from sources[i]
            return
        horizon = min((_TS(bufs[i][-1]) for i in live), default=None)
        chunk = _take(bufs, starts, horizon)
        if chunk:
            yield chunk
    chunk = _take(bufs, starts, None)
    if chunk:
        yield chunk


def _take(bufs: list[list[E]], starts: list[int], horizon: int | None) -> list[E]:
    """Every buffered event before ``horizon`` (all when ``None``), merged in order."""
    chunk: list[E] = []
    sources = 0
    for i, buf in enumerate(bufs):
        start = starts[i]
        if start == len(buf):
            continue
        if horizon is None or _TS(buf[-1]) < horizon:
            cut = len(buf)
        else:
            cut = bisect_left(buf, horizon, start, key=_TS)
            if cut == start:
                continue
        chunk += buf[start:cut] if start or cut < len(buf) else buf
        sources += 1
        if cut == len(buf):
            bufs[i], starts[i] = [], 0
        else:
            starts[i] = cut
    if sources > 1:
        chunk.sort(key=_TS)  # stable: ties stay in stream order, then file order
    return chunk


def open_recording(
    path: str | os.PathLike[str], *, bad: BadInputLog | None = None
) -> Iterator[MarketEvent]:
    """Events of one recording file, with the reader its name calls for (Binance ``.gz``,
    Bybit ``.data``/``.zip``). Raises :class:`DataError` for a missing or unknown file."""
    return itertools.chain.from_iterable(open_recording_batches(path, bad=bad))


def open_recording_batches(
    path: str | os.PathLike[str], *, bad: BadInputLog | None = None
) -> Iterator[list[MarketEvent]]:
    """:func:`open_recording` in batches (one list per block of lines)."""
    info = identify_file(path)
    if info.format == "bybit":
        return read_bybit_batches(info.path, bad=bad)  # type: ignore[return-value]
    return read_binance_batches(info.path, bad=bad)


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
    return itertools.chain.from_iterable(replay_file_batches(paths, bad=bad))


def replay_file_batches(
    paths: Iterable[str | os.PathLike[str]], *, bad: BadInputLog | None = None
) -> Iterator[list[MarketEvent]]:
    """:func:`replay_files` as ordered lists of events (concatenated, the same stream)."""
    log = bad if bad is not None else BadInputLog()
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
    streams = []
    for files in groups.values():
        ordered = sorted(files, key=lambda p: (identify_file(p).date or "", p.name))
        readers = [open_recording_batches(p, bad=log) for p in ordered]
        streams.append(itertools.chain.from_iterable(readers))
    return merge_batches(streams)
