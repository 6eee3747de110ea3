"""Binance recording reader: message decoding, inference, bad input, and the real files."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest

from mftbot.core.errors import DataError
from mftbot.data.binance_recording import read_binance_recording
from mftbot.data.quality import BadInputLog
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, QuoteTick, TradeTick

TS = 1723161254000000000
DEPTH = (
    '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,'
    '"s":"BTCUSDT","U":10,"u":12,"b":[["61737.63000000","0.50000000"],'
    '["61730.17000000","0.00000000"]],"a":[["61837.64000000","1.54698000"]]}}'
)
TRADE = (
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT",'
    '"t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}'
)
QUOTE = (
    '{"stream":"btcusdt@bookTicker","data":{"u":13,"s":"BTCUSDT","b":"61837.63000000",'
    '"B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}'
)
SNAPSHOT = '{"lastUpdateId":11,"bids":[["61837.63","3.7"]],"asks":[["61837.64","1.5"]]}'
FUT_DEPTH = (
    '{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,'
    '"T":1723161256298,"s":"BTCUSDT","U":5,"u":9,"pu":4,"b":[["58710.20","0.014"]],"a":[]}}'
)
FUT_QUOTE = (
    '{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":9,"s":"BTCUSDT",'
    '"b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256314}}'
)


def write(path: Path, lines: list[str], *, compress: bool = True) -> Path:
    """Write a recording: one ``<ts> <json>`` (or raw) line per entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def stamped(*messages: str) -> list[str]:
    return [f"{TS + i} {m}" for i, m in enumerate(messages)]


def spot_file(tmp_path: Path, lines: list[str]) -> Path:
    return write(tmp_path / "binance_spot" / "btcusdt_20240808.gz", lines)


def read(
    path: Path, *, venue: str | None = None, symbol: str | None = None
) -> tuple[list[MarketEvent], BadInputLog]:
    bad = BadInputLog()
    events = list(read_binance_recording(path, venue=venue, symbol=symbol, bad=bad))
    return events, bad


# --- decoding --------------------------------------------------------------------------------


def test_decodes_every_spot_message_kind(tmp_path: Path) -> None:
    events, bad = read(spot_file(tmp_path, stamped(DEPTH, TRADE, QUOTE, SNAPSHOT)))
    assert bad.total == 0
    assert events == [
        BookDelta(
            "binance",
            "BTC/USDT",
            1723161255208 * 10**6,
            TS,
            10,
            12,
            [(61737.63, 0.5), (61730.17, 0.0)],
            [(61837.64, 1.54698)],
            None,
        ),
        TradeTick(
            "binance",
            "BTC/USDT",
            1723161255342 * 10**6,
            TS + 1,
            61837.63,
            0.02,
            Side.SELL,
            "3735683259",
        ),
        # spot bookTicker has no exchange time: ts_event = ts_recv
        QuoteTick("binance", "BTC/USDT", TS + 2, TS + 2, 61837.63, 3.78826, 61837.64, 1.54698, 13),
        BookSnapshot(
            "binance", "BTC/USDT", TS + 3, TS + 3, 11, [(61837.63, 3.7)], [(61837.64, 1.5)]
        ),
    ]


def test_trade_side_is_the_taker_side(tmp_path: Path) -> None:
    buyer_taker = TRADE.replace('"m":true', '"m":false')
    events, _ = read(spot_file(tmp_path, stamped(TRADE, buyer_taker)))
    assert [e.side for e in events if isinstance(e, TradeTick)] == [Side.SELL, Side.BUY]


def test_futures_fields(tmp_path: Path) -> None:
    snap = '{"lastUpdateId":8,"E":1723161256501,"T":1723161256493,"bids":[],"asks":[]}'
    path = write(
        tmp_path / "binance_usdm" / "btcusdt_20240808.gz", stamped(FUT_DEPTH, FUT_QUOTE, snap)
    )
    delta, quote, snapshot = read(path)[0]
    assert isinstance(delta, BookDelta)
    assert (delta.first_update_id, delta.update_id, delta.prev_update_id) == (5, 9, 4)
    assert delta.ts_event == 1723161256299 * 10**6  # E, not T
    assert isinstance(quote, QuoteTick)
    assert quote.ts_event == 1723161256314 * 10**6
    assert isinstance(snapshot, BookSnapshot)
    assert snapshot.ts_event == 1723161256501 * 10**6
    assert {e.venue for e in (delta, quote, snapshot)} == {"binanceusdm"}
    assert {e.symbol for e in (delta, quote, snapshot)} == {"BTC/USDT:USDT"}


def test_envelope_key_order_and_extra_keys_do_not_matter(tmp_path: Path) -> None:
    data = TRADE[TRADE.index('"data":') + 7 : -1]
    reordered = '{"data":' + data + ',"extra":[1],"stream":"btcusdt@trade"}'
    events, bad = read(spot_file(tmp_path, stamped(TRADE, reordered)))
    assert bad.total == 0
    assert len(events) == 2
    assert events[0] == msgspec.structs.replace(events[1], ts_recv=TS)


def test_zero_size_in_a_depth_level_is_legal(tmp_path: Path) -> None:
    events, bad = read(spot_file(tmp_path, stamped(DEPTH)))
    assert bad.total == 0
    assert isinstance(events[0], BookDelta)
    assert events[0].bids[1] == (61730.17, 0.0)


def test_plain_and_multi_member_gzip(tmp_path: Path) -> None:
    lines = stamped(DEPTH, TRADE, QUOTE)
    plain = write(tmp_path / "binance_spot" / "btcusdt_20240101.gz", lines, compress=False)
    multi = tmp_path / "binance_spot" / "btcusdt_20240102.gz"
    multi.write_bytes(b"".join(gzip.compress((line + "\n").encode()) for line in lines))
    assert read(plain)[0] == read(multi)[0] == read(spot_file(tmp_path, lines))[0]


def test_blank_lines_are_ignored(tmp_path: Path) -> None:
    events, bad = read(spot_file(tmp_path, ["", *stamped(TRADE), "   ", ""]))
    assert len(events) == 1
    assert bad.total == 0


# --- venue and symbol ------------------------------------------------------------------------


def test_coinm_inferred_from_folder_and_name(tmp_path: Path) -> None:
    line = FUT_DEPTH.replace("btcusdt@", "btcusd_perp@").replace("BTCUSDT", "BTCUSD_PERP")
    path = write(tmp_path / "binance_coinm" / "btcusd_perp_20240808.gz", stamped(line))
    (event,), _ = read(path)
    assert (event.venue, event.symbol) == ("binancecoinm", "BTC/USD:BTC")


@pytest.mark.parametrize(
    ("message", "venue", "symbol"),
    [
        (DEPTH, "binance", "BTC/USDT"),  # spot depth has no pu
        (FUT_DEPTH, "binanceusdm", "BTC/USDT:USDT"),
        (FUT_QUOTE, "binanceusdm", "BTC/USDT:USDT"),  # futures bookTicker has E
        (FUT_DEPTH.replace("btcusdt@", "btcusd_perp@"), "binancecoinm", "BTC/USD:BTC"),
    ],
)
def test_venue_and_symbol_from_content(
    tmp_path: Path, message: str, venue: str, symbol: str
) -> None:
    path = write(
        tmp_path / "somewhere" / "capture.gz", stamped(TRADE.replace("btcusdt", "x"), message)
    )
    events, bad = read(path)
    assert bad.counts == Counter({"unknown_symbol": 1})  # "x" is no symbol
    assert [(e.venue, e.symbol) for e in events] == [(venue, symbol)]


def test_unnamed_file_keeps_each_streams_symbol(tmp_path: Path) -> None:
    eth = TRADE.replace("btcusdt@", "ethusdt@")
    path = write(tmp_path / "binance_usdm" / "capture.gz", stamped(TRADE, eth))
    events, bad = read(path)
    assert bad.total == 0
    assert [e.symbol for e in events] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_overrides(tmp_path: Path) -> None:
    path = write(tmp_path / "capture.gz", stamped(TRADE, SNAPSHOT))
    events, _ = read(path, venue="binanceusdm", symbol="BTC/USDT:USDT")
    assert [(e.venue, e.symbol) for e in events] == [("binanceusdm", "BTC/USDT:USDT")] * 2


def test_missing_file_raises_at_call(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such"):
        read_binance_recording(tmp_path / "binance_spot" / "btcusdt_20240808.gz")


def test_undecidable_venue_raises_at_call(tmp_path: Path) -> None:
    path = write(tmp_path / "capture.gz", stamped(TRADE))  # trades look alike everywhere
    with pytest.raises(DataError, match="cannot tell the Binance venue"):
        read_binance_recording(path)
    with pytest.raises(DataError, match="not one of"):
        read_binance_recording(path, venue="bybit")


# --- bad input: counted with file and line, skipped, reading goes on -------------------------


def _one_bad(tmp_path: Path, bad_line: str) -> tuple[list[MarketEvent], BadInputLog, Path]:
    path = spot_file(tmp_path, [*stamped(TRADE), bad_line, *stamped(QUOTE)])
    events, bad = read(path)
    assert len(events) == 2, "the good lines around the bad one are kept"
    assert bad.total == 1
    (sample,) = bad.samples
    assert (sample.source, sample.line) == (str(path), 2)
    return events, bad, path


def test_malformed_json(tmp_path: Path) -> None:
    _, bad, _ = _one_bad(tmp_path, f"{TS} {TRADE[:-7]}")
    assert bad.counts == Counter({"malformed_json": 1})


def test_timestamp_with_leading_zeros_is_read_as_a_number(tmp_path: Path) -> None:
    events, bad = read(spot_file(tmp_path, [f"000{TS} {QUOTE}", f"{TS + 1} {QUOTE}"]))
    assert bad.total == 0
    assert [e.ts_recv for e in events] == [TS, TS + 1]


def test_line_without_timestamp(tmp_path: Path) -> None:
    _, bad, _ = _one_bad(tmp_path, TRADE)
    assert bad.counts == Counter({"no_timestamp": 1})


@pytest.mark.parametrize(
    "message",
    [
        TRADE.replace("btcusdt@trade", "btcusdt@kline_1m"),
        TRADE.replace("btcusdt@trade", "btcusdt@depth20@100ms"),
        TRADE.replace("btcusdt@trade", "ethusdt@trade"),  # another symbol in a BTCUSDT file
        TRADE.replace("btcusdt@trade", "btcusdt"),
    ],
    ids=["kline", "partial-depth", "other-symbol", "no-channel"],
)
def test_unknown_stream(tmp_path: Path, message: str) -> None:
    _, bad, _ = _one_bad(tmp_path, f"{TS} {message}")
    assert bad.counts == Counter({"unknown_stream": 1})


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ('{"result":null,"id":1}', "unknown_message"),
        ("[1,2,3]", "unknown_message"),
        (TRADE.replace('"p":"61837.63000000",', ""), "bad_field"),
        (TRADE.replace('"t":3735683259', '"t":"x"'), "bad_field"),
        ('{"stream":"btcusdt@trade"}', "bad_field"),
        (SNAPSHOT.replace("{", '{"symbol":"ETHUSDT",', 1), "unknown_symbol"),
    ],
    ids=["other-object", "array", "missing-price", "bad-id", "no-data", "other-snapshot"],
)
def test_unusable_message(tmp_path: Path, message: str, kind: str) -> None:
    _, bad, _ = _one_bad(tmp_path, f"{TS} {message}")
    assert bad.counts == Counter({kind: 1})


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (TRADE.replace('"p":"61837.63000000"', '"p":"NaN"'), "bad_price"),
        (TRADE.replace('"p":"61837.63000000"', '"p":"-61837.63"'), "bad_price"),
        (TRADE.replace('"p":"61837.63000000"', '"p":"0.00000000"'), "bad_price"),
        (TRADE.replace('"p":"61837.63000000"', '"p":"abc"'), "bad_price"),
        (TRADE.replace('"q":"0.02000000"', '"q":"0"'), "bad_size"),
        (TRADE.replace('"q":"0.02000000"', '"q":"inf"'), "bad_size"),
        (QUOTE.replace('"b":"61837.63000000"', '"b":"nan"'), "bad_price"),
        (QUOTE.replace('"A":"1.54698000"', '"A":"-1"'), "bad_size"),
        (QUOTE.replace('"a":"61837.64000000"', '"a":"1e999"'), "bad_price"),
        (DEPTH.replace('"0.50000000"', '"-0.5"'), "bad_size"),
        (DEPTH.replace('"0.50000000"', '"NaN"'), "bad_size"),
        (DEPTH.replace('"61837.64000000"', '"0"'), "bad_price"),
        (DEPTH.replace('"61837.64000000"', '"x1"'), "bad_price"),
        (SNAPSHOT.replace('"61837.63"', '"-1"'), "bad_price"),
        (SNAPSHOT.replace('"1.5"', '"NaN"'), "bad_size"),
    ],
    ids=[
        "trade-nan-price",
        "trade-negative-price",
        "trade-zero-price",
        "trade-text-price",
        "trade-zero-size",
        "trade-inf-size",
        "quote-nan-price",
        "quote-negative-size",
        "quote-overflow-price",
        "depth-negative-size",
        "depth-nan-size",
        "depth-zero-price",
        "depth-text-price",
        "snapshot-negative-price",
        "snapshot-nan-size",
    ],
)
def test_bad_numbers(tmp_path: Path, message: str, kind: str) -> None:
    _, bad, _ = _one_bad(tmp_path, f"{TS} {message}")
    assert bad.counts == Counter({kind: 1})
    assert bad.samples[0].reason.startswith(f"{kind}: ")


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    lines = stamped(*([DEPTH, TRADE, QUOTE] * 3000))
    whole = spot_file(tmp_path, lines)
    expected, _ = read(whole)
    cut = tmp_path / "binance_spot" / "btcusdt_20240809.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    events, bad = read(cut)
    assert 0 < len(events) < len(expected)
    assert events == expected[: len(events)]
    assert bad.counts == Counter({"truncated": 1})
    assert bad.samples[0].line == len(events) + 1  # the line it stopped in


def test_corrupt_gzip_is_recorded_not_raised(tmp_path: Path) -> None:
    whole = spot_file(tmp_path, stamped(*([DEPTH, TRADE, QUOTE] * 20000)))
    expected, _ = read(whole)
    data = bytearray(whole.read_bytes())
    data[len(data) * 3 // 4] ^= 0xFF
    whole.write_bytes(bytes(data))
    events, bad = read(whole)
    assert bad.counts["corrupt"] == 1
    assert 0 < len(events) < len(expected)
    assert events[:1000] == expected[:1000]  # what came before the damage is kept


# --- the real recordings ---------------------------------------------------------------------

# (file, depth, trade, bookTicker, snapshot) from hftbacktest/SOURCE.md
SOURCE_COUNTS = [
    ("binance_spot/btcusdt_20240808.gz", 3451, 9757, 28040, 1),
    ("binance_spot/btcusdt_20240809.gz", 3044, 10147, 45134, 0),
    ("binance_spot/ethusdt_20240808.gz", 3434, 6106, 24077, 1),
    ("binance_spot/ethusdt_20240809.gz", 3036, 8409, 34681, 0),
    ("binance_usdm/btcusdt_20240808.gz", 6551, 21313, 66089, 1),
    ("binance_usdm/ethusdt_20240808.gz", 6586, 14076, 53992, 1),
    ("binance_usdm/btcusdt_20240718.gz", 3326, 974, 7113, 1),
    ("binance_usdm/btcusdt_20240719.gz", 5696, 9727, 45147, 0),
    ("binance_usdm/ethusdt_20240718.gz", 3273, 1640, 9089, 1),
    ("binance_usdm/ethusdt_20240719.gz", 5656, 12015, 38239, 0),
    ("binance_coinm/btcusd_perp_20240808.gz", 26847, 2286, 19136, 1),
    ("binance_coinm/btcusd_perp_20240809.gz", 17948, 2949, 29219, 0),
    ("binance_coinm/ethusd_perp_20240808.gz", 22909, 1732, 15812, 1),
    ("binance_coinm/ethusd_perp_20240809.gz", 16246, 1863, 19751, 0),
]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "depth", "trade", "quote", "snapshot"),
    SOURCE_COUNTS,
    ids=[c[0] for c in SOURCE_COUNTS],
)
def test_real_file_counts(
    data_dir: Path, name: str, depth: int, trade: int, quote: int, snapshot: int
) -> None:
    events, bad = read(data_dir / "hftbacktest" / name)
    assert bad.total == 0
    counts = Counter(type(e) for e in events)
    assert (
        counts
        == Counter({BookDelta: depth, TradeTick: trade, QuoteTick: quote, BookSnapshot: snapshot})
        - Counter()
    )  # drops zero entries
    stamps = [e.ts_recv for e in events]
    assert stamps == sorted(stamps)


def _raw_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    with gzip.open(path, "rt") as fh:
        return [(int(ts), json.loads(js)) for ts, js in (line.split(" ", 1) for line in fh)]


def _levels(raw: list[list[str]]) -> list[tuple[float, float]]:
    return [(float(p), float(q)) for p, q in raw]


def _expected(ts: int, msg: dict[str, Any], venue: str, symbol: str) -> MarketEvent:
    """The event a raw line should give, built independently with json + float()."""
    if "lastUpdateId" in msg:
        e = msg["E"] * 10**6 if "E" in msg else ts
        return BookSnapshot(
            venue, symbol, e, ts, msg["lastUpdateId"], _levels(msg["bids"]), _levels(msg["asks"])
        )
    stream, d = msg["stream"], msg["data"]
    if "@depth" in stream:
        return BookDelta(
            venue,
            symbol,
            d["E"] * 10**6,
            ts,
            d["U"],
            d["u"],
            _levels(d["b"]),
            _levels(d["a"]),
            d.get("pu"),
        )
    if stream.endswith("@trade"):
        side = Side.SELL if d["m"] else Side.BUY
        return TradeTick(
            venue, symbol, d["T"] * 10**6, ts, float(d["p"]), float(d["q"]), side, str(d["t"])
        )
    e = d["E"] * 10**6 if "E" in d else ts
    return QuoteTick(
        venue, symbol, e, ts, float(d["b"]), float(d["B"]), float(d["a"]), float(d["A"]), d["u"]
    )


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "venue", "symbol"),
    [
        ("binance_spot/btcusdt_20240808.gz", "binance", "BTC/USDT"),
        ("binance_usdm/ethusdt_20240718.gz", "binanceusdm", "ETH/USDT:USDT"),
        ("binance_coinm/ethusd_perp_20240808.gz", "binancecoinm", "ETH/USD:ETH"),
    ],
)
def test_real_file_matches_raw_lines(data_dir: Path, name: str, venue: str, symbol: str) -> None:
    """Every event equals the one built from the raw line with json + float(): first, last,
    the snapshot, and every price and size (msgspec parses to the same float as float(s))."""
    path = data_dir / "hftbacktest" / name
    raw = _raw_lines(path)
    events, bad = read(path)
    assert bad.total == 0
    assert len(events) == len(raw)
    assert events[0] == _expected(*raw[0], venue, symbol)
    assert events[-1] == _expected(*raw[-1], venue, symbol)
    assert events == [_expected(ts, msg, venue, symbol) for ts, msg in raw]
    (snapshot,) = (e for e in events if isinstance(e, BookSnapshot))
    assert len(snapshot.bids) == len(snapshot.asks) == 1000


@pytest.mark.realdata
def test_real_spot_snapshot(data_dir: Path) -> None:
    events, _ = read(data_dir / "hftbacktest" / "binance_spot" / "btcusdt_20240808.gz")
    snapshot = events[7]  # line 8 of the file
    assert isinstance(snapshot, BookSnapshot)
    assert snapshot.update_id == 50093239218
    assert snapshot.ts_recv == snapshot.ts_event == 1723161254206652067
    assert snapshot.bids[0] == (61837.63, 3.78826)
