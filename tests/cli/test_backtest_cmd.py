"""``mftbot backtest --strategy … --candles … --json`` through its Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mftbot.backtest import backtest
from mftbot.cli.backtest_cmd import app, symbol_from_filename
from mftbot.data.candles import read_candles

runner = CliRunner()


@pytest.mark.parametrize(("fill", "mode"), [("next_open", "fast"), ("close", "step")])
def test_json_equals_the_python_api(data_dir: Path, fill: str, mode: str) -> None:
    path = data_dir / "freqtrade" / "ETH_BTC-5m.feather"
    result = runner.invoke(
        app,
        [
            "--strategy", "sma_cross", "--candles", str(path), "--fee", "0.002",
            "--fill", fill, "--mode", mode, "--cash", "5000", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"trades", "final_equity", "metrics"}
    expected = backtest(
        "sma_cross", read_candles(path), fee=0.002, fill=fill, mode=mode, cash=5000.0,
        symbol="ETH/BTC",
    )  # fmt: skip
    assert doc == json.loads(expected.to_json())
    first = doc["trades"][0]
    assert set(first) == {
        "side", "entry_time", "entry_price", "exit_time", "exit_price", "qty", "pnl", "fees"
    }  # fmt: skip
    assert first["entry_time"].endswith("+00:00")
    assert {"total_return", "max_drawdown", "n_trades", "win_rate", "fees"} <= set(doc["metrics"])


def test_table_output(data_dir: Path) -> None:
    path = data_dir / "freqtrade" / "XRP_ETH-5m.feather"
    result = runner.invoke(app, ["--strategy", "sma_cross", "--candles", str(path)])
    assert result.exit_code == 0, result.output
    assert "final equity" in result.stdout
    assert "XRP/ETH" in result.stdout


def test_errors_exit_1_with_a_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--strategy", "nope", "--candles", "x.feather", "--json"])
    assert result.exit_code == 1
    assert "unknown strategy 'nope'" in result.stderr
    result = runner.invoke(
        app, ["--strategy", "sma_cross", "--candles", str(tmp_path / "none.feather"), "--json"]
    )
    assert result.exit_code == 1
    assert "no such file" in result.stderr
    bad = tmp_path / "BTC_USDT-1m.json"
    bad.write_text("[[0, 1, 2, 0.5, 1, 1], [60000, 1, 0.5, 2, 1, 1]]")
    result = runner.invoke(app, ["--strategy", "sma_cross", "--candles", str(bad), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error:" in result.stderr


def test_bad_option_values_are_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--strategy", "sma_cross", "--candles", "x", "--fill", "vwap", "--json"]
    )
    assert result.exit_code == 2


def test_symbol_from_filename() -> None:
    assert symbol_from_filename(Path("ETH_BTC-5m.feather")) == "ETH/BTC"
    assert symbol_from_filename(Path("XRP_USDT_USDT-5m-futures.feather")) == "XRP/USDT"
    assert symbol_from_filename(Path("prices.feather")) == "BASE/QUOTE"
