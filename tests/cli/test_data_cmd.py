"""``mftbot data import | show | ls`` end to end on real files, through the root command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mftbot.cli import app
from mftbot.data.catalog import ParquetCatalog

runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "command", [["data"], ["data", "import"], ["data", "show"], ["data", "ls"]]
)
def test_help(command: list[str]) -> None:
    code, out = _run(*command, "--help")
    assert code == 0
    assert "Usage" in out
    if command != ["data"]:
        assert "--catalog" in out


@pytest.mark.realdata
def test_import_show_ls(data_dir: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    files = [
        data_dir / "freqtrade/ETH_BTC-5m.feather",
        data_dir / "freqtrade/XRP_ETH-trades.json.gz",
        data_dir / "nautilus/tardis/binance-futures_book_snapshot_5_BTCUSDT.csv",
        data_dir / "nautilus/bybit/xrpusdt-ob500.data.zip",
        data_dir / "hftbacktest/binance_usdm/btcusdt_20240718.gz",
    ]
    code, out = _run("data", "import", *files, "--catalog", catalog)
    assert code == 0, out
    for text in ("ETH/BTC", "candles_5m", "5,760", "XRP/ETH", "12,477", "XRP/USDT:USDT"):
        assert text in out
    assert "bad input: none" in out
    # SOURCE.md: btcusdt_20240718 has 974 trades and 7,113 bookTicker messages.
    held = {(e.venue, e.symbol, e.kind): e.rows for e in ParquetCatalog(catalog).entries()}
    assert held[("binanceusdm", "BTC/USDT:USDT", "trades")] == 974
    assert held[("binanceusdm", "BTC/USDT:USDT", "quotes")] == 7113
    assert held[("bybit", "XRP/USDT:USDT", "book")] == 50
    assert held[("binance", "ETH/BTC", "candles_5m")] == 5760

    code, out = _run("data", "ls", "--catalog", catalog)
    assert code == 0, out
    assert "binanceusdm" in out
    assert "7,113" in out

    code, out = _run(
        "data",
        "show",
        "--catalog",
        catalog,
        "--symbol",
        "ETH/BTC",
        "--kind",
        "candles_5m",
        "--start",
        "2018-01-20",
        "--end",
        "2018-01-21",
        "--rows",
        "2",
    )
    assert code == 0, out
    assert "288 rows" in out
    assert "2018-01-20T00:00:00+00:00" in out
    assert "2018-01-20T23:55:00+00:00" in out

    code, out = _run(
        "data", "show", "--catalog", catalog, "--symbol", "XRP/USDT:USDT", "--kind", "book"
    )
    assert code == 0, out
    assert "50 rows" in out
    assert "[500]" in out  # the snapshot's 500 levels per side

    # Re-importing writes nothing new.
    code, out = _run("data", "import", files[0], "--catalog", catalog)
    assert code == 0, out
    assert re.search(r"ETH/BTC\s*│\s*candles_5m\s*│\s*1\s*│\s*5,760\s*│\s*0\s*│", out)


@pytest.mark.realdata
def test_import_reports_bad_rows(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / "freqtrade/UNITTEST_BTC-8m.json.gz"
    code, out = _run("data", "import", path, "--catalog", tmp_path)
    assert code == 0, out
    assert "13,430 row(s) dropped" in out
    assert "off the 8m grid" in out
    code, out = _run("data", "import", path, "--catalog", tmp_path / "strict", "--strict")
    assert code == 1
    assert "row 0: off the 8m grid" in out


def test_unknown_format_exits_non_zero(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x00\x01 nothing we read")
    code, out = _run("data", "import", junk, "--catalog", tmp_path / "cat")
    assert code == 2
    assert "unknown file format" in out
    assert "junk.dat" in out
    assert not (tmp_path / "cat").exists()
    code, out = _run("data", "import", tmp_path / "missing.feather", "--catalog", tmp_path)
    assert code == 2
    assert "no such file" in out


@pytest.mark.realdata
def test_missing_symbol_exits_before_writing(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / "freqtrade/orderflow/public_trades_list.csv"
    code, out = _run("data", "import", path, "--catalog", tmp_path / "cat")
    assert code == 2
    assert "pass --symbol" in out
    code, out = _run("data", "import", path, "--catalog", tmp_path / "cat", "--symbol", "ETH/USDT")
    assert code == 0, out
    assert "1,000" in out


def test_default_catalog_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTBOT_DATA__CATALOG_DIR", str(tmp_path / "from-env"))
    code, out = _run("data", "ls")
    assert code == 1
    assert "from-env" in out


def test_show_errors(tmp_path: Path) -> None:
    show = ("data", "show", "--catalog", tmp_path, "--symbol", "BTC/USDT", "--kind")
    code, out = _run(*show, "trades")
    assert code == 1
    assert "no trades for BTC/USDT" in out
    code, out = _run(*show, "ohlcv")
    assert code == 2
    assert "unknown kind" in out


def test_ls_empty_catalog(tmp_path: Path) -> None:
    code, out = _run("data", "ls", "--catalog", tmp_path)
    assert code == 0
    assert "is empty" in out
