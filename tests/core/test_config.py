"""Settings: YAML + environment, safe defaults, unknown keys rejected, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mftbot.cli import app
from mftbot.core.config import Settings, TradingMode, load_settings, masked_dump
from mftbot.core.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MFTBOT_") and key not in ("MFTBOT_DATA_DIR", "MFTBOT_TEST_PG_URL"):
            monkeypatch.delenv(key)


def test_defaults_are_safe() -> None:
    settings = load_settings()
    assert settings.mode is TradingMode.PAPER
    assert settings.risk.max_leverage == 1.0
    assert settings.risk.risk_per_trade == 0.005
    assert settings.exchange.testnet is True
    assert settings.database.url.startswith("sqlite")


@pytest.mark.parametrize("name", ["paper.yaml", "live.yaml", "backtest.yaml"])
def test_example_configs_are_valid(name: str) -> None:
    settings = load_settings(CONFIG_DIR / name)
    assert settings.risk.max_leverage == 1.0
    assert settings.mode is not TradingMode.LIVE  # examples never ship live


def test_yaml_values_are_read(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("mode: backtest\nrisk:\n  risk_per_trade: 0.01\nsymbols: [SOL/USDT]\n")
    settings = load_settings(cfg)
    assert settings.mode is TradingMode.BACKTEST
    assert settings.risk.risk_per_trade == 0.01
    assert settings.symbols == ["SOL/USDT"]
    assert settings.risk.max_open_positions == 3  # untouched default


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("risk:\n  risk_per_trade: 0.01\n  max_open_positions: 5\n")
    monkeypatch.setenv("MFTBOT_RISK__RISK_PER_TRADE", "0.002")
    settings = load_settings(cfg)
    assert settings.risk.risk_per_trade == 0.002
    assert settings.risk.max_open_positions == 5


def test_unknown_key_is_rejected_with_its_path(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("risk:\n  risk_per_trad: 0.01\n")
    with pytest.raises(ConfigError, match=r"risk\.risk_per_trad: unknown key"):
        load_settings(cfg)


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("leverage: 10\n")
    with pytest.raises(ConfigError, match=r"leverage: unknown key"):
        load_settings(cfg)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("risk:\n  max_leverage: 100\n", "risk.max_leverage"),
        ("risk:\n  risk_per_trade: -0.1\n", "risk.risk_per_trade"),
        ("mode: yolo\n", "mode"),
        ("symbols: [BTCUSDT]\n", "symbols"),
        ("database:\n  url: mysql://x\n", "database.url"),
        ("logging:\n  level: LOUD\n", "logging.level"),
    ],
)
def test_invalid_values_name_the_field(tmp_path: Path, body: str, field: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert f"{cfg}: {field}" in str(info.value)


def test_not_a_mapping_and_bad_yaml(tmp_path: Path) -> None:
    listy = tmp_path / "l.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(listy)
    broken = tmp_path / "b.yaml"
    broken.write_text("risk: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "missing.yaml")


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTBOT_EXCHANGE__API_KEY", "key-abcdef123")
    monkeypatch.setenv("MFTBOT_EXCHANGE__API_SECRET", "sec-987654")
    settings = Settings()
    assert settings.exchange.api_key.get_secret_value() == "key-abcdef123"
    dumped = masked_dump(settings)
    assert dumped["exchange"]["api_key"] == "***"
    assert "key-abcdef123" not in repr(settings)
    assert "sec-987654" not in str(dumped)


def test_cli_validate_ok_and_invalid(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["config", "validate", str(CONFIG_DIR / "paper.yaml")])
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("risk:\n  max_leverage: 50\n")
    result = runner.invoke(app, ["config", "validate", str(bad)])
    assert result.exit_code == 1
    assert "risk.max_leverage" in result.output


def test_cli_show_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTBOT_EXCHANGE__API_SECRET", "topsecretvalue")
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "topsecretvalue" not in result.output
    assert "api_secret: '***'" in result.output
