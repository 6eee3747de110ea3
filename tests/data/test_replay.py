"""Streaming merge of recorded streams and file replay."""

from __future__ import annotations

import gzip
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftbot.core.errors import DataError
from mftbot.data.binance_recording import read_binance_recording
from mftbot.data.quality import BadInputLog
from mftbot.data.replay import merge_streams, open_recording, replay_files
from mftbot.domain.events import BookDelta, MarketEvent, TradeTick


@dataclass(frozen=True)
class Item:
    ts_recv: int
    stream: int
    pos: int


def make(stream: int, stamps: list[int]) -> list[Item]:
    return [Item(ts, stream, i) for i, ts in enumerate(stamps)]


def test_merge_orders_by_ts_then_stream_then_position() -> None:
    a = make(0, [1, 3, 3])
    b = make(1, [1, 2, 3])
    merged = [(i.stream, i.pos) for i in merge_streams([a, b])]
    assert merged == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 2), (1, 2)]


@given(st.lists(st.lists(st.integers(0, 20), max_size=30), max_size=6))
def test_merge_equals_a_stable_sort(stamps: list[list[int]]) -> None:
    streams = [make(k, sorted(s)) for k, s in enumerate(stamps)]
    everything = [item for stream in streams for item in stream]
    expected = sorted(everything, key=lambda i: i.ts_recv)  # stable: stream, then position
    assert list(merge_streams(streams)) == expected


def test_merge_of_nothing() -> None:
    assert list(merge_streams([])) == []
    assert list(merge_streams([[], []])) == []


def test_merge_is_streaming() -> None:
    """Three endless streams: taking n events pulls about n items, never the streams."""
    pulled = Counter[int]()

    def endless(stream: int, step: int) -> Iterator[Item]:
        for pos in itertools.count():
            pulled[stream] += 1
            yield Item(pos * step, stream, pos)

    taken = list(
        itertools.islice(merge_streams([endless(0, 2), endless(1, 3), endless(2, 5)]), 3000)
    )
    stamps = [i.ts_recv for i in taken]
    assert stamps == sorted(stamps)
    # each source is at most one item ahead of what was handed out
    handed = Counter(i.stream for i in taken)
    for stream in range(3):
        assert pulled[stream] <= handed[stream] + 1


# --- files ---------------------------------------------------------------------------------------

TRADE = (
    '{"stream":"btcusdt@trade","data":{"t":%d,"p":"61837.63","q":"0.02","T":1723161255342,'
    '"m":true}}'
)


def trades(path: Path, start_ts: int, count: int, first_id: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{start_ts + i} {TRADE % (first_id + i)}\n" for i in range(count)]
    path.write_bytes(gzip.compress("".join(lines).encode()))
    return path


def test_truncated_file_then_the_next_file(tmp_path: Path) -> None:
    day1 = trades(tmp_path / "binance_spot" / "btcusdt_20240808.gz", 1_000, 20_000)
    day2 = trades(tmp_path / "binance_spot" / "btcusdt_20240809.gz", 100_000, 100, 20_000)
    day1.write_bytes(day1.read_bytes()[: day1.stat().st_size // 2])
    bad = BadInputLog()
    events = list(replay_files([day2, day1], bad=bad))  # order given does not matter
    assert bad.counts == Counter({"truncated": 1})
    assert bad.samples[0].source == str(day1)
    ids = [int(e.trade_id) for e in events if isinstance(e, TradeTick)]
    kept = len(ids) - 100
    assert 0 < kept < 20_000
    assert ids == list(range(kept)) + list(range(20_000, 20_100))  # day 1's head, then day 2


def test_replay_checks_every_file_first(tmp_path: Path) -> None:
    good = trades(tmp_path / "binance_spot" / "btcusdt_20240808.gz", 1, 3)
    with pytest.raises(DataError, match="no such"):
        replay_files([good, tmp_path / "binance_spot" / "btcusdt_20240809.gz"])
    with pytest.raises(DataError, match="not a recording"):
        replay_files([good, tmp_path / "notes.csv"])
    with pytest.raises(DataError, match="no files"):
        replay_files([])


def test_open_recording_picks_the_reader(tmp_path: Path) -> None:
    path = trades(tmp_path / "binance_usdm" / "btcusdt_20240808.gz", 1, 2)
    events = list(open_recording(path))
    assert {(e.venue, e.symbol) for e in events} == {("binanceusdm", "BTC/USDT:USDT")}
    bybit = tmp_path / "2024-12-01_XRPUSDT_ob500.data"
    bybit.write_text(
        '{"topic":"orderbook.500.XRPUSDT","type":"delta","ts":1,"data":{"s":"XRPUSDT",'
        '"b":[],"a":[],"u":8,"seq":71}}\n'
    )
    (delta,) = open_recording(bybit)
    assert isinstance(delta, BookDelta)
    assert (delta.venue, delta.symbol, delta.update_id) == ("bybit", "XRP/USDT:USDT", 8)


@pytest.mark.realdata
def test_replay_spot_btc_and_eth_two_days(data_dir: Path) -> None:
    folder = data_dir / "hftbacktest" / "binance_spot"
    names = [
        "ethusdt_20240809.gz",
        "btcusdt_20240809.gz",
        "btcusdt_20240808.gz",
        "ethusdt_20240808.gz",
    ]
    bad = BadInputLog()
    merged = list(replay_files([folder / n for n in names], bad=bad))
    assert bad.total == 0
    assert len(merged) == 41_249 + 58_325 + 33_618 + 46_126  # lines in the four files
    stamps = [e.ts_recv for e in merged]
    assert stamps == sorted(stamps)
    for coin in ("btc", "eth"):
        chained = [
            *read_binance_recording(folder / f"{coin}usdt_20240808.gz"),
            *read_binance_recording(folder / f"{coin}usdt_20240809.gz"),
        ]
        symbol = f"{coin.upper()}/USDT"
        assert [e for e in merged if e.symbol == symbol] == chained


@pytest.mark.realdata
def test_replay_binance_and_bybit_together(data_dir: Path) -> None:
    files = [
        data_dir / "nautilus" / "bybit" / "xrpusdt-ob500.data.zip",
        data_dir / "hftbacktest" / "binance_usdm" / "ethusdt_20240718.gz",
    ]
    merged: list[MarketEvent] = list(replay_files(files))
    assert Counter(e.venue for e in merged) == Counter({"binanceusdm": 14_003, "bybit": 50})
    stamps = [e.ts_recv for e in merged]
    assert stamps == sorted(stamps)
    assert isinstance(merged[-1], BookDelta)  # Bybit's December 2024 comes after July 2024
    assert merged[-1].venue == "bybit"


def test_merge_bursts_and_ties_with_the_runner_up() -> None:
    # stream 0 leads with a burst; its 2s tie with stream 1's 2: stream 0 first, then 1
    a = make(0, [1, 2, 2, 3, 3, 7])
    b = make(1, [2, 3, 3, 4])
    c = make(2, [0, 3, 9])
    merged = [(i.ts_recv, i.stream, i.pos) for i in merge_streams([a, b, c])]
    assert merged == sorted(merged)  # by time, then stream, then position
    assert len(merged) == 13
