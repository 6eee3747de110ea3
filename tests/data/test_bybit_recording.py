"""Bybit v5 order-book recording reader: the real ob500 file and bad input."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mftbot.core.errors import DataError
from mftbot.data.bybit_recording import read_bybit_orderbook
from mftbot.data.quality import BadInputLog
from mftbot.domain.events import BookDelta, BookSnapshot

SNAPSHOT = (
    '{"topic":"orderbook.500.XRPUSDT","type":"snapshot","ts":1733011200691,"data":{"s":"XRPUSDT",'
    '"b":[["1.9531","6203"],["1.9530","2409"]],"a":[["1.9535","100"]],"u":7,"seq":70},'
    '"cts":1733011200589}'
)
DELTA = (
    '{"topic":"orderbook.500.XRPUSDT","type":"delta","ts":1733011200693,"data":{"s":"XRPUSDT",'
    '"b":[["1.9531","0"]],"a":[["1.9536","5"]],"u":8,"seq":71},"cts":1733011200690}'
)
TICKER = '{"topic":"tickers.XRPUSDT","type":"snapshot","data":{"symbol":"XRPUSDT"}}'


def read(
    path: Path, symbol: str | None = None
) -> tuple[list[BookSnapshot | BookDelta], BadInputLog]:
    bad = BadInputLog()
    return list(read_bybit_orderbook(path, symbol=symbol, bad=bad)), bad


def write(tmp_path: Path, lines: list[str], name: str = "2024-12-01_XRPUSDT_ob500.data") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_decodes_snapshot_and_delta(tmp_path: Path) -> None:
    events, bad = read(write(tmp_path, [SNAPSHOT, DELTA]))
    assert bad.total == 0
    ms = 10**6
    assert events == [
        BookSnapshot(
            "bybit",
            "XRP/USDT:USDT",
            1733011200589 * ms,
            1733011200691 * ms,
            7,
            [(1.9531, 6203.0), (1.953, 2409.0)],
            [(1.9535, 100.0)],
            70,
        ),
        BookDelta(
            "bybit",
            "XRP/USDT:USDT",
            1733011200690 * ms,
            1733011200693 * ms,
            8,
            8,
            [(1.9531, 0.0)],
            [(1.9536, 5.0)],
            None,
            71,
        ),
    ]


def test_without_cts_the_event_time_is_ts(tmp_path: Path) -> None:
    (event,), _ = read(write(tmp_path, [DELTA.replace(',"cts":1733011200690', "")]))
    assert event.ts_event == event.ts_recv == 1733011200693 * 10**6


def test_symbol_override_and_inverse(tmp_path: Path) -> None:
    inverse = DELTA.replace("XRPUSDT", "BTCUSD")
    events, _ = read(write(tmp_path, [inverse]))
    assert events[0].symbol == "BTC/USD:BTC"
    events, _ = read(write(tmp_path, [DELTA]), symbol="XRP/USDT")
    assert events[0].symbol == "XRP/USDT"


def _one_bad(tmp_path: Path, bad_line: str) -> BadInputLog:
    path = write(tmp_path, [SNAPSHOT, bad_line, DELTA])
    events, bad = read(path)
    assert [e.update_id for e in events] == [7, 8], "the good lines around the bad one are kept"
    assert bad.total == 1
    assert (bad.samples[0].source, bad.samples[0].line) == (str(path), 2)
    return bad


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (DELTA[:-20], "malformed_json"),
        ("not json", "malformed_json"),
        (DELTA.replace("orderbook.500.", "publicTrade."), "unknown_topic"),
        (TICKER, "unknown_topic"),
        (DELTA.replace('"delta"', '"update"'), "bad_field"),
        (DELTA.replace('"u":8,', ""), "bad_field"),
        ("[1,2]", "bad_field"),
        (DELTA.replace('"s":"XRPUSDT"', '"s":"XRPXYZ"'), "unknown_symbol"),
        (DELTA.replace('["1.9536","5"]', '["NaN","5"]'), "bad_price"),
        (DELTA.replace('["1.9536","5"]', '["0","5"]'), "bad_price"),
        (DELTA.replace('["1.9536","5"]', '["-1.9536","5"]'), "bad_price"),
        (DELTA.replace('["1.9536","5"]', '["abc","5"]'), "bad_price"),
        (DELTA.replace('["1.9536","5"]', '["1.9536","-5"]'), "bad_size"),
        (DELTA.replace('["1.9536","5"]', '["1.9536","nan"]'), "bad_size"),
    ],
    ids=[
        "truncated-json",
        "not-json",
        "trade-topic",
        "ticker-topic",
        "bad-type",
        "no-u",
        "array",
        "unknown-symbol",
        "nan-price",
        "zero-price",
        "negative-price",
        "text-price",
        "negative-size",
        "nan-size",
    ],
)
def test_bad_line(tmp_path: Path, line: str, kind: str) -> None:
    bad = _one_bad(tmp_path, line)
    assert bad.counts == Counter({kind: 1})


def test_missing_file_and_empty_zip(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such"):
        read_bybit_orderbook(tmp_path / "x.data")
    empty = tmp_path / "x.data.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "nothing")
    with pytest.raises(DataError, match=r"no \.data"):
        read_bybit_orderbook(empty)


def test_truncated_zip_is_recorded(tmp_path: Path) -> None:
    good = tmp_path / "good.data.zip"
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2024-12-01_XRPUSDT_ob500.data", "\n".join([SNAPSHOT, DELTA] * 200))
    cut = tmp_path / "cut.data.zip"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    events, bad = read(cut)
    assert events == []
    assert bad.counts == Counter({"corrupt": 1})


def test_damaged_zip_member_keeps_what_was_read(tmp_path: Path) -> None:
    path = tmp_path / "x.data.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("2024-12-01_XRPUSDT_ob500.data", "\n".join([SNAPSHOT, DELTA] * 2000))
    data = bytearray(path.read_bytes())
    at = data.rindex(b'"u":8')  # damage the last delta: the CRC check fails at the end
    data[at + 4 : at + 5] = b"9"
    path.write_bytes(bytes(data))
    events, bad = read(path)
    assert len(events) > 0
    assert bad.counts["corrupt"] == 1


# --- the real file -----------------------------------------------------------------------------


def _raw(path: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as zf:
        (name,) = zf.namelist()
        return [json.loads(line) for line in zf.read(name).splitlines()]


@pytest.mark.realdata
def test_real_ob500_file(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / "nautilus" / "bybit" / "xrpusdt-ob500.data.zip"
    events, bad = read(path)
    assert bad.total == 0
    snapshot, *deltas = events
    assert isinstance(snapshot, BookSnapshot)
    assert (len(snapshot.bids), len(snapshot.asks)) == (500, 500)
    assert (snapshot.update_id, snapshot.seq) == (20254869, 130020238981)
    assert len(deltas) == 49
    assert all(isinstance(d, BookDelta) for d in deltas)
    assert [d.update_id for d in deltas] == list(range(20254870, 20254919))
    assert all(d.first_update_id == d.update_id for d in deltas)
    assert {e.symbol for e in events} == {"XRP/USDT:USDT"}

    raw = _raw(path)
    for event, msg in zip(events, raw, strict=True):
        data = msg["data"]
        assert event.ts_recv == msg["ts"] * 10**6
        assert event.ts_event == msg["cts"] * 10**6
        assert event.seq == data["seq"]
        assert event.bids == [(float(p), float(q)) for p, q in data["b"]]
        assert event.asks == [(float(p), float(q)) for p, q in data["a"]]

    # the unpacked .data file reads the same
    with zipfile.ZipFile(path) as zf:
        (name,) = zf.namelist()
        plain = Path(zf.extract(name, tmp_path))
    assert read(plain)[0] == events
