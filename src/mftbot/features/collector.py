"""Data collection for ML: feature vectors and the prices labels need, to Parquet.

:class:`FeatureCollector` consumes market events in receive order (a replay now, a paper or
live feed later): books are sampled on a fixed cadence (:class:`BookSampler`), trades are
built into candles on the same receive clock (:class:`CandleAggregator`), and every sample
becomes a row: the 110 features (:class:`IncrementalFeatures`, exactly what live trading
has at that moment) plus ``mid``, ``best_bid``, ``best_ask``, ``last_trade`` and
``candle_close`` (the close of the candle behind the candle features). The first candle of
each stream is dropped: the stream began inside it, so it is partial.

Layout under the output folder (as :mod:`mftbot.data.catalog`)::

    venue=<venue>/symbol=<percent-encoded symbol>/date=YYYY-MM-DD/part-<seq>.parquet

Rows are buffered and written in chunks of ``chunk_rows`` (memory stays bounded); every
flush adds new parts and never rewrites old ones, numbering after the parts already there.
Columns: :data:`ROW_COLUMNS` (see :func:`row_schema`).

:func:`label_dataset` (``mftbot ml label``) reads such a dataset back, adds labels
(:mod:`mftbot.features.labels`) per symbol, day by day with the next day's rows as the
look-ahead, and writes the same layout to a new folder.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import msgspec
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from mftbot.core.errors import DataError
from mftbot.data.catalog import decode_symbol, encode_symbol
from mftbot.data.resample import CandleAggregator
from mftbot.domain.events import CandleClosed, MarketEvent, TradeTick
from mftbot.features.labels import (
    BarrierSpec,
    direction,
    duration_text,
    forward_returns_time,
    triple_barrier,
)
from mftbot.features.orderbook import OrderBookFeatureConfig
from mftbot.features.pipeline import DEFAULT_WINDOW, FEATURE_NAMES, IncrementalFeatures
from mftbot.features.sampling import BookSampler, SamplerConfig, SampleRow

PRICE_COLUMNS: tuple[str, ...] = ("mid", "best_bid", "best_ask", "last_trade", "candle_close")
"""Prices stored next to the features for the labels (NaN where unknown)."""
ROW_COLUMNS: tuple[str, ...] = (
    "time_ns",
    "book_valid",
    "candle_open_ns",
    *PRICE_COLUMNS,
    *FEATURE_NAMES,
)
"""Columns of a collected part, in order."""
NS_PER_DAY = 86_400 * 1_000_000_000
_PART = re.compile(r"part-(\d+)\.parquet")
_Record: TypeAlias = tuple[int, bool, int, npt.NDArray[np.float64]]
"""(time_ns, book_valid, candle_open_ns, prices + features) of one buffered row."""


def row_schema() -> pa.Schema:
    """Schema of a collected part: ``time_ns`` (sample time, int64 ns, local receive clock),
    ``book_valid``, ``candle_open_ns`` (open time of the candle behind the candle features,
    -1 before the first), the prices, then the 110 features (float64, NaN = undefined)."""
    fields = [
        pa.field("time_ns", pa.int64(), nullable=False),
        pa.field("book_valid", pa.bool_(), nullable=False),
        pa.field("candle_open_ns", pa.int64(), nullable=False),
    ]
    fields += [pa.field(name, pa.float64(), nullable=False) for name in PRICE_COLUMNS]
    fields += [pa.field(name, pa.float64(), nullable=False) for name in FEATURE_NAMES]
    return pa.schema(fields)


def partition_dir(root: Path, venue: str, symbol: str, day: str) -> Path:
    """Folder of one (venue, symbol, UTC day)."""
    return root / f"venue={venue}" / f"symbol={encode_symbol(symbol)}" / f"date={day}"


def _day(ns: int) -> str:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).strftime("%Y-%m-%d")


def _next_seq(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    seqs = [int(m.group(1)) for p in folder.iterdir() if (m := _PART.fullmatch(p.name))]
    return max(seqs, default=-1) + 1


def write_part(folder: Path, table: pa.Table) -> Path:
    """Write ``table`` as the next part of ``folder`` (atomically: temp file, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"part-{_next_seq(folder):06d}.parquet"
    tmp = folder / f".tmp-{target.name}"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, target)
    return target


@dataclass(slots=True)
class _Stream:
    """Per-instrument collection state."""

    features: IncrementalFeatures
    first_trade_ns: int | None = None
    seen_candle: bool = False
    candle_close: float = math.nan
    candle_open_ns: int = -1


@dataclass(slots=True)
class CollectorSummary:
    """What a collection wrote."""

    rows: int = 0
    parts: int = 0
    candles: int = 0
    rows_by_symbol: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


class FeatureCollector:
    """Collect feature rows from an event stream into a Parquet dataset (module docstring)."""

    def __init__(
        self,
        output: str | os.PathLike[str],
        *,
        sampler: SamplerConfig | None = None,
        timeframe: str = "1m",
        window: int = DEFAULT_WINDOW,
        book_config: OrderBookFeatureConfig | None = None,
        chunk_rows: int = 10_000,
    ) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self.output = Path(output)
        self.sampler = BookSampler(sampler)
        self.aggregator = CandleAggregator(timeframe)
        self.window = window
        self.book_config = book_config
        self.chunk_rows = chunk_rows
        self.summary = CollectorSummary()
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._buffers: dict[tuple[str, str, str], list[_Record]] = {}
        self._buffered = 0
        self._schema = row_schema()

    @property
    def buffered_rows(self) -> int:
        """Rows held in memory, not yet written (always < ``chunk_rows`` between events)."""
        return self._buffered

    # -- events ----------------------------------------------------------------------------

    def on_event(self, event: MarketEvent) -> None:
        """Consume one event (in ``ts_recv`` order)."""
        for row in self.sampler.on_event(event):
            self._on_sample(row)
        if type(event) is TradeTick:
            stream = self._stream(event.venue, event.symbol)
            if stream.first_trade_ns is None:
                stream.first_trade_ns = event.ts_recv
            # Candles on the receive clock, the clock the samples use.
            local = msgspec.structs.replace(event, ts_event=event.ts_recv)
            for candle in self.aggregator.on_trade(local):
                self._on_candle(candle)

    def run(self, events: Iterable[MarketEvent]) -> CollectorSummary:
        """Consume a whole stream, then :meth:`finish`."""
        for event in events:
            self.on_event(event)
        return self.finish()

    def finish(self) -> CollectorSummary:
        """Emit the last sample, write every buffered row, return the summary."""
        for row in self.sampler.finish():
            self._on_sample(row)
        self.flush()
        return self.summary

    # -- internals -------------------------------------------------------------------------

    def _stream(self, venue: str, symbol: str) -> _Stream:
        key = (venue, symbol)
        stream = self._streams.get(key)
        if stream is None:
            cfg = self.sampler.config
            features = IncrementalFeatures(
                window=self.window,
                depth=cfg.depth,
                cadence_ns=cfg.cadence_ns,
                book_config=self.book_config,
            )
            stream = self._streams[key] = _Stream(features)
        return stream

    def _on_candle(self, candle: CandleClosed) -> None:
        stream = self._stream(candle.venue, candle.symbol)
        if not stream.seen_candle:
            stream.seen_candle = True
            if stream.first_trade_ns != candle.open_time:
                return  # the stream began inside this candle: partial, dropped
        stream.features.on_candle(candle)
        stream.candle_close = candle.close
        stream.candle_open_ns = candle.open_time
        self.summary.candles += 1

    def _on_sample(self, row: SampleRow) -> None:
        for candle in self.aggregator.flush(row.time_ns):
            self._on_candle(candle)
        stream = self._stream(row.venue, row.symbol)
        features = stream.features.update(row)
        bid = float(row.bids[0, 0])
        ask = float(row.asks[0, 0])
        mid = (bid + ask) / 2.0 if row.valid else math.nan
        values = np.empty(len(ROW_COLUMNS) - 3)
        values[: len(PRICE_COLUMNS)] = (mid, bid, ask, row.last_price, stream.candle_close)
        values[len(PRICE_COLUMNS) :] = features
        record: _Record = (row.time_ns, row.valid, stream.candle_open_ns, values)
        key = (row.venue, row.symbol, _day(row.time_ns))
        self._buffers.setdefault(key, []).append(record)
        self._buffered += 1
        if self._buffered >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Write every buffered row as new parts (one per venue, symbol and day)."""
        for (venue, symbol, day), records in self._buffers.items():
            if not records:
                continue
            table = _records_table(records, self._schema)
            path = write_part(partition_dir(self.output, venue, symbol, day), table)
            self.summary.files.append(path)
            self.summary.parts += 1
            self.summary.rows += len(records)
            by = self.summary.rows_by_symbol
            by[symbol] = by.get(symbol, 0) + len(records)
        self._buffers.clear()
        self._buffered = 0


def _records_table(records: Sequence[_Record], schema: pa.Schema) -> pa.Table:
    values = np.stack([r[3] for r in records])
    arrays: list[pa.Array] = [
        pa.array([r[0] for r in records], type=pa.int64()),
        pa.array([r[1] for r in records], type=pa.bool_()),
        pa.array([r[2] for r in records], type=pa.int64()),
    ]
    arrays += [pa.array(values[:, j], type=pa.float64()) for j in range(values.shape[1])]
    return pa.Table.from_arrays(arrays, schema=schema)


def collect(
    events: Iterable[MarketEvent], output: str | os.PathLike[str], **options: Any
) -> CollectorSummary:
    """Collect a whole event stream into ``output`` (options as :class:`FeatureCollector`)."""
    return FeatureCollector(output, **options).run(events)


# --------------------------------------------------------------------------- reading, labels


@dataclass(frozen=True, slots=True)
class Partition:
    """One (venue, symbol, day) folder of a dataset."""

    venue: str
    symbol: str
    day: str
    path: Path


_VENUE = re.compile(r"venue=(.+)")
_SYMBOL = re.compile(r"symbol=(.+)")
_DATE = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def partitions(root: str | os.PathLike[str]) -> list[Partition]:
    """Every partition under ``root``, sorted by venue, symbol and day."""
    base = Path(root)
    if not base.is_dir():
        raise DataError(f"{base}: no such dataset folder")
    found = []
    for vdir in sorted(base.iterdir()):
        if not (vm := _VENUE.fullmatch(vdir.name)) or not vdir.is_dir():
            continue
        for sdir in sorted(vdir.iterdir()):
            if not (sm := _SYMBOL.fullmatch(sdir.name)) or not sdir.is_dir():
                continue
            for ddir in sorted(sdir.iterdir()):
                if (dm := _DATE.fullmatch(ddir.name)) and ddir.is_dir():
                    found.append(Partition(vm[1], decode_symbol(sm[1]), dm[1], ddir))
    return found


def read_partition(part: Partition) -> pd.DataFrame:
    """The rows of one partition, in time order (every part concatenated)."""
    files = sorted(p for p in part.path.iterdir() if _PART.fullmatch(p.name))
    if not files:
        raise DataError(f"{part.path}: no parts")
    table = pa.concat_tables([pq.read_table(f) for f in files])
    frame: pd.DataFrame = table.to_pandas()
    frame = frame.sort_values("time_ns", kind="stable").reset_index(drop=True)
    if frame["time_ns"].duplicated().any():
        raise DataError(f"{part.path}: duplicate sample times (collected twice?)")
    return frame


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """What ``mftbot ml label`` adds: forward return and direction at each horizon (time),
    optionally a triple barrier, all on the ``price`` column."""

    horizons_ns: tuple[int, ...] = (5_000_000_000, 30_000_000_000, 60_000_000_000)
    band: float = 0.0
    barrier: BarrierSpec | None = None
    barrier_horizon_ns: int = 60_000_000_000
    price: str = "mid"

    def __post_init__(self) -> None:
        if not self.horizons_ns and self.barrier is None:
            raise DataError("nothing to label: no horizons and no barrier")
        if any(h <= 0 for h in self.horizons_ns) or self.barrier_horizon_ns <= 0:
            raise DataError("horizons must be > 0")
        if self.price not in PRICE_COLUMNS:
            raise DataError(f"price must be one of {PRICE_COLUMNS}, got {self.price!r}")

    @property
    def lookahead_ns(self) -> int:
        """How far past a row its labels may look."""
        barrier = self.barrier_horizon_ns if self.barrier is not None else 0
        return max((*self.horizons_ns, barrier))

    def columns(self) -> list[str]:
        """Names of the label columns, in order."""
        out = []
        for h in self.horizons_ns:
            out += [f"fwd_ret_{duration_text(h)}", f"fwd_dir_{duration_text(h)}"]
        if self.barrier is not None:
            out += ["tb_label", "tb_barrier", "tb_exit_time_ns", "tb_exit_price", "tb_return"]
        return out


def label_frame(frame: pd.DataFrame, spec: LabelSpec) -> pd.DataFrame:
    """Label columns for ``frame`` (time-ordered rows of one symbol), aligned to its rows.

    Rows whose price is NaN (no book) get no labels, and are not used as future prices.
    """
    times = frame["time_ns"].to_numpy(dtype=np.int64)
    price = frame[spec.price].to_numpy(dtype=np.float64)
    ok = np.isfinite(price) & (price > 0)
    t, p = times[ok], price[ok]
    out: dict[str, np.ndarray[Any, Any]] = {}
    n = len(frame)
    for h in spec.horizons_ns:
        ret = np.full(n, np.nan)
        ret[ok] = forward_returns_time(t, p, h)
        name = duration_text(h)
        out[f"fwd_ret_{name}"] = ret
        out[f"fwd_dir_{name}"] = direction(ret, spec.band)
    if spec.barrier is not None:
        res = triple_barrier(t, p, spec.barrier, horizon_ns=spec.barrier_horizon_ns)
        cols: dict[str, np.ndarray[Any, Any]] = {
            "tb_label": res.label,
            "tb_barrier": res.barrier,
            "tb_exit_time_ns": res.exit_time_ns,
            "tb_exit_price": res.exit_price,
            "tb_return": res.net_return,
        }
        for name, values in cols.items():
            full = np.full(n, -1 if values.dtype == np.int64 else np.nan, dtype=values.dtype)
            full[ok] = values
            out[name] = full
    return pd.DataFrame(out, index=frame.index)


@dataclass(slots=True)
class LabelSummary:
    """What :func:`label_dataset` wrote."""

    rows: int = 0
    labelled: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def label_dataset(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    spec: LabelSpec,
    *,
    on_partition: Callable[[Partition, int], None] | None = None,
) -> LabelSummary:
    """Add labels to every row of a collected dataset, writing the same layout to ``target``.

    Each day is labelled with the rows of the following day up to ``spec.lookahead_ns``
    appended, so labels near midnight see their future; the last day's tail stays NaN.
    ``on_partition(partition, total)`` is called after each partition (progress).
    """
    src, dst = Path(source), Path(target)
    if src.resolve() == dst.resolve():
        raise DataError("the labelled dataset must go to a folder other than its input")
    if spec.lookahead_ns > NS_PER_DAY:
        raise DataError("horizons longer than a day are not supported")
    parts = partitions(src)
    if not parts:
        raise DataError(f"{src}: no partitions (venue=/symbol=/date=) found")
    summary = LabelSummary(labelled=dict.fromkeys(spec.columns(), 0))
    for i, part in enumerate(parts):
        frame = read_partition(part)
        ahead = frame.iloc[:0]
        following = parts[i + 1] if i + 1 < len(parts) else None
        if following is not None and (following.venue, following.symbol) == (
            part.venue,
            part.symbol,
        ):
            last = int(frame["time_ns"].iloc[-1])
            nxt = read_partition(following)
            ahead = nxt[nxt["time_ns"] <= last + spec.lookahead_ns]
        both = pd.concat([frame, ahead], ignore_index=True)
        labels = label_frame(both, spec).iloc[: len(frame)]
        out = pd.concat([frame, labels.reset_index(drop=True)], axis=1)
        table = pa.Table.from_pandas(out, preserve_index=False)
        path = write_part(partition_dir(dst, part.venue, part.symbol, part.day), table)
        summary.files.append(path)
        summary.rows += len(out)
        for name in spec.columns():
            col = labels[name].to_numpy()
            known = col >= 0 if col.dtype == np.int64 else ~np.isnan(col)
            summary.labelled[name] += int(known.sum())
        if on_partition is not None:
            on_partition(part, len(parts))
    return summary
