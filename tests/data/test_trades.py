"""Trade readers: freqtrade feather/JSON/ccxt-dict/CSV and Kraken CSV on real files; events."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.core.errors import DataError
from mftbot.data.quality import BadInputLog
from mftbot.data.trades import read_trades, trades_to_events
from mftbot.domain.enums import Side

FT = "freqtrade"
XRP_FIRST = pd.Timestamp("2019-10-11 00:00:11.620", tz="UTC")
XRP_LAST = pd.Timestamp("2019-10-13 11:19:28.844", tz="UTC")


@pytest.mark.realdata
@pytest.mark.parametrize(
    "rel", ["XRP_ETH-trades.feather", "XRP_ETH-trades.json.gz", "XRP_OLD-trades.json.gz"]
)
def test_xrp_eth_trades_match_source(data_dir: Path, rel: str) -> None:
    df = read_trades(data_dir / FT / rel)
    assert len(df) == 12477
    assert (df.index[0], df.index[-1]) == (XRP_FIRST, XRP_LAST)
    assert df["side"].value_counts().to_dict() == {"buy": 6524, "sell": 5953}
    assert list(df.columns) == ["price", "amount", "side", "trade_id"]
    assert df.index.name == "time"
    assert str(df.index.tz) == "UTC"
    assert df["trade_id"].is_unique


@pytest.mark.realdata
def test_three_xrp_forms_are_identical(data_dir: Path) -> None:
    feather = read_trades(data_dir / FT / "XRP_ETH-trades.feather")
    lists = read_trades(data_dir / FT / "XRP_ETH-trades.json.gz")
    dicts = read_trades(data_dir / FT / "XRP_OLD-trades.json.gz")
    pd.testing.assert_frame_equal(feather, lists)
    pd.testing.assert_frame_equal(feather, dicts, check_flags=False)
    assert dicts.attrs["symbol"] == "XRP/ETH"
    assert "symbol" not in feather.attrs


@pytest.mark.realdata
def test_values_equal_raw_json(data_dir: Path) -> None:
    path = data_dir / FT / "XRP_ETH-trades.json.gz"
    rows = json.loads(gzip.decompress(path.read_bytes()))
    df = read_trades(path)
    for i in (0, 4321, len(rows) - 1):
        ts, trade_id, _, side, price, amount, _ = rows[i]
        assert df.index[i] == pd.Timestamp(ts, unit="ms", tz="UTC")
        assert (df["trade_id"].iloc[i], df["side"].iloc[i]) == (trade_id, side)
        assert (df["price"].iloc[i], df["amount"].iloc[i]) == (price, amount)


@pytest.mark.realdata
def test_old_ccxt_form_agrees_with_its_raw_aggtrade_info(data_dir: Path) -> None:
    rows = json.loads(gzip.decompress((data_dir / FT / "XRP_OLD-trades.json.gz").read_bytes()))
    df = read_trades(data_dir / FT / "XRP_OLD-trades.json.gz")
    info = rows[100]["info"]
    assert df["trade_id"].iloc[100] == str(info["a"])
    assert df["price"].iloc[100] == float(info["p"])
    assert df["side"].iloc[100] == ("sell" if info["m"] else "buy")  # buyer maker: taker sold


@pytest.mark.realdata
def test_orderflow_csv(data_dir: Path) -> None:
    path = data_dir / FT / "orderflow/public_trades_list.csv"
    df = read_trades(path)
    assert len(df) == 1000
    assert df.index[0] == pd.Timestamp("2023-02-02 09:20:00.138", tz="UTC")
    assert df.index[-1] == pd.Timestamp("2023-02-02 09:23:27.493", tz="UTC")
    raw = pd.read_csv(path)
    np.testing.assert_array_equal(df["price"].to_numpy(), raw["price"].to_numpy())
    assert df["trade_id"].tolist()[:2] == [str(v) for v in raw["id"][:2]]
    assert df["side"].astype(str).tolist() == raw["side"].tolist()


@pytest.mark.realdata
def test_orderflow_simple_example_has_repeated_ids(data_dir: Path) -> None:
    path = data_dir / FT / "orderflow/public_trades_list_simple_example.csv"
    with pytest.raises(DataError, match="line 7: duplicate trade id: trade 1588563959"):
        read_trades(path)
    bad = BadInputLog()
    df = read_trades(path, bad=bad)
    assert len(df) == 5
    assert [s.line for s in bad.samples] == [7, 8]
    assert df["side"].astype(str).tolist() == ["buy", "sell", "sell", "sell", "buy"]  # stripped


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("rel", "rows", "day"),
    [
        ("kraken_trades_csv/BCHEUR.csv", 148, "2023-01-01"),
        ("kraken_trades_csv/incremental_q2/BCHEUR.csv", 486, "2023-01-02"),
    ],
)
def test_kraken_csv_has_no_side_and_no_id(data_dir: Path, rel: str, rows: int, day: str) -> None:
    path = data_dir / FT / rel
    df = read_trades(path)
    assert len(df) == rows
    assert {d.isoformat() for d in df.index.date} == {day}
    assert df["side"].isna().all()
    assert df["trade_id"].isna().all()
    with path.open() as handle:
        seconds, price, volume = next(csv.reader(handle))
    assert df.index[0] == pd.Timestamp(int(seconds), unit="s", tz="UTC")
    assert (df["price"].iloc[0], df["amount"].iloc[0]) == (float(price), float(volume))


@pytest.mark.realdata
def test_trades_to_events(data_dir: Path) -> None:
    df = read_trades(data_dir / FT / "XRP_ETH-trades.feather")
    events = list(trades_to_events(df, "binance", "XRP/ETH"))
    assert len(events) == len(df)
    first = events[0]
    assert first.ts_event == first.ts_recv == XRP_FIRST.value
    assert (first.price, first.size, first.side, first.trade_id) == (
        df["price"].iloc[0],
        df["amount"].iloc[0],
        Side.SELL,
        "13519807",
    )
    assert sum(e.side is Side.BUY for e in events) == 6524


@pytest.mark.realdata
def test_trades_without_side_are_not_events(data_dir: Path) -> None:
    df = read_trades(data_dir / FT / "kraken_trades_csv/BCHEUR.csv")
    with pytest.raises(DataError, match="row 0: no aggressor side"):
        list(trades_to_events(df, "kraken", "BCH/EUR"))
    bad = BadInputLog()
    assert list(trades_to_events(df, "kraken", "BCH/EUR", bad=bad)) == []
    assert bad.counts["no aggressor side"] == 148


# --------------------------------------------------------------------------- bad input


def _feather(folder: Path, **overrides: list[object]) -> Path:
    columns: dict[str, list[object]] = {
        "timestamp": [1700000000000, 1700000000100, 1700000000200],
        "id": ["1", "2", "3"],
        "type": [None, None, None],
        "side": ["buy", "sell", "buy"],
        "price": [10.0, 10.5, 11.0],
        "amount": [1.0, 2.0, 3.0],
        "cost": [10.0, 21.0, 33.0],
    }
    columns.update(overrides)
    path = folder / "BTC_USDT-trades.feather"
    pd.DataFrame(columns).to_feather(path)
    return path


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"price": [10.0, float("nan"), 11.0]}, "row 1: bad price"),
        ({"price": [10.0, 10.5, -11.0]}, "row 2: bad price"),
        ({"amount": [0.0, 2.0, 3.0]}, "row 0: bad amount"),
        ({"side": ["buy", "up", "buy"]}, "row 1: bad side"),
        ({"side": ["buy", None, "buy"]}, "row 1: bad side"),
        ({"id": ["1", "2", "2"]}, "row 2: duplicate trade id"),
    ],
)
def test_bad_trade_row(tmp_path: Path, override: dict[str, list[object]], match: str) -> None:
    path = _feather(tmp_path, **override)
    with pytest.raises(DataError, match=rf"BTC_USDT-trades\.feather: {match}"):
        read_trades(path)
    bad = BadInputLog()
    assert len(read_trades(path, bad=bad)) == 2
    assert bad.total == 1


def test_unsorted_trades_sorted_stably(tmp_path: Path) -> None:
    path = _feather(tmp_path, timestamp=[1700000000200, 1700000000100, 1700000000100])
    df = read_trades(path)
    assert df["trade_id"].tolist() == ["2", "3", "1"]


def test_malformed_json_trade_row(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT-trades.json"
    good = [1700000000000, "1", None, "buy", 10.0, 1.0, 10.0]
    path.write_text(json.dumps([good, [1700000000100, "2", None, "sell", 10.0]]))
    with pytest.raises(DataError, match="row 1: malformed row"):
        read_trades(path)


def test_unknown_trades_file(tmp_path: Path) -> None:
    path = tmp_path / "trades.txt"
    path.write_text("x")
    with pytest.raises(DataError, match="unknown trades file type"):
        read_trades(path)
