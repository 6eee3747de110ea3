"""Nautilus (Binance) and Tardis sample readers on the real files, symbol mapping, bad rows."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mftbot.core.errors import DataError
from mftbot.data.quality import BadInputLog
from mftbot.data.tabular_samples import (
    read_binance_depth_csv,
    read_nautilus_quotes,
    read_nautilus_trades,
    read_tardis_book_snapshots,
    read_tardis_incremental_book,
    read_tardis_quotes,
    read_tardis_trades,
    to_ccxt_symbol,
)
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot

NAUTILUS = "nautilus/binance"
TARDIS = "nautilus/tardis"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("raw", "venue", "expected"),
    [
        ("BTCUSDT", "binance", "BTC/USDT"),
        ("btcusdt", "binanceusdm", "BTC/USDT:USDT"),
        ("BTCUSD_PERP", "binancecoinm", "BTC/USD:BTC"),
        ("XRPUSDT", "bybit", "XRP/USDT:USDT"),
        ("BCHEUR", "kraken", "BCH/EUR"),
        ("XBTEUR", "kraken", "BTC/EUR"),
        ("XBTUSD", "bitmex", "BTC/USD:BTC"),
        ("BTC-PERPETUAL", "deribit", "BTC/USD:BTC"),
        ("BTC-USD", "htx", "BTC/USD:BTC"),
        ("BTC/USDT", "anything", "BTC/USDT"),
    ],
)
def test_to_ccxt_symbol(raw: str, venue: str, expected: str) -> None:
    assert to_ccxt_symbol(raw, venue) == expected


def test_to_ccxt_symbol_unknown() -> None:
    with pytest.raises(DataError, match="no ccxt mapping"):
        to_ccxt_symbol("FOO", "nowhere")


# --------------------------------------------------------------------------- Nautilus


@pytest.mark.realdata
def test_binance_depth_snapshot(data_dir: Path) -> None:
    path = data_dir / NAUTILUS / "btcusdt-depth-snap.csv"
    (snap,) = list(read_binance_depth_csv(path))
    assert isinstance(snap, BookSnapshot)
    assert (snap.venue, snap.symbol) == ("binanceusdm", "BTC/USDT:USDT")
    assert snap.update_id == 2098021528332
    assert snap.ts_event == snap.ts_recv == 1667346579146 * 1_000_000
    assert (len(snap.bids), len(snap.asks)) == (100, 0)
    raw = _rows(path)
    assert snap.bids[0] == (float(raw[0]["price"]), float(raw[0]["qty"]))
    assert [p for p, _ in snap.bids] == sorted((p for p, _ in snap.bids), reverse=True)


@pytest.mark.realdata
def test_binance_depth_update(data_dir: Path) -> None:
    (delta,) = list(read_binance_depth_csv(data_dir / NAUTILUS / "btcusdt-depth-update.csv"))
    assert isinstance(delta, BookDelta)
    assert (delta.first_update_id, delta.update_id) == (2098041693435, 2098041696700)
    assert delta.prev_update_id == 2098041693400
    assert (len(delta.bids), len(delta.asks)) == (23, 77)
    assert delta.ts_event == 1667347199939 * 1_000_000
    assert any(size == 0.0 for _, size in delta.asks)  # removals kept as size 0


@pytest.mark.realdata
def test_nautilus_trades(data_dir: Path) -> None:
    path = data_dir / NAUTILUS / "btcusdt-trades.parquet"
    events = list(read_nautilus_trades(path))
    raw = pd.read_parquet(path)
    assert len(events) == len(raw) == 2001
    assert {(e.venue, e.symbol) for e in events} == {("binance", "BTC/USDT")}
    assert events[0].ts_event == pd.Timestamp("2021-01-08 00:00:00.278", tz="UTC").value
    assert events[-1].ts_event == pd.Timestamp("2021-01-08 00:00:46.355", tz="UTC").value
    expected = [Side.SELL if m == "True" else Side.BUY for m in raw["buyer_maker"]]
    assert [e.side for e in events] == expected
    assert [e.trade_id for e in events[:2]] == [str(i) for i in raw["trade_id"][:2]]
    assert [e.size for e in events] == raw["quantity"].tolist()


@pytest.mark.realdata
def test_nautilus_quotes(data_dir: Path) -> None:
    path = data_dir / NAUTILUS / "btcusdt-quotes.parquet"
    events = list(read_nautilus_quotes(path))
    raw = pd.read_parquet(path)
    assert len(events) == 451
    assert events[-1].ts_event == pd.Timestamp("2021-01-08 00:00:46.674", tz="UTC").value
    first = events[0]
    assert (first.bid_price, first.bid_size, first.ask_price, first.ask_size) == (
        raw["bid"][0],
        raw["bid_size"][0],
        raw["ask"][0],
        raw["ask_size"][0],
    )
    assert all(e.bid_price < e.ask_price for e in events)


# --------------------------------------------------------------------------- Tardis


@pytest.mark.realdata
@pytest.mark.parametrize(("depth", "name"), [(25, "25"), (5, "5")])
def test_tardis_book_snapshots(data_dir: Path, depth: int, name: str) -> None:
    path = data_dir / TARDIS / f"binance-futures_book_snapshot_{name}_BTCUSDT.csv"
    events = list(read_tardis_book_snapshots(path))
    raw = _rows(path)
    assert len(events) == len(raw) == 10
    first = events[0]
    assert (first.venue, first.symbol) == ("binanceusdm", "BTC/USDT:USDT")
    assert first.ts_event == int(raw[0]["timestamp"]) * 1000
    assert first.ts_recv == int(raw[0]["local_timestamp"]) * 1000
    assert (len(first.bids), len(first.asks)) == (depth, depth)
    last = depth - 1
    assert first.asks[last] == (
        float(raw[0][f"asks[{last}].price"]),
        float(raw[0][f"asks[{last}].amount"]),
    )
    assert [e.update_id for e in events] == list(range(1, 11))


@pytest.mark.realdata
def test_tardis_incremental_snapshot(data_dir: Path) -> None:
    path = data_dir / TARDIS / "deribit_incremental_book_L2_BTC-PERPETUAL.csv"
    (snap,) = list(read_tardis_incremental_book(path))
    assert isinstance(snap, BookSnapshot)
    assert (snap.venue, snap.symbol) == ("deribit", "BTC/USD:BTC")
    assert (len(snap.bids), len(snap.asks)) == (0, 15)
    assert snap.asks[0] == (6421.5, 18640.0)


def test_tardis_incremental_groups_deltas(tmp_path: Path) -> None:
    head = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
    rows = [
        "deribit,BTC-PERPETUAL,1000,1100,true,bid,99,5",
        "deribit,BTC-PERPETUAL,1000,1100,true,ask,101,5",
        "deribit,BTC-PERPETUAL,2000,2100,false,bid,99,0",
        "deribit,BTC-PERPETUAL,2000,2100,false,bid,98,3",
        "deribit,BTC-PERPETUAL,3000,3100,false,ask,102,1",
    ]
    path = tmp_path / "deribit_incremental_book_L2.csv"
    path.write_text(head + "\n".join(rows) + "\n")
    events = list(read_tardis_incremental_book(path))
    assert [type(e).__name__ for e in events] == ["BookSnapshot", "BookDelta", "BookDelta"]
    snap, first, second = events
    assert isinstance(first, BookDelta)
    assert isinstance(second, BookDelta)
    assert (snap.bids, snap.asks) == ([(99.0, 5.0)], [(101.0, 5.0)])
    assert first.bids == [(99.0, 0.0), (98.0, 3.0)]
    assert (first.update_id, second.update_id) == (2, 3)
    assert (first.ts_event, first.ts_recv) == (2_000_000, 2_100_000)


@pytest.mark.realdata
def test_tardis_trades(data_dir: Path) -> None:
    path = data_dir / TARDIS / "bitmex_trades_XBTUSD.csv"
    events = list(read_tardis_trades(path))
    raw = _rows(path)
    assert len(events) == 10
    assert {(e.venue, e.symbol) for e in events} == {("bitmex", "BTC/USD:BTC")}
    assert [e.trade_id for e in events] == [r["id"] for r in raw]
    assert (events[0].price, events[0].size, events[0].side) == (8531.5, 2152.0, Side.SELL)


@pytest.mark.realdata
def test_tardis_quotes(data_dir: Path) -> None:
    events = list(read_tardis_quotes(data_dir / TARDIS / "huobi-dm-swap_quotes_BTC-USD.csv"))
    assert len(events) == 10
    first = events[0]
    assert (first.venue, first.symbol) == ("htx", "BTC/USD:BTC")
    assert (first.bid_price, first.bid_size, first.ask_price, first.ask_size) == (
        8629.2,
        806.0,
        8629.3,
        5494.0,
    )
    assert first.ts_recv == 1588291201234268000


# --------------------------------------------------------------------------- bad input


@pytest.mark.realdata
def test_tardis_trade_without_side_is_bad(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bitmex_trades.csv"
    shutil.copy(data_dir / TARDIS / "bitmex_trades_XBTUSD.csv", path)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",sell,", ",unknown,")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"bitmex_trades\.csv: line 4: no aggressor side"):
        list(read_tardis_trades(path))
    bad = BadInputLog()
    assert len(list(read_tardis_trades(path, bad=bad))) == 9
    assert bad.samples[0].line == 4


@pytest.mark.realdata
def test_depth_event_with_bad_level_dropped_whole(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "depth.csv"
    lines = (data_dir / NAUTILUS / "btcusdt-depth-snap.csv").read_text().splitlines()
    lines[10] = lines[10].rsplit(",", 3)[0] + ",-5,1.0,-1"  # price -5
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 11: bad price"):
        list(read_binance_depth_csv(path))
    bad = BadInputLog()
    assert list(read_binance_depth_csv(path, bad=bad)) == []  # never a partial book
    assert bad.total == 1


def test_crossed_tardis_quote_is_bad(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        "huobi-dm-swap,BTC-USD,1000,1001,5,100.0,100.5,5\n"
    )
    with pytest.raises(DataError, match="line 2: crossed quote"):
        list(read_tardis_quotes(path))


def test_unknown_tardis_exchange(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "mars-exchange,BTCUSD,1000,1001,a,buy,1,1\n"
    )
    with pytest.raises(DataError, match="unknown Tardis exchange 'mars-exchange'"):
        list(read_tardis_trades(path))
    assert len(list(read_tardis_trades(path, venue="binance", symbol="BTC/USD"))) == 1


def test_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "depth.csv"
    path.write_text("symbol,timestamp\nBTCUSDT,1\n")
    with pytest.raises(DataError, match="missing column"):
        list(read_binance_depth_csv(path))
