"""Candle (OHLCV) readers for freqtrade's files, validation, and ``CandleClosed`` events.

Formats read by :func:`read_candles`:

* freqtrade feather (Arrow IPC): ``date`` (UTC open time) + ``open high low close volume``;
* freqtrade JSON / JSON.gz: a list of ``[open_time_ms, open, high, low, close, volume]``;
* pandas column-oriented JSON (``{"date": {"0": ms, ...}, "open": {...}, ...}``), as in
  freqtrade's ``orderflow/candles.json``;
* futures ``-futures`` and ``-mark`` feathers (same columns; mark candles may have NaN volume).

Funding-rate files (``-funding_rate``, rate in ``open``) are read by
:func:`read_funding_rates` into a ``rate`` column.

The result is a DataFrame with a UTC ``DatetimeIndex`` named ``time`` (candle open time) and
float64 ``open, high, low, close, volume``, sorted by time. Rows are validated: a duplicate
open time, NaN, a non-positive price, ``high < max(open, close)``, ``low > min(open, close)``
or ``high < low``, a negative volume, an open time off the timeframe's grid, or two candles
closer than one timeframe (gaps are allowed and kept, never filled). By default the first
bad row raises :class:`DataError` naming the file and the row (``row N`` is the 0-based
record in file order). Pass a :class:`~mftbot.data.quality.BadInputLog` as ``bad`` to drop
bad rows instead: each is recorded there with its file and row (of duplicates the first is
kept). The timeframe comes from the argument, else the freqtrade file name, else (with
``infer=True``) the most common row spacing; the one used is in ``df.attrs["timeframe"]``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.feather as feather  # type: ignore[import-untyped]
from numpy.typing import NDArray

from mftbot.core.errors import DataError
from mftbot.data.quality import BadInputLog
from mftbot.data.timeframes import Timeframe, parse_timeframe
from mftbot.domain.events import CandleClosed

OHLCV = ("open", "high", "low", "close", "volume")
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class CandleType(StrEnum):
    """freqtrade's candle types (the suffix after the timeframe in a file name)."""

    SPOT = "spot"
    FUTURES = "futures"
    MARK = "mark"
    INDEX = "index"
    PREMIUM_INDEX = "premiumIndex"
    FUNDING_RATE = "funding_rate"


@dataclass(frozen=True, slots=True)
class FreqtradeName:
    """What a freqtrade data file name says: pair, timeframe and candle type.

    ``timeframe`` and ``candle_type`` are ``None`` for trade files (``<PAIR>-trades.*``).
    """

    symbol: str
    timeframe: str | None
    candle_type: CandleType | None

    @property
    def is_trades(self) -> bool:
        """True for a ``-trades`` file."""
        return self.timeframe is None


_NAME = re.compile(
    r"(?P<pair>[A-Za-z0-9]+(?:_[A-Za-z0-9]+){1,2})-"
    r"(?:(?P<trades>trades)|(?P<tf>[1-9][0-9]*[smhdwM])(?:-(?P<ctype>[A-Za-z_]+))?)"
    r"\.(?:feather|json|json\.gz|jsongz|parquet|csv)"
)


def parse_freqtrade_filename(name: str | Path) -> FreqtradeName:
    """Parse ``ETH_BTC-5m.feather`` (→ ``ETH/BTC``, ``5m``, spot) or
    ``XRP_USDT_USDT-5m-futures.feather`` (→ ``XRP/USDT:USDT``, ``5m``, futures).

    Raises :class:`DataError` when the name does not follow freqtrade's scheme.
    """
    base = Path(name).name
    match = _NAME.fullmatch(base)
    if match is None:
        raise DataError(
            f"{base}: not a freqtrade data file name (expected <BASE>_<QUOTE>[_<SETTLE>]-<tf>"
            "[-<candle type>].<ext> or <PAIR>-trades.<ext>)"
        )
    parts = match.group("pair").split("_")
    symbol = f"{parts[0]}/{parts[1]}" + (f":{parts[2]}" if len(parts) == 3 else "")
    if match.group("trades"):
        return FreqtradeName(symbol, None, None)
    ctype_text = match.group("ctype")
    try:
        ctype = CandleType(ctype_text) if ctype_text else CandleType.SPOT
    except ValueError:
        known = ", ".join(c.value for c in CandleType)
        raise DataError(f"{base}: unknown candle type {ctype_text!r} (known: {known})") from None
    if ctype is CandleType.SPOT and len(parts) == 3:
        ctype = CandleType.FUTURES
    return FreqtradeName(symbol, match.group("tf"), ctype)


# --------------------------------------------------------------------------- row checks


@dataclass(frozen=True, slots=True)
class RowCheck:
    """A rule violated where ``mask`` is true.

    ``kind`` is a short label (the counter key in :class:`BadInputLog`); ``detail(i)``
    describes row index ``i``. The full reason reads ``"<kind>: <detail>"``.
    """

    mask: BoolArray
    kind: str
    detail: Callable[[int], str]

    def reason(self, row: int) -> str:
        """The message for one offending row."""
        return f"{self.kind}: {self.detail(row)}"


def apply_row_checks(
    source: str,
    positions: IntArray,
    checks: Sequence[RowCheck],
    bad: BadInputLog | None,
    *,
    line_offset: int | None = None,
) -> BoolArray:
    """Apply ``checks`` to rows whose file positions are ``positions``; return rows to keep.

    Without ``bad`` the violation at the smallest file position raises :class:`DataError`
    (``source: row N: reason``). With ``bad`` every bad row is recorded (first reason only)
    and dropped. ``line_offset`` turns positions into text-file line numbers in messages.
    """
    n = len(positions)
    first_rule = np.full(n, -1, dtype=np.int64)
    for index, check in enumerate(checks):
        hit = check.mask & (first_rule < 0)
        first_rule[hit] = index
    flagged = np.flatnonzero(first_rule >= 0)
    keep: BoolArray = first_rule < 0
    if flagged.size == 0:
        return keep

    def where(row: int) -> tuple[int, str]:
        pos = int(positions[row])
        if line_offset is None:
            return pos, f"row {pos}"
        return pos + line_offset, f"line {pos + line_offset}"

    if bad is None:
        row = int(flagged[np.argmin(positions[flagged])])
        _, label = where(row)
        raise DataError(f"{source}: {label}: {checks[int(first_rule[row])].reason(row)}")
    for row in flagged[np.argsort(positions[flagged], kind="stable")]:
        number, _ = where(int(row))
        bad.record(source, number, checks[int(first_rule[row])].reason(int(row)))
    return keep


def report_bad_row(source: str, row: int, reason: str, bad: BadInputLog | None) -> None:
    """Record a bad row in ``bad``, or raise :class:`DataError` naming it when there is none."""
    if bad is None:
        raise DataError(f"{source}: row {row}: {reason}")
    bad.record(source, row, reason)


def iso(ts_ns: int) -> str:
    """An ns timestamp as ISO-8601 UTC text (for messages)."""
    return pd.Timestamp(ts_ns, unit="ns", tz="UTC").isoformat()


# --------------------------------------------------------------------------- raw loading


@dataclass(frozen=True, slots=True)
class _RawCandles:
    times: IntArray
    columns: dict[str, FloatArray]
    positions: IntArray


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.name.endswith((".gz", ".jsongz")) else data
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc


def load_json(path: Path) -> Any:
    """Decode a JSON or JSON.gz file (accepts the ``NaN`` literal Python writes)."""
    data = _read_bytes(path)
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        pass
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from exc


def read_arrow_file(path: Path) -> pa.Table:
    """Read a feather (Arrow IPC) file, with a clear error when it is not one."""
    try:
        return feather.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"{path}: not a readable feather (Arrow IPC) file: {exc}") from exc


def timestamps_ns(column: pa.ChunkedArray | pa.Array, source: str, name: str) -> IntArray:
    """An Arrow timestamp (any unit, tz-aware or UTC-naive) column as int64 ns."""
    if not pa.types.is_timestamp(column.type):
        raise DataError(f"{source}: column {name!r} is {column.type}, expected a timestamp")
    if column.null_count:
        raise DataError(f"{source}: column {name!r} has {column.null_count} missing timestamps")
    cast = pc.cast(column, pa.timestamp("ns", tz=column.type.tz))
    return np.asarray(cast.cast(pa.int64()).to_numpy(), dtype=np.int64)


def float_column(table: pa.Table, name: str, source: str) -> FloatArray:
    """A numeric Arrow column as float64 (nulls become NaN and fail validation later)."""
    column = table.column(name)
    if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
        raise DataError(f"{source}: column {name!r} is {column.type}, expected numbers")
    return np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _require_columns(present: Sequence[str], needed: Sequence[str], source: str) -> None:
    missing = [c for c in needed if c not in present]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)} (has: {', '.join(present)})"
        )


def _load_feather(path: Path) -> _RawCandles:
    table = read_arrow_file(path)
    source = str(path)
    _require_columns(table.column_names, ("date", *OHLCV), source)
    times = timestamps_ns(table.column("date"), source, "date")
    cols = {name: float_column(table, name, source) for name in OHLCV}
    return _RawCandles(times, cols, np.arange(len(times), dtype=np.int64))


def _load_json_rows(path: Path, rows: list[Any], bad: BadInputLog | None) -> _RawCandles:
    source = str(path)
    times: list[int] = []
    values: list[list[float]] = []
    positions: list[int] = []
    for pos, row in enumerate(rows):
        problem = _json_row_problem(row)
        if problem is not None:
            message = f"malformed row: expected [open_time_ms, o, h, l, c, v], {problem}"
            report_bad_row(source, pos, message, bad)
            continue
        times.append(int(row[0]) * 1_000_000)
        values.append([float(v) if v is not None else np.nan for v in row[1:]])
        positions.append(pos)
    matrix = np.asarray(values, dtype=np.float64).reshape(-1, 5)
    cols = {name: np.ascontiguousarray(matrix[:, i]) for i, name in enumerate(OHLCV)}
    return _RawCandles(
        np.asarray(times, dtype=np.int64), cols, np.asarray(positions, dtype=np.int64)
    )


def _json_row_problem(row: Any) -> str | None:
    if not isinstance(row, list) or len(row) != 6:
        return f"got {json.dumps(row)[:80]}"
    ts = row[0]
    if isinstance(ts, bool) or not isinstance(ts, int | float) or ts != ts or int(ts) != ts:
        return f"open time {ts!r} is not an integer of ms"
    for value in row[1:]:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"value {value!r} is not a number"
    return None


def _load_pandas_columns(path: Path, doc: dict[str, Any]) -> _RawCandles:
    source = str(path)
    _require_columns(list(doc), ("date", *OHLCV), source)
    for name in ("date", *OHLCV):
        if not isinstance(doc[name], dict):
            raise DataError(f"{source}: column {name!r} is not an index→value mapping")
    labels = list(doc["date"])
    for name in OHLCV:
        if list(doc[name]) != labels:
            raise DataError(f"{source}: column {name!r} has other row labels than 'date'")
    try:
        positions = np.asarray([int(label) for label in labels], dtype=np.int64)
    except ValueError as exc:
        raise DataError(f"{source}: row labels are not integers: {exc}") from exc
    raw_dates = list(doc["date"].values())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in raw_dates):
        times = np.asarray(raw_dates, dtype=np.int64) * 1_000_000
    else:
        try:
            parsed = pd.to_datetime(pd.Series(raw_dates), utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise DataError(f"{source}: 'date' values are neither ms nor ISO dates") from exc
        if parsed.isna().any():
            row = int(positions[int(np.flatnonzero(parsed.isna().to_numpy())[0])])
            raise DataError(f"{source}: row {row}: missing date")
        times = np.asarray(parsed.astype("int64").to_numpy(), dtype=np.int64)
    cols: dict[str, FloatArray] = {}
    for name in OHLCV:
        try:
            cols[name] = np.asarray(
                [np.nan if v is None else v for v in doc[name].values()], dtype=np.float64
            )
        except (TypeError, ValueError) as exc:
            raise DataError(f"{source}: column {name!r} holds non-numbers: {exc}") from exc
    return _RawCandles(times, cols, positions)


def _load(path: Path, bad: BadInputLog | None) -> _RawCandles:
    name = path.name
    if name.endswith(".feather"):
        return _load_feather(path)
    if name.endswith((".json", ".json.gz", ".jsongz")):
        doc = load_json(path)
        if isinstance(doc, list):
            return _load_json_rows(path, doc, bad)
        if isinstance(doc, dict):
            return _load_pandas_columns(path, doc)
        raise DataError(f"{path}: JSON top level is {type(doc).__name__}, expected list or dict")
    raise DataError(f"{path}: unknown candle file type (expected .feather, .json or .json.gz)")


# --------------------------------------------------------------------------- validation


def _sorted(raw: _RawCandles) -> _RawCandles:
    order = np.argsort(raw.times, kind="stable")
    if np.all(order == np.arange(len(order))):
        return raw
    return _RawCandles(
        raw.times[order], {k: v[order] for k, v in raw.columns.items()}, raw.positions[order]
    )


def _take(raw: _RawCandles, keep: BoolArray) -> _RawCandles:
    if bool(keep.all()):
        return raw
    return _RawCandles(
        raw.times[keep], {k: v[keep] for k, v in raw.columns.items()}, raw.positions[keep]
    )


def _value_checks(raw: _RawCandles, allow_nan_volume: bool) -> list[RowCheck]:
    o, h, lo, c, v = (raw.columns[name] for name in OHLCV)
    prices = np.column_stack([o, h, lo, c])
    with np.errstate(invalid="ignore"):
        nan_price = np.asarray(np.isnan(prices).any(axis=1), dtype=np.bool_)
        nan_volume = np.isnan(v) if not allow_nan_volume else np.zeros(len(v), np.bool_)
        inf = ~np.isfinite(prices).all(axis=1) & ~nan_price | np.isinf(v)
        nonpos = np.asarray((prices <= 0).any(axis=1), dtype=np.bool_)
        high_low = h < lo
        high_bad = h < np.maximum(o, c)
        low_bad = lo > np.minimum(o, c)
        neg_volume = v < 0
    t = raw.times

    def values(i: int) -> str:
        return f"(open {o[i]}, high {h[i]}, low {lo[i]}, close {c[i]}, volume {v[i]})"

    def at(i: int) -> str:
        return f"candle {iso(t[i])} {values(i)}"

    return [
        RowCheck(nan_price | nan_volume, "NaN value", at),
        RowCheck(inf, "infinite value", at),
        RowCheck(nonpos, "non-positive price", at),
        RowCheck(high_low, "high < low", at),
        RowCheck(high_bad, "high < max(open, close)", at),
        RowCheck(low_bad, "low > min(open, close)", at),
        RowCheck(neg_volume, "negative volume", at),
    ]


def duplicate_check(times: IntArray, what: str = "open time") -> RowCheck:
    """Rows (in sorted order) repeating the previous row's timestamp."""
    dup = np.zeros(len(times), dtype=np.bool_)
    dup[1:] = times[1:] == times[:-1]
    return RowCheck(dup, f"duplicate {what}", lambda i: iso(times[i]))


def _spacing_checks(raw: _RawCandles, tf: Timeframe) -> list[RowCheck]:
    t = raw.times
    off_grid = ~tf.is_aligned(t)
    too_close = np.zeros(len(t), dtype=np.bool_)
    if len(t) > 1:
        ends = tf.next_start_array(t)
        # Greedy pass: a candle must open at or after the previous kept candle's close.
        violations = t[1:] < ends[:-1]
        if violations.any():
            last_end = ends[0]
            for i in range(1, len(t)):
                if t[i] < last_end:
                    too_close[i] = True
                else:
                    last_end = ends[i]
    return [
        RowCheck(off_grid, f"off the {tf} grid", lambda i: f"open time {iso(t[i])}"),
        RowCheck(
            too_close,
            f"closer than {tf}",
            lambda i: f"candle {iso(t[i])} opens before the previous candle closes",
        ),
    ]


def validate_candles(
    raw_times: IntArray,
    columns: dict[str, FloatArray],
    positions: IntArray,
    source: str,
    *,
    timeframe: str | Timeframe | None,
    infer: bool = False,
    allow_nan_volume: bool = False,
    bad: BadInputLog | None = None,
) -> pd.DataFrame:
    """Sort and validate raw candle arrays; return the standard candle DataFrame.

    Without a ``timeframe`` but with ``infer``, the most common spacing of the valid rows is
    used as the timeframe. The timeframe checked (or ``None``) is in ``df.attrs["timeframe"]``.
    """
    raw = _sorted(_RawCandles(raw_times, columns, positions))
    keep = apply_row_checks(
        source,
        raw.positions,
        [*_value_checks(raw, allow_nan_volume), duplicate_check(raw.times)],
        bad,
    )
    raw = _take(raw, keep)
    if timeframe is None and infer:
        timeframe = _infer_step(raw.times)
    tf = parse_timeframe(timeframe) if timeframe is not None else None
    if tf is not None:
        keep = apply_row_checks(source, raw.positions, _spacing_checks(raw, tf), bad)
        raw = _take(raw, keep)
    frame = candle_frame(raw.times, raw.columns)
    frame.attrs["timeframe"] = tf.text if tf is not None else None
    return frame


def candle_frame(times: IntArray, columns: dict[str, FloatArray]) -> pd.DataFrame:
    """Build the standard candle DataFrame from ns open times and OHLCV arrays."""
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="ns", utc=True), name="time")
    return pd.DataFrame(
        {name: np.asarray(columns[name], dtype=np.float64) for name in OHLCV}, index=index
    )


# --------------------------------------------------------------------------- public readers


def read_candles(
    path: str | Path,
    *,
    timeframe: str | None = None,
    candle_type: CandleType | None = None,
    infer: bool = False,
    bad: BadInputLog | None = None,
) -> pd.DataFrame:
    """Read a freqtrade candle file (feather, JSON list, JSON.gz, pandas-columns JSON).

    ``timeframe`` and ``candle_type`` default to what the file name says (when it follows
    freqtrade's naming); ``infer`` takes the most common row spacing when neither says.
    With a timeframe, grid alignment and spacing are checked too; it is returned in
    ``df.attrs["timeframe"]``. Funding-rate files are refused: use :func:`read_funding_rates`.
    """
    path = Path(path)
    name_info: FreqtradeName | None
    try:
        name_info = parse_freqtrade_filename(path)
    except DataError:
        name_info = None
    if name_info is not None and name_info.is_trades:
        raise DataError(f"{path}: a trades file, not candles (use mftbot.data.trades)")
    if timeframe is None and name_info is not None:
        timeframe = name_info.timeframe
    if candle_type is None:
        candle_type = name_info.candle_type if name_info is not None else CandleType.SPOT
    if candle_type is CandleType.FUNDING_RATE:
        raise DataError(f"{path}: a funding-rate file; read it with read_funding_rates()")
    raw = _load(path, bad)
    return validate_candles(
        raw.times,
        raw.columns,
        raw.positions,
        str(path),
        timeframe=timeframe,
        infer=infer,
        allow_nan_volume=candle_type in (CandleType.MARK, CandleType.INDEX),
        bad=bad,
    )


MAX_ABS_FUNDING_RATE = 0.5
"""A funding rate beyond ±50 % per period is treated as corrupt input."""


def read_funding_rates(path: str | Path, *, bad: BadInputLog | None = None) -> pd.DataFrame:
    """Read a freqtrade ``-funding_rate`` feather/JSON: the rate is in ``open``.

    Returns a DataFrame indexed by ``time`` (the funding time exactly as stored; Binance's
    carry a few ms of offset) with one float64 column ``rate``. NaN, infinite or absurd
    (``|rate| > 0.5``) rates and duplicate times are bad rows.
    """
    path = Path(path)
    raw = _sorted(_load(path, bad))
    rate = raw.columns["open"]
    t = raw.times
    with np.errstate(invalid="ignore"):
        checks = [
            RowCheck(~np.isfinite(rate), "rate not finite", lambda i: f"{rate[i]} at {iso(t[i])}"),
            RowCheck(
                np.abs(rate) > MAX_ABS_FUNDING_RATE,
                f"rate beyond ±{MAX_ABS_FUNDING_RATE}",
                lambda i: f"{rate[i]} at {iso(t[i])}",
            ),
            duplicate_check(t, "funding time"),
        ]
    keep = apply_row_checks(str(path), raw.positions, checks, bad)
    index = pd.DatetimeIndex(pd.to_datetime(t[keep], unit="ns", utc=True), name="time")
    return pd.DataFrame({"rate": rate[keep]}, index=index)


def infer_timeframe(df: pd.DataFrame) -> str | None:
    """The most common spacing between candle open times as a ccxt timeframe, or ``None``.

    Used for files whose name carries no timeframe; ``None`` when there are fewer than two
    rows or the spacing is not a whole number of seconds.
    """
    return _infer_step(index_ns(pd.DatetimeIndex(df.index)))


def index_ns(index: pd.DatetimeIndex) -> IntArray:
    """The index's times as int64 ns (a view when the index is in ns already)."""
    out: IntArray = index.asi8 if index.unit == "ns" else index.as_unit("ns").asi8
    return out


_SPACING_CHUNK = 1 << 16


def spacing_counts(times: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct gaps between consecutive ``times`` (sorted) and how often each occurs.

    Computed chunk by chunk: memory grows with the number of distinct gaps, not with the
    length of the series (``np.unique(np.diff(times), return_counts=True)`` in effect).
    """
    values: IntArray = np.empty(0, dtype=np.int64)
    counts: IntArray = np.empty(0, dtype=np.int64)
    last = len(times) - 1
    for start in range(0, max(last, 0), _SPACING_CHUNK):
        stop = min(start + _SPACING_CHUNK, last)
        steps = times[start + 1 : stop + 1] - times[start:stop]
        new_values, new_counts = np.unique(steps, return_counts=True)
        if values.size == 0:
            values, counts = new_values.astype(np.int64), new_counts.astype(np.int64)
            continue
        merged, where = np.unique(np.concatenate((values, new_values)), return_inverse=True)
        total = np.zeros(merged.size, dtype=np.int64)
        np.add.at(total, where, np.concatenate((counts, new_counts)))
        values, counts = merged.astype(np.int64), total
    return values, counts


def _infer_step(times: IntArray) -> str | None:
    if len(times) < 2:
        return None
    values, counts = spacing_counts(times)
    step = int(values[int(np.argmax(counts))])
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        ns = size * 1_000_000_000
        if step % ns == 0:
            return f"{step // ns}{unit}"
    return None


def candles_to_events(
    df: pd.DataFrame, venue: str, symbol: str, timeframe: str
) -> Iterator[CandleClosed]:
    """Yield one :class:`CandleClosed` per row; ``ts_event = ts_recv`` = the candle's close."""
    tf = parse_timeframe(timeframe)
    _require_columns(list(df.columns), OHLCV, "candles DataFrame")
    opens = pd.DatetimeIndex(df.index).as_unit("ns").asi8
    closes = tf.next_start_array(opens)
    o, h, lo, c, v = (df[name].to_numpy(dtype=np.float64).tolist() for name in OHLCV)
    rows = zip(opens.tolist(), closes.tolist(), o, h, lo, c, v, strict=True)
    for open_ns, close_ns, op, hi, low, cl, vol in rows:
        yield CandleClosed(
            venue, symbol, tf.text, open_ns, close_ns, close_ns, op, hi, low, cl, vol
        )
