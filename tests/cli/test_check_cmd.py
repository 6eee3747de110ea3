"""``mftbot check lookahead`` end to end through the Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from mftbot.analysis.registry import REGISTRY, CandleArrays
from mftbot.cli import app

runner = CliRunner()


def test_real_candles_pass_with_json_report(data_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["check", "lookahead", "--data", str(data_dir), "--bars", "2000", "--cuts", "6", "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["source"].endswith("candles_filimonov/BTC_USDT-1m.feather")
    assert report["bars"] == 2000
    assert report["entries"] == len(REGISTRY) >= 29
    assert report["violations"] == []


def test_table_output_names_every_entry(data_dir: Path) -> None:
    candles = data_dir / "candles_paparocketeer" / "SOL_USDT-1m.feather"
    result = runner.invoke(
        app, ["check", "lookahead", "--candles", str(candles), "--bars", "1500", "--cuts", "4"]
    )
    assert result.exit_code == 0, result.output
    for name in ("supertrend", "ichimoku", "volume_profile", "garman_klass_vol"):
        assert name in result.stdout
    assert "0 failed" in result.stdout


def test_no_data_falls_back_to_synthetic_candles(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["check", "lookahead", "--data", str(tmp_path), "--bars", "800", "--cuts", "3", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert "synthetic" in result.stderr
    report = json.loads(result.stdout)
    assert report["source"].startswith("synthetic")
    assert report["ok"] is True


def test_a_leak_makes_the_command_fail(tmp_path: Path) -> None:
    def peek(c: CandleArrays) -> dict[str, np.ndarray]:
        return {"peek": np.append(c.close[1:], np.nan)}

    with REGISTRY.scoped():
        REGISTRY.register("peek", peek)
        result = runner.invoke(
            app, ["check", "lookahead", "--data", str(tmp_path), "--bars", "500", "--cuts", "3"]
        )
    assert "peek" not in REGISTRY
    assert result.exit_code == 1
    assert "LOOK-AHEAD" in result.stdout
    assert "peek" in result.stdout


def test_csv_input_and_bad_arguments(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2025-03-01", periods=400, freq="1min", tz="UTC"),
            "open": np.linspace(100, 110, 400),
            "high": np.linspace(100, 110, 400) + 0.5,
            "low": np.linspace(100, 110, 400) - 0.5,
            "close": np.linspace(100, 110, 400) + 0.1,
            "volume": np.full(400, 2.0),
        }
    )
    path = tmp_path / "candles.csv"
    frame.to_csv(path, index=False)
    ok = runner.invoke(app, ["check", "lookahead", "--candles", str(path), "--cuts", "3", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["bars"] == 400

    missing = runner.invoke(
        app, ["check", "lookahead", "--candles", str(tmp_path / "nope.feather")]
    )
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    bad_module = runner.invoke(app, ["check", "lookahead", "--module", "mftbot.no_such_module"])
    assert bad_module.exit_code == 2
    assert "no_such_module" in bad_module.stderr
