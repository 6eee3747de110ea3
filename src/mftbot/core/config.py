"""Typed settings: a YAML file plus ``MFTBOT_*`` environment variables.

Precedence: environment > YAML file > defaults. Nested fields use ``__`` in variable names
(``MFTBOT_RISK__RISK_PER_TRADE=0.01``). Unknown keys are rejected. Every default is safe:
paper mode, no leverage, 0.5 % risk per trade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mftbot.core.errors import ConfigError
from mftbot.core.modes import TradingMode as TradingMode  # re-exported


class LogFormat(StrEnum):
    """Log output format."""

    JSON = "json"
    CONSOLE = "console"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ExchangeSettings(_Section):
    """Venue connection."""

    venue: str = Field("bybit", description="ccxt exchange id of the venue to trade on.")
    testnet: bool = Field(True, description="Use the venue's testnet endpoints.")
    api_key: SecretStr = Field(SecretStr(""), description="API key (never logged).")
    api_secret: SecretStr = Field(SecretStr(""), description="API secret (never logged).")
    recv_window_ms: int = Field(5000, gt=0, le=60000, description="Request validity window, ms.")


class RiskSettings(_Section):
    """Risk limits applied to every order."""

    risk_per_trade: float = Field(
        0.005, gt=0, le=0.05, description="Fraction of equity risked per trade (0.005 = 0.5 %)."
    )
    max_leverage: float = Field(1.0, ge=1.0, le=20.0, description="Leverage cap; 1 = none.")
    max_open_positions: int = Field(3, ge=1, le=50, description="Open positions at most.")
    daily_loss_limit: float = Field(
        0.03, gt=0, le=0.5, description="Halt new entries after losing this fraction in a day."
    )
    max_drawdown: float = Field(
        0.15, gt=0, le=0.9, description="Halt trading at this drawdown from the equity peak."
    )
    max_price_deviation: float = Field(
        0.05, gt=0, le=0.5, description="Reject orders priced this far from the market."
    )
    kill_switch_file: Path = Field(
        Path(".kill_switch"), description="Creating this file stops new entries."
    )


class DatabaseSettings(_Section):
    """State database."""

    url: str = Field("sqlite:///./mftbot.db", description="SQLAlchemy URL of the state database.")
    echo: bool = Field(False, description="Log every SQL statement (debugging only).")

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:// and postgresql+psycopg:// URLs are supported")
        return value


class LoggingSettings(_Section):
    """Log output."""

    level: str = Field("INFO", description="Minimum level: DEBUG, INFO, WARNING, ERROR.")
    format: LogFormat = Field(LogFormat.CONSOLE, description="json (one event a line) or console.")

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return upper


class DataSettings(_Section):
    """Where market data lives."""

    data_dir: Path | None = Field(
        None, description="Recorded data folder; else MFTBOT_DATA_DIR, then ../shared/data."
    )
    catalog_dir: Path = Field(Path("./catalog"), description="Parquet catalog root.")
    stale_after_s: float = Field(
        30.0, gt=0, description="A stream silent this long is stale and its book resyncs."
    )


class BacktestSettings(_Section):
    """Backtest run parameters."""

    initial_balance: float = Field(10_000.0, gt=0, description="Starting cash in quote currency.")
    fee: float = Field(0.001, ge=0, le=0.01, description="Fee rate on notional per side.")
    timeframe: str = Field("5m", description="Candle timeframe of the run.")


class Settings(BaseSettings):
    """All of mftbot's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="MFTBOT_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    mode: TradingMode = Field(TradingMode.PAPER, description="paper, live or backtest.")
    bot_id: str = Field(
        "mftbot", min_length=1, max_length=12, pattern=r"^[A-Za-z0-9]+$", description="Bot id."
    )
    symbols: list[str] = Field(
        default_factory=lambda: ["BTC/USDT", "ETH/USDT"], description="Symbols in ccxt form."
    )
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    backtest: BacktestSettings = Field(default_factory=BacktestSettings)

    @field_validator("symbols")
    @classmethod
    def _ccxt_symbols(cls, value: list[str]) -> list[str]:
        for symbol in value:
            base, sep, rest = symbol.partition("/")
            if not sep or not base or not rest:
                raise ValueError(f"{symbol!r} is not a ccxt symbol like 'BTC/USDT'")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the YAML file being loaded, then defaults."""
        return (init_settings, env_settings, _YamlSource(settings_cls))


_yaml_data: ContextVar[dict[str, Any] | None] = ContextVar("_yaml_data", default=None)


class _YamlSource(PydanticBaseSettingsSource):
    """Feeds the YAML document being loaded by :func:`load_settings`."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        data = _yaml_data.get() or {}
        return data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_yaml_data.get() or {})


@contextmanager
def _yaml_context(data: dict[str, Any]) -> Iterator[None]:
    token = _yaml_data.set(data)
    try:
        yield
    finally:
        _yaml_data.reset(token)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data


def format_validation_error(exc: ValidationError, source: str) -> str:
    """Turn a pydantic error into one line per field: ``source: a.b: reason``."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        lines.append(f"{source}: {where}: {reason}")
    return "\n".join(lines)


def load_settings(path: str | Path | None = None) -> Settings:
    """Load settings from an optional YAML file plus the environment.

    Raises :class:`ConfigError` naming each bad field and the reason.
    """
    data = _read_yaml(Path(path)) if path is not None else {}
    source = str(path) if path is not None else "environment"
    try:
        with _yaml_context(data):
            return Settings()
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def masked_dump(settings: Settings) -> dict[str, Any]:
    """Settings as plain data with every secret replaced by ``'***'`` (or '' when unset)."""

    def mask(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "***" if value.get_secret_value() else ""
        if isinstance(value, BaseModel):
            return {k: mask(getattr(value, k)) for k in type(value).model_fields}
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, StrEnum):
            return value.value
        return value

    result = mask(settings)
    assert isinstance(result, dict)
    return result
