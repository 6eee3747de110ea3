"""Recording files on disk: what a file is (from its name), where recordings are, raw lines.

Layouts recognised (any depth up to three folders below the data dir):

* Binance (hftbacktest collector): ``binance_spot/btcusdt_20240808.gz``,
  ``binance_usdm/…``, ``binance_coinm/btcusd_perp_20240808.gz`` (folders may also be named
  by the ccxt id: ``binance``, ``binanceusdm``, ``binancecoinm``).
* Bybit order-book downloads: ``bybit/2024-12-01_XRPUSDT_ob500.data[.zip]`` or
  ``bybit/xrpusdt-ob500.data.zip``.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, cast
from zipfile import BadZipFile

from isal import isal_zlib

from mftbot.core.errors import DataError
from mftbot.data.symbols import to_ccxt

Format = Literal["binance", "bybit"]

BINANCE_FOLDERS: dict[str, str] = {
    "binance_spot": "binance",
    "binance_usdm": "binanceusdm",
    "binance_coinm": "binancecoinm",
    "binance": "binance",
    "binanceusdm": "binanceusdm",
    "binancecoinm": "binancecoinm",
}
"""Folder name -> ccxt venue id of the Binance recordings inside."""

BINANCE_MARKETS: dict[str, str] = {
    "spot": "binance",
    "usdm": "binanceusdm",
    "coinm": "binancecoinm",
}
"""Market name used by :func:`find_binance_recordings` -> ccxt venue id."""

_BINANCE_NAME = re.compile(r"^(?P<sym>[a-z0-9]+(?:_[a-z0-9]+)?)_(?P<date>\d{8})\.gz$", re.I)
_BYBIT_DATED = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})_(?P<sym>[A-Z0-9]+)_ob\d+\.data(?:\.zip)?$", re.I
)
_BYBIT_PLAIN = re.compile(r"^(?P<sym>[A-Z0-9]+)-ob\d+\.data(?:\.zip)?$", re.I)
_MAX_DEPTH = 3
_GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 1 << 18
_GZ_PIECE = 1 << 15
_ISAL_ERROR = cast("type[Exception]", isal_zlib.error)  # the stub declares an instance


@dataclass(frozen=True, slots=True)
class RecordingFile:
    """What a file name says about a recording; ``None`` where the name does not say."""

    path: Path
    format: Format
    venue: str | None
    exchange_symbol: str | None
    """The id in the file name, lower case (``btcusdt``, ``btcusd_perp``, ``xrpusdt``)."""
    symbol: str | None
    """ccxt unified symbol, when venue and id are known."""
    date: str | None
    """``YYYY-MM-DD`` from the name."""


def identify_file(path: str | os.PathLike[str]) -> RecordingFile:
    """Classify a recording file by its name and folder; raises :class:`DataError` if neither
    a Binance ``.gz`` nor a Bybit ``.data``/``.zip`` file."""
    p = Path(path)
    name = p.name
    if m := _BINANCE_NAME.match(name):
        venue = BINANCE_FOLDERS.get(p.parent.name.lower())
        sym = m["sym"].lower()
        d = m["date"]
        return RecordingFile(
            p, "binance", venue, sym, _ccxt_or_none(sym, venue), f"{d[:4]}-{d[4:6]}-{d[6:]}"
        )
    for pattern in (_BYBIT_DATED, _BYBIT_PLAIN):
        if m := pattern.match(name):
            sym = m["sym"].lower()
            date = m.groupdict().get("date")
            return RecordingFile(p, "bybit", "bybit", sym, _ccxt_or_none(sym, "bybit"), date)
    lower = name.lower()
    if lower.endswith(".gz"):
        return RecordingFile(
            p, "binance", BINANCE_FOLDERS.get(p.parent.name.lower()), None, None, None
        )
    if lower.endswith((".data", ".zip")):
        return RecordingFile(p, "bybit", "bybit", None, None, None)
    raise DataError(f"{p}: not a recording file (expected a Binance .gz or a Bybit .data/.zip)")


def _ccxt_or_none(exchange_symbol: str, venue: str | None) -> str | None:
    if venue is None:
        return None
    try:
        return to_ccxt(exchange_symbol, venue)
    except DataError:
        return None


@dataclass(frozen=True, slots=True)
class Recording:
    """All files of one symbol on one venue, in time order."""

    venue: str
    symbol: str
    files: tuple[Path, ...]

    @property
    def size_bytes(self) -> int:
        """Total size on disk."""
        return sum(f.stat().st_size for f in self.files)

    @property
    def dates(self) -> tuple[str, ...]:
        """Dates named by the files (``YYYY-MM-DD``), in order, without repeats."""
        found = (identify_file(f).date for f in self.files)
        return tuple(dict.fromkeys(d for d in found if d is not None))

    def describe(self) -> str:
        """One line for a command's summary, e.g. ``binance BTC/USDT: 2 files, …``."""
        dates = self.dates
        span = f"{dates[0]} .. {dates[-1]}" if dates else "undated"
        mb = self.size_bytes / 1e6
        return f"{self.venue} {self.symbol}: {len(self.files)} file(s), {span}, {mb:.1f} MB"


def _dirs_named(root: Path, names: frozenset[str]) -> list[Path]:
    """Folders under ``root`` (itself included, depth <= 3) whose name is in ``names``."""
    if not root.is_dir():
        raise DataError(f"{root}: no such data directory")
    found: list[Path] = []
    level = [root]
    for depth in range(_MAX_DEPTH + 1):
        found.extend(d for d in level if d.name.lower() in names)
        if depth == _MAX_DEPTH:
            break
        level = [
            Path(e.path)
            for d in level
            for e in sorted(os.scandir(d), key=lambda e: e.name)
            if e.is_dir() and not e.name.startswith(".")
        ]
    return found


def _group(files: list[RecordingFile]) -> dict[str, list[Path]]:
    by_symbol: dict[str, list[RecordingFile]] = {}
    for f in files:
        if f.symbol is not None:
            by_symbol.setdefault(f.symbol, []).append(f)
    return {
        sym: [f.path for f in sorted(fs, key=lambda f: (f.date or "", f.path.name))]
        for sym, fs in sorted(by_symbol.items())
    }


def find_binance_recordings(
    data_dir: str | os.PathLike[str], market: str = "spot"
) -> dict[str, list[Path]]:
    """Binance recordings of ``market`` (``spot``, ``usdm``, ``coinm``) under ``data_dir``:
    ccxt symbol -> files in time order."""
    venue = BINANCE_MARKETS.get(market)
    if venue is None:
        raise DataError(f"unknown Binance market {market!r} (known: {', '.join(BINANCE_MARKETS)})")
    names = frozenset(n for n, v in BINANCE_FOLDERS.items() if v == venue)
    files = [
        info
        for folder in _dirs_named(Path(data_dir), names)
        for path in sorted(folder.glob("*.gz"))
        if (info := identify_file(path)).exchange_symbol is not None
    ]
    return _group(files)


def find_bybit_recordings(data_dir: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """Bybit order-book recordings under ``data_dir`` (folders named ``bybit``):
    ccxt symbol -> files in time order."""
    files = [
        info
        for folder in _dirs_named(Path(data_dir), frozenset({"bybit"}))
        for path in sorted(folder.iterdir())
        if path.is_file()
        and (_BYBIT_DATED.match(path.name) or _BYBIT_PLAIN.match(path.name))
        and (info := identify_file(path)).symbol is not None
    ]
    return _group(files)


def discover_recordings(data_dir: str | os.PathLike[str]) -> list[Recording]:
    """Every recording under ``data_dir``: Binance spot, USD-M, COIN-M, then Bybit."""
    found: list[Recording] = []
    for market, venue in BINANCE_MARKETS.items():
        for sym, paths in find_binance_recordings(data_dir, market).items():
            found.append(Recording(venue, sym, tuple(paths)))
    for sym, paths in find_bybit_recordings(data_dir).items():
        found.append(Recording("bybit", sym, tuple(paths)))
    return found


class LineBlocks:
    """The complete lines of a byte stream, in blocks; gzip (one or more members) or plain.

    Iterating yields lists of lines without their ``\\n``. Reading stops early, without
    raising, when the stream is truncated or corrupt: :attr:`error` then holds
    ``"truncated: …"`` or ``"corrupt: …"`` and the incomplete last line is dropped.
    """

    def __init__(self, stream: IO[bytes], *, block_size: int = _BLOCK) -> None:
        self._stream = stream
        self._block_size = block_size
        self.error: str | None = None

    def __iter__(self) -> Iterator[list[bytes]]:
        tail = b""
        for chunk in self.chunks():
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            if lines:
                yield lines
        if tail and self.error is None:
            yield [tail]

    def chunks(self) -> Iterator[bytes]:
        """The stream's bytes (decompressed), in pieces that may split lines; on a truncated
        or corrupt stream they stop early and :attr:`error` says why."""
        read: Callable[[int], bytes] = self._stream.read
        try:
            first = read(self._block_size)
        except (OSError, EOFError, BadZipFile, zlib.error) as exc:
            self.error = f"corrupt: {exc}"
            return
        if first[:2] == _GZIP_MAGIC:
            yield from self._gunzip(read, first)
        else:
            yield from self._plain(read, first)

    def _plain(self, read: Callable[[int], bytes], first: bytes) -> Iterator[bytes]:
        chunk = first
        while chunk:
            yield chunk
            try:
                chunk = read(self._block_size)
            except (OSError, EOFError, BadZipFile, zlib.error) as exc:
                self.error = f"corrupt: {exc}"
                return

    def _gunzip(self, read: Callable[[int], bytes], first: bytes) -> Iterator[bytes]:
        """Decompressed bytes; compressed input goes in small pieces so that corrupt data
        loses at most one piece's output (a failing call returns nothing)."""
        member = None  # decompressor of the gzip member being read, None between members
        block = first
        while block:
            for start in range(0, len(block), _GZ_PIECE):
                raw = block[start : start + _GZ_PIECE]
                while raw:
                    if member is None:
                        if not raw.strip(b"\0"):
                            break  # zero padding after the last member, as gzip(1) allows
                        member = isal_zlib.decompressobj(wbits=31)
                    try:
                        out = member.decompress(raw)
                    except _ISAL_ERROR as exc:
                        self.error = f"corrupt: {exc}"
                        return
                    if out:
                        yield out
                    if member.eof:
                        raw = member.unused_data
                        member = None
                    else:
                        raw = b""
            block = read(self._block_size)
        if member is not None:
            self.error = "truncated: compressed stream ends before the end of the gzip member"
