"""What a config-driven backtest runs: :class:`BacktestConfig`, read from YAML.

``mftbot backtest --config FILE`` takes either of two documents:

* a **run document** (it has a ``strategies`` list; example ``config/backtest-run.yaml``):
  strategies with parameters, symbols, timeframes, the period, fee, fill rule, engine mode,
  slippage preset, initial balance, the risk engine, where the candles come from and where
  results go;
* a **core settings document** (``config/backtest.yaml``, the :class:`~mftbot.core.config.Settings`
  schema, ``mode: backtest``): loaded with :func:`~mftbot.core.config.load_settings` (so
  ``MFTBOT_*`` variables apply) and run as ``sma_cross`` on its symbols at
  ``backtest.timeframe``, with its fee, balance, bot id, risk settings and database URL.

Every (strategy, symbol, timeframe) combination is one *run*, an independent long-only spot
account holding an equal share of ``initial_balance``; the portfolio is their sum.

Every run goes through the rule-based risk engine built from the ``risk`` section
(:meth:`BacktestConfig.risk_config`): the core settings' risk fields (``risk_per_trade``,
``max_leverage``, ``max_open_positions``, ``daily_loss_limit``, ``max_drawdown``,
``max_price_deviation``, ``kill_switch_file``) and any :class:`~mftbot.risk.config.RiskConfig`
section (``checks``, ``sizing``, ``adapters``, ``portfolio``, ``limits``, ``kill_switch``,
``stops``, ``markets``) as overrides on top of them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mftbot.core.config import (
    RiskSettings,
    Settings,
    TradingMode,
    format_validation_error,
    load_settings,
)
from mftbot.core.errors import ConfigError, DataError
from mftbot.data.timeframes import parse_timeframe
from mftbot.risk.config import RiskConfig

_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,47}$")
_BOT_ID = r"^[A-Za-z0-9]{1,12}$"


class BacktestConfigError(ConfigError):
    """A backtest configuration is invalid."""


class DataSource(StrEnum):
    """Where a run's candles come from."""

    AUTO = "auto"
    """``folder`` in the recorded-data folder when it is found, else ``synthetic``."""
    FILES = "files"
    """One file per symbol (``data.files``)."""
    FOLDER = "folder"
    """freqtrade-named files (``BTC_USDT-5m.feather``) in ``data.folder``."""
    CATALOG = "catalog"
    """The Parquet catalog at ``data.catalog_dir``."""
    SYNTHETIC = "synthetic"
    """The seeded synthetic market (no recordings needed)."""


class SlippageChoice(StrEnum):
    """Candle slippage preset (``none``: exact bar prices; a preset: the simulated venue's
    candle slippage model, in step mode)."""

    NONE = "none"
    CONSERVATIVE = "conservative"
    REALISTIC = "realistic"
    OPTIMISTIC = "optimistic"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StrategyEntry(_Model):
    """One strategy with its parameters; ``label`` tells two entries of one strategy apart."""

    name: str = Field(description="Registered strategy name (mftbot.strategies).")
    params: dict[str, Any] = Field(default_factory=dict, description="Strategy parameters.")
    label: str | None = Field(None, description="Name of this entry in results (default: name).")

    @field_validator("label")
    @classmethod
    def _label_ok(cls, value: str | None) -> str | None:
        if value is not None and not _LABEL.match(value):
            raise ValueError(f"{value!r}: a letter, then letters, digits, '_', '.', '-' (≤ 48)")
        return value

    @model_validator(mode="after")
    def _known_strategy(self) -> StrategyEntry:
        from mftbot.strategies import StrategyError, strategy_spec

        try:
            strategy_spec(self.name).config(self.params)
        except StrategyError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def key(self) -> str:
        """The label, or the strategy's name."""
        return self.label or self.name


class DataConfig(_Model):
    """Where the candles come from."""

    source: DataSource = Field(
        DataSource.AUTO, description="auto, files, folder, catalog, synthetic."
    )
    data_dir: Path | None = Field(
        None, description="Recorded-data folder (default: MFTBOT_DATA_DIR, then ../shared/data)."
    )
    folder: Path = Field(
        Path("candles_filimonov"),
        description="Folder of freqtrade candle files; relative paths are under data_dir.",
    )
    files: dict[str, Path] = Field(
        default_factory=dict,
        description="Candle file per symbol (source: files); relative to the working folder.",
    )
    catalog_dir: Path | None = Field(None, description="Parquet catalog root (source: catalog).")
    venue: str | None = Field(None, description="Catalog venue, when several hold a symbol.")
    synthetic_seed: int = Field(7, ge=0, description="Seed of the synthetic market.")
    synthetic_bars: int = Field(
        5000, ge=100, le=2_000_000, description="Synthetic bars per series (without a period)."
    )


class OutputConfig(_Model):
    """Where results go."""

    dir: Path = Field(Path("backtest-results"), description="Folder of the run's output folders.")
    database: bool = Field(True, description="Persist orders, fills, equity, signals, audit.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL (default: sqlite:///<dir>/backtest.db)."
    )
    parquet: bool = Field(True, description="Write trades, fills and equity as Parquet.")
    report: bool = Field(True, description="Write the HTML report.")
    equity_snapshot_every: str | None = Field(
        "1h", description="Equity snapshots stored per this interval (null: every bar)."
    )

    @field_validator("equity_snapshot_every")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            _timeframe(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:// and postgresql+psycopg:// URLs are supported")
        return value


def _timeframe(value: str) -> str:
    try:
        tf = parse_timeframe(value)
    except DataError as exc:
        raise ValueError(str(exc)) from None
    if tf.is_calendar:
        raise ValueError(f"{value!r}: calendar-month timeframes are not supported here")
    return tf.text


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class BacktestConfig(_Model):
    """A backtest over strategies × symbols × timeframes (see the module docstring)."""

    name: str = Field("backtest", min_length=1, max_length=64, description="Name of the run.")
    bot_id: str = Field("bt", pattern=_BOT_ID, description="Bot id in the ledger (≤ 12 alnum).")
    strategies: list[StrategyEntry] = Field(min_length=1, description="Strategies to run.")
    symbols: list[str] = Field(min_length=1, description="Spot symbols, BASE/QUOTE.")
    timeframes: list[str] = Field(min_length=1, description="Candle timeframes, e.g. [5m, 1h].")
    start: datetime | None = Field(None, description="First bar open time (UTC), inclusive.")
    end: datetime | None = Field(None, description="Last bar open time bound (UTC), exclusive.")
    initial_balance: float = Field(10_000.0, gt=0, description="Cash, split over the runs.")
    fee: float = Field(0.001, ge=0, le=0.01, description="Fee on notional per side.")
    fill: Literal["next_open", "close"] = Field("next_open", description="Fill price rule.")
    mode: Literal["fast", "step"] = Field("fast", description="fast or step engine mode.")
    slippage: SlippageChoice = Field(SlippageChoice.NONE, description="Slippage preset.")
    risk: dict[str, Any] = Field(
        default_factory=dict,
        description="Risk engine: core risk settings and/or RiskConfig sections (overrides).",
    )
    data: DataConfig = Field(default_factory=DataConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @field_validator("strategies", mode="before")
    @classmethod
    def _names_as_entries(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("symbols")
    @classmethod
    def _spot_symbols(cls, value: list[str]) -> list[str]:
        for symbol in value:
            base, sep, quote = symbol.partition("/")
            if not base or not sep or not quote or "/" in quote or ":" in quote:
                raise ValueError(f"{symbol!r} is not a spot symbol like 'BTC/USDT'")
        if len(set(value)) != len(value):
            raise ValueError("symbols repeat")
        return value

    @field_validator("timeframes", mode="before")
    @classmethod
    def _one_timeframe(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("timeframes")
    @classmethod
    def _timeframes(cls, value: list[str]) -> list[str]:
        out = [_timeframe(v) for v in value]
        if len(set(out)) != len(out):
            raise ValueError("timeframes repeat")
        return out

    @field_validator("start", "end")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)

    @model_validator(mode="after")
    def _consistent(self) -> BacktestConfig:
        keys = [s.key for s in self.strategies]
        if len(set(keys)) != len(keys):
            raise ValueError(f"strategy labels repeat ({keys}): give each entry a label")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        try:
            self.risk_config()
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if self.data.source is DataSource.FILES:
            missing = [s for s in self.symbols if s not in self.data.files]
            if missing:
                raise ValueError(f"data.files has no file for {missing}")
        if self.data.source is DataSource.CATALOG and self.data.catalog_dir is None:
            raise ValueError("data.source is catalog but data.catalog_dir is not set")
        return self

    def risk_config(self) -> RiskConfig:
        """The risk engine's config: the core risk settings in ``risk``, then its
        :class:`RiskConfig` sections as overrides (unknown keys are an error)."""
        return risk_config_of(self.risk)

    @property
    def n_runs(self) -> int:
        """Number of (strategy, symbol, timeframe) runs."""
        return len(self.strategies) * len(self.symbols) * len(self.timeframes)

    @property
    def database_url(self) -> str:
        """The ledger URL: ``output.database_url`` or SQLite in the output folder."""
        return self.output.database_url or f"sqlite:///{self.output.dir / 'backtest.db'}"

    @classmethod
    def from_settings(cls, settings: Settings) -> BacktestConfig:
        """The run a core settings document describes: ``sma_cross`` on its symbols."""
        if settings.mode is not TradingMode.BACKTEST:
            raise BacktestConfigError(
                f"the settings are for mode {settings.mode.value!r}; a backtest needs "
                "'mode: backtest' or a run document with a 'strategies' list"
            )
        bt = settings.backtest
        document = {
            "bot_id": settings.bot_id,
            "strategies": ["sma_cross"],
            "symbols": settings.symbols,
            "timeframes": [bt.timeframe],
            "initial_balance": bt.initial_balance,
            "fee": bt.fee,
            "risk": settings.risk.model_dump(mode="json"),
            "data": {"data_dir": settings.data.data_dir},
            "output": {"database_url": settings.database.url},
        }
        return parse_backtest_config(document, "settings")


def risk_config_of(section: dict[str, Any]) -> RiskConfig:
    """A run document's ``risk`` section as a :class:`RiskConfig` (see the module doc)."""
    core_keys = set(RiskSettings.model_fields)
    section_keys = set(RiskConfig.model_fields)
    unknown = sorted(set(section) - core_keys - section_keys)
    if unknown:
        raise BacktestConfigError(
            f"risk: unknown keys {unknown}; known: {sorted(core_keys)} (core settings) and "
            f"{sorted(section_keys)} (risk engine sections)"
        )
    core = {k: v for k, v in section.items() if k in core_keys}
    overrides = {k: v for k, v in section.items() if k in section_keys}
    try:
        settings = RiskSettings.model_validate(core)
    except ValidationError as exc:
        raise BacktestConfigError(format_validation_error(exc, "risk")) from exc
    return RiskConfig.from_settings(settings, overrides)


def parse_backtest_config(document: dict[str, Any], source: str = "config") -> BacktestConfig:
    """Validate a run document; errors name each bad field (``source: a.b: reason``)."""
    try:
        return BacktestConfig.model_validate(document)
    except ValidationError as exc:
        raise BacktestConfigError(format_validation_error(exc, source)) from exc


def load_backtest_config(path: str | Path) -> BacktestConfig:
    """Read a run document or a core settings document (module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise BacktestConfigError(f"{path}: no such config file")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BacktestConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise BacktestConfigError(f"{path}: the top level must be a mapping")
    if "strategies" in document:
        return parse_backtest_config(document, str(path))
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        raise BacktestConfigError(
            f"{exc}\n{path}: neither a backtest run document (no 'strategies' list) nor valid "
            "core settings"
        ) from exc
    return BacktestConfig.from_settings(settings)
