"""``mftbot backtest --strategy … --candles … --json`` through its Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mftbot.backtest import backtest
from mftbot.backtest.config import load_backtest_config
from mftbot.cli.backtest_cmd import analysis_app, app, symbol_from_filename
from mftbot.core.logging import configure_logging
from mftbot.data.candles import read_candles

runner = CliRunner()
configure_logging("WARNING")  # as the root command does: logs to stderr, JSON alone on stdout


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


# --------------------------------------------------------------------------- --config


def _run_doc(tmp_path: Path, data_dir: Path) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(
        "name: cli\nstrategies: [sma_cross]\nsymbols: [BTC/USDT]\ntimeframes: [15m]\n"
        "start: 2025-06-02\nend: 2025-06-04\n"
        f"data: {{data_dir: {data_dir}}}\n"
        f"output: {{dir: {tmp_path / 'out'}, database_url: 'sqlite:///{tmp_path / 'l.db'}'}}\n"
    )
    return path


def test_config_run_prints_json_and_writes_results(data_dir: Path, tmp_path: Path) -> None:
    path = _run_doc(tmp_path, data_dir)
    result = runner.invoke(app, ["--config", str(path), "--run-id", "c1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["run_id"] == "c1"
    assert doc["name"] == "cli"
    assert doc["data_source"].startswith("folder:")
    expected = backtest(
        "sma_cross",
        read_candles(data_dir / "candles_filimonov" / "BTC_USDT-15m.feather").loc[
            "2025-06-02":"2025-06-03"
        ],
        symbol="BTC/USDT",
        risk=load_backtest_config(path).risk_config(),  # a config run always has its risk engine
    )
    assert doc["final_equity"] == expected.final_equity
    assert doc["db_rows"]["orders"] == len(expected.fills)
    assert doc["db_rows"]["risk_decisions"] == len(expected.risk_records) > 0
    assert doc["risk"]["resizes"] == len(expected.risk["resizes"])
    assert doc["risk"]["rejections"] == len(expected.risk["rejections"])
    for key in ("report", "trades", "fills", "equity", "metrics"):
        assert Path(doc["outputs"][key]).is_file()
    table = runner.invoke(
        app, ["--config", str(path), "--output-dir", str(tmp_path / "o2"), "--run-id", "c2"]
    )
    assert table.exit_code == 0, table.output
    assert "sma_cross BTC/USDT 15m" in table.stdout
    assert (tmp_path / "o2" / "cli-c2" / "report.html").is_file()


def test_config_errors(tmp_path: Path) -> None:
    both = runner.invoke(app, ["--config", "x.yaml", "--strategy", "sma_cross"])
    assert both.exit_code == 1
    assert "cannot be combined" in both.stderr
    neither = runner.invoke(app, ["--json"])
    assert neither.exit_code == 1
    assert "--config FILE" in neither.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategies: [nope]\nsymbols: [BTC/USDT]\ntimeframes: [5m]\n")
    result = runner.invoke(app, ["--config", str(bad)])
    assert result.exit_code == 1
    assert "unknown strategy 'nope'" in result.stderr


# ------------------------------------------------------------ walkforward, stress, montecarlo


def test_walkforward_command(data_dir: Path, tmp_path: Path) -> None:
    from mftbot.backtest.walkforward import Objective, ParamSpace, walk_forward

    path = data_dir / "candles_filimonov" / "ETH_USDT-15m.feather"
    report = tmp_path / "wf.html"
    args = ["walkforward", "--strategy", "sma_cross", "--candles", str(path)]
    args += ["--param", "fast=5,10", "--param", "slow=30", "--train", "30d", "--test", "15d"]
    args += ["--metric", "total_return", "--report", str(report), "--json"]
    result = runner.invoke(analysis_app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    expected = walk_forward(
        "sma_cross", read_candles(path), ParamSpace({"fast": [5, 10], "slow": [30]}),
        train="30d", test="15d", objective=Objective("total_return"), symbol="ETH/USDT",
    )  # fmt: skip
    assert doc["final_equity"] == expected.final_equity
    assert [w["param_fast"] for w in doc["windows"]] == [w.params["fast"] for w in expected.windows]
    assert report.is_file()
    assert doc["report"] == str(report)


def test_stress_command(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / "freqtrade" / "ETH_BTC-5m.feather"
    args = ["stress", "--strategy", "sma_cross", "--candles", str(path)]
    args += ["--scenario", "flash_crash", "--report", str(tmp_path / "s.html"), "--json"]
    result = runner.invoke(analysis_app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = doc["scenarios"]
    assert [(r["scenario"], r["method"]) for r in rows] == [
        ("flash_crash", "inject"), ("flash_crash", "overlay"),
    ]  # fmt: skip
    assert rows[1]["loss_share"] == pytest.approx(0.5)
    assert (tmp_path / "s.html").is_file()
    table = runner.invoke(
        analysis_app,
        ["stress", "--strategy", "sma_cross", "--candles", str(path), "--scenario", "meteor",
         "--report", str(tmp_path / "t.html")],
    )  # fmt: skip
    assert table.exit_code == 1
    assert "unknown scenario 'meteor'" in table.stderr


def test_montecarlo_command(data_dir: Path, tmp_path: Path) -> None:
    from mftbot.backtest.montecarlo import trade_bootstrap

    path = data_dir / "freqtrade" / "ETH_BTC-5m.feather"
    args = ["montecarlo", "--strategy", "sma_cross", "--candles", str(path), "--paths", "300"]
    args += ["--seed", "5", "--param", "fast=8", "--report", str(tmp_path / "mc.html"), "--json"]
    result = runner.invoke(analysis_app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [s["method"] for s in doc["simulations"]] == ["trade_bootstrap", "return_bootstrap"]
    base = backtest("sma_cross", read_candles(path), params={"fast": 8}, symbol="ETH/BTC")
    assert doc["final_equity"] == base.final_equity
    expected = trade_bootstrap(base.trades, initial_cash=10_000.0, n_paths=300, seed=5)
    assert doc["simulations"][0] == json.loads(json.dumps(expected.to_dict()))
    html = (tmp_path / "mc.html").read_text(encoding="utf-8")
    assert 'id="mc-trade-bootstrap"' in html
    assert 'id="mc-return-bootstrap"' in html
    bad = runner.invoke(
        analysis_app,
        ["montecarlo", "--strategy", "sma_cross", "--candles", str(path), "--param", "fast"],
    )
    assert bad.exit_code == 1
    assert "NAME=VALUE" in bad.stderr
