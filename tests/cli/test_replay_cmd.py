"""``mftbot replay``: the main job over the real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mftbot.cli import app


@pytest.mark.realdata
def test_replay_spot_summary(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["replay", "--data", str(data_dir), "--speed", "max", "--no-live"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "BTC/USDT" in out
    assert "ETH/USDT" in out
    assert "179,318 messages" in out
    assert "0 bad input line(s)" in out
    assert "ok / 0 bad" in out


@pytest.mark.realdata
def test_replay_one_symbol_of_usdm(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "replay",
            "--data",
            str(data_dir),
            "--market",
            "usdm",
            "-s",
            "ETH/USDT:USDT",
            "--speed",
            "max",
            "--no-live",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ETH/USDT:USDT" in result.output
    assert "BTC/USDT:USDT" not in result.output


def test_replay_errors_are_clear(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["replay", "--data", str(tmp_path), "--no-live"])
    assert empty.exit_code == 2
    assert "no Binance spot recordings" in empty.output
    missing = runner.invoke(app, ["replay", "--data", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "no such directory" in missing.output
    speed = runner.invoke(app, ["replay", "--data", str(tmp_path), "--speed", "fast"])
    assert speed.exit_code == 2
    assert "speed 'fast'" in speed.output


def test_replay_synthetic_market() -> None:
    result = CliRunner().invoke(
        app, ["replay", "--synthetic", "--minutes", "1", "--speed", "max", "--no-live"]
    )
    assert result.exit_code == 0, result.output
    assert "synthetic market" in result.output
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert symbol in result.output
    assert "live" in result.output
    assert "0 bad input line(s)" in result.output


def test_replay_falls_back_to_synthetic_without_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mftbot.cli.replay_cmd.find_data_dir", lambda _explicit: None)
    result = CliRunner().invoke(
        app, ["replay", "--minutes", "0.5", "--speed", "max", "--no-live", "-s", "SOL/USDT"]
    )
    assert result.exit_code == 0, result.output
    assert "no recorded market data was found" in result.output
    assert "SOL/USDT" in result.output
