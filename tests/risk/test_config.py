"""The typed risk config: conservative defaults, dict input, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mftbot.core.config import RiskSettings
from mftbot.core.errors import ConfigError
from mftbot.risk.config import RiskConfig


def test_defaults_are_conservative() -> None:
    cfg = RiskConfig()
    assert cfg.sizing.risk_per_trade == 0.005
    assert cfg.checks.max_leverage == 1.0
    assert cfg.checks.max_open_positions == 3
    assert cfg.checks.max_price_deviation == 0.05
    assert cfg.limits.daily_loss_limit == 0.03
    assert cfg.limits.max_drawdown == 0.15
    assert cfg.limits.auto_resume is False
    assert cfg.kill_switch.file == Path(".kill_switch")
    assert cfg.sizing.risk_per_trade <= cfg.checks.max_risk_per_trade


def test_every_field_has_a_description() -> None:
    missing = []
    for section in RiskConfig.model_fields:
        model = type(getattr(RiskConfig(), section))
        if not hasattr(model, "model_fields"):
            continue
        missing += [f"{section}.{n}" for n, f in model.model_fields.items() if not f.description]
    assert missing == []


def test_a_nested_dict_is_accepted_and_frozen() -> None:
    cfg = RiskConfig.coerce({"checks": {"max_open_positions": 5}, "sizing": {"methods": ["kelly"]}})
    assert cfg.checks.max_open_positions == 5
    assert cfg.sizing.methods == ("kelly",)
    assert cfg.checks.max_leverage == 1.0
    with pytest.raises(ValueError, match="frozen"):
        cfg.checks.max_open_positions = 9  # type: ignore[misc]
    assert RiskConfig.coerce(cfg) is cfg
    assert RiskConfig.coerce(None) == RiskConfig()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"checks": {"max_open_positons": 2}}, r"risk: checks\.max_open_positons: unknown key"),
        ({"sizing": {"risk_per_trade": 0.2}}, r"sizing\.risk_per_trade"),
        ({"checks": {"max_leverage": 0.5}}, r"checks\.max_leverage"),
        ({"sizing": {"methods": []}}, "at least one sizing method"),
        ({"adapters": {"vol_bands": [[0.02, 1.0], [0.01, 0.5]]}}, "increasing"),
        ({"limits": {"daily_reset_utc": "25:00"}}, "HH:MM"),
        ({"limits": {"reduce_after_losses": 6}}, "must not exceed"),
        ({"checks": {"min_notional": 10, "max_notional": 5}}, "must be below max_notional"),
        ({"checks": {"max_risk_per_trade": 0.004}}, "exceeds checks.max_risk_per_trade"),
    ],
)
def test_bad_values_name_the_field(data: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        RiskConfig.coerce(data)


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(ConfigError, match="RiskConfig or a dict"):
        RiskConfig.coerce([1, 2])  # type: ignore[arg-type]


def test_from_settings_maps_the_risk_section() -> None:
    settings = RiskSettings(
        risk_per_trade=0.02,
        max_open_positions=7,
        daily_loss_limit=0.05,
        max_drawdown=0.2,
        kill_switch_file=Path("/tmp/ks"),
    )
    cfg = RiskConfig.from_settings(settings, {"portfolio": {"enabled": False}})
    assert cfg.sizing.risk_per_trade == 0.02
    assert cfg.checks.max_risk_per_trade == 0.02
    assert cfg.checks.max_open_positions == 7
    assert cfg.limits.daily_loss_limit == 0.05
    assert cfg.limits.max_drawdown == 0.2
    assert cfg.kill_switch.file == Path("/tmp/ks")
    assert cfg.portfolio.enabled is False


def test_daily_reset_offset() -> None:
    cfg = RiskConfig.coerce({"limits": {"daily_reset_utc": "08:30"}})
    assert cfg.limits.daily_reset_ns == (8 * 60 + 30) * 60 * 1_000_000_000
