"""The research API with ``risk=``: no risk engine by default, a typed config or a dict runs
the rule-based one in step mode, and the result lists every rejection and resize with the
rule's name and numbers (``.risk``, ``.risk_frame()``, ``to_json()``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest.api import (
    RISK_COLUMNS,
    RISK_STEP_NOTE,
    BacktestError,
    BacktestResult,
    backtest,
    validate_candles,
)
from mftbot.data.candles import read_candles
from mftbot.risk import RiskConfig, RiskRecord
from mftbot.strategies import get_strategy

ROWS = 3000


@pytest.fixture(scope="module")
def btc(data_dir: Path) -> pd.DataFrame:
    """3,000 recorded Binance BTC/USDT 1m candles (``candles_paparocketeer``)."""
    frame = read_candles(data_dir / "candles_paparocketeer" / "BTC_USDT-1m.feather")
    return frame.iloc[:ROWS]


def risk_dict(tmp_path: Path, **checks: Any) -> dict[str, Any]:
    """Default limits, files in ``tmp_path``."""
    doc: dict[str, Any] = {
        "kill_switch": {"file": str(tmp_path / "KILL")},
        "limits": {"state_file": str(tmp_path / "risk_state.json")},
    }
    if checks:
        doc["checks"] = checks
    return doc


def run(candles: pd.DataFrame, **kwargs: Any) -> BacktestResult:
    return backtest("sma_cross", candles, symbol="BTC/USDT", **kwargs)


def test_no_risk_engine_by_default(btc: pd.DataFrame) -> None:
    for mode in ("fast", "step"):
        result = run(btc.iloc[:600], mode=mode)
        assert not result.risk_enabled
        assert result.risk["rejections"] == result.risk["resizes"] == []
        assert result.notes == ()
        assert result.risk_records == ()
        assert set(json.loads(result.to_json())) == {"trades", "final_equity", "metrics"}
        frame = result.risk_frame()
        assert list(frame.columns) == list(RISK_COLUMNS)
        assert len(frame) == 0
        assert result.trades["qty"].iloc[0] == pytest.approx(
            10_000.0 / (result.trades["entry_price"].iloc[0] * 1.001), rel=1e-12
        )  # all in


def test_fast_with_risk_runs_step_and_says_so(btc: pd.DataFrame, tmp_path: Path) -> None:
    fast = run(btc, mode="fast", risk=risk_dict(tmp_path))
    step = run(btc, mode="step", risk=risk_dict(tmp_path))
    assert (fast.mode, step.mode) == ("step", "step")
    assert fast.notes == (RISK_STEP_NOTE,)
    assert step.notes == ()
    pd.testing.assert_frame_equal(fast.trades, step.trades)
    pd.testing.assert_series_equal(fast.equity, step.equity)
    assert fast.risk == step.risk
    assert json.loads(fast.to_json())["notes"] == [RISK_STEP_NOTE]


def test_every_rejection_and_resize_is_listed(btc: pd.DataFrame, tmp_path: Path) -> None:
    records: list[RiskRecord] = []
    result = run(btc, mode="step", fill="close", risk=risk_dict(tmp_path), audit=records.append)
    assert records == list(result.risk_records)
    risk = result.risk
    # the default limits: sma_cross on these 1m bars loses 5 times in a row and halts
    assert risk["summary"]["trading_state"] == "halted"
    states = [s["reason"] for s in risk["states"]]
    assert states[0].startswith("normal → reducing: 3 consecutive losses")
    assert states[-1] == "reducing → halted: 5 consecutive losses ≥ limit 5"
    closed = result.trades.dropna(subset=["exit_time"])
    assert len(closed) == len(risk["resizes"]) == 5
    assert (closed["pnl"] < 0).all()
    # each entry was cut from all-in to the risk size; with close fills it is the traded qty
    assert [r["final_qty"] for r in risk["resizes"]] == pytest.approx(
        closed["qty"].tolist(), rel=1e-12
    )
    for row in risk["resizes"]:
        assert row["requested_qty"] > row["final_qty"]
        assert row["reason"].startswith("resized ")
        assert f"sizing ({row['sizing']['binding']})" in row["reason"]
    reducing = [r for r in risk["resizes"] if r["trading_state"] == "reducing"]
    assert len(reducing) == 2
    for row in reducing:
        factors = {f["name"]: f["value"] for f in row["sizing"]["factors"]}
        assert factors["trading_state"] == 0.5
    # after the halt every entry signal is refused, by the trading_state rule alone
    halt_ts = risk["states"][-1]["ts"]
    signals = get_strategy("sma_cross").populate(validate_candles(btc))
    close_ns = pd.DatetimeIndex(btc.index).as_unit("ns").asi8 + 60_000_000_000
    after = int(np.count_nonzero(signals.entry_long & (close_ns >= halt_ts)))
    assert after > 0
    assert len(risk["rejections"]) == after
    for row in risk["rejections"]:
        failed = [r for r in row["rules"] if not r["passed"]]
        assert [r["name"] for r in failed] == ["trading_state"]
        assert row["reason"] == (
            "rejected by trading_state: trading halted: 5 consecutive losses ≥ limit 5"
        )
    assert (result.trades["entry_time"].astype("int64") < halt_ts).all()

    frame = result.risk_frame()
    assert len(frame) == 5 + after
    assert frame["action"].value_counts().to_dict() == {"rejected": after, "resized": 5}
    assert set(frame.loc[frame["action"] == "rejected", "failed_rules"]) == {"trading_state"}
    assert str(frame["time"].dt.tz) == "UTC"
    doc = json.loads(result.to_json())
    assert len(doc["risk"]["rejections"]) == after
    assert doc["risk"]["resizes"][0]["final_qty"] == risk["resizes"][0]["final_qty"]


def test_a_typed_config_and_its_dict_agree(btc: pd.DataFrame, tmp_path: Path) -> None:
    doc = risk_dict(tmp_path)
    typed = run(btc.iloc[:1500], mode="step", risk=RiskConfig.coerce(doc))
    plain = run(btc.iloc[:1500], mode="step", risk=doc)
    pd.testing.assert_frame_equal(typed.trades, plain.trades)
    assert typed.risk == plain.risk
    assert typed.risk_enabled


def test_the_backtest_fee_is_the_risk_fee_unless_set(btc: pd.DataFrame, tmp_path: Path) -> None:
    data = btc.iloc[:1500]
    aligned = run(data, mode="step", fee=0.002, fill="close", risk=risk_dict(tmp_path))
    assert aligned.notes == ("risk: checks.fee_rate set to the backtest fee 0.002",)
    resize = aligned.risk["resizes"][0]
    # a quote-sized entry keeps its form: spend = qty × price × (1 + fee) buys exactly qty
    assert aligned.trades["qty"].iloc[0] == pytest.approx(resize["final_qty"], rel=1e-12)
    own = run(data, mode="step", fee=0.002, risk=risk_dict(tmp_path, fee_rate=0.001))
    assert own.notes == ()


def test_bad_risk_arguments_are_clear_errors(btc: pd.DataFrame, tmp_path: Path) -> None:
    data = btc.iloc[:100]
    with pytest.raises(BacktestError, match=r"risk: checks\.max_leverage"):
        run(data, risk={"checks": {"max_leverage": -1.0}})
    with pytest.raises(BacktestError, match="nope"):
        run(data, risk={"nope": 1})
    with pytest.raises(BacktestError, match="RiskConfig or a dict"):
        run(data, risk="strict")
    with pytest.raises(BacktestError, match="audit= records risk decisions"):
        run(data, audit=lambda record: None)
