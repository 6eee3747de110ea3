"""``mftbot demo``: paper trading over the recordings or the synthetic market, end to end."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from mftbot.cli import demo_cmd
from mftbot.storage import Database, FillRecord, OrderRecord


def invoke(*args: str) -> Result:
    """Run ``mftbot demo ARGS`` (the command as the root app registers it)."""
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """mftbot."""

    root.registered_commands.extend(demo_cmd.app.registered_commands)
    return CliRunner().invoke(root, ["demo", *args])


def summary_count(output: str, name: str) -> int:
    """The number the summary table gives for ``name`` (``signals``, ``orders``, ``fills``)."""
    match = re.search(rf"│ {name} +│ ([\d,]+)", output)
    assert match is not None, output
    return int(match.group(1).replace(",", ""))


def stored_counts(db_file: Path) -> tuple[int, int]:
    with Database(f"sqlite:///{db_file}") as db, db.session() as session:
        orders = session.scalar(select(func.count()).select_from(OrderRecord))
        fills = session.scalar(select(func.count()).select_from(FillRecord))
    return int(orders or 0), int(fills or 0)


@pytest.mark.realdata
def test_demo_on_the_spot_recordings(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = invoke("--data", str(data_dir), "--speed", "max", "--no-live", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Binance spot recordings" in text
    assert "179,318 messages" in text
    for label in ("signals", "orders", "fills", "positions", "equity", "report", "ledger"):
        assert label in text
    orders, fills = summary_count(text, "orders"), summary_count(text, "fills")
    assert summary_count(text, "signals") >= orders > 0
    assert stored_counts(out / "ledger.db") == (orders, fills)
    report = out / "report.html"
    assert str(report) in text.replace("\n", "")
    html = report.read_text(encoding="utf-8")
    assert 'id="price-btc-usdt"' in html
    assert 'id="price-eth-usdt"' in html
    assert len(pd.read_parquet(out / "parquet" / "fills.parquet")) == fills
    assert len(pd.read_parquet(out / "parquet" / "orders.parquet")) == orders
    trades = pd.read_parquet(out / "parquet" / "trades.parquet")
    assert set(trades["symbol"]) <= {"BTC/USDT", "ETH/USDT"}
    assert len(trades) > 0


@pytest.mark.realdata
def test_demo_first_minutes_on_the_candle_venue(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = invoke(
        "--data",
        str(data_dir),
        *("--minutes", "3", "--timeframe", "2s", "--venue", "candle"),
        *("--speed", "max", "--no-live", "--out", str(out)),
    )
    assert result.exit_code == 0, result.output
    market = re.search(r"([\d.]+) s of market time", result.output)
    assert market is not None
    assert 170.0 < float(market.group(1)) <= 180.0
    candles = pd.read_parquet(out / "parquet" / "candles.parquet")
    assert candles.groupby("symbol")["time"].diff().dropna().eq(pd.Timedelta("2s")).all()
    fills = pd.read_parquet(out / "parquet" / "fills.parquet")
    assert len(fills) > 0
    assert stored_counts(out / "ledger.db") == (summary_count(result.output, "orders"), len(fills))
    assert set(fills["time"]) <= set(candles["time"])  # the candle venue fills at bar opens


def test_demo_falls_back_to_the_synthetic_market(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(demo_cmd, "find_data_dir", lambda _explicit: None)
    out = tmp_path / "demo"
    args = ("--minutes", "3", "--speed", "max", "--out", str(out))
    first = invoke(*args, "--live")
    assert first.exit_code == 0, first.output
    assert "synthetic market" in first.output
    assert "no recorded market data was found" in first.output
    for label in ("signals", "orders", "fills", "positions", "equity"):
        assert label in first.output
    assert (out / "report.html").is_file()
    counts = stored_counts(out / "ledger.db")
    # a second demo into the same folder starts a fresh ledger and trades the same
    second = invoke(*args, "--no-live", "--venue", "book")
    assert second.exit_code == 0, second.output
    assert stored_counts(out / "ledger.db") == counts
    assert counts[0] == summary_count(second.output, "orders")


def test_demo_refuses_a_ledger_that_holds_a_demo_already(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ("--synthetic", "--minutes", "2", "--speed", "max", "--no-live", "--venue", "candle")
    url = f"sqlite:///{tmp_path}/shared.db"
    first = invoke(*args, "--out", str(out), "--db", url, "--timeframe", "1s")
    assert first.exit_code == 0, first.output
    assert summary_count(first.output, "orders") > 0
    again = invoke(*args, "--out", str(out), "--db", url)
    assert again.exit_code == 2
    assert "already holds a demo session" in again.output


def test_demo_errors_are_clear(tmp_path: Path) -> None:
    out = ("--out", str(tmp_path / "out"), "--no-live")
    missing = invoke("--data", str(tmp_path / "nope"), *out)
    assert missing.exit_code == 2
    assert "no such directory" in missing.output
    empty = invoke("--data", str(tmp_path), *out)
    assert empty.exit_code == 2
    assert "no Binance spot recordings" in empty.output
    speed = invoke("--synthetic", "--speed", "fast", *out)
    assert speed.exit_code == 2
    assert "speed 'fast'" in speed.output
    timeframe = invoke("--synthetic", "--timeframe", "7x", *out)
    assert timeframe.exit_code == 2
    assert "timeframe" in timeframe.output
    bad_db = invoke("--synthetic", "--db", "mysql://x/y", *out)
    assert bad_db.exit_code == 2
    assert "only sqlite" in bad_db.output


@pytest.mark.realdata
def test_demo_runs_the_configured_risk_engine(data_dir: Path, tmp_path: Path) -> None:
    """--config: its risk section sizes the entries (paper mode); the summary shows the state
    and the rejections/resizes, the state file lands in --out."""
    settings = tmp_path / "paper.yaml"
    kill = tmp_path / "ks"
    settings.write_text(
        f"mode: paper\nrisk:\n  risk_per_trade: 0.002\n  kill_switch_file: {kill}\n",
        encoding="utf-8",
    )
    out = tmp_path / "demo"
    args = ("--data", str(data_dir), "--speed", "max", "--no-live")
    result = invoke(*args, "--out", str(out), "--config", str(settings))
    assert result.exit_code == 0, result.output
    match = re.search(r"risk\W+(\d+) rejected, (\d+) resized", result.output)
    assert match is not None, result.output
    assert int(match.group(2)) > 0  # 0.2 % risk per trade cuts the equal-split entries
    assert re.search(r"trading state\W+(normal|reducing|halted)\s", result.output)
    kill.touch()  # with the kill switch on, every entry is refused
    again = invoke(*args, "--out", str(out), "--config", str(settings))
    assert again.exit_code == 0, again.output
    stopped = re.search(r"risk\W+(\d+) rejected, (\d+) resized", again.output)
    assert stopped is not None
    assert int(stopped.group(1)) > 0
    assert int(stopped.group(2)) == 0
    assert summary_count(again.output, "fills") == 0
