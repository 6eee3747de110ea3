"""Parquet catalog: layout, round trips by symbol and time range, dedup, ordering, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mftbot.core.errors import DataError, DataNotFoundError
from mftbot.data.candles import candles_to_events, read_candles, read_funding_rates
from mftbot.data.catalog import ParquetCatalog, decode_symbol, encode_symbol, kind_schema
from mftbot.data.tabular_samples import read_binance_depth_csv, read_tardis_book_snapshots
from mftbot.data.trades import read_trades, trades_to_events
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, QuoteTick, TradeTick

NS_MIN = 60 * 10**9


@pytest.mark.parametrize(
    "symbol", ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC-240927", "1000PEPE/USDT", "A%B/C D"]
)
def test_symbol_encoding_is_reversible_and_path_safe(symbol: str) -> None:
    encoded = encode_symbol(symbol)
    assert decode_symbol(encoded) == symbol
    assert not set("/:\\ ") & set(encoded)


def test_kind_schema_rejects_unknown_kind() -> None:
    assert kind_schema("candles_5m").names[0] == "open_time"
    assert kind_schema("funding_8h").names == ["ts_event", "rate"]
    for kind in ("ohlcv", "candles_5x", "book_1m"):
        with pytest.raises(DataError):
            kind_schema(kind)


def _candles(periods: int = 3 * 288, start: str = "2024-01-01") -> pd.DataFrame:
    index = pd.date_range(start, periods=periods, freq="5min", tz="UTC", name="time").as_unit("ns")
    close = 100 + np.arange(periods, dtype=np.float64) / 10
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": close},
        index=index,
    )


def test_candles_round_trip_and_layout(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    df = _candles()
    stats = catalog.write_candles(df, "binanceusdm", "BTC/USDT:USDT", "5m")
    assert (stats.rows, stats.rows_written, stats.parts_written) == (len(df), len(df), 3)
    folder = tmp_path / "venue=binanceusdm/symbol=BTC%2FUSDT%3AUSDT/kind=candles_5m"
    assert sorted(p.name for p in folder.iterdir()) == [
        "date=2024-01-01",
        "date=2024-01-02",
        "date=2024-01-03",
    ]
    back = catalog.read("BTC/USDT:USDT", "candles_5m")
    pd.testing.assert_frame_equal(back, df, check_freq=False)


def test_time_range_is_half_open(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    df = _candles()
    catalog.write_candles(df, "binance", "BTC/USDT", "5m")
    start, end = "2024-01-01T23:00:00", "2024-01-02T01:00:00Z"
    part = catalog.read("BTC/USDT", "candles_5m", start=start, end=end)
    expected = df[(df.index >= pd.Timestamp(start, tz="UTC")) & (df.index < pd.Timestamp(end))]
    pd.testing.assert_frame_equal(part, expected, check_freq=False)
    assert len(part) == 24
    assert catalog.read("BTC/USDT", "candles_5m", start="2030-01-01").empty
    events = list(catalog.read_events("BTC/USDT", "candles_5m", start=start, end=end))
    assert events == list(candles_to_events(expected, "binance", "BTC/USDT", "5m"))


def test_rewrite_is_skipped_and_overlap_deduplicated(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    df = _candles()
    catalog.write_candles(df, "binance", "BTC/USDT", "5m")
    again = catalog.write_candles(df, "binance", "BTC/USDT", "5m")
    assert (again.rows_written, again.parts_skipped) == (0, 3)
    # Overlap with different values: first write wins, only the new candles are added.
    later = _candles(periods=400, start="2024-01-03T12:00")
    later[["open", "high", "low", "close"]] += 5
    stats = catalog.write_candles(later, "binance", "BTC/USDT", "5m")
    new_rows = int((later.index > df.index[-1]).sum())
    assert stats.rows_written == new_rows
    back = catalog.read("BTC/USDT", "candles_5m")
    assert back.index.is_unique
    assert back.index.is_monotonic_increasing
    assert len(back) == len(df) + new_rows
    assert back.loc[df.index[-1], "close"] == df["close"].iloc[-1]


def test_write_keeps_earlier_parts(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    catalog.write_candles(_candles(periods=100), "binance", "BTC/USDT", "5m")
    folder = next((tmp_path / "venue=binance").rglob("date=2024-01-01"))
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    catalog.write_candles(_candles(periods=200), "binance", "BTC/USDT", "5m")
    after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(after) == 2
    assert all(after[name] == mtime for name, mtime in before.items())


@pytest.mark.realdata
def test_real_candles_round_trip(data_dir: Path, tmp_path: Path) -> None:
    df = read_candles(data_dir / "candles_xylotech/ETH_USDT-1h.feather")
    catalog = ParquetCatalog(tmp_path)
    catalog.write_candles(df, "binance", "ETH/USDT", "1h")
    back = catalog.read("ETH/USDT", "candles_1h", venue="binance")
    pd.testing.assert_frame_equal(back, df)
    march = catalog.read("ETH/USDT", "candles_1h", start="2023-03-24", end="2023-03-25")
    assert len(march) == 23  # the 13:00 candle is missing in the source


@pytest.mark.realdata
def test_real_funding_round_trip(data_dir: Path, tmp_path: Path) -> None:
    rates = read_funding_rates(data_dir / "freqtrade/futures/XRP_USDT_USDT-8h-funding_rate.feather")
    catalog = ParquetCatalog(tmp_path)
    catalog.write_funding(rates, "binanceusdm", "XRP/USDT:USDT", "8h")
    pd.testing.assert_frame_equal(catalog.read("XRP/USDT:USDT", "funding_8h"), rates)
    with pytest.raises(DataError, match="no event type"):
        list(catalog.read_events("XRP/USDT:USDT", "funding_8h"))


@pytest.mark.realdata
def test_trades_round_trip_and_events(data_dir: Path, tmp_path: Path) -> None:
    df = read_trades(data_dir / "freqtrade/XRP_ETH-trades.feather")
    catalog = ParquetCatalog(tmp_path)
    catalog.write_trades(df, "binance", "XRP/ETH")
    back = catalog.read("XRP/ETH", "trades")
    pd.testing.assert_frame_equal(back.drop(columns=["ts_recv"]), df)
    assert (back["ts_recv"] == back.index).all()
    events = list(catalog.read_events("XRP/ETH", "trades", start="2019-10-12", end="2019-10-13"))
    day = df[(df.index >= "2019-10-12") & (df.index < "2019-10-13")]
    assert events == list(trades_to_events(day, "binance", "XRP/ETH"))
    # Same trade ids again (from the JSON form): nothing added.
    again = catalog.write_trades(
        read_trades(data_dir / "freqtrade/XRP_ETH-trades.json.gz"), "binance", "XRP/ETH"
    )
    assert again.rows_written == 0


@pytest.mark.realdata
def test_trades_without_side_round_trip(data_dir: Path, tmp_path: Path) -> None:
    df = read_trades(data_dir / "freqtrade/kraken_trades_csv/BCHEUR.csv")
    catalog = ParquetCatalog(tmp_path)
    catalog.write_trades(df, "kraken", "BCH/EUR")
    back = catalog.read("BCH/EUR", "trades")
    assert len(back) == 148
    assert back["side"].isna().all()
    np.testing.assert_array_equal(back["amount"].to_numpy(), df["amount"].to_numpy())
    with pytest.raises(DataError, match="no aggressor side"):
        list(catalog.read_events("BCH/EUR", "trades"))


@pytest.mark.realdata
def test_book_events_round_trip(data_dir: Path, tmp_path: Path) -> None:
    tardis = data_dir / "nautilus/tardis/binance-futures_book_snapshot_25_BTCUSDT.csv"
    depth = data_dir / "nautilus/binance/btcusdt-depth-update.csv"
    events = [*read_tardis_book_snapshots(tardis), *read_binance_depth_csv(depth)]
    catalog = ParquetCatalog(tmp_path)
    (stats,) = catalog.write_events(events)
    assert (stats.kind, stats.rows_written) == ("book", 11)
    back = list(catalog.read_events("BTC/USDT:USDT", "book"))
    assert back == sorted(events, key=lambda e: e.ts_event)
    frame = catalog.read("BTC/USDT:USDT", "book")
    assert frame["is_snapshot"].tolist() == [True] * 10 + [False]
    assert frame["prev_update_id"].iloc[-1] == 2098041693400
    assert pd.isna(frame["prev_update_id"].iloc[0])


def test_equal_times_keep_write_order_across_parts(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    ts = 1_700_000_000 * 10**9
    snap = BookSnapshot("bybit", "XRP/USDT:USDT", ts, ts, 7, [(1.0, 2.0)], [(1.1, 3.0)], seq=70)
    deltas = [
        BookDelta("bybit", "XRP/USDT:USDT", ts, ts + i, 7 + i, 7 + i, [(1.0, float(i))], [])
        for i in range(1, 4)
    ]
    catalog.write_events([snap])
    catalog.write_events(deltas[:1])
    catalog.write_events(deltas[1:], batch_rows=1)
    assert list(catalog.read_events("XRP/USDT:USDT", "book")) == [snap, *deltas]


def test_quotes_and_mixed_events(tmp_path: Path) -> None:
    ts = 1_700_000_000 * 10**9
    quotes = [
        QuoteTick("binance", "BTC/USDT", ts + i * NS_MIN, ts + i * NS_MIN + 5, 10.0, 1.0, 10.5, 2.0)
        for i in range(3)
    ]
    quotes[1] = QuoteTick("binance", "BTC/USDT", ts + NS_MIN, ts + NS_MIN, 9.0, 1.0, 9.5, 2.0, 42)
    trade = TradeTick("binance", "ETH/USDT", ts, ts, 2000.0, 0.5, Side.BUY, "t1")
    catalog = ParquetCatalog(tmp_path)
    stats = catalog.write_events([*quotes, trade])
    assert {(s.symbol, s.kind, s.rows_written) for s in stats} == {
        ("BTC/USDT", "quotes", 3),
        ("ETH/USDT", "trades", 1),
    }
    assert list(catalog.read_events("BTC/USDT", "quotes")) == quotes
    assert list(catalog.read_events("ETH/USDT", "trades")) == [trade]


def test_venue_resolution_and_errors(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    df = _candles(periods=10)
    catalog.write_candles(df, "binance", "BTC/USDT", "5m")
    catalog.write_candles(df, "bybit", "BTC/USDT", "5m")
    with pytest.raises(DataError, match="binance, bybit; pass a venue"):
        catalog.read("BTC/USDT", "candles_5m")
    assert len(catalog.read("BTC/USDT", "candles_5m", venue="bybit")) == 10
    with pytest.raises(DataNotFoundError, match="no candles_1h for BTC/USDT"):
        catalog.read("BTC/USDT", "candles_1h")
    with pytest.raises(DataNotFoundError):
        catalog.read("ETH/USDT", "candles_5m", venue="binance")
    with pytest.raises(DataError, match="bad venue"):
        catalog.write_candles(df, "Bin/ance", "BTC/USDT", "5m")
    with pytest.raises(DataError, match="bad time"):
        catalog.read("BTC/USDT", "candles_5m", venue="bybit", start="yesterday-ish")


def test_schema_mismatch_is_rejected(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    df = _candles(periods=5)
    df.loc[df.index[2], "close"] = np.nan
    with pytest.raises(DataError, match="'close' has NaN"):
        catalog.write_candles(df, "binance", "BTC/USDT", "5m")
    assert not tmp_path.joinpath("venue=binance").exists() or not list(tmp_path.rglob("*.parquet"))
    with pytest.raises(DataError, match="'price' has nulls"):
        catalog.write_table(
            "binance",
            "BTC/USDT",
            "trades",
            pa.table(
                {
                    "ts_event": [1],
                    "ts_recv": [1],
                    "price": pa.array([None], pa.float64()),
                    "amount": [1.0],
                    "side": ["buy"],
                    "trade_id": ["1"],
                }
            ),
        )


def test_entries_list_series(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    df = _candles()
    catalog.write_candles(df, "binance", "BTC/USDT", "5m")
    catalog.write_candles(df.iloc[:10], "binance", "BTC/USDT", "5m", family="mark")
    entries = {(e.venue, e.symbol, e.kind): e for e in catalog.entries()}
    assert set(entries) == {
        ("binance", "BTC/USDT", "candles_5m"),
        ("binance", "BTC/USDT", "mark_5m"),
    }
    main = entries[("binance", "BTC/USDT", "candles_5m")]
    assert (main.rows, main.files, len(main.dates)) == (len(df), 3, 3)
    assert (main.first_ns, main.last_ns) == (df.index[0].value, df.index[-1].value)
    assert ParquetCatalog(tmp_path / "nothing").entries() == []
