"""BacktestConfig: run documents, core settings documents, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mftbot.backtest.config import (
    BacktestConfig,
    BacktestConfigError,
    DataSource,
    load_backtest_config,
    parse_backtest_config,
)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MFTBOT_") and key not in ("MFTBOT_DATA_DIR", "MFTBOT_TEST_PG_URL"):
            monkeypatch.delenv(key)


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "strategies": ["sma_cross"],
        "symbols": ["BTC/USDT"],
        "timeframes": ["5m"],
    }
    doc.update(changes)
    return doc


def test_a_minimal_document_gets_safe_defaults() -> None:
    cfg = parse_backtest_config(_doc())
    assert [s.key for s in cfg.strategies] == ["sma_cross"]
    assert cfg.strategies[0].params == {}
    assert cfg.fill == "next_open"
    assert cfg.mode == "fast"
    assert cfg.data.source is DataSource.AUTO
    assert cfg.n_runs == 1
    assert cfg.database_url == f"sqlite:///{Path('backtest-results') / 'backtest.db'}"


def test_fields_are_normalised() -> None:
    cfg = parse_backtest_config(
        _doc(
            strategies=[
                "sma_cross",
                {"name": "sma_cross", "label": "quick", "params": {"fast": 3}},
            ],
            symbols=["BTC/USDT", "ETH/USDT"],
            timeframes="60m",
            start="2025-06-01",
            end=datetime(2025, 6, 2, 12, tzinfo=UTC),
        )
    )
    assert [s.key for s in cfg.strategies] == ["sma_cross", "quick"]
    assert cfg.timeframes == ["60m"]
    assert cfg.start == datetime(2025, 6, 1, tzinfo=UTC)
    assert cfg.n_runs == 4


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"strategies": ["nope"]}, "strategies.0", "unknown strategy 'nope'"),
        (
            {"strategies": [{"name": "sma_cross", "params": {"fast": 30, "slow": 10}}]},
            "strategies.0",
            "must be <",
        ),
        ({"strategies": ["sma_cross", "sma_cross"]}, "(top level)", "labels repeat"),
        ({"strategies": []}, "strategies", "at least 1"),
        ({"symbols": ["BTCUSDT"]}, "symbols", "not a spot symbol"),
        ({"symbols": ["BTC/USDT:USDT"]}, "symbols", "not a spot symbol"),
        ({"timeframes": ["7x"]}, "timeframes", "timeframe"),
        ({"start": "2025-06-02", "end": "2025-06-01"}, "(top level)", "not after start"),
        ({"slippage": "awful"}, "slippage", "Input should be"),
        ({"risk": {"bogus": 1}}, "(top level)", "risk: unknown keys"),
        ({"fee": 0.5}, "fee", "less than or equal"),
        ({"fill": "vwap"}, "fill", ""),
        ({"leverage": 3}, "leverage", "unknown key"),
        ({"data": {"source": "files"}}, "(top level)", "data.files has no file"),
        ({"data": {"source": "catalog"}}, "(top level)", "catalog_dir is not set"),
        ({"output": {"equity_snapshot_every": "soon"}}, "output.equity_snapshot_every", ""),
    ],
)
def test_invalid_documents_name_the_field(changes: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(BacktestConfigError) as info:
        parse_backtest_config(_doc(**changes), "run.yaml")
    message = str(info.value)
    assert f"run.yaml: {field}:" in message
    assert reason in message


def test_the_example_run_document_loads() -> None:
    cfg = load_backtest_config(CONFIG_DIR / "backtest-run.yaml")
    assert isinstance(cfg, BacktestConfig)
    assert cfg.n_runs == len(cfg.strategies) * len(cfg.symbols) * len(cfg.timeframes) > 1
    assert cfg.start is not None
    assert cfg.end is not None
    assert cfg.start < cfg.end


def test_a_core_settings_document_runs_sma_cross() -> None:
    cfg = load_backtest_config(CONFIG_DIR / "backtest.yaml")
    assert [s.name for s in cfg.strategies] == ["sma_cross"]
    assert cfg.symbols == ["BTC/USDT", "ETH/USDT"]
    assert cfg.timeframes == ["5m"]
    assert cfg.fee == 0.001
    assert cfg.initial_balance == 10_000
    assert cfg.bot_id == "bt1"
    assert cfg.database_url == "sqlite:///./mftbot-backtest.db"


def test_settings_environment_overrides_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("mode: backtest\nsymbols: [SOL/USDT]\nbacktest:\n  timeframe: 1h\n")
    monkeypatch.setenv("MFTBOT_BACKTEST__FEE", "0.0005")
    cfg = load_backtest_config(path)
    assert (cfg.symbols, cfg.timeframes, cfg.fee) == (["SOL/USDT"], ["1h"], 0.0005)


def test_settings_for_another_mode_are_refused() -> None:
    with pytest.raises(BacktestConfigError, match="mode 'paper'"):
        load_backtest_config(CONFIG_DIR / "paper.yaml")


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(BacktestConfigError, match="no such config file"):
        load_backtest_config(tmp_path / "missing.yaml")
    listy = tmp_path / "l.yaml"
    listy.write_text("- a\n")
    with pytest.raises(BacktestConfigError, match="must be a mapping"):
        load_backtest_config(listy)
    broken = tmp_path / "b.yaml"
    broken.write_text("strategies: [unclosed\n")
    with pytest.raises(BacktestConfigError, match="not valid YAML"):
        load_backtest_config(broken)
    neither = tmp_path / "n.yaml"
    neither.write_text("symbolz: [BTC/USDT]\n")
    with pytest.raises(BacktestConfigError, match="neither a backtest run document"):
        load_backtest_config(neither)
