"""Import market-data files into the Parquet catalog: detect each file's format, read, write.

Formats are told from content first (feather/parquet schema, JSON shape, CSV header, the
``<ns> {json}`` lines of a Binance recording, Bybit ``orderbook`` topics), the name only
where content cannot say (extension, freqtrade's ``PAIR-tf[-type]`` naming).

Venue and symbol come from, in order: the ``venue``/``symbol`` arguments, the file content
(ccxt trade dicts, Tardis/Nautilus columns, recordings), the file name, the folder. freqtrade
files state no exchange: the parent folder is used when it is an exchange id
(``user_data/data/bybit/...``), else ``binance`` (``binanceusdm``/``binancecoinm`` for
``:USDT``/``:BTC``-style futures pairs). A file whose symbol cannot be told (freqtrade's
``orderflow`` samples) needs ``symbol=``. Candle files without a timeframe in the name get
the most common spacing of their rows.

Bad rows are dropped and counted in a :class:`BadInputLog` (the default) or, with
``strict=True``, the first one raises :class:`DataError`.
"""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from mftbot.core.errors import DataError
from mftbot.data import tabular_samples as samples
from mftbot.data.binance_recording import read_binance_recording
from mftbot.data.bybit_recording import read_bybit_orderbook
from mftbot.data.candles import (
    CandleType,
    FreqtradeName,
    parse_freqtrade_filename,
    read_candles,
    read_funding_rates,
)
from mftbot.data.catalog import ParquetCatalog, WriteStats
from mftbot.data.quality import BadInputLog
from mftbot.data.trades import read_trades
from mftbot.domain.events import MarketEvent


class FileFormat(StrEnum):
    """Every file format the importer reads."""

    FREQTRADE_CANDLES_FEATHER = "freqtrade candles (feather)"
    FREQTRADE_CANDLES_JSON = "freqtrade candles (json)"
    PANDAS_CANDLES_JSON = "candles (pandas column json)"
    FREQTRADE_TRADES_FEATHER = "freqtrade trades (feather)"
    FREQTRADE_TRADES_JSON = "freqtrade trades (json)"
    CCXT_TRADES_JSON = "ccxt trades (json dicts)"
    FREQTRADE_TRADES_CSV = "freqtrade trades (csv)"
    KRAKEN_TRADES_CSV = "kraken trades (csv)"
    NAUTILUS_DEPTH_CSV = "binance depth (nautilus csv)"
    NAUTILUS_TRADES_PARQUET = "binance trades (nautilus parquet)"
    NAUTILUS_QUOTES_PARQUET = "binance quotes (nautilus parquet)"
    TARDIS_BOOK_SNAPSHOT_CSV = "tardis book snapshots (csv)"
    TARDIS_INCREMENTAL_BOOK_CSV = "tardis incremental L2 (csv)"
    TARDIS_TRADES_CSV = "tardis trades (csv)"
    TARDIS_QUOTES_CSV = "tardis quotes (csv)"
    BINANCE_RECORDING = "binance websocket recording"
    BYBIT_ORDERBOOK = "bybit order-book recording"


CANDLE_FORMATS = frozenset(
    {
        FileFormat.FREQTRADE_CANDLES_FEATHER,
        FileFormat.FREQTRADE_CANDLES_JSON,
        FileFormat.PANDAS_CANDLES_JSON,
    }
)
TRADE_FORMATS = frozenset(
    {
        FileFormat.FREQTRADE_TRADES_FEATHER,
        FileFormat.FREQTRADE_TRADES_JSON,
        FileFormat.CCXT_TRADES_JSON,
        FileFormat.FREQTRADE_TRADES_CSV,
        FileFormat.KRAKEN_TRADES_CSV,
    }
)
EXCHANGE_FOLDERS = frozenset(
    {"binance", "binanceus", "bybit", "kraken", "okx", "kucoin", "gate", "gateio", "bitget",
     "htx", "huobi", "bitmart", "bingx", "hyperliquid", "coinbase", "bitfinex", "mexc"}
)  # fmt: skip
"""freqtrade data folders named after a ccxt exchange id."""
SKIPPED_SUFFIXES = (".md", ".txt", ".rst")
"""Files skipped when walking a directory (documentation next to data)."""

_HEAD_BYTES = 1 << 16
_RECORDING_LINE = re.compile(rb"\d{10,20} \{")
_DEPTH_HEADER = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"
_TARDIS_PREFIX = "exchange,symbol,timestamp,local_timestamp,"


class UnknownFormatError(DataError):
    """A file whose format the importer does not recognise."""


# --------------------------------------------------------------------------- detection


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_HEAD_BYTES)
        if raw[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                return bytes(handle.read(_HEAD_BYTES))
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    return raw


def _zip_head(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(m for m in archive.namelist() if not m.endswith("/"))
            data = [m for m in members if m.endswith(".data")] or members
            if not data:
                raise UnknownFormatError(f"{path}: an empty zip archive")
            with archive.open(data[0]) as handle:
                return bytes(handle.read(_HEAD_BYTES))
    except zipfile.BadZipFile as exc:
        raise UnknownFormatError(f"{path}: not a readable zip file: {exc}") from exc


def _columns_feather(path: Path) -> list[str]:
    try:
        with pa.memory_map(str(path)) as source:
            names: list[str] = pa.ipc.open_file(source).schema.names
            return names
    except (OSError, pa.ArrowInvalid) as exc:
        raise UnknownFormatError(f"{path}: not a feather (Arrow IPC) file: {exc}") from exc


def _columns_parquet(path: Path) -> list[str]:
    try:
        names: list[str] = pq.read_schema(path).names
        return names
    except (OSError, pa.ArrowInvalid) as exc:
        raise UnknownFormatError(f"{path}: not a parquet file: {exc}") from exc


def _json_kind(path: Path, text: bytes) -> FileFormat | None:
    body = text.lstrip()
    if body.startswith(b"{"):
        return FileFormat.PANDAS_CANDLES_JSON if re.match(rb'\{\s*"date"\s*:\s*\{', body) else None
    if not body.startswith(b"["):
        return None
    inner = body[1:].lstrip()
    if inner.startswith(b"{"):
        return FileFormat.CCXT_TRADES_JSON
    if not inner.startswith(b"["):
        return None
    end = inner.find(b"]")
    try:
        first = json.loads(inner[: end + 1]) if end > 0 else None
    except ValueError:
        return None
    if isinstance(first, list) and len(first) == 6:
        return FileFormat.FREQTRADE_CANDLES_JSON
    if isinstance(first, list) and len(first) == 7:
        return FileFormat.FREQTRADE_TRADES_JSON
    return None


def _csv_kind(text: bytes) -> FileFormat | None:
    try:
        first = text.decode("utf-8").splitlines()[0].strip() if text.strip() else ""
    except UnicodeDecodeError:
        return None
    if first == _DEPTH_HEADER:
        return FileFormat.NAUTILUS_DEPTH_CSV
    if first.startswith(_TARDIS_PREFIX):
        rest = first.removeprefix(_TARDIS_PREFIX)
        if rest.startswith(("asks[0].price", "bids[0].price")):
            return FileFormat.TARDIS_BOOK_SNAPSHOT_CSV
        tardis = {
            "is_snapshot,side,price,amount": FileFormat.TARDIS_INCREMENTAL_BOOK_CSV,
            "id,side,price,amount": FileFormat.TARDIS_TRADES_CSV,
            "ask_amount,ask_price,bid_price,bid_amount": FileFormat.TARDIS_QUOTES_CSV,
        }
        return tardis.get(rest)
    fields = [f.strip() for f in first.split(",")]
    if {"timestamp", "id", "side", "price", "amount"} <= set(fields):
        return FileFormat.FREQTRADE_TRADES_CSV
    if len(fields) == 3:
        try:
            [float(f) for f in fields]
        except ValueError:
            return None
        return FileFormat.KRAKEN_TRADES_CSV
    return None


def detect_format(path: str | Path) -> FileFormat:
    """Tell a file's format; raises :class:`UnknownFormatError` when it is none we read."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    name = path.name.lower()
    found: FileFormat | None = None
    if name.endswith(".feather"):
        columns = set(_columns_feather(path))
        if {"date", "open", "high", "low", "close", "volume"} <= columns:
            found = FileFormat.FREQTRADE_CANDLES_FEATHER
        elif {"timestamp", "id", "side", "price", "amount"} <= columns:
            found = FileFormat.FREQTRADE_TRADES_FEATHER
    elif name.endswith(".parquet"):
        columns = set(_columns_parquet(path))
        if {"timestamp", "trade_id", "price", "quantity", "buyer_maker"} <= columns:
            found = FileFormat.NAUTILUS_TRADES_PARQUET
        elif {"timestamp", "symbol", "ask_size", "ask", "bid_size", "bid"} <= columns:
            found = FileFormat.NAUTILUS_QUOTES_PARQUET
    else:
        head = _zip_head(path) if name.endswith(".zip") else _head(path)
        if _RECORDING_LINE.match(head):
            found = FileFormat.BINANCE_RECORDING
        elif head.lstrip().startswith(b'{"topic":"orderbook.'):
            found = FileFormat.BYBIT_ORDERBOOK
        elif head.lstrip()[:1] in (b"[", b"{"):
            found = _json_kind(path, head)
        elif name.endswith(".csv"):
            found = _csv_kind(head)
    if found is None:
        raise UnknownFormatError(f"{path}: unknown file format ({_describe_head(path)})")
    return found


def _describe_head(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            start = handle.read(48)
    except OSError:
        return "unreadable"
    return f"starts with {start!r}" if start else "empty file"


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, plus every file under named directories (sorted; hidden files and
    documentation such as ``SOURCE.md`` skipped). A missing path raises :class:`DataError`."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if not child.is_file() or any(part.startswith(".") for part in relative):
                    continue
                if child.name.lower().endswith(SKIPPED_SUFFIXES):
                    continue
                found.append(child)
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(f"{path}: no such file or directory")
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------- importing


@dataclass
class FileReport:
    """The outcome of importing one file."""

    path: Path
    format: FileFormat
    stats: list[WriteStats] = field(default_factory=list)
    bad: BadInputLog = field(default_factory=BadInputLog)


def _freqtrade_name(path: Path) -> FreqtradeName | None:
    try:
        return parse_freqtrade_filename(path)
    except DataError:
        return None


def _freqtrade_venue(path: Path, symbol: str) -> str:
    folders = [p.name.lower() for p in path.parents[:2]]
    exchange = next((f for f in folders if f in EXCHANGE_FOLDERS), "binance")
    if exchange != "binance" or ":" not in symbol:
        return exchange
    pair, settle = symbol.split(":", 1)
    base, quote = pair.split("/", 1)
    if settle == quote:
        return "binanceusdm"
    return "binancecoinm" if settle == base else exchange


def _need_symbol(path: Path, fmt: FileFormat) -> DataError:
    return DataError(f"{path}: a {fmt.value} file that does not name its symbol: pass --symbol")


def precheck(path: Path, fmt: FileFormat, *, symbol: str | None = None) -> None:
    """Raise :class:`DataError` now for a file that cannot be imported as asked (its symbol
    cannot be told from its name), so a batch fails before anything is written."""
    if symbol is not None:
        return
    if fmt is FileFormat.KRAKEN_TRADES_CSV:
        samples.to_ccxt_symbol(path.stem, "kraken")
        return
    named_by_file = fmt in CANDLE_FORMATS or fmt in TRADE_FORMATS
    if named_by_file and fmt is not FileFormat.CCXT_TRADES_JSON and _freqtrade_name(path) is None:
        raise _need_symbol(path, fmt)


_FAMILY = {
    CandleType.SPOT: "candles",
    CandleType.FUTURES: "candles",
    CandleType.MARK: "mark",
    CandleType.INDEX: "index",
    CandleType.PREMIUM_INDEX: "premium",
}


def _import_candles(
    catalog: ParquetCatalog,
    path: Path,
    fmt: FileFormat,
    report: FileReport,
    opts: _Options,
) -> None:
    info = _freqtrade_name(path)
    symbol = opts.symbol or (info.symbol if info else None)
    if symbol is None:
        raise _need_symbol(path, fmt)
    ctype = info.candle_type if info and info.candle_type else CandleType.SPOT
    venue = opts.venue or _freqtrade_venue(path, symbol)
    timeframe = opts.timeframe or (info.timeframe if info else None)
    if ctype is CandleType.FUNDING_RATE:
        if timeframe is None:
            raise DataError(f"{path}: funding-rate file without a timeframe: pass --timeframe")
        rates = read_funding_rates(path, bad=opts.bad)
        report.stats.append(catalog.write_funding(rates, venue, symbol, timeframe))
        return
    df = read_candles(path, timeframe=timeframe, candle_type=ctype, infer=True, bad=opts.bad)
    used: str | None = df.attrs.get("timeframe")
    if used is None:
        raise DataError(f"{path}: cannot infer the timeframe: pass --timeframe")
    report.stats.append(catalog.write_candles(df, venue, symbol, used, family=_FAMILY[ctype]))


def _import_trades(
    catalog: ParquetCatalog, path: Path, fmt: FileFormat, report: FileReport, opts: _Options
) -> None:
    df = read_trades(path, bad=opts.bad)
    if fmt is FileFormat.KRAKEN_TRADES_CSV:
        venue = opts.venue or "kraken"
        symbol = opts.symbol or samples.to_ccxt_symbol(path.stem, venue)
    else:
        info = _freqtrade_name(path)
        named: str | None = opts.symbol or df.attrs.get("symbol")
        named = named or (info.symbol if info else None)
        if named is None:
            raise _need_symbol(path, fmt)
        symbol = named
        venue = opts.venue or _freqtrade_venue(path, symbol)
    report.stats.append(catalog.write_trades(df, venue, symbol))


def _event_stream(path: Path, fmt: FileFormat, opts: _Options) -> Iterator[MarketEvent]:
    bad, venue, symbol = opts.bad, opts.venue, opts.symbol
    if fmt is FileFormat.BINANCE_RECORDING:
        return read_binance_recording(path, venue=venue, symbol=symbol, bad=bad)
    if fmt is FileFormat.BYBIT_ORDERBOOK:
        if venue not in (None, "bybit"):
            raise DataError(f"{path}: a Bybit recording cannot be imported as venue {venue!r}")
        return read_bybit_orderbook(path, symbol=symbol, bad=bad)
    if fmt is FileFormat.NAUTILUS_DEPTH_CSV:
        return samples.read_binance_depth_csv(
            path, venue=venue or "binanceusdm", symbol=symbol, bad=bad
        )
    if fmt is FileFormat.NAUTILUS_TRADES_PARQUET:
        return samples.read_nautilus_trades(path, venue=venue or "binance", symbol=symbol, bad=bad)
    if fmt is FileFormat.NAUTILUS_QUOTES_PARQUET:
        return samples.read_nautilus_quotes(path, venue=venue or "binance", symbol=symbol, bad=bad)
    tardis: dict[FileFormat, Callable[..., Iterator[MarketEvent]]] = {
        FileFormat.TARDIS_BOOK_SNAPSHOT_CSV: samples.read_tardis_book_snapshots,
        FileFormat.TARDIS_INCREMENTAL_BOOK_CSV: samples.read_tardis_incremental_book,
        FileFormat.TARDIS_TRADES_CSV: samples.read_tardis_trades,
        FileFormat.TARDIS_QUOTES_CSV: samples.read_tardis_quotes,
    }
    return tardis[fmt](path, venue=venue, symbol=symbol, bad=bad)


@dataclass(frozen=True, slots=True)
class _Options:
    venue: str | None
    symbol: str | None
    timeframe: str | None
    bad: BadInputLog | None


def import_file(
    catalog: ParquetCatalog,
    path: str | Path,
    *,
    fmt: FileFormat | None = None,
    venue: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    strict: bool = False,
    bad: BadInputLog | None = None,
) -> FileReport:
    """Read one file (format detected unless given) and append it to ``catalog``.

    ``venue``/``symbol``/``timeframe`` override what the file says. Bad rows are counted in
    the report's ``bad`` log (``bad`` if given, else a new one) and skipped, or raise
    :class:`DataError` with ``strict``.
    """
    path = Path(path)
    fmt = fmt or detect_format(path)
    report = FileReport(path, fmt, bad=bad if bad is not None else BadInputLog())
    opts = _Options(venue, symbol, timeframe, None if strict else report.bad)
    if fmt in CANDLE_FORMATS:
        _import_candles(catalog, path, fmt, report, opts)
    elif fmt in TRADE_FORMATS:
        _import_trades(catalog, path, fmt, report, opts)
    else:
        if strict:
            # Readers of streams always count; strict turns the first bad message into an error.
            opts = _Options(venue, symbol, timeframe, _StrictLog())
        report.stats.extend(catalog.write_events(_event_stream(path, fmt, opts)))
    return report


class _StrictLog(BadInputLog):
    """A bad-input log that raises on the first record (for readers that never raise)."""

    def record(self, source: str, line: int, reason: str) -> None:
        """Raise instead of counting."""
        raise DataError(f"{source}: line {line}: {reason}")


def import_paths(
    catalog: ParquetCatalog,
    paths: Iterable[str | Path],
    *,
    venue: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    strict: bool = False,
    on_file: Callable[[Path, FileFormat], Any] | None = None,
) -> list[FileReport]:
    """Detect and :func:`precheck` every file first (so an unknown or unnamed one stops the
    run before anything is written), then import them in order; ``on_file`` is called
    before each."""
    files = expand_paths(paths)
    detected = [(path, detect_format(path)) for path in files]
    for path, fmt in detected:
        precheck(path, fmt, symbol=symbol)
    reports = []
    for path, fmt in detected:
        if on_file is not None:
            on_file(path, fmt)
        reports.append(
            import_file(
                catalog,
                path,
                fmt=fmt,
                venue=venue,
                symbol=symbol,
                timeframe=timeframe,
                strict=strict,
            )
        )
    return reports
