"""Reader for Bybit v5 order-book recordings (``orderbook.<depth>.<SYMBOL>`` NDJSON).

Each line is one WebSocket message ``{"topic", "type": "snapshot"|"delta", "ts", "data":
{"s", "b", "a", "u", "seq"}, "cts"}``, as in Bybit's historical ``<date>_<SYMBOL>_ob500.data``
downloads; the reader takes the ``.data`` file or a ``.zip`` holding it.

Timestamps: these files hold no local receive time, so ``ts_recv`` is Bybit's ``ts`` (the
time the system produced the message) and ``ts_event`` is ``cts`` (matching-engine time),
falling back to ``ts``. A snapshot keeps ``u`` as ``update_id``; a delta covers one ``u``
(``first_update_id == update_id``); ``seq`` (cross sequence) is kept on both.

Bad lines are recorded in the :class:`BadInputLog` with file and line and skipped. Reason
kinds: ``malformed_json``, ``unknown_topic``, ``unknown_symbol``, ``bad_price``,
``bad_size``, ``bad_field``, ``truncated``, ``corrupt``. Blank lines are ignored.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

import msgspec

from mftbot.core.errors import DataError
from mftbot.data.binance_recording import Level, classify
from mftbot.data.quality import BadInputLog
from mftbot.data.recordings import LineBlocks
from mftbot.data.symbols import to_ccxt
from mftbot.domain.events import BookDelta, BookSnapshot

VENUE: Final = "bybit"
_MS: Final = 1_000_000
_TOPIC: Final = "orderbook."


class _Book(msgspec.Struct, gc=False):
    s: str
    b: list[Level]
    a: list[Level]
    u: int
    seq: int | None = None


class _Message(msgspec.Struct, gc=False):
    topic: str
    type: str
    ts: int
    data: _Book
    cts: int | None = None


class _Head(msgspec.Struct, gc=False):
    topic: str | None = None
    type: str | None = None


_MESSAGE = msgspec.json.Decoder(_Message, strict=False)
_HEAD = msgspec.json.Decoder(_Head)


def read_bybit_orderbook(
    path: str | os.PathLike[str],
    *,
    symbol: str | None = None,
    bad: BadInputLog | None = None,
) -> Iterator[BookSnapshot | BookDelta]:
    """Stream the book messages of a ``.data`` file or of each ``.data`` member of a zip.

    ``symbol`` (ccxt) overrides the one derived from ``data.s`` (``XRPUSDT`` ->
    ``XRP/USDT:USDT``). Raises :class:`DataError` at call time for a missing file or a zip
    without a ``.data`` member; a ``.zip`` whose directory cannot be read (truncated) is
    recorded as ``corrupt`` and yields nothing.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such recording file")
    log = bad if bad is not None else BadInputLog()
    if p.suffix.lower() == ".zip" and not zipfile.is_zipfile(p):
        log.record(str(p), 1, "corrupt: not a readable zip archive (truncated?)")
        return iter(())
    if zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as zf:
            members = sorted(n for n in zf.namelist() if n.endswith(".data"))
        if not members:
            raise DataError(f"{p}: zip archive holds no .data file")
        return _read_zip(p, members, symbol, log)
    return _read_plain(p, symbol, log)


def _read_zip(
    path: Path, members: list[str], symbol: str | None, bad: BadInputLog
) -> Iterator[BookSnapshot | BookDelta]:
    with zipfile.ZipFile(path) as zf:
        for member in members:
            with zf.open(member) as fh:
                yield from _read_stream(fh, f"{path}!{member}", symbol, bad)


def _read_plain(
    path: Path, symbol: str | None, bad: BadInputLog
) -> Iterator[BookSnapshot | BookDelta]:
    with path.open("rb") as fh:
        yield from _read_stream(fh, str(path), symbol, bad)


def _read_stream(
    stream: IO[bytes], source: str, symbol: str | None, bad: BadInputLog
) -> Iterator[BookSnapshot | BookDelta]:
    """Events of one NDJSON byte stream; ``source`` names it in bad-input records."""
    labels: dict[str, str] = {}
    decode = _MESSAGE.decode
    lineno = 0
    blocks = LineBlocks(stream)
    for block in blocks:
        for line in block:
            lineno += 1
            try:
                msg = decode(line)
            except msgspec.DecodeError as exc:
                if line.strip():
                    bad.record(source, lineno, _reason(line, exc))
                continue
            if not msg.topic.startswith(_TOPIC):
                bad.record(source, lineno, f"unknown_topic: {msg.topic!r}")
                continue
            book = msg.data
            label = symbol or labels.get(book.s) or _label(book.s, labels)
            if label is None:
                bad.record(source, lineno, f"unknown_symbol: {book.s!r} is not a Bybit symbol")
                continue
            ts_recv = msg.ts * _MS
            ts_event = ts_recv if msg.cts is None else msg.cts * _MS
            if msg.type == "delta":
                yield BookDelta(
                    VENUE, label, ts_event, ts_recv, book.u, book.u, book.b, book.a, None, book.seq
                )
            elif msg.type == "snapshot":
                yield BookSnapshot(
                    VENUE, label, ts_event, ts_recv, book.u, book.b, book.a, book.seq
                )
            else:
                bad.record(source, lineno, f"bad_field: message type {msg.type!r}")
    if blocks.error is not None:
        bad.record(source, lineno + 1, blocks.error)


def _label(exchange_symbol: str, labels: dict[str, str]) -> str | None:
    try:
        label = to_ccxt(exchange_symbol, VENUE)
    except DataError:
        return None
    labels[exchange_symbol] = label
    return label


def _reason(line: bytes, exc: msgspec.DecodeError) -> str:
    """Say why a line did not decode: bad JSON, another topic, or a bad field."""
    if not isinstance(exc, msgspec.ValidationError):
        return f"malformed_json: {exc}"
    try:
        head = _HEAD.decode(line)
    except msgspec.DecodeError:
        return f"bad_field: {exc}"  # valid JSON, but not an object with a string topic
    if head.topic is not None and not head.topic.startswith(_TOPIC):
        return f"unknown_topic: {head.topic!r}"
    return f"{classify(exc)}: {exc}"
