"""``mftbot demo --strategy NAME``: a paper replay of any registered strategy, order-book ones
included (the engine builds their book columns from the replayed books)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner, Result

from mftbot.cli import demo_cmd


def invoke(*args: str) -> Result:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """mftbot."""

    root.registered_commands.extend(demo_cmd.app.registered_commands)
    return CliRunner().invoke(root, ["demo", *args])


@pytest.mark.slow
@pytest.mark.realdata
def test_demo_trades_an_order_book_strategy(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = invoke(
        "--data", str(data_dir), "--strategy", "imbalance", "--timeframe", "1s",
        "--minutes", "4", "--speed", "max", "--no-live", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "paper trading imbalance defaults on 1s candles" in result.output
    trades = pd.read_parquet(out / "parquet" / "trades.parquet")
    assert len(trades) >= 2
    assert set(trades["strategy"]) == {"imbalance"}
    signals = pd.read_parquet(out / "parquet" / "signals.parquet")
    assert (signals["decision"] == "order_sent").sum() >= 2


def test_demo_refuses_an_unknown_strategy(tmp_path: Path) -> None:
    result = invoke("--synthetic", "--strategy", "nope", "--no-live", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "unknown strategy 'nope'" in result.output
    assert "imbalance" in result.output  # the registered names are listed
