"""Public-trade readers for freqtrade's trade files and Kraken's trade CSV.

Formats read by :func:`read_trades`:

* freqtrade feather: ``timestamp`` (ms), ``id``, ``type``, ``side``, ``price``, ``amount``,
  ``cost``;
* freqtrade JSON / JSON.gz: lists ``[timestamp_ms, id, type, side, price, amount, cost]``;
* the old ccxt dict form (``{"timestamp", "id", "side", "price", "amount", "symbol",
  "info": {raw aggTrade}}``), e.g. ``XRP_OLD-trades.json.gz``;
* freqtrade's orderflow CSV: ``,timestamp,id,type,side,price,amount,cost,date``;
* Kraken's headerless trade CSV ``unix_seconds,price,volume``.

The result is a DataFrame with a UTC ``DatetimeIndex`` named ``time`` (the trade time,
sorted; equal times keep file order) and columns ``price``, ``amount`` (float64, base
units), ``side`` (categorical ``buy``/``sell``: the taker side) and ``trade_id`` (string).
Kraken's CSV states no aggressor side and no trade id: there ``side`` and ``trade_id`` are
missing (NaN), never guessed; :func:`trades_to_events` refuses such trades, since a
:class:`TradeTick` must carry a side. When a file names its symbol (the ccxt dict form),
it is in ``df.attrs["symbol"]``.

Bad rows (missing/unparsable time, NaN/non-positive/infinite price or amount, a side other
than buy/sell where the format has one, a repeated trade id) raise :class:`DataError`
naming the file and the first bad row (``row N`` = 0-based record; ``line N`` in CSVs),
unless a :class:`~mftbot.data.quality.BadInputLog` is passed as ``bad``: then they are
recorded there and dropped (of repeated ids the first is kept).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
from numpy.typing import NDArray

from mftbot.core.errors import DataError
from mftbot.data.candles import (
    BoolArray,
    FloatArray,
    IntArray,
    RowCheck,
    apply_row_checks,
    float_column,
    iso,
    load_json,
    read_arrow_file,
    report_bad_row,
)
from mftbot.data.quality import BadInputLog
from mftbot.domain.enums import Side
from mftbot.domain.events import TradeTick

TRADE_COLUMNS = ("price", "amount", "side", "trade_id")
SIDE_DTYPE = pd.CategoricalDtype(["buy", "sell"])
ObjArray = NDArray[np.object_]
_ABSENT = -1
"""Marker in ``_RawTrades.times`` for a row whose time could not be parsed."""


@dataclass(frozen=True, slots=True)
class _RawTrades:
    times: IntArray
    price: FloatArray
    amount: FloatArray
    side: ObjArray
    trade_id: ObjArray
    positions: IntArray
    time_ok: BoolArray


def _obj(values: list[Any]) -> ObjArray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _clean_side(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower()
    return value


def _clean_id(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _ms_to_ns(values: FloatArray) -> tuple[IntArray, BoolArray]:
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & (values == np.floor(values))
    times = np.where(ok, values, 0).astype(np.int64) * 1_000_000
    return times, ok


# --------------------------------------------------------------------------- formats


def _from_feather(path: Path) -> _RawTrades:
    table = read_arrow_file(path)
    source = str(path)
    needed = ("timestamp", "id", "side", "price", "amount")
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise DataError(f"{source}: missing trade column(s) {', '.join(missing)}")
    ts_col = table.column("timestamp")
    if pa.types.is_timestamp(ts_col.type):
        ts_ms = float_column(
            pa.table({"t": ts_col.cast(pa.timestamp("ms", tz=ts_col.type.tz)).cast(pa.int64())}),
            "t",
            source,
        )
    else:
        ts_ms = float_column(table, "timestamp", source)
    times, ok = _ms_to_ns(ts_ms)
    sides = [_clean_side(v) for v in table.column("side").to_pylist()]
    ids = [_clean_id(v) for v in table.column("id").to_pylist()]
    return _RawTrades(
        times,
        float_column(table, "price", source),
        float_column(table, "amount", source),
        _obj(sides),
        _obj(ids),
        np.arange(len(times), dtype=np.int64),
        ok,
    )


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return float("nan")
    return float(value)


_LIST_FORM = "[timestamp_ms, id, type, side, price, amount, cost]"
_DICT_KEYS = ("timestamp", "id", "side", "price", "amount")


def _from_rows(
    path: Path, rows: Iterable[tuple[int, Any]], bad: BadInputLog | None, expected: str
) -> _RawTrades:
    """Rows already in list form ``[ts, id, type, side, price, amount, cost]``; ``None``
    marks a malformed record (``expected`` describes the form it should have had)."""
    source = str(path)
    ts: list[float] = []
    price: list[float] = []
    amount: list[float] = []
    side: list[Any] = []
    ids: list[str | None] = []
    positions: list[int] = []
    for pos, row in rows:
        if not isinstance(row, list) or len(row) != 7:
            message = f"malformed row: expected {expected}, got {json.dumps(row)[:80]}"
            report_bad_row(source, pos, message, bad)
            continue
        ts.append(_number(row[0]))
        ids.append(_clean_id(row[1]))
        side.append(_clean_side(row[3]))
        price.append(_number(row[4]))
        amount.append(_number(row[5]))
        positions.append(pos)
    times, ok = _ms_to_ns(np.asarray(ts, dtype=np.float64))
    return _RawTrades(
        times,
        np.asarray(price, dtype=np.float64),
        np.asarray(amount, dtype=np.float64),
        _obj(side),
        _obj(ids),
        np.asarray(positions, dtype=np.int64),
        ok,
    )


def _dict_as_row(row: Any) -> Any:
    if not isinstance(row, dict) or any(key not in row for key in _DICT_KEYS):
        return row
    keys = ("timestamp", "id", "type", "side", "price", "amount", "cost")
    return [row.get(key) for key in keys]


def _from_dicts(
    path: Path, rows: list[Any], bad: BadInputLog | None
) -> tuple[_RawTrades, str | None]:
    symbols = {
        r["symbol"] for r in rows if isinstance(r, dict) and isinstance(r.get("symbol"), str)
    }
    if len(symbols) > 1:
        raise DataError(f"{path}: trades of several symbols ({', '.join(sorted(symbols))})")
    expected = "a ccxt trade dict with " + ", ".join(_DICT_KEYS)
    raw = _from_rows(path, ((pos, _dict_as_row(r)) for pos, r in enumerate(rows)), bad, expected)
    return raw, (symbols.pop() if symbols else None)


def _from_freqtrade_csv(path: Path) -> _RawTrades:
    source = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{source}: not a readable trades CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("timestamp", "id", "side", "price", "amount") if c not in frame]
    if missing:
        raise DataError(f"{source}: missing trade column(s) {', '.join(missing)}")

    def num(name: str) -> FloatArray:
        column = frame[name].astype(str).str.strip()
        return np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)

    times, ok = _ms_to_ns(num("timestamp"))
    return _RawTrades(
        times,
        num("price"),
        num("amount"),
        _obj([_clean_side(v) or None for v in frame["side"].tolist()]),
        _obj([_clean_id(v) for v in frame["id"].tolist()]),
        np.arange(len(frame), dtype=np.int64),
        ok,
    )


def _from_kraken_csv(path: Path) -> _RawTrades:
    source = str(path)
    try:
        frame = pd.read_csv(
            path, header=None, names=["ts", "price", "volume"], dtype=str, keep_default_na=False
        )
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{source}: not a readable Kraken trades CSV: {exc}") from exc

    def num(name: str) -> FloatArray:
        return np.asarray(pd.to_numeric(frame[name], errors="coerce"), dtype=np.float64)

    seconds = num("ts")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(seconds) & (seconds > 0)
    micros = np.round(np.where(ok, seconds, 0) * 1e6).astype(np.int64)
    n = len(frame)
    return _RawTrades(
        micros * 1000,
        num("price"),
        num("volume"),
        _obj([None] * n),
        _obj([None] * n),
        np.arange(n, dtype=np.int64),
        ok,
    )


def _is_headerless_numeric(path: Path) -> bool:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip()
    fields = first.split(",")
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return len(fields) == 3


# --------------------------------------------------------------------------- validation


def _finish(
    raw: _RawTrades,
    source: str,
    bad: BadInputLog | None,
    *,
    has_side: bool,
    line_offset: int | None,
) -> pd.DataFrame:
    order = np.argsort(np.where(raw.time_ok, raw.times, _ABSENT), kind="stable")
    t = raw.times[order]
    price, amount = raw.price[order], raw.amount[order]
    side, ids, positions = raw.side[order], raw.trade_id[order], raw.positions[order]
    time_ok = raw.time_ok[order]
    with np.errstate(invalid="ignore"):
        price_bad = ~np.isfinite(price) | (price <= 0)
        amount_bad = ~np.isfinite(amount) | (amount <= 0)
    side_bad = (
        np.asarray([s not in ("buy", "sell") for s in side], dtype=np.bool_)
        if has_side
        else np.zeros(len(side), dtype=np.bool_)
    )
    dup_id = np.asarray(pd.Series(ids).duplicated().to_numpy(), dtype=np.bool_) & np.asarray(
        [i is not None for i in ids], dtype=np.bool_
    )

    def at(i: int) -> str:
        when = iso(int(t[i])) if time_ok[i] else "?"
        return f"trade {ids[i]} at {when} (price {price[i]}, amount {amount[i]}, side {side[i]})"

    checks = [
        RowCheck(~time_ok, "bad timestamp", at),
        RowCheck(price_bad, "bad price", at),
        RowCheck(amount_bad, "bad amount", at),
        RowCheck(side_bad, "bad side", at),
        RowCheck(dup_id, "duplicate trade id", at),
    ]
    keep = apply_row_checks(source, positions, checks, bad, line_offset=line_offset)
    return trade_frame(t[keep], price[keep], amount[keep], side[keep], ids[keep])


def trade_frame(
    times: IntArray, price: FloatArray, amount: FloatArray, side: ObjArray, trade_id: ObjArray
) -> pd.DataFrame:
    """Build the standard trades DataFrame from arrays (``None`` = unknown side / id)."""
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="ns", utc=True), name="time")
    return pd.DataFrame(
        {
            "price": np.asarray(price, dtype=np.float64),
            "amount": np.asarray(amount, dtype=np.float64),
            "side": pd.Categorical(list(side), dtype=SIDE_DTYPE),
            "trade_id": pd.array(list(trade_id), dtype="str"),
        },
        index=index,
    )


# --------------------------------------------------------------------------- public API


def read_trades(path: str | Path, *, bad: BadInputLog | None = None) -> pd.DataFrame:
    """Read a freqtrade trades file (feather, JSON list, ccxt dicts, orderflow CSV) or a
    Kraken trades CSV into the standard trades DataFrame (see the module docstring)."""
    path = Path(path)
    source = str(path)
    name = path.name
    symbol: str | None = None
    if name.endswith(".feather"):
        raw, has_side, offset = _from_feather(path), True, None
    elif name.endswith((".json", ".json.gz", ".jsongz")):
        doc = load_json(path)
        if not isinstance(doc, list):
            raise DataError(f"{source}: expected a JSON list of trades, got {type(doc).__name__}")
        if doc and isinstance(doc[0], dict):
            raw, symbol = _from_dicts(path, doc, bad)
        else:
            raw = _from_rows(path, enumerate(doc), bad, _LIST_FORM)
        has_side, offset = True, None
    elif name.endswith(".csv"):
        if _is_headerless_numeric(path):
            raw, has_side, offset = _from_kraken_csv(path), False, 1
        else:
            raw, has_side, offset = _from_freqtrade_csv(path), True, 2
    else:
        raise DataError(f"{source}: unknown trades file type (feather, json, json.gz, csv)")
    df = _finish(raw, source, bad, has_side=has_side, line_offset=offset)
    if symbol is not None:
        df.attrs["symbol"] = symbol
    return df


def trades_to_events(
    df: pd.DataFrame, venue: str, symbol: str, *, bad: BadInputLog | None = None
) -> Iterator[TradeTick]:
    """Yield one :class:`TradeTick` per row of a trades DataFrame.

    ``ts_recv`` comes from an integer ``ts_recv`` column when present, else equals
    ``ts_event``. A trade without a side (Kraken) raises :class:`DataError`, or with ``bad``
    is recorded (source ``venue:symbol``, row = position in ``df``) and skipped.
    """
    missing = [c for c in TRADE_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"trades DataFrame lacks column(s) {', '.join(missing)}")
    ts = pd.DatetimeIndex(df.index).as_unit("ns").asi8.tolist()
    recv = df["ts_recv"].to_numpy(dtype=np.int64).tolist() if "ts_recv" in df else ts
    prices = df["price"].to_numpy(dtype=np.float64).tolist()
    amounts = df["amount"].to_numpy(dtype=np.float64).tolist()
    sides = df["side"].astype(object).tolist()
    ids = df["trade_id"].astype(object).tolist()
    rows = zip(ts, recv, prices, amounts, sides, ids, strict=True)
    for row, (t, r, p, a, s, i) in enumerate(rows):
        if s not in ("buy", "sell"):
            reason = f"no aggressor side: trade at {iso(t)} has side {s!r}; TradeTick needs one"
            report_bad_row(f"{venue}:{symbol}", row, reason, bad)
            continue
        trade_id = "" if i is None or (isinstance(i, float) and i != i) else str(i)
        yield TradeTick(venue, symbol, t, r, p, a, Side(s), trade_id)
