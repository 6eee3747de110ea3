"""``mftbot risk status`` and ``mftbot risk reset`` through the Typer app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mftbot.cli.risk_cmd import app
from mftbot.risk.limits import HaltKind
from mftbot.risk.state_store import TradingStateStore

runner = CliRunner()


def test_status_without_a_state_file_is_normal(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "status",
            "--state-file",
            str(tmp_path / "s.json"),
            "--kill-switch",
            str(tmp_path / "KILL"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "trading state: NORMAL" in result.output
    assert "kill switch:   released" in result.output


def test_status_json_shows_a_halt_and_the_kill_switch(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    TradingStateStore(state).record_halt(
        1_774_267_200_000_000_000, "drawdown 16.00 %", HaltKind.DRAWDOWN
    )
    (tmp_path / "KILL").touch()
    result = runner.invoke(
        app,
        ["status", "--state-file", str(state), "--kill-switch", str(tmp_path / "KILL"), "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["state"] == "halted"
    assert doc["kind"] == "drawdown"
    assert doc["reason"] == "drawdown 16.00 %"
    assert doc["kill_switch"] == {"file": str(tmp_path / "KILL"), "engaged": True}


def test_status_reads_the_kill_switch_path_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"risk:\n  kill_switch_file: {tmp_path / 'STOP'}\n")
    (tmp_path / "STOP").touch()
    result = runner.invoke(
        app, ["status", "--state-file", str(tmp_path / "s.json"), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert f"kill switch:   ENGAGED ({tmp_path / 'STOP'})" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("risk:\n  max_leverage: 0\n")
    failed = runner.invoke(app, ["status", "--config", str(bad)])
    assert failed.exit_code == 1
    assert "risk.max_leverage" in failed.output


def test_reset_clears_a_halt_and_counts_resets(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    store = TradingStateStore(state)
    store.record_halt(
        5, "daily loss 3.10 % (310.00 of 10,000.00) ≥ limit 3.00 %", HaltKind.DAILY_LOSS
    )
    result = runner.invoke(app, ["reset", "--state-file", str(state), "--by", "alice"])
    assert result.exit_code == 0, result.output
    assert "reset to NORMAL (was halted: daily loss 3.10 %" in result.output
    after = store.load()
    assert not after.halted
    assert after.resets == 1
    assert after.reason == "reset by alice"
    again = runner.invoke(app, ["reset", "--state-file", str(state)])
    assert again.exit_code == 0
    assert "not halted (state normal); nothing to reset" in again.output
    assert store.load().resets == 1
    forced = runner.invoke(app, ["reset", "--state-file", str(state), "--force"])
    assert forced.exit_code == 0
    assert store.load().resets == 2


def test_a_corrupt_state_file_is_an_error(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    state.write_text('{"state": "paused"}')
    result = runner.invoke(app, ["status", "--state-file", str(state)])
    assert result.exit_code == 1
    assert "bad risk state" in result.output
    assert "paused" in result.output
