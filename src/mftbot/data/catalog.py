"""A Parquet catalog of market data, partitioned by venue, symbol, kind and UTC date.

Layout under ``root``::

    venue=<venue>/symbol=<encoded symbol>/kind=<kind>/date=YYYY-MM-DD/part-<seq>-<digest>.parquet

* ``symbol`` is percent-encoded (``BTC/USDT:USDT`` → ``BTC%2FUSDT%3AUSDT``): reversible,
  safe on every filesystem, and decoded by pyarrow's own Hive partitioning.
* ``kind`` is ``book``, ``trades``, ``quotes``, ``candles_<tf>`` (trade candles), or the
  futures series ``mark_<tf>``, ``index_<tf>``, ``premium_<tf>`` (candle schema) and
  ``funding_<tf>``.
* ``date`` is the UTC day of each row's time key (``open_time`` for candle kinds, else
  ``ts_event``); queries ``[start, end)`` use the same key.

Writes append: each write adds new part files and never touches earlier ones. A part is
named by a digest of its content, so writing identical rows again (re-importing a file) is
skipped. Kinds with a natural key deduplicate on it, first write wins: candle kinds by
``open_time``, ``funding_<tf>`` by ``ts_event``, ``trades`` by ``trade_id`` (trades without
an id are kept). ``book`` and ``quotes`` have no key: overlapping but different writes are
all kept. ``seq`` numbers parts in write order. One writer at a time per catalog.

Reads concatenate the parts of the selected days and sort stably by the time key: rows with
equal times keep write order (a snapshot written before a delta stays before it).

Schemas (times are ``timestamp[ns, UTC]``; ``?`` = nullable; a float that is not nullable
must not be NaN either — writing one raises :class:`DataError`):

* ``book``: ``ts_event, ts_recv, is_snapshot: bool, first_update_id: int64,
  update_id: int64, prev_update_id: int64?, seq: int64?, bid_price, bid_size, ask_price,
  ask_size: list<float64>`` (one row per event; levels as parallel list columns, which read
  back without a group-by);
* ``trades``: ``ts_event, ts_recv, price, amount: float64, side: string? (buy/sell; null =
  unknown), trade_id: string?``;
* ``quotes``: ``ts_event, ts_recv, bid_price, bid_size, ask_price, ask_size: float64,
  update_id: int64?``;
* candle kinds: ``open_time, open, high, low, close: float64, volume: float64?`` (mark and
  index candles may have no volume);
* ``funding_<tf>``: ``ts_event, rate: float64``.

:meth:`ParquetCatalog.read` returns a DataFrame indexed by ``time`` (the time key, UTC)
with the other columns; for candle kinds it equals what :func:`~mftbot.data.candles.read_candles`
returns. :meth:`ParquetCatalog.read_events` yields events for ``book``, ``trades``,
``quotes`` and ``candles_<tf>``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.dataset as ds  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from mftbot.core.errors import DataError, DataNotFoundError
from mftbot.data.timeframes import parse_timeframe
from mftbot.domain.enums import Side
from mftbot.domain.events import (
    BookDelta,
    BookSnapshot,
    CandleClosed,
    Level,
    MarketEvent,
    QuoteTick,
    TradeTick,
)

NS_PER_DAY = 86_400 * 1_000_000_000
TS = pa.timestamp("ns", tz="UTC")
_F64 = pa.float64()
_LEVELS = pa.list_(pa.float64())
CANDLE_FAMILIES = ("candles", "mark", "index", "premium")
BOOK_SCHEMA = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),
        pa.field("ts_recv", TS, nullable=False),
        pa.field("is_snapshot", pa.bool_(), nullable=False),
        pa.field("first_update_id", pa.int64(), nullable=False),
        pa.field("update_id", pa.int64(), nullable=False),
        pa.field("prev_update_id", pa.int64()),
        pa.field("seq", pa.int64()),
        pa.field("bid_price", _LEVELS, nullable=False),
        pa.field("bid_size", _LEVELS, nullable=False),
        pa.field("ask_price", _LEVELS, nullable=False),
        pa.field("ask_size", _LEVELS, nullable=False),
    ]
)
TRADES_SCHEMA = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),
        pa.field("ts_recv", TS, nullable=False),
        pa.field("price", _F64, nullable=False),
        pa.field("amount", _F64, nullable=False),
        pa.field("side", pa.string()),
        pa.field("trade_id", pa.string()),
    ]
)
QUOTES_SCHEMA = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),
        pa.field("ts_recv", TS, nullable=False),
        pa.field("bid_price", _F64, nullable=False),
        pa.field("bid_size", _F64, nullable=False),
        pa.field("ask_price", _F64, nullable=False),
        pa.field("ask_size", _F64, nullable=False),
        pa.field("update_id", pa.int64()),
    ]
)
CANDLES_SCHEMA = pa.schema(
    [pa.field("open_time", TS, nullable=False)]
    + [pa.field(name, _F64, nullable=False) for name in ("open", "high", "low", "close")]
    + [pa.field("volume", _F64)]
)
FUNDING_SCHEMA = pa.schema(
    [pa.field("ts_event", TS, nullable=False), pa.field("rate", _F64, nullable=False)]
)
_KIND = re.compile(r"(book|trades|quotes)|(candles|mark|index|premium|funding)_(\w+)")
_VENUE = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_PART = re.compile(r"part-(\d+)-([0-9a-f]+)\.parquet")

TimeLike = int | str | datetime | pd.Timestamp | None
"""A bound: ns since the epoch, an ISO string, or a datetime (naive = UTC)."""


# --------------------------------------------------------------------------- naming


def encode_symbol(symbol: str) -> str:
    """Filesystem-safe, reversible form of a ccxt symbol (percent-encoding)."""
    if not symbol or symbol.strip() != symbol:
        raise DataError(f"bad symbol {symbol!r}")
    return quote(symbol, safe="")


def decode_symbol(encoded: str) -> str:
    """Inverse of :func:`encode_symbol`."""
    return unquote(encoded)


def kind_schema(kind: str) -> pa.Schema:
    """The Arrow schema of a kind; raises :class:`DataError` for an unknown kind."""
    match = _KIND.fullmatch(kind)
    if match is None:
        raise DataError(
            f"unknown kind {kind!r}: expected book, trades, quotes, candles_<tf>, mark_<tf>, "
            "index_<tf>, premium_<tf> or funding_<tf>"
        )
    if match.group(1):
        return {"book": BOOK_SCHEMA, "trades": TRADES_SCHEMA, "quotes": QUOTES_SCHEMA}[kind]
    parse_timeframe(match.group(3))
    return FUNDING_SCHEMA if match.group(2) == "funding" else CANDLES_SCHEMA


def time_key(kind: str) -> str:
    """The column a kind is partitioned and range-filtered by."""
    return "open_time" if kind_schema(kind) is CANDLES_SCHEMA else "ts_event"


def candle_kind(timeframe: str, family: str = "candles") -> str:
    """``candles_5m``, ``mark_8h``…: the kind of a candle series."""
    if family not in (*CANDLE_FAMILIES, "funding"):
        raise DataError(f"unknown candle family {family!r}")
    return f"{family}_{parse_timeframe(timeframe).text}"


def to_ns(value: TimeLike) -> int | None:
    """A time bound as ns since the epoch (UTC); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"bad time {value!r}: {exc}") from exc
    if pd.isna(stamp):
        raise DataError(f"bad time {value!r}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


def _day(ns: int) -> date:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=ns // NS_PER_DAY)).date()


# --------------------------------------------------------------------------- results


@dataclass
class WriteStats:
    """What one write did for one (venue, symbol, kind)."""

    venue: str
    symbol: str
    kind: str
    rows: int = 0
    rows_written: int = 0
    parts_written: int = 0
    parts_skipped: int = 0
    first_ns: int | None = None
    last_ns: int | None = None

    def merge(self, other: WriteStats) -> None:
        """Add another write's counts for the same key."""
        self.rows += other.rows
        self.rows_written += other.rows_written
        self.parts_written += other.parts_written
        self.parts_skipped += other.parts_skipped
        for value in (other.first_ns, other.last_ns):
            if value is not None:
                self.first_ns = value if self.first_ns is None else min(self.first_ns, value)
                self.last_ns = value if self.last_ns is None else max(self.last_ns, value)


@dataclass
class CatalogEntry:
    """One (venue, symbol, kind) series held by the catalog."""

    venue: str
    symbol: str
    kind: str
    dates: list[str] = field(default_factory=list)
    files: int = 0
    rows: int = 0
    first_ns: int | None = None
    last_ns: int | None = None


# --------------------------------------------------------------------------- event → table


def _levels(levels: Sequence[Level]) -> tuple[list[float], list[float]]:
    return [lv[0] for lv in levels], [lv[1] for lv in levels]


def _book_table(events: Sequence[BookSnapshot | BookDelta]) -> pa.Table:
    cols: dict[str, list[Any]] = {name: [] for name in BOOK_SCHEMA.names}
    for ev in events:
        delta = ev if isinstance(ev, BookDelta) else None
        cols["ts_event"].append(ev.ts_event)
        cols["ts_recv"].append(ev.ts_recv)
        cols["is_snapshot"].append(delta is None)
        cols["first_update_id"].append(ev.update_id if delta is None else delta.first_update_id)
        cols["update_id"].append(ev.update_id)
        cols["prev_update_id"].append(None if delta is None else delta.prev_update_id)
        cols["seq"].append(ev.seq)
        bp, bs = _levels(ev.bids)
        ap, asz = _levels(ev.asks)
        cols["bid_price"].append(bp)
        cols["bid_size"].append(bs)
        cols["ask_price"].append(ap)
        cols["ask_size"].append(asz)
    return pa.table(cols, schema=BOOK_SCHEMA)


def _trades_table(events: Sequence[TradeTick]) -> pa.Table:
    return pa.table(
        {
            "ts_event": [e.ts_event for e in events],
            "ts_recv": [e.ts_recv for e in events],
            "price": [e.price for e in events],
            "amount": [e.size for e in events],
            "side": [e.side.value for e in events],
            "trade_id": [e.trade_id for e in events],
        },
        schema=TRADES_SCHEMA,
    )


def _quotes_table(events: Sequence[QuoteTick]) -> pa.Table:
    return pa.table(
        {
            "ts_event": [e.ts_event for e in events],
            "ts_recv": [e.ts_recv for e in events],
            "bid_price": [e.bid_price for e in events],
            "bid_size": [e.bid_size for e in events],
            "ask_price": [e.ask_price for e in events],
            "ask_size": [e.ask_size for e in events],
            "update_id": [e.update_id for e in events],
        },
        schema=QUOTES_SCHEMA,
    )


def _candles_table(events: Sequence[CandleClosed]) -> pa.Table:
    return pa.table(
        {
            "open_time": [e.open_time for e in events],
            "open": [e.open for e in events],
            "high": [e.high for e in events],
            "low": [e.low for e in events],
            "close": [e.close for e in events],
            "volume": [e.volume for e in events],
        },
        schema=CANDLES_SCHEMA,
    )


def _event_kind(event: MarketEvent) -> str:
    if isinstance(event, BookSnapshot | BookDelta):
        return "book"
    if isinstance(event, TradeTick):
        return "trades"
    if isinstance(event, QuoteTick):
        return "quotes"
    if isinstance(event, CandleClosed):
        return candle_kind(event.timeframe)
    raise DataError(f"cannot store {type(event).__name__} in the catalog")


def _events_table(kind: str, events: list[Any]) -> pa.Table:
    if kind == "book":
        return _book_table(events)
    if kind == "trades":
        return _trades_table(events)
    if kind == "quotes":
        return _quotes_table(events)
    return _candles_table(events)


# --------------------------------------------------------------------------- table → events


def _ns_list(table: pa.Table, name: str) -> list[int]:
    values: list[int] = table.column(name).cast(pa.int64()).to_pylist()
    return values


def _level_lists(table: pa.Table, price: str, size: str) -> list[list[Level]]:
    px = table.column(price).combine_chunks()
    sz = table.column(size).combine_chunks()
    lengths = pc.list_value_length(px).to_numpy(zero_copy_only=False)
    if not np.array_equal(lengths, pc.list_value_length(sz).to_numpy(zero_copy_only=False)):
        raise DataError(f"catalog book rows with {price} and {size} of different lengths")
    flat_px = pc.list_flatten(px).to_numpy(zero_copy_only=False).tolist()
    flat_sz = pc.list_flatten(sz).to_numpy(zero_copy_only=False).tolist()
    pairs = list(zip(flat_px, flat_sz, strict=True))
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    return [pairs[bounds[i] : bounds[i + 1]] for i in range(len(lengths))]


def _book_events(table: pa.Table, venue: str, symbol: str) -> Iterator[MarketEvent]:
    bids = _level_lists(table, "bid_price", "bid_size")
    asks = _level_lists(table, "ask_price", "ask_size")
    rows = zip(
        _ns_list(table, "ts_event"),
        _ns_list(table, "ts_recv"),
        table.column("is_snapshot").to_pylist(),
        table.column("first_update_id").to_pylist(),
        table.column("update_id").to_pylist(),
        table.column("prev_update_id").to_pylist(),
        table.column("seq").to_pylist(),
        bids,
        asks,
        strict=True,
    )
    for ts, recv, snap, first, upd, prev, seq, b, a in rows:
        if snap:
            yield BookSnapshot(venue, symbol, ts, recv, upd, b, a, seq)
        else:
            yield BookDelta(venue, symbol, ts, recv, first, upd, b, a, prev, seq)


def _trade_events(table: pa.Table, venue: str, symbol: str) -> Iterator[MarketEvent]:
    rows = zip(
        _ns_list(table, "ts_event"),
        _ns_list(table, "ts_recv"),
        table.column("price").to_pylist(),
        table.column("amount").to_pylist(),
        table.column("side").to_pylist(),
        table.column("trade_id").to_pylist(),
        strict=True,
    )
    for ts, recv, price, amount, side, trade_id in rows:
        if side not in ("buy", "sell"):
            raise DataError(
                f"{venue}:{symbol}: trade at {pd.Timestamp(ts, tz='UTC')} has no aggressor "
                "side; read it with read() instead of read_events()"
            )
        yield TradeTick(venue, symbol, ts, recv, price, amount, Side(side), trade_id or "")


def _quote_events(table: pa.Table, venue: str, symbol: str) -> Iterator[MarketEvent]:
    rows = zip(
        _ns_list(table, "ts_event"),
        _ns_list(table, "ts_recv"),
        *(table.column(n).to_pylist() for n in QUOTES_SCHEMA.names[2:]),
        strict=True,
    )
    for ts, recv, bp, bs, ap, asz, upd in rows:
        yield QuoteTick(venue, symbol, ts, recv, bp, bs, ap, asz, upd)


def _candle_events(
    table: pa.Table, venue: str, symbol: str, timeframe: str
) -> Iterator[MarketEvent]:
    tf = parse_timeframe(timeframe)
    opens = table.column("open_time").cast(pa.int64()).to_numpy()
    closes = tf.next_start_array(np.asarray(opens, dtype=np.int64)).tolist()
    rows = zip(
        opens.tolist(),
        closes,
        *(table.column(n).to_pylist() for n in ("open", "high", "low", "close", "volume")),
        strict=True,
    )
    for op_ns, cl_ns, o, h, lo, c, v in rows:
        yield CandleClosed(venue, symbol, tf.text, op_ns, cl_ns, cl_ns, o, h, lo, c, v)


# --------------------------------------------------------------------------- the catalog


class ParquetCatalog:
    """Market data in Parquet under ``root`` (see the module docstring for layout/schemas)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ---------------------------------------------------------------- paths

    def _series_dir(self, venue: str, symbol: str, kind: str) -> Path:
        if not _VENUE.fullmatch(venue):
            raise DataError(f"bad venue id {venue!r}: lower-case letters, digits, _ . -")
        kind_schema(kind)
        return self.root / f"venue={venue}" / f"symbol={encode_symbol(symbol)}" / f"kind={kind}"

    def _venues_of(self, symbol: str, kind: str) -> list[str]:
        pattern = f"venue=*/symbol={encode_symbol(symbol)}/kind={kind}"
        return sorted(p.parts[-3].removeprefix("venue=") for p in self.root.glob(pattern))

    # ---------------------------------------------------------------- writing

    def write_table(self, venue: str, symbol: str, kind: str, table: pa.Table) -> WriteStats:
        """Append rows (already in the kind's schema) for one series; see module docstring."""
        schema = kind_schema(kind)
        series = self._series_dir(venue, symbol, kind)
        missing = [name for name in schema.names if name not in table.column_names]
        if missing:
            raise DataError(f"rows for {kind} lack column(s) {', '.join(missing)}")
        for schema_field in schema:
            if schema_field.nullable:
                continue
            column = table.column(schema_field.name)
            if column.null_count:
                raise DataError(f"rows for {kind}: column {schema_field.name!r} has nulls")
            if pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py():
                raise DataError(f"rows for {kind}: column {schema_field.name!r} has NaN")
        try:
            table = table.select(schema.names).cast(schema)
        except (ValueError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(f"rows for {kind} do not fit its schema: {exc}") from exc
        stats = WriteStats(venue, symbol, kind, rows=table.num_rows)
        if table.num_rows == 0:
            return stats
        key = time_key(kind)
        order = pc.sort_indices(table, sort_keys=[(key, "ascending")])
        table = table.take(order)
        keys = np.asarray(table.column(key).cast(pa.int64()).to_numpy(), dtype=np.int64)
        stats.first_ns, stats.last_ns = int(keys[0]), int(keys[-1])
        days = keys // NS_PER_DAY
        bounds = np.flatnonzero(np.diff(days)) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), len(keys)]
        unique = unique_key(kind)
        for lo, hi in zip(starts, ends, strict=True):
            folder = series / f"date={_day(int(keys[lo])).isoformat()}"
            written = self._write_part(folder, table.slice(lo, hi - lo), unique)
            if written:
                stats.parts_written += 1
                stats.rows_written += written
            else:
                stats.parts_skipped += 1
        return stats

    @staticmethod
    def _write_part(folder: Path, part: pa.Table, unique: str | None) -> int:
        """Write one day's rows as a new part; return how many rows were written."""
        digest = _digest(part)
        folder.mkdir(parents=True, exist_ok=True)
        existing: list[tuple[int, Path]] = []
        for path in folder.iterdir():
            match = _PART.fullmatch(path.name)
            if match is None:
                continue
            if match.group(2) == digest:
                return 0
            existing.append((int(match.group(1)), path))
        if unique is not None:
            part = _drop_known(part, unique, [p for _, p in existing])
            if part.num_rows == 0:
                return 0
            digest = _digest(part)
        seq = max((n for n, _ in existing), default=-1) + 1
        target = folder / f"part-{seq:05d}-{digest}.parquet"
        tmp = folder / f".tmp-{digest}.parquet"
        pq.write_table(part, tmp, compression="zstd")
        os.replace(tmp, target)
        return int(part.num_rows)

    def write_events(
        self, events: Iterable[MarketEvent], *, batch_rows: int = 100_000
    ) -> list[WriteStats]:
        """Append events (any mix of venues, symbols and kinds), ``batch_rows`` per part at
        most; returns one :class:`WriteStats` per series touched."""
        buffers: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
        totals: dict[tuple[str, str, str], WriteStats] = {}

        def flush(key: tuple[str, str, str]) -> None:
            rows = buffers.pop(key)
            stats = self.write_table(*key, _events_table(key[2], rows))
            totals.setdefault(key, WriteStats(*key)).merge(stats)

        for event in events:
            key = (event.venue, event.symbol, _event_kind(event))
            buffer = buffers[key]
            buffer.append(event)
            if len(buffer) >= batch_rows:
                flush(key)
        for key in list(buffers):
            flush(key)
        return list(totals.values())

    def write_candles(
        self,
        df: pd.DataFrame,
        venue: str,
        symbol: str,
        timeframe: str,
        *,
        family: str = "candles",
    ) -> WriteStats:
        """Append a candle DataFrame (``time`` index = open time, OHLCV columns)."""
        kind = candle_kind(timeframe, family)
        if family == "funding":
            raise DataError("funding rates are written with write_funding()")
        table = pa.table(
            {
                "open_time": _index_ns(df),
                **{n: df[n].to_numpy(dtype=np.float64) for n in CANDLES_SCHEMA.names[1:]},
            }
        )
        return self.write_table(venue, symbol, kind, table)

    def write_funding(
        self, df: pd.DataFrame, venue: str, symbol: str, timeframe: str
    ) -> WriteStats:
        """Append funding rates (``time`` index, ``rate`` column)."""
        table = pa.table({"ts_event": _index_ns(df), "rate": df["rate"].to_numpy(np.float64)})
        return self.write_table(venue, symbol, candle_kind(timeframe, "funding"), table)

    def write_trades(self, df: pd.DataFrame, venue: str, symbol: str) -> WriteStats:
        """Append a trades DataFrame (``time`` index; ``price, amount, side, trade_id``;
        optional int ``ts_recv``, else ``ts_recv = ts_event``). Missing sides stay null."""
        ts = _index_ns(df)
        recv = df["ts_recv"].to_numpy(dtype=np.int64) if "ts_recv" in df else ts
        sides = [s if s in ("buy", "sell") else None for s in df["side"].astype(object)]
        ids = [None if pd.isna(i) else str(i) for i in df["trade_id"].astype(object)]
        table = pa.table(
            {
                "ts_event": ts,
                "ts_recv": recv,
                "price": df["price"].to_numpy(dtype=np.float64),
                "amount": df["amount"].to_numpy(dtype=np.float64),
                "side": pa.array(sides, pa.string()),
                "trade_id": pa.array(ids, pa.string()),
            }
        )
        return self.write_table(venue, symbol, "trades", table)

    # ---------------------------------------------------------------- reading

    def _resolve_venue(self, symbol: str, kind: str, venue: str | None) -> str:
        kind_schema(kind)
        if venue is not None:
            if not self._series_dir(venue, symbol, kind).is_dir():
                raise DataNotFoundError(f"catalog {self.root}: no {kind} for {symbol} on {venue}")
            return venue
        venues = self._venues_of(symbol, kind)
        if not venues:
            raise DataNotFoundError(f"catalog {self.root}: no {kind} for {symbol}")
        if len(venues) > 1:
            raise DataError(
                f"catalog {self.root}: {kind} for {symbol} exists on {', '.join(venues)}; "
                "pass a venue"
            )
        return venues[0]

    def _day_files(
        self, venue: str, symbol: str, kind: str, start: int | None, end: int | None
    ) -> list[tuple[str, list[Path]]]:
        series = self._series_dir(venue, symbol, kind)
        first = _day(start).isoformat() if start is not None else None
        last = _day(end - 1).isoformat() if end is not None else None
        days = []
        for folder in sorted(series.glob("date=*")):
            day = folder.name.removeprefix("date=")
            if (first is not None and day < first) or (last is not None and day > last):
                continue
            files = sorted(p for p in folder.iterdir() if _PART.fullmatch(p.name))
            if files:
                days.append((day, files))
        return days

    @staticmethod
    def _load(files: list[Path], kind: str, start: int | None, end: int | None) -> pa.Table:
        key = time_key(kind)
        dataset = ds.dataset([str(f) for f in files], schema=kind_schema(kind), format="parquet")
        condition = None
        if start is not None:
            condition = ds.field(key) >= pa.scalar(start, TS)
        if end is not None:
            upper = ds.field(key) < pa.scalar(end, TS)
            condition = upper if condition is None else condition & upper
        table = dataset.to_table(filter=condition)
        return table.take(pc.sort_indices(table, sort_keys=[(key, "ascending")]))

    def read_table(
        self,
        symbol: str,
        kind: str,
        *,
        venue: str | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
    ) -> pa.Table:
        """Rows of one series with time key in ``[start, end)`` as an Arrow table."""
        lo, hi = to_ns(start), to_ns(end)
        resolved = self._resolve_venue(symbol, kind, venue)
        files = [f for _, day in self._day_files(resolved, symbol, kind, lo, hi) for f in day]
        if not files:
            return kind_schema(kind).empty_table()
        return self._load(files, kind, lo, hi)

    def read(
        self,
        symbol: str,
        kind: str,
        *,
        venue: str | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
    ) -> pd.DataFrame:
        """Rows of one series in ``[start, end)`` as a DataFrame indexed by ``time`` (UTC).

        ``venue`` may be left out when only one venue holds the series. Raises
        :class:`DataNotFoundError` when the catalog has no such series at all; an empty
        range gives an empty DataFrame.
        """
        table = self.read_table(symbol, kind, venue=venue, start=start, end=end)
        key = time_key(kind)
        index = pd.DatetimeIndex(
            pd.to_datetime(table.column(key).cast(pa.int64()).to_numpy(), unit="ns", utc=True),
            name="time",
        )
        nullable_ints = {pa.int64(): pd.Int64Dtype()}.get
        frame: pd.DataFrame = table.drop_columns([key]).to_pandas(types_mapper=nullable_ints)
        frame.index = index
        if kind == "trades":
            frame["side"] = frame["side"].astype(pd.CategoricalDtype(["buy", "sell"]))
        return frame

    def read_events(
        self,
        symbol: str,
        kind: str,
        *,
        venue: str | None = None,
        start: TimeLike = None,
        end: TimeLike = None,
    ) -> Iterator[MarketEvent]:
        """Events of one series in ``[start, end)``, in time order, one day in memory at a
        time. Kinds: ``book``, ``trades``, ``quotes``, ``candles_<tf>``."""
        match = _KIND.fullmatch(kind)
        if match is not None and match.group(2) and match.group(2) != "candles":
            raise DataError(f"{kind} has no event type; use read()")
        lo, hi = to_ns(start), to_ns(end)
        resolved = self._resolve_venue(symbol, kind, venue)
        for _, files in self._day_files(resolved, symbol, kind, lo, hi):
            table = self._load(files, kind, lo, hi)
            if kind == "book":
                yield from _book_events(table, resolved, symbol)
            elif kind == "trades":
                yield from _trade_events(table, resolved, symbol)
            elif kind == "quotes":
                yield from _quote_events(table, resolved, symbol)
            else:
                yield from _candle_events(table, resolved, symbol, kind.split("_", 1)[1])

    # ---------------------------------------------------------------- listing

    def entries(self) -> list[CatalogEntry]:
        """Every series held, with dates, file and row counts and the time-key span."""
        found: list[CatalogEntry] = []
        for series in sorted(self.root.glob("venue=*/symbol=*/kind=*")):
            venue = series.parts[-3].removeprefix("venue=")
            symbol = decode_symbol(series.parts[-2].removeprefix("symbol="))
            kind = series.parts[-1].removeprefix("kind=")
            entry = CatalogEntry(venue, symbol, kind)
            key = time_key(kind)
            for folder in sorted(series.glob("date=*")):
                files = [p for p in sorted(folder.iterdir()) if _PART.fullmatch(p.name)]
                if not files:
                    continue
                entry.dates.append(folder.name.removeprefix("date="))
                for path in files:
                    meta = pq.read_metadata(path)
                    entry.files += 1
                    entry.rows += meta.num_rows
                    _widen(entry, meta, key)
            if entry.files:
                found.append(entry)
        return found


def unique_key(kind: str) -> str | None:
    """The column whose values are unique within a series (``None``: no natural key)."""
    if kind == "trades":
        return "trade_id"
    if kind in ("book", "quotes"):
        return None
    return time_key(kind)


def _digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:20]


def _drop_known(part: pa.Table, unique: str, files: list[Path]) -> pa.Table:
    """Rows of ``part`` whose ``unique`` value is new: not in ``files`` and not repeated
    earlier in ``part``. Nulls (a trade without id) are always kept."""
    values = part.column(unique).to_pandas()
    repeated = values.duplicated().to_numpy() & values.notna().to_numpy()
    keep = ~repeated
    if files:
        known = pa.chunked_array(
            [pq.read_table(str(f), columns=[unique]).column(unique) for f in files],
            part.schema.field(unique).type,
        ).combine_chunks()
        seen = pc.fill_null(pc.is_in(part.column(unique), value_set=known), False)
        keep &= ~np.asarray(seen.to_numpy(zero_copy_only=False), dtype=np.bool_)
    return part.filter(pa.array(keep))


def _widen(entry: CatalogEntry, meta: Any, key: str) -> None:
    index = meta.schema.names.index(key)
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            continue
        lo, hi = _stat_ns(stats.min), _stat_ns(stats.max)
        entry.first_ns = lo if entry.first_ns is None else min(entry.first_ns, lo)
        entry.last_ns = hi if entry.last_ns is None else max(entry.last_ns, hi)


def _stat_ns(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(pd.Timestamp(value).as_unit("ns").value)


def _index_ns(df: pd.DataFrame) -> Any:
    if not isinstance(df.index, pd.DatetimeIndex):
        raise DataError("expected a DataFrame with a DatetimeIndex named 'time'")
    index = df.index if df.index.tz is not None else df.index.tz_localize("UTC")
    return pa.array(index.tz_convert("UTC").as_unit("ns").asi8, pa.int64()).cast(TS)
