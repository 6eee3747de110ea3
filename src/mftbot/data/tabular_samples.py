"""Readers for NautilusTrader's Binance samples and Tardis.dev CSVs, yielding market events.

Nautilus (Binance) files:

* depth CSV ``symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu``
  (ms; ``snap`` rows → one :class:`BookSnapshot` per run of rows sharing timestamp and update
  ids, ``set`` rows → one :class:`BookDelta` per run; ``pu`` = -1 → no previous id);
* trades parquet ``timestamp, trade_id, price, quantity, buyer_maker`` → :class:`TradeTick`
  (buyer is maker → the taker sold);
* quotes parquet ``timestamp, symbol, ask_size, ask, bid_size, bid`` → :class:`QuoteTick`.

Tardis CSVs (``timestamp`` = exchange, ``local_timestamp`` = receive, both µs):

* ``book_snapshot_<N>``: one :class:`BookSnapshot` per row (empty level fields skipped);
* ``incremental_book_L2``: a run of ``is_snapshot=true`` rows → :class:`BookSnapshot`, rows
  sharing timestamps → :class:`BookDelta` (amount 0 removes a level);
* ``trades`` → :class:`TradeTick`; ``quotes`` → :class:`QuoteTick`.

Tardis carries no venue update ids: ``update_id`` is the 1-based message number in the file.
A bad message is dropped whole (never a partial book) and its number is still consumed, so a
book sees the gap. Exchange ids map to ccxt venues and symbols (:func:`to_ccxt_symbol`);
``venue``/``symbol`` arguments override them. Without a ``bad`` log the first bad row
raises :class:`DataError` naming the file and line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from mftbot.core.errors import DataError
from mftbot.data.candles import (
    BoolArray,
    RowCheck,
    apply_row_checks,
    float_column,
    iso,
    timestamps_ns,
)
from mftbot.data.quality import BadInputLog
from mftbot.data.symbols import to_ccxt
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, Level, QuoteTick, TradeTick

BookEvent = BookSnapshot | BookDelta

# --------------------------------------------------------------------------- symbols

_KRAKEN_QUOTES = ("USDT", "USDC", "USD", "EUR", "GBP", "JPY", "CAD", "CHF", "AUD", "XBT",
                  "BTC", "ETH")  # fmt: skip
_KRAKEN_ALIASES = {"XBT": "BTC", "XDG": "DOGE"}
_CCXT_MAPPED = frozenset({"binance", "binanceusdm", "binancecoinm", "bybit"})
TARDIS_VENUES = {
    "binance": "binance",
    "binance-futures": "binanceusdm",
    "binance-delivery": "binancecoinm",
    "bybit": "bybit",
    "bitmex": "bitmex",
    "deribit": "deribit",
    "huobi-dm-swap": "htx",
}
"""Tardis exchange id → ccxt exchange id."""


def _split_kraken(pair: str) -> tuple[str, str]:
    for quote in _KRAKEN_QUOTES:
        if pair.endswith(quote) and len(pair) > len(quote):
            base = pair[: -len(quote)]
            return _KRAKEN_ALIASES.get(base, base), _KRAKEN_ALIASES.get(quote, quote)
    raise DataError(f"symbol {pair!r}: no known Kraken quote asset ({', '.join(_KRAKEN_QUOTES)})")


def to_ccxt_symbol(raw: str, venue: str) -> str:
    """Map an exchange symbol to ccxt's unified form.

    Binance and Bybit ids go through :func:`mftbot.data.symbols.to_ccxt`; further:
    ``kraken`` ``BCHEUR`` → ``BCH/EUR`` (``XBT`` → ``BTC``); inverse perpetuals ``bitmex``
    ``XBTUSD``, ``deribit`` ``BTC-PERPETUAL`` and ``htx`` ``BTC-USD`` → ``BTC/USD:BTC``.
    Already-unified input (with ``/``) is returned unchanged; anything else raises
    :class:`DataError`.
    """
    if "/" in raw:
        return raw
    upper = raw.strip().upper()
    if venue in _CCXT_MAPPED:
        return to_ccxt(upper, venue)
    if venue == "kraken":
        base, quote = _split_kraken(upper)
        return f"{base}/{quote}"
    if venue == "deribit" and upper.endswith("-PERPETUAL"):
        base = upper[: -len("-PERPETUAL")]
        return f"{base}/USD:{base}"
    if venue == "bitmex" and upper.endswith("USD"):
        base = _KRAKEN_ALIASES.get(upper[:-3], upper[:-3])
        return f"{base}/USD:{base}"
    if venue == "htx" and upper.endswith("-USD"):
        base = upper[: -len("-USD")]
        return f"{base}/USD:{base}"
    raise DataError(f"no ccxt mapping for {raw!r} on venue {venue!r}: pass the symbol explicitly")


def tardis_venue(exchange: str) -> str:
    """The ccxt venue id of a Tardis exchange id."""
    try:
        return TARDIS_VENUES[exchange]
    except KeyError:
        known = ", ".join(sorted(TARDIS_VENUES))
        raise DataError(f"unknown Tardis exchange {exchange!r} (known: {known})") from None


# --------------------------------------------------------------------------- helpers


class _BadRowError(Exception):
    """A row that cannot be used; the message is the reason (``kind: detail``)."""


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _BadRowError(f"bad number: {what} {text!r}") from None
    if not math.isfinite(value):
        raise _BadRowError(f"bad number: {what} {text!r}")
    return value


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _BadRowError(f"bad integer: {what} {text!r}") from None


def _level(price_text: str, size_text: str, *, allow_zero: bool) -> Level:
    price = _float(price_text, "price")
    size = _float(size_text, "size")
    if price <= 0:
        raise _BadRowError(f"bad price: {price_text!r}")
    if size < 0 or (size == 0 and not allow_zero):
        raise _BadRowError(f"bad size: {size_text!r} at price {price_text}")
    return (price, size)


def _report(source: str, line: int, reason: str, bad: BadInputLog | None) -> None:
    if bad is None:
        raise DataError(f"{source}: line {line}: {reason}")
    bad.record(source, line, reason)


def _require(source: str, present: Sequence[str], needed: Sequence[str]) -> None:
    """Raise :class:`DataError` naming the ``needed`` columns absent from ``present``."""
    missing = [c for c in needed if c not in present]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}")


def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` pairs of a CSV with a header that has ``required`` columns."""
    try:
        handle = path.open("r", encoding="utf-8", newline="")
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        _require(str(path), reader.fieldnames or [], required)
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise DataError(f"{path}: line {reader.line_num}: wrong number of fields")
            yield reader.line_num, row


def _sort_levels(levels: list[Level], *, descending: bool) -> list[Level]:
    return sorted(levels, key=lambda lv: lv[0], reverse=descending)


@dataclass
class _Group:
    """Rows gathered into one book message."""

    key: tuple[object, ...]
    first_line: int
    ts_event: int
    ts_recv: int
    bids: list[Level]
    asks: list[Level]
    error: str | None = None
    error_line: int = 0
    ids: tuple[str, int, int, int] = ("set", 0, 0, -1)
    """Binance depth: update type, first and last update id, previous update id."""

    def add_level(
        self,
        line: int,
        price: str,
        size: str,
        side: str,
        sides: tuple[str, str],
        *,
        allow_zero: bool,
    ) -> None:
        """Add one row's level to the bids or asks (``sides``: the bid and the ask code);
        a bad row marks the whole group bad."""
        try:
            level = _level(price, size, allow_zero=allow_zero)
            if side == sides[0]:
                self.bids.append(level)
            elif side == sides[1]:
                self.asks.append(level)
            else:
                raise _BadRowError(f"bad side: {side!r}")
        except _BadRowError as exc:
            self.error, self.error_line = str(exc), line


# --------------------------------------------------------------------------- Nautilus Binance


def read_binance_depth_csv(
    path: str | Path,
    *,
    venue: str = "binanceusdm",
    symbol: str | None = None,
    bad: BadInputLog | None = None,
) -> Iterator[BookEvent]:
    """Binance historical depth CSV (Nautilus sample) → snapshots and deltas, in file order."""
    path = Path(path)
    source = str(path)
    cols = ("symbol", "timestamp", "first_update_id", "last_update_id", "side",
            "update_type", "price", "qty", "pu")  # fmt: skip
    group: _Group | None = None

    def flush(g: _Group) -> BookEvent | None:
        if g.error is not None:
            _report(source, g.error_line, g.error, bad)
            return None
        update_type, first_id, last_id, pu = g.ids
        sym = symbol or to_ccxt_symbol(str(g.key[0]), venue)
        bids = _sort_levels(g.bids, descending=True)
        asks = _sort_levels(g.asks, descending=False)
        if update_type == "snap":
            return BookSnapshot(venue, sym, g.ts_event, g.ts_recv, last_id, bids, asks)
        prev = pu if pu >= 0 else None
        return BookDelta(venue, sym, g.ts_event, g.ts_recv, first_id, last_id, bids, asks, prev)

    for line, row in _csv_rows(path, cols):
        key = (row["symbol"], row["timestamp"], row["first_update_id"], row["last_update_id"],
               row["update_type"])  # fmt: skip
        if group is not None and group.key != key:
            event = flush(group)
            if event is not None:
                yield event
            group = None
        if group is None:
            group = _Group(key, line, 0, 0, [], [])
            try:
                ts = _int(row["timestamp"], "timestamp") * 1_000_000
                update_type = row["update_type"]
                if update_type not in ("snap", "set"):
                    raise _BadRowError(f"bad update type: {update_type!r}")
                group.ids = (
                    update_type,
                    _int(row["first_update_id"], "first_update_id"),
                    _int(row["last_update_id"], "last_update_id"),
                    _int(row["pu"] or "-1", "pu"),
                )
                group.ts_event = group.ts_recv = ts
            except _BadRowError as exc:
                group.error, group.error_line = str(exc), line
        if group.error is not None:
            continue
        allow_zero = row["update_type"] == "set"
        group.add_level(
            line, row["price"], row["qty"], row["side"], ("b", "a"), allow_zero=allow_zero
        )
    if group is not None:
        event = flush(group)
        if event is not None:
            yield event


def _read_parquet(path: Path, needed: Sequence[str]) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"{path}: not a readable parquet file: {exc}") from exc
    _require(str(path), table.column_names, needed)
    return table


def _symbol_from_name(path: Path, venue: str) -> str:
    return to_ccxt_symbol(path.name.split("-", 1)[0], venue)


def read_nautilus_trades(
    path: str | Path,
    *,
    venue: str = "binance",
    symbol: str | None = None,
    bad: BadInputLog | None = None,
) -> Iterator[TradeTick]:
    """Nautilus Binance trades parquet → :class:`TradeTick` (``ts_recv = ts_event``).

    The symbol defaults to the file-name prefix (``btcusdt-trades.parquet`` → ``BTC/USDT``).
    """
    path = Path(path)
    source = str(path)
    table = _read_parquet(path, ("timestamp", "trade_id", "price", "quantity", "buyer_maker"))
    sym = symbol or _symbol_from_name(path, venue)
    ts = timestamps_ns(table.column("timestamp"), source, "timestamp")
    price = float_column(table, "price", source)
    qty = float_column(table, "quantity", source)
    maker = [str(v).strip().lower() for v in table.column("buyer_maker").to_pylist()]
    ids = [str(v) for v in table.column("trade_id").to_pylist()]
    maker_ok = np.asarray([m in ("true", "false") for m in maker], dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        checks = [
            RowCheck(~np.isfinite(price) | (price <= 0), "bad price", lambda i: f"{price[i]}"),
            RowCheck(~np.isfinite(qty) | (qty <= 0), "bad amount", lambda i: f"{qty[i]}"),
            RowCheck(~maker_ok, "bad buyer_maker", lambda i: repr(maker[i])),
        ]
    keep = apply_row_checks(source, np.arange(len(ts), dtype=np.int64), checks, bad)
    for i in np.flatnonzero(keep).tolist():
        side = Side.SELL if maker[i] == "true" else Side.BUY
        t = int(ts[i])
        yield TradeTick(venue, sym, t, t, float(price[i]), float(qty[i]), side, ids[i])


def read_nautilus_quotes(
    path: str | Path,
    *,
    venue: str = "binance",
    symbol: str | None = None,
    bad: BadInputLog | None = None,
) -> Iterator[QuoteTick]:
    """Nautilus Binance quotes parquet → :class:`QuoteTick` (symbol from its column)."""
    path = Path(path)
    source = str(path)
    table = _read_parquet(path, ("timestamp", "symbol", "ask_size", "ask", "bid_size", "bid"))
    ts = timestamps_ns(table.column("timestamp"), source, "timestamp")
    symbols = [str(s) for s in table.column("symbol").to_pylist()]
    bid, ask = float_column(table, "bid", source), float_column(table, "ask", source)
    bsz, asz = float_column(table, "bid_size", source), float_column(table, "ask_size", source)

    def at(i: int) -> str:
        return f"{iso(int(ts[i]))} bid {bsz[i]}@{bid[i]} ask {asz[i]}@{ask[i]}"

    with np.errstate(invalid="ignore"):
        prices_bad: BoolArray = ~np.isfinite(bid) | ~np.isfinite(ask) | (bid <= 0) | (ask <= 0)
        sizes_bad: BoolArray = ~np.isfinite(bsz) | ~np.isfinite(asz) | (bsz < 0) | (asz < 0)
        checks = [
            RowCheck(prices_bad, "bad price", at),
            RowCheck(sizes_bad, "bad size", at),
            RowCheck(bid >= ask, "crossed quote", at),
        ]
    keep = apply_row_checks(source, np.arange(len(ts), dtype=np.int64), checks, bad)
    for i in np.flatnonzero(keep).tolist():
        sym = symbol or to_ccxt_symbol(symbols[i], venue)
        t = int(ts[i])
        yield QuoteTick(
            venue, sym, t, t, float(bid[i]), float(bsz[i]), float(ask[i]), float(asz[i])
        )


# --------------------------------------------------------------------------- Tardis

_TARDIS_BASE = ("exchange", "symbol", "timestamp", "local_timestamp")


class _TardisRow:
    """Venue, symbol and timestamps of one Tardis row."""

    def __init__(self, row: dict[str, str], venue: str | None, symbol: str | None) -> None:
        self.venue = venue or tardis_venue(row["exchange"])
        self.symbol = symbol or to_ccxt_symbol(row["symbol"], self.venue)
        self.ts_event = _int(row["timestamp"], "timestamp") * 1000
        self.ts_recv = _int(row["local_timestamp"], "local_timestamp") * 1000


def read_tardis_book_snapshots(
    path: str | Path,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    bad: BadInputLog | None = None,
) -> Iterator[BookSnapshot]:
    """Tardis ``book_snapshot_<N>`` CSV → one :class:`BookSnapshot` per row."""
    path = Path(path)
    source = str(path)
    depth: int | None = None
    for number, (line, row) in enumerate(_csv_rows(path, _TARDIS_BASE), start=1):
        if depth is None:
            depth = sum(1 for k in row if k.startswith("asks[") and k.endswith("].price"))
            if depth == 0:
                raise DataError(f"{source}: no asks[i].price columns: not a book snapshot CSV")
        try:
            head = _TardisRow(row, venue, symbol)
            sides: dict[str, list[Level]] = {"bids": [], "asks": []}
            for name, levels in sides.items():
                for i in range(depth):
                    price, amount = (
                        row.get(f"{name}[{i}].price", ""),
                        row.get(f"{name}[{i}].amount", ""),
                    )
                    if price == "" and amount == "":
                        continue
                    levels.append(_level(price, amount, allow_zero=False))
        except _BadRowError as exc:
            _report(source, line, str(exc), bad)
            continue
        yield BookSnapshot(
            head.venue, head.symbol, head.ts_event, head.ts_recv, number,
            sides["bids"], sides["asks"],
        )  # fmt: skip


def read_tardis_incremental_book(
    path: str | Path,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    bad: BadInputLog | None = None,
) -> Iterator[BookEvent]:
    """Tardis ``incremental_book_L2`` CSV → snapshots and deltas (see the module docstring)."""
    path = Path(path)
    source = str(path)
    needed = (*_TARDIS_BASE, "is_snapshot", "side", "price", "amount")
    number = 0
    group: _Group | None = None
    head: _TardisRow | None = None

    def flush(g: _Group, h: _TardisRow | None, n: int) -> BookEvent | None:
        if g.error is not None or h is None:
            _report(source, g.error_line, g.error or "bad row", bad)
            return None
        bids = _sort_levels(g.bids, descending=True)
        asks = _sort_levels(g.asks, descending=False)
        if g.key[0] == "true":
            return BookSnapshot(h.venue, h.symbol, g.ts_event, g.ts_recv, n, bids, asks)
        return BookDelta(h.venue, h.symbol, g.ts_event, g.ts_recv, n, n, bids, asks)

    for line, row in _csv_rows(path, needed):
        flag = row["is_snapshot"].strip().lower()
        key: tuple[object, ...] = (
            (flag, row["exchange"], row["symbol"])
            if flag == "true"
            else (flag, row["exchange"], row["symbol"], row["timestamp"], row["local_timestamp"])
        )
        if group is not None and group.key != key:
            event = flush(group, head, number)
            if event is not None:
                yield event
            group = None
        if group is None:
            number += 1
            group = _Group(key, line, 0, 0, [], [])
            try:
                if flag not in ("true", "false"):
                    raise _BadRowError(f"bad is_snapshot: {row['is_snapshot']!r}")
                head = _TardisRow(row, venue, symbol)
                group.ts_event, group.ts_recv = head.ts_event, head.ts_recv
            except _BadRowError as exc:
                group.error, group.error_line, head = str(exc), line, None
        if group.error is not None:
            continue
        allow_zero = flag == "false"
        group.add_level(
            line, row["price"], row["amount"], row["side"], ("bid", "ask"), allow_zero=allow_zero
        )
    if group is not None:
        event = flush(group, head, number)
        if event is not None:
            yield event


def read_tardis_trades(
    path: str | Path,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    bad: BadInputLog | None = None,
) -> Iterator[TradeTick]:
    """Tardis ``trades`` CSV → :class:`TradeTick`; a trade with side ``unknown`` is bad."""
    path = Path(path)
    source = str(path)
    for line, row in _csv_rows(path, (*_TARDIS_BASE, "id", "side", "price", "amount")):
        try:
            head = _TardisRow(row, venue, symbol)
            price, amount = _level(row["price"], row["amount"], allow_zero=False)
            side = row["side"].strip().lower()
            if side not in ("buy", "sell"):
                raise _BadRowError(f"no aggressor side: side {row['side']!r}")
        except _BadRowError as exc:
            _report(source, line, str(exc), bad)
            continue
        yield TradeTick(
            head.venue, head.symbol, head.ts_event, head.ts_recv, price, amount, Side(side),
            row["id"],
        )  # fmt: skip


def read_tardis_quotes(
    path: str | Path,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    bad: BadInputLog | None = None,
) -> Iterator[QuoteTick]:
    """Tardis ``quotes`` CSV → :class:`QuoteTick`; a missing or crossed side is bad."""
    path = Path(path)
    source = str(path)
    needed = (*_TARDIS_BASE, "ask_amount", "ask_price", "bid_price", "bid_amount")
    for line, row in _csv_rows(path, needed):
        try:
            head = _TardisRow(row, venue, symbol)
            bid_px, bid_sz = _level(row["bid_price"], row["bid_amount"], allow_zero=False)
            ask_px, ask_sz = _level(row["ask_price"], row["ask_amount"], allow_zero=False)
            if bid_px >= ask_px:
                raise _BadRowError(f"crossed quote: bid {bid_px} >= ask {ask_px}")
        except _BadRowError as exc:
            _report(source, line, str(exc), bad)
            continue
        yield QuoteTick(
            head.venue, head.symbol, head.ts_event, head.ts_recv, bid_px, bid_sz, ask_px, ask_sz
        )
