"""Config-driven runs on real candles: results, Parquet, report, the ledger database, and the
risk engine and slippage preset every config run applies."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from mftbot.backtest import backtest
from mftbot.backtest.config import BacktestConfig, parse_backtest_config
from mftbot.backtest.runner import ConfigRunResult, RunnerError, load_config_candles, run_config
from mftbot.data.candles import read_candles
from mftbot.data.resample import resample_candles
from mftbot.storage import (
    AuditEntry,
    Database,
    EquitySnapshot,
    FillRecord,
    OrderRecord,
    OrderStatus,
    SignalRecord,
)

PERIOD = {"start": "2025-06-02", "end": "2025-06-03"}


def _config(tmp_path: Path, data_dir: Path | None, **changes: Any) -> BacktestConfig:
    doc: dict[str, Any] = {
        "name": "t",
        "bot_id": "bt",
        "strategies": ["sma_cross", {"name": "sma_cross", "label": "q", "params": {"fast": 5}}],
        "symbols": ["BTC/USDT", "ETH/USDT"],
        "timeframes": ["5m", "30m"],
        **PERIOD,
        "data": {"data_dir": str(data_dir) if data_dir else None},
        "output": {
            "dir": str(tmp_path / "out"),
            "database_url": f"sqlite:///{tmp_path / 'ledger.db'}",
            "equity_snapshot_every": None,
        },
    }
    doc.update(changes)
    return parse_backtest_config(doc)


@pytest.fixture(scope="module")
def run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ConfigRunResult:
    return run_config(_config(tmp_path_factory.mktemp("run"), data_dir), run_id="r1")


def test_each_run_is_the_quick_backtest_with_its_share_of_cash(
    run: ConfigRunResult, data_dir: Path
) -> None:
    assert len(run.runs) == 8
    folder = data_dir / "candles_filimonov"
    eth_15m = read_candles(folder / "ETH_USDT-15m.feather")
    for r in run.runs:
        assert r.cash == 10_000 / 8
        candles = r.candles
        assert candles.index[0] == pd.Timestamp("2025-06-02", tz="UTC")
        assert candles.index[-1] < pd.Timestamp("2025-06-03", tz="UTC")
        if (r.key.symbol, r.key.timeframe) == ("ETH/USDT", "30m"):  # resampled from 15m
            expected = resample_candles(eth_15m, "30m").loc[candles.index]
            pd.testing.assert_frame_equal(candles, expected, check_freq=False)
        params = {"fast": 5} if r.key.strategy == "q" else None
        direct = backtest(
            "sma_cross", candles, cash=r.cash, params=params, symbol=r.key.symbol,
            risk=run.config.risk_config(),
        )  # fmt: skip
        pd.testing.assert_frame_equal(r.result.trades, direct.trades)
        assert r.result.final_equity == direct.final_equity
        assert r.result.mode == "step"  # the risk engine runs the event loop
        assert r.result.risk_enabled
        assert r.result.risk == direct.risk


def test_portfolio_equity_and_metrics_add_up(run: ConfigRunResult) -> None:
    total = sum(r.result.final_equity for r in run.runs)
    assert run.equity_curve.iloc[-1] == pytest.approx(total, rel=1e-12)
    assert run.metrics["final_equity"] == pytest.approx(total, rel=1e-12)
    assert run.metrics["trades"] == sum(r.result.metrics["trades"] for r in run.runs)
    at = pd.Timestamp("2025-06-02 12:00", tz="UTC")  # a close time of every series
    by_hand = sum(r.result.equity.loc[at] for r in run.runs)
    assert run.equity.loc[at, "equity"] == pytest.approx(by_hand, rel=1e-12)
    parts = run.equity[["cash", "notional"]].sum(axis=1)
    np.testing.assert_allclose(parts, run.equity["equity"], rtol=1e-12)
    for key in ("strategy", "symbol", "timeframe"):
        table = run.breakdowns[key]
        assert int(table["trades"].sum()) == run.metrics["trades"]
        assert table["net_pnl"].sum() == pytest.approx(run.metrics["net_pnl"], rel=1e-9)
    assert set(run.breakdowns["timeframe"].index) == {"5m", "30m"}


def test_parquet_files_read_back_equal(run: ConfigRunResult) -> None:
    out = run.outputs
    assert out is not None
    assert out.trades
    assert out.fills
    assert out.equity
    assert out.equity_runs
    pd.testing.assert_frame_equal(pd.read_parquet(out.trades), run.trades)
    pd.testing.assert_frame_equal(pd.read_parquet(out.fills), run.fills)
    pd.testing.assert_frame_equal(pd.read_parquet(out.equity), run.equity.reset_index())
    runs = pd.read_parquet(out.equity_runs)
    assert len(runs) == sum(len(r.result.equity) for r in run.runs)
    one = run.runs[0]
    mine = runs[runs["run"] == one.key.text]
    np.testing.assert_array_equal(mine["equity"].to_numpy(), one.result.equity.to_numpy())
    assert len(run.fills) == 2 * run.metrics["trades"] + run.metrics["open_trades"]


def test_report_and_metrics_json(run: ConfigRunResult) -> None:
    assert run.outputs is not None
    assert run.outputs.report
    assert run.outputs.metrics
    html = run.outputs.report.read_text(encoding="utf-8")
    sections = set(re.findall(r'<section id="([^"]+)"', html))
    expected = {"summary", "equity", "breakdown-strategy", "breakdown-symbol"}
    assert (
        expected | {"breakdown-timeframe", "x-runs", "price-btc-usdt", "price-eth-usdt"} <= sections
    )
    embedded = re.search(r'id="metrics-json">(.*?)</script>', html)
    assert embedded is not None
    assert json.loads(embedded.group(1))["final_equity"] == run.metrics["final_equity"]
    doc = json.loads(run.outputs.metrics.read_text())
    assert doc["run_id"] == "r1"
    assert len(doc["runs"]) == 8
    assert doc["db_rows"]["orders"] == len(run.fills)


def test_the_ledger_holds_every_order_fill_signal_and_snapshot(run: ConfigRunResult) -> None:
    assert run.outputs is not None
    assert run.outputs.database_url
    with Database(run.outputs.database_url) as db, db.session() as session:
        orders = list(session.scalars(select(OrderRecord).order_by(OrderRecord.id)))
        fills = list(session.scalars(select(FillRecord).order_by(FillRecord.id)))
        n_trades = run.metrics["trades"] + run.metrics["open_trades"]
        assert len(orders) == len(fills) == len(run.fills)
        assert len(run.fills) == 2 * run.metrics["trades"] + run.metrics["open_trades"]
        assert sum(o.side == "buy" for o in orders) == n_trades
        assert {o.status for o in orders} == {OrderStatus.FILLED}
        assert {o.bot_id for o in orders} == {"bt-r1"}
        by_coid = {o.client_order_id: o for o in orders}
        for row in run.fills.itertuples(index=False):
            order = by_coid[row.client_order_id]
            assert order.symbol == row.symbol
            assert order.strategy == row.strategy
            assert float(order.filled_qty) == pytest.approx(row.qty, rel=1e-15, abs=1e-18)
            assert order.avg_fill_price == Decimal(repr(row.price))
            assert order.created_at == row.signal_time.to_pydatetime()
        fill_times = sorted(f.ts for f in fills)
        assert fill_times == sorted(t.to_pydatetime() for t in run.fills["time"])
        snapshots = session.scalar(select(func.count()).select_from(EquitySnapshot))
        assert snapshots == len(run.equity)
        signals = list(session.scalars(select(SignalRecord)))
        taken = [s for s in signals if s.decision == "taken"]
        risk_exits = sum(len(r.result.risk["exits"]) for r in run.runs)  # stops, targets
        assert risk_exits > 0
        # every strategy order is a taken signal; a risk exit may share its bar with one
        assert len(run.fills) - risk_exits <= len(taken) <= len(run.fills)
        audit = list(session.scalars(select(AuditEntry).where(AuditEntry.actor != "risk")))
        assert [(a.entity_type, a.entity_id) for a in audit] == [("backtest_run", "r1")]
        assert audit[0].details["rows"]["orders"] == len(run.fills)
        assert audit[0].details["ledger_bot_id"] == "bt-r1"
        risk = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "risk")
        )
        assert risk == sum(len(r.result.risk_records) for r in run.runs) > 0


def test_snapshots_at_an_interval_and_a_second_run_in_one_database(
    data_dir: Path, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, data_dir, strategies=["sma_cross"], symbols=["BTC/USDT"])
    cfg = cfg.model_copy(
        update={
            "timeframes": ["15m"],
            "output": cfg.output.model_copy(
                update={"equity_snapshot_every": "1h", "report": False, "parquet": False}
            ),
        }
    )
    first = run_config(cfg, run_id="a")
    second = run_config(cfg, run_id="b")
    assert first.db_rows["equity_snapshots"] == 24  # one day of hourly points
    assert second.db_rows["orders"] == first.db_rows["orders"] > 0
    with Database(cfg.database_url) as db, db.session() as session:
        bots = session.execute(
            select(OrderRecord.bot_id, func.count()).group_by(OrderRecord.bot_id)
        ).all()
        assert dict(bots) == {"bt-a": first.db_rows["orders"], "bt-b": first.db_rows["orders"]}
        hours = session.scalars(select(EquitySnapshot.ts).order_by(EquitySnapshot.ts)).all()
        assert hours[-1] == pd.Timestamp("2025-06-03", tz="UTC").to_pydatetime()


def test_synthetic_market_when_no_recordings(tmp_path: Path) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    cfg = _config(
        tmp_path,
        empty,
        strategies=["sma_cross"],
        timeframes=["5m"],
        output={"dir": str(tmp_path / "out"), "database": False, "report": False},
    )
    candles, source = load_config_candles(cfg)
    assert source.startswith("synthetic market (seed 7)")
    assert "no recorded candles for BTC/USDT, ETH/USDT" in source
    assert len(candles[("BTC/USDT", "5m")]) == 288  # the one-day period
    result = run_config(cfg, run_id="s", candles=candles)
    assert result.outputs is not None
    assert result.outputs.database_url is None
    assert result.outputs.trades is not None
    assert result.outputs.trades.is_file()


def test_errors(data_dir: Path, tmp_path: Path) -> None:
    cfg = _config(tmp_path, data_dir)
    with pytest.raises(RunnerError, match="run id"):
        run_config(cfg, run_id="Bad Id")
    empty = _config(tmp_path, data_dir, start="2030-01-01", end="2030-01-02")
    with pytest.raises(RunnerError, match="no candles in the period"):
        load_config_candles(empty)
    folder = _config(tmp_path, data_dir, symbols=["DOGE/USDT"], data={"source": "folder"})
    with pytest.raises(RunnerError, match="no candle files for DOGE/USDT"):
        load_config_candles(folder, data_dir=data_dir)
    finer = _config(tmp_path, data_dir, timeframes=["30s"], data={"source": "folder"})
    with pytest.raises(RunnerError, match="no BTC/USDT candle file at 30s or a finer"):
        load_config_candles(finer, data_dir=data_dir)


def test_a_fast_config_runs_step_with_its_risk_engine(data_dir: Path, tmp_path: Path) -> None:
    outputs = {"dir": str(tmp_path / "o"), "database": False, "parquet": False, "report": False}
    cfg = _config(tmp_path, data_dir, timeframes=["15m"], output=outputs)
    candles, _ = load_config_candles(cfg)
    fast = run_config(cfg, run_id="f", candles=candles)
    step = run_config(cfg.model_copy(update={"mode": "step"}), run_id="f", candles=candles)
    assert len(fast.fills) > 0
    assert all(r.result.mode == "step" and r.result.notes for r in fast.runs)
    pd.testing.assert_frame_equal(fast.fills, step.fills)
    pd.testing.assert_frame_equal(fast.equity, step.equity)
    pd.testing.assert_frame_equal(fast.risk, step.risk)


def test_risk_decisions_in_results_and_audit_log(data_dir: Path, tmp_path: Path) -> None:
    """Two entries a day: every later entry signal of a day is rejected by ``daily_trades``
    and the decisions reach the report, Parquet, metrics.json and the audit table."""
    risk = {"risk_per_trade": 0.004, "checks": {"max_daily_trades": 2}}
    cfg = _config(tmp_path, data_dir, strategies=["sma_cross"], timeframes=["5m"], risk=risk)
    assert cfg.risk_config().checks.max_daily_trades == 2
    assert cfg.risk_config().sizing.risk_per_trade == 0.004
    result = run_config(cfg, run_id="k")
    table = result.risk
    for run in result.runs:
        direct = backtest(
            "sma_cross", run.candles, cash=run.cash, symbol=run.key.symbol, risk=cfg.risk_config()
        )
        mine = table[table["run"] == run.key.text].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, direct.risk_frame())
        entries = int((run.result.fills.side > 0).sum())
        assert entries == 2  # both approved entries filled, nothing after them
        rejected = mine[mine["action"] == "rejected"]
        assert len(rejected) == len(run.result.risk["rejections"]) > 0
        assert set(rejected["failed_rules"]) == {"daily_trades"}
        assert rejected["reason"].str.contains("2 entries today, limit 2").all()
        assert (mine["action"] == "resized").sum() == len(run.result.risk["resizes"])
    n_rejected = int((table["action"] == "rejected").sum())
    assert n_rejected == sum(len(r.result.risk["rejections"]) for r in result.runs) > 0
    assert result.outputs is not None
    assert result.outputs.risk is not None
    pd.testing.assert_frame_equal(pd.read_parquet(result.outputs.risk), table)
    doc = json.loads(result.outputs.metrics.read_text()) if result.outputs.metrics else {}
    assert doc["risk"]["rejections"] == n_rejected
    assert doc["risk"]["by_rule"] == {"daily_trades": n_rejected}
    assert len(doc["risk"]["decisions"]) == len(table)
    assert result.outputs.report is not None
    assert 'id="x-risk-decisions"' in result.outputs.report.read_text(encoding="utf-8")
    records = sum(len(r.result.risk_records) for r in result.runs)
    assert result.db_rows["risk_decisions"] == records
    with Database(cfg.database_url) as db, db.session() as session:
        rows = session.execute(
            select(AuditEntry.action, func.count())
            .where(AuditEntry.actor == "risk", AuditEntry.trace_id == "k")
            .group_by(AuditEntry.action)
        ).all()
    by_action = dict(rows)
    assert by_action["risk.rejected"] == n_rejected
    assert sum(by_action.values()) == records


def test_a_slippage_preset_runs_on_the_simulated_venue(data_dir: Path, tmp_path: Path) -> None:
    outputs = {"dir": str(tmp_path / "o"), "database": False, "parquet": False, "report": False}
    base = _config(
        tmp_path, data_dir, strategies=["sma_cross"], symbols=["BTC/USDT"], timeframes=["5m"],
        output=outputs,
    )  # fmt: skip
    candles, _ = load_config_candles(base)
    exact = run_config(base, run_id="n", candles=candles)
    preset = parse_backtest_config({**base.model_dump(mode="json"), "slippage": "realistic"})
    slipped = run_config(preset, run_id="s", candles=candles)
    opens = candles[("BTC/USDT", "5m")]["open"]
    fills = slipped.fills
    assert len(fills) == len(exact.fills) > 0
    at_open = opens.loc[pd.DatetimeIndex(fills["time"])].to_numpy()
    buys = (fills["side"] == "buy").to_numpy()
    assert (fills["price"].to_numpy()[buys] > at_open[buys]).all()  # buyers pay up
    assert (fills["price"].to_numpy()[~buys] < at_open[~buys]).all()  # sellers get less
    exact_opens = opens.loc[pd.DatetimeIndex(exact.fills["time"])].to_numpy()
    np.testing.assert_array_equal(exact.fills["price"].to_numpy(), exact_opens)
    assert slipped.equity_curve.iloc[-1] < exact.equity_curve.iloc[-1]
