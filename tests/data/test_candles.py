"""Candle readers: freqtrade feather/JSON/pandas-JSON on the real files, validation, events."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.core.errors import DataError
from mftbot.data.candles import (
    CandleType,
    candles_to_events,
    infer_timeframe,
    parse_freqtrade_filename,
    read_candles,
    read_funding_rates,
)
from mftbot.data.quality import BadInputLog

OHLCV = ["open", "high", "low", "close", "volume"]


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    ("name", "symbol", "timeframe", "ctype"),
    [
        ("ETH_BTC-5m.feather", "ETH/BTC", "5m", CandleType.SPOT),
        ("XRP_USDT_USDT-5m-futures.feather", "XRP/USDT:USDT", "5m", CandleType.FUTURES),
        ("XRP_USDT_USDT-8h-funding_rate.feather", "XRP/USDT:USDT", "8h", CandleType.FUNDING_RATE),
        ("XRP_USDT_USDT-1h-mark.feather", "XRP/USDT:USDT", "1h", CandleType.MARK),
        ("UNITTEST_BTC-8m.json.gz", "UNITTEST/BTC", "8m", CandleType.SPOT),
        ("BTC_USDT_USDT-1h-futures.json.gz", "BTC/USDT:USDT", "1h", CandleType.FUTURES),
        ("XRP_ETH-trades.json.gz", "XRP/ETH", None, None),
    ],
)
def test_parse_freqtrade_filename(
    name: str, symbol: str, timeframe: str | None, ctype: CandleType | None
) -> None:
    info = parse_freqtrade_filename(Path("/any/folder") / name)
    assert (info.symbol, info.timeframe, info.candle_type) == (symbol, timeframe, ctype)
    assert info.is_trades == (timeframe is None)


@pytest.mark.parametrize(
    "name", ["candles.json", "ETHBTC-5m.feather", "ETH_BTC-5m-weird.feather", "ETH_BTC.feather"]
)
def test_parse_freqtrade_filename_rejects_other_names(name: str) -> None:
    with pytest.raises(DataError, match=r"freqtrade|candle type"):
        parse_freqtrade_filename(name)


# --------------------------------------------------------------------------- real files

# (path under the data dir, rows, first open time, last open time) from the SOURCE.md tables.
COVERAGE = [
    ("freqtrade/ETH_BTC-5m.feather", 5760, "2018-01-10 04:55", "2018-01-30 04:50"),
    ("freqtrade/UNITTEST_BTC-1m.feather", 13681, "2017-11-04 23:02", "2017-11-14 22:59"),
    ("freqtrade/UNITTEST_BTC-1m.json", 13681, "2017-11-04 23:02", "2017-11-14 22:59"),
    ("freqtrade/UNITTEST_BTC-30m.feather", 1920, "2017-12-03 13:00", "2018-01-12 12:30"),
    ("freqtrade/XRP_ETH-1m.feather", 2469, "2019-10-11 00:00", "2019-10-13 11:19"),
    ("freqtrade/futures/XRP_USDT_USDT-5m-futures.feather", 1999, "2021-11-15", "2021-11-21 22:30"),
    (
        "freqtrade/futures/XRP_USDT_USDT-1h-futures.feather",
        100,
        "2021-11-17 01:00",
        "2021-11-21 04:00",
    ),
    (
        "freqtrade/futures/XRP_USDT_USDT-1h-futures.json.gz",
        100,
        "2021-11-17 01:00",
        "2021-11-21 04:00",
    ),
    ("freqtrade/futures/XRP_USDT_USDT-8h-mark.feather", 91, "2021-11-18", "2021-12-18"),
    (
        "freqtrade/orderflow/populate_dataframe_with_trades_DF.feather",
        999,
        "2024-01-28 23:55",
        "2024-02-01 11:05",
    ),
    ("freqtrade/orderflow/candles.json", 10999, "2023-01-02 16:45", "2023-02-09 21:15"),
    ("candles_paparocketeer/BTC_USDT-1m.feather", 43199, "2026-03-23 12:09", "2026-04-22 12:07"),
    ("candles_paparocketeer/XRP_USDT-1m.feather", 43200, "2026-03-23 12:09", "2026-04-22 12:08"),
    ("candles_paparocketeer/SOL_USDT-5m.feather", 2751, "2026-04-15", "2026-04-24 13:10"),
    ("candles_xylotech/BTC_USDT-5m.feather", 140614, "2024-03-01", "2025-07-02 05:45"),
    ("candles_xylotech/ARB_USDT-15m.feather", 35086, "2024-04-30", "2025-04-30 11:15"),
    ("candles_filimonov/ETH_USDT-1m.feather", 130708, "2025-05-20", "2025-08-18 18:27"),
    (
        "candles_filimonov/futures/BTC_USDT_USDT-5m-futures.feather",
        864,
        "2025-08-16",
        "2025-08-18 23:55",
    ),
]


@pytest.mark.realdata
@pytest.mark.parametrize(("rel", "rows", "first", "last"), COVERAGE)
def test_real_files_match_source_tables(
    data_dir: Path, rel: str, rows: int, first: str, last: str
) -> None:
    df = read_candles(data_dir / rel, infer=True)
    assert len(df) == rows
    assert (df.index[0], df.index[-1]) == (_ts(first), _ts(last))
    assert list(df.columns) == OHLCV
    assert all(df[c].dtype == np.float64 for c in OHLCV)
    assert isinstance(df.index, pd.DatetimeIndex)
    assert str(df.index.tz) == "UTC"
    assert df.index.name == "time"
    assert df.index.is_monotonic_increasing
    assert df.index.is_unique


@pytest.mark.realdata
def test_feather_values_equal_raw_pandas(data_dir: Path) -> None:
    path = data_dir / "candles_filimonov/BTC_USDT-1m.feather"
    raw = pd.read_feather(path)
    df = read_candles(path)
    assert df.attrs["timeframe"] == "1m"
    np.testing.assert_array_equal(df.index.asi8, raw["date"].dt.as_unit("ns").astype("int64"))
    for column in OHLCV:
        np.testing.assert_array_equal(df[column].to_numpy(), raw[column].to_numpy())
    # SOURCE.md sanity figures.
    assert (df["close"].iloc[0], df["close"].iloc[-1]) == (105554.32, 116400.00)


@pytest.mark.realdata
def test_json_rows_equal_raw_json_and_feather(data_dir: Path) -> None:
    path = data_dir / "freqtrade/UNITTEST_BTC-1m.json"
    rows = json.loads(path.read_text())
    df = read_candles(path)
    for i in (0, 1234, len(rows) - 1):
        ms, *values = rows[i]
        assert df.index[i] == pd.Timestamp(ms, unit="ms", tz="UTC")
        assert df.iloc[i].tolist() == values
    pd.testing.assert_frame_equal(df, read_candles(data_dir / "freqtrade/UNITTEST_BTC-1m.feather"))


@pytest.mark.realdata
def test_json_gz_rows_equal_raw(data_dir: Path) -> None:
    path = data_dir / "freqtrade/futures/XRP_USDT_USDT-1h-futures.json.gz"
    rows = json.loads(gzip.decompress(path.read_bytes()))
    df = read_candles(path)
    assert df.attrs["timeframe"] == "1h"
    assert [df.index[-1].value // 1_000_000, *df.iloc[-1].tolist()] == rows[-1]


@pytest.mark.realdata
def test_pandas_column_json_equals_raw(data_dir: Path) -> None:
    path = data_dir / "freqtrade/orderflow/candles.json"
    doc = json.loads(path.read_text())
    df = read_candles(path, infer=True)
    assert df.attrs["timeframe"] == "5m"
    label = "5000"
    row = df.loc[pd.Timestamp(doc["date"][label], unit="ms", tz="UTC")]
    assert row.tolist() == [doc[c][label] for c in OHLCV]


@pytest.mark.realdata
def test_gap_is_kept_not_filled(data_dir: Path) -> None:
    df = read_candles(data_dir / "candles_xylotech/BTC_USDT-1h.feather")
    assert len(df) == 8996
    assert _ts("2023-03-24 13:00") not in df.index
    assert {_ts("2023-03-24 12:00"), _ts("2023-03-24 14:00")} <= set(df.index)


@pytest.mark.realdata
def test_mark_candles_may_lack_volume(data_dir: Path) -> None:
    df = read_candles(data_dir / "freqtrade/futures/XRP_USDT_USDT-1h-mark.feather")
    assert len(df) == 100
    assert df["volume"].isna().all()
    assert df[["open", "high", "low", "close"]].notna().all().all()


@pytest.mark.realdata
def test_funding_rates_from_open_column(data_dir: Path) -> None:
    path = data_dir / "candles_filimonov/futures/BTC_USDT_USDT-8h-funding_rate.feather"
    raw = pd.read_feather(path)
    rates = read_funding_rates(path)
    assert list(rates.columns) == ["rate"]
    assert len(rates) == 74
    np.testing.assert_array_equal(rates["rate"].to_numpy(), raw["open"].to_numpy())
    assert rates.index[0] == _ts("2025-08-16 00:00:00.004")  # kept exactly, ms offset included
    assert (rates["rate"] < 0).any()  # negative funding is valid
    with pytest.raises(DataError, match="read_funding_rates"):
        read_candles(path)


@pytest.mark.realdata
def test_misnamed_8m_file_is_rejected(data_dir: Path) -> None:
    # SOURCE.md caveat: UNITTEST_BTC-8m.json.gz holds 1-minute rows.
    path = data_dir / "freqtrade/UNITTEST_BTC-8m.json.gz"
    with pytest.raises(DataError, match=r"UNITTEST_BTC-8m\.json\.gz: row 0: off the 8m grid"):
        read_candles(path)
    bad = BadInputLog()
    df = read_candles(path, bad=bad)
    assert len(df) + bad.total == 13681
    assert (np.diff(df.index.asi8) >= 8 * 60 * 10**9).all()
    assert read_candles(path, timeframe="1m").shape == (13681, 5)


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def good_frame() -> pd.DataFrame:
    times = pd.date_range("2024-01-01", periods=6, freq="5min", tz="UTC")
    close = np.array([100.0, 101.0, 102.0, 101.5, 103.0, 104.0])
    return pd.DataFrame(
        {
            "date": times,
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(6, 10.0),
        }
    )


def _write(frame: pd.DataFrame, folder: Path, name: str = "BTC_USDT-5m.feather") -> Path:
    path = folder / name
    frame.to_feather(path)
    return path


@pytest.mark.parametrize(
    ("column", "row", "value", "reason"),
    [
        ("close", 3, np.nan, "NaN value"),
        ("open", 2, -1.0, "non-positive price"),
        ("high", 4, 102.7, r"high < max\(open, close\)"),
        ("low", 1, 101.2, r"low > min\(open, close\)"),
        ("volume", 5, -3.0, "negative volume"),
    ],
)
def test_bad_value_names_file_and_row(
    tmp_path: Path, good_frame: pd.DataFrame, column: str, row: int, value: float, reason: str
) -> None:
    good_frame.loc[row, column] = value
    path = _write(good_frame, tmp_path)
    with pytest.raises(DataError, match=rf"BTC_USDT-5m\.feather: row {row}: {reason}"):
        read_candles(path)
    bad = BadInputLog()
    df = read_candles(path, bad=bad)
    assert len(df) == 5
    assert good_frame["date"][row] not in df.index
    assert bad.samples[0].line == row
    assert bad.total == 1


def test_duplicate_open_time_rejected_first_kept(tmp_path: Path, good_frame: pd.DataFrame) -> None:
    good_frame.loc[4, "date"] = good_frame["date"][3]
    path = _write(good_frame, tmp_path)
    with pytest.raises(DataError, match="row 4: duplicate open time"):
        read_candles(path)
    bad = BadInputLog()
    df = read_candles(path, bad=bad)
    assert df.index.is_unique
    assert df.loc[good_frame["date"][3], "close"] == good_frame["close"][3]
    assert bad.counts["duplicate open time"] == 1


def test_unsorted_rows_are_sorted(tmp_path: Path, good_frame: pd.DataFrame) -> None:
    path = _write(good_frame.iloc[::-1].reset_index(drop=True), tmp_path)
    df = read_candles(path)
    assert df.index.is_monotonic_increasing
    np.testing.assert_array_equal(df["close"].to_numpy(), good_frame["close"].to_numpy())


def test_off_grid_row_rejected(tmp_path: Path, good_frame: pd.DataFrame) -> None:
    good_frame.loc[2, "date"] = good_frame["date"][2] + pd.Timedelta(seconds=30)
    path = _write(good_frame, tmp_path)
    with pytest.raises(DataError, match="row 2: off the 5m grid"):
        read_candles(path)


def test_missing_column_is_clear(tmp_path: Path, good_frame: pd.DataFrame) -> None:
    path = _write(good_frame.drop(columns=["volume"]), tmp_path)
    with pytest.raises(DataError, match=r"missing column.*volume"):
        read_candles(path)


def test_not_a_feather_file(tmp_path: Path) -> None:
    path = tmp_path / "ETH_BTC-5m.feather"
    path.write_text("not arrow")
    with pytest.raises(DataError, match="not a readable feather"):
        read_candles(path)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ([1704067500000, 1, 2, 0.5, 1.5], "row 1: malformed row"),
        ([1704067500000, "1", 2, 0.5, 1.5, 3], "row 1: malformed row.*not a number"),
        (["2024-01-01", 1, 2, 0.5, 1.5, 3], "row 1: malformed row.*open time"),
        ("oops", "row 1: malformed row"),
    ],
)
def test_malformed_json_row(tmp_path: Path, row: object, match: str) -> None:
    rows = [[1704067200000, 1.0, 2.0, 0.5, 1.5, 3.0], row, [1704067800000, 1.0, 2.0, 0.5, 1.5, 3]]
    path = tmp_path / "BTC_USDT-5m.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(DataError, match=match):
        read_candles(path)
    bad = BadInputLog()
    assert len(read_candles(path, bad=bad)) == 2
    assert bad.counts["malformed row"] == 1


def test_json_nan_literal_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT-5m.json.gz"
    path.write_bytes(gzip.compress(b"[[1704067200000, 1.0, 2.0, 0.5, NaN, 3.0]]"))
    with pytest.raises(DataError, match="row 0: NaN value"):
        read_candles(path)


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT-5m.json"
    path.write_text("[[1704067200000, 1.0,")
    with pytest.raises(DataError, match="not valid JSON"):
        read_candles(path)


# --------------------------------------------------------------------------- events


def test_candles_to_events(tmp_path: Path, good_frame: pd.DataFrame) -> None:
    df = read_candles(_write(good_frame, tmp_path))
    events = list(candles_to_events(df, "binance", "BTC/USDT", "5m"))
    assert len(events) == len(df)
    first = events[0]
    open_ns = int(good_frame["date"][0].value)
    assert first.open_time == open_ns
    assert first.ts_event == first.ts_recv == open_ns + 300 * 10**9
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        99.5,
        101.0,
        99.0,
        100.0,
        10.0,
    )
    assert {e.symbol for e in events} == {"BTC/USDT"}
    assert {e.timeframe for e in events} == {"5m"}


def test_candles_to_events_month_closes_on_calendar() -> None:
    index = pd.DatetimeIndex([pd.Timestamp("2024-02-01", tz="UTC")], name="time")
    df = pd.DataFrame({c: [1.0] for c in OHLCV}, index=index)
    (event,) = candles_to_events(df, "binance", "BTC/USDT", "1M")
    assert event.ts_event == pd.Timestamp("2024-03-01", tz="UTC").value


def test_infer_timeframe(good_frame: pd.DataFrame) -> None:
    df = good_frame.set_index("date")
    assert infer_timeframe(df) == "5m"
    assert infer_timeframe(df.iloc[:1]) is None
    hourly = pd.DataFrame(index=pd.date_range("2024-01-01", periods=3, freq="2h", tz="UTC"))
    assert infer_timeframe(hourly) == "2h"


@pytest.mark.realdata
def test_every_real_candle_file_passes_validation(data_dir: Path) -> None:
    folders = ("freqtrade", "candles_paparocketeer", "candles_xylotech", "candles_filimonov")
    checked = 0
    for folder in folders:
        for path in sorted((data_dir / folder).rglob("*-*.feather")):
            info = parse_freqtrade_filename(path)
            if info.is_trades:
                continue
            if info.candle_type is CandleType.FUNDING_RATE:
                assert len(read_funding_rates(path)) > 0
            else:
                df = read_candles(path)  # strict: any bad row would raise
                assert len(df) == len(pd.read_feather(path))
            checked += 1
    assert checked == 21 + 15 + 19 + 9  # candle files per folder
