"""Importer: format detection on every real sample, import into a catalog, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from mftbot.core.errors import DataError
from mftbot.data.catalog import ParquetCatalog
from mftbot.data.importer import (
    FileFormat,
    UnknownFormatError,
    detect_format,
    expand_paths,
    import_file,
    import_paths,
)

F = FileFormat
DETECTED = [
    ("freqtrade/ETH_BTC-5m.feather", F.FREQTRADE_CANDLES_FEATHER),
    ("freqtrade/UNITTEST_BTC-1m.json", F.FREQTRADE_CANDLES_JSON),
    ("freqtrade/UNITTEST_BTC-8m.json.gz", F.FREQTRADE_CANDLES_JSON),
    ("freqtrade/futures/XRP_USDT_USDT-8h-funding_rate.feather", F.FREQTRADE_CANDLES_FEATHER),
    ("freqtrade/orderflow/candles.json", F.PANDAS_CANDLES_JSON),
    ("freqtrade/XRP_ETH-trades.feather", F.FREQTRADE_TRADES_FEATHER),
    ("freqtrade/XRP_ETH-trades.json.gz", F.FREQTRADE_TRADES_JSON),
    ("freqtrade/XRP_OLD-trades.json.gz", F.CCXT_TRADES_JSON),
    ("freqtrade/orderflow/public_trades_list.csv", F.FREQTRADE_TRADES_CSV),
    ("freqtrade/kraken_trades_csv/BCHEUR.csv", F.KRAKEN_TRADES_CSV),
    ("candles_xylotech/BTC_USDT-15m.feather", F.FREQTRADE_CANDLES_FEATHER),
    ("nautilus/binance/btcusdt-depth-snap.csv", F.NAUTILUS_DEPTH_CSV),
    ("nautilus/binance/btcusdt-trades.parquet", F.NAUTILUS_TRADES_PARQUET),
    ("nautilus/binance/btcusdt-quotes.parquet", F.NAUTILUS_QUOTES_PARQUET),
    ("nautilus/tardis/binance-futures_book_snapshot_5_BTCUSDT.csv", F.TARDIS_BOOK_SNAPSHOT_CSV),
    (
        "nautilus/tardis/deribit_incremental_book_L2_BTC-PERPETUAL.csv",
        F.TARDIS_INCREMENTAL_BOOK_CSV,
    ),
    ("nautilus/tardis/bitmex_trades_XBTUSD.csv", F.TARDIS_TRADES_CSV),
    ("nautilus/tardis/huobi-dm-swap_quotes_BTC-USD.csv", F.TARDIS_QUOTES_CSV),
    ("nautilus/bybit/xrpusdt-ob500.data.zip", F.BYBIT_ORDERBOOK),
    ("hftbacktest/binance_spot/btcusdt_20240808.gz", F.BINANCE_RECORDING),
    ("hftbacktest/binance_coinm/ethusd_perp_20240809.gz", F.BINANCE_RECORDING),
]


@pytest.mark.realdata
@pytest.mark.parametrize(("rel", "fmt"), DETECTED)
def test_detect_format_on_real_files(data_dir: Path, rel: str, fmt: FileFormat) -> None:
    assert detect_format(data_dir / rel) is fmt


@pytest.mark.realdata
def test_every_shared_file_is_detected(data_dir: Path) -> None:
    folders = ["freqtrade", "candles_paparocketeer", "candles_xylotech", "candles_filimonov"]
    files = expand_paths([data_dir / f for f in folders] + [data_dir / "nautilus"])
    assert not [f for f in files if f.name == "SOURCE.md"]
    for path in files:
        detect_format(path)  # raises on anything unknown
    assert len(files) == 33 + 15 + 19 + 9 + 10  # data files per folder, SOURCE.md excluded


def test_unknown_formats(tmp_path: Path) -> None:
    cases = {
        "notes.md": b"# hello\n",
        "data.csv": b"a,b,c,d\n1,2,3,4\n",
        "blob.json": b'{"hello": 1}',
        "rows.json.gz": gzip.compress(b"[[1, 2, 3]]"),
        "empty.bin": b"",
        "x.feather": b"not arrow at all",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(UnknownFormatError, match=f"{name}: (unknown file format|not a)"):
            detect_format(path)
    with pytest.raises(DataError, match="no such file"):
        detect_format(tmp_path / "missing.csv")


@pytest.mark.realdata
def test_import_freqtrade_files(data_dir: Path, tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    ft = data_dir / "freqtrade"
    spot = import_file(catalog, ft / "ETH_BTC-5m.feather")
    futures = import_file(catalog, ft / "futures/XRP_USDT_USDT-5m-futures.feather")
    funding = import_file(catalog, ft / "futures/XRP_USDT_USDT-8h-funding_rate.feather")
    mark = import_file(catalog, ft / "futures/XRP_USDT_USDT-1h-mark.feather")
    old = import_file(catalog, ft / "XRP_OLD-trades.json.gz")
    keys = [
        (s.venue, s.symbol, s.kind, s.rows_written)
        for r in (spot, futures, funding, mark, old)
        for s in r.stats
    ]
    assert keys == [
        ("binance", "ETH/BTC", "candles_5m", 5760),
        ("binanceusdm", "XRP/USDT:USDT", "candles_5m", 1999),
        ("binanceusdm", "XRP/USDT:USDT", "funding_8h", 91),
        ("binanceusdm", "XRP/USDT:USDT", "mark_1h", 100),
        ("binance", "XRP/ETH", "trades", 12477),  # symbol from the records, not "XRP_OLD"
    ]
    assert len(catalog.read("ETH/BTC", "candles_5m", start="2018-01-20", end="2018-01-21")) == 288


@pytest.mark.realdata
def test_import_needs_symbol_when_file_does_not_say(data_dir: Path, tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    path = data_dir / "freqtrade/orderflow/candles.json"
    with pytest.raises(DataError, match="does not name its symbol: pass --symbol"):
        import_file(catalog, path)
    report = import_file(catalog, path, symbol="BTC/USDT:USDT")
    (stats,) = report.stats
    assert (stats.venue, stats.kind, stats.rows_written) == ("binanceusdm", "candles_5m", 10999)


@pytest.mark.realdata
def test_import_paths_checks_everything_before_writing(data_dir: Path, tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path / "cat")
    with pytest.raises(DataError, match=r"orderflow.*pass --symbol"):
        import_paths(catalog, [data_dir / "freqtrade"])
    assert not (tmp_path / "cat").exists()
    junk = tmp_path / "junk.csv"
    junk.write_text("what,is,this,file\n")
    with pytest.raises(UnknownFormatError, match=r"junk\.csv"):
        import_paths(catalog, [data_dir / "freqtrade/ETH_BTC-5m.feather", junk])
    assert not (tmp_path / "cat").exists()


@pytest.mark.realdata
def test_lenient_and_strict_bad_rows(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / "freqtrade/UNITTEST_BTC-8m.json.gz"
    with pytest.raises(DataError, match="off the 8m grid"):
        import_file(ParquetCatalog(tmp_path / "strict"), path, strict=True)
    report = import_file(ParquetCatalog(tmp_path / "lenient"), path)
    (stats,) = report.stats
    assert stats.rows + report.bad.total == 13681
    assert set(report.bad.counts) == {"off the 8m grid", "closer than 8m"}
    fixed = import_file(ParquetCatalog(tmp_path / "fixed"), path, timeframe="1m")
    assert fixed.stats[0].kind == "candles_1m"
    assert fixed.bad.total == 0


@pytest.mark.realdata
def test_import_binance_recording(data_dir: Path, tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    report = import_file(catalog, data_dir / "hftbacktest/binance_spot/btcusdt_20240808.gz")
    rows = {(s.venue, s.symbol, s.kind): s.rows_written for s in report.stats}
    # SOURCE.md: 3,451 depth + 1 snapshot, 9,757 trades, 28,040 bookTicker.
    assert rows == {
        ("binance", "BTC/USDT", "book"): 3452,
        ("binance", "BTC/USDT", "trades"): 9757,
        ("binance", "BTC/USDT", "quotes"): 28040,
    }
    assert report.bad.total == 0
    again = import_file(catalog, data_dir / "hftbacktest/binance_spot/btcusdt_20240808.gz")
    assert sum(s.rows_written for s in again.stats) == 0


@pytest.mark.realdata
def test_import_bybit_recording(data_dir: Path, tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    report = import_file(catalog, data_dir / "nautilus/bybit/xrpusdt-ob500.data.zip")
    (stats,) = report.stats
    assert (stats.venue, stats.symbol, stats.kind, stats.rows_written) == (
        "bybit",
        "XRP/USDT:USDT",
        "book",
        50,
    )
    events = list(catalog.read_events("XRP/USDT:USDT", "book"))
    assert [type(e).__name__ for e in events].count("BookSnapshot") == 1
    assert len(events[0].bids) == len(events[0].asks) == 500
    with pytest.raises(DataError, match="cannot be imported as venue"):
        import_file(catalog, data_dir / "nautilus/bybit/xrpusdt-ob500.data.zip", venue="okx")


@pytest.mark.realdata
def test_import_samples_overrides(data_dir: Path, tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    report = import_file(
        catalog, data_dir / "nautilus/binance/btcusdt-trades.parquet", venue="binanceusdm"
    )
    (stats,) = report.stats
    assert (stats.venue, stats.symbol, stats.rows_written) == ("binanceusdm", "BTC/USDT:USDT", 2001)
