"""The minimal Strategy protocol, the signal arrays it returns, and the strategy registry.

A strategy is vectorised: :meth:`Strategy.populate` maps a window of candles
(:class:`CandleWindow`, aligned numpy arrays) to :class:`Signals`, one row per bar. In a
backtest the engine calls it once over the whole history and reads row *t*; live it calls it
on the rolling window of the last :attr:`Strategy.lookback` bars and reads the last row.
DESIGN.md principle 2 (no look-ahead) makes both the same; every registered strategy is also
registered into :data:`mftbot.analysis.registry.REGISTRY` (kind ``strategy``) so the generic
look-ahead checker covers it.

Rows before :attr:`Strategy.warmup` never signal. A strategy never asks whether it runs in a
backtest, paper or live session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError

from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind, RegistryError
from mftbot.core.errors import ConfigError, MftbotError

CandleWindow: TypeAlias = CandleArrays
"""A window of candles: float64 ``open high low close volume`` and int64 ``time_ns`` (bar
open, ns since the epoch), all aligned and read-only."""

BoolArray: TypeAlias = npt.NDArray[np.bool_]
FloatArray: TypeAlias = npt.NDArray[np.float64]
Int8Array: TypeAlias = npt.NDArray[np.int8]

ENTRY_LONG = 1
"""Flag bit: enter (or hold) a long position at this bar."""
EXIT_LONG = 2
"""Flag bit: leave a long position at this bar."""
ENTRY_SHORT = 4
"""Flag bit: enter a short position at this bar."""
EXIT_SHORT = 8
"""Flag bit: leave a short position at this bar."""

STRATEGY_KINDS = ("candle", "orderbook", "composite")
"""What a strategy reads: candles only; candles plus the book columns of
``window.extra`` (order-book strategies); or other strategies' signals (consensus, MTF)."""

SIGNAL_OUTPUTS = ("entry_long", "exit_long", "entry_short", "exit_short", "confidence")
"""The outputs every strategy has in the analysis registry (absent ones: False / NaN)."""


class StrategyError(MftbotError, ValueError):
    """A strategy is unknown, misconfigured, or returned malformed signals."""


class StrategyConfigError(StrategyError, ConfigError):
    """A strategy's parameters are invalid."""


class StrategyConfig(BaseModel):
    """Base of every strategy's typed, frozen parameter set (unknown fields are refused)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _bool_array(name: str, value: object, n: int | None) -> BoolArray:
    if not isinstance(value, np.ndarray) or value.dtype != np.bool_ or value.ndim != 1:
        raise StrategyError(f"Signals.{name} must be a 1-D bool numpy array")
    if n is not None and value.shape[0] != n:
        raise StrategyError(f"Signals.{name} has {value.shape[0]} rows, entry_long has {n}")
    return value


@dataclass(frozen=True, slots=True)
class Signals:
    """What a strategy says about each bar of a window.

    ``entry_long`` / ``exit_long`` are required; ``entry_short`` / ``exit_short`` are ``None``
    for a long-only strategy. ``confidence`` (optional) is in ``[0, 1]`` where a signal fires
    and may be NaN elsewhere.
    """

    entry_long: BoolArray
    exit_long: BoolArray
    entry_short: BoolArray | None = None
    exit_short: BoolArray | None = None
    confidence: FloatArray | None = None

    def __post_init__(self) -> None:
        n = _bool_array("entry_long", self.entry_long, None).shape[0]
        _bool_array("exit_long", self.exit_long, n)
        if (self.entry_short is None) != (self.exit_short is None):
            raise StrategyError("Signals: give both entry_short and exit_short, or neither")
        if self.entry_short is not None:
            _bool_array("entry_short", self.entry_short, n)
            _bool_array("exit_short", self.exit_short, n)
        conf = self.confidence
        if conf is not None:
            if not isinstance(conf, np.ndarray) or conf.dtype != np.float64 or conf.shape != (n,):
                raise StrategyError(f"Signals.confidence must be a float64 array of {n} rows")
            # NaN compares False, so NaN rows (no signal) pass without a mask of their own.
            bad = (conf < 0.0) | (conf > 1.0)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise StrategyError(f"Signals.confidence[{row}] = {conf[row]} is outside [0, 1]")

    @classmethod
    def of(
        cls,
        entry_long: BoolArray,
        exit_long: BoolArray,
        entry_short: BoolArray,
        exit_short: BoolArray,
        confidence: FloatArray | None,
        *,
        short: bool,
    ) -> Signals:
        """Signals of a strategy that computes both sides: the short side kept only when
        ``short`` is on (a long-only strategy reports ``None`` for it)."""
        if not short:
            return cls(entry_long=entry_long, exit_long=exit_long, confidence=confidence)
        return cls(entry_long, exit_long, entry_short, exit_short, confidence)

    def __len__(self) -> int:
        return int(self.entry_long.shape[0])

    @property
    def has_short(self) -> bool:
        """Whether the strategy emits short signals at all."""
        return self.entry_short is not None

    def flags(self) -> Int8Array:
        """One int8 per bar: the OR of :data:`ENTRY_LONG`, :data:`EXIT_LONG`, … that fire."""
        out = self.entry_long.astype(np.int8) * np.int8(ENTRY_LONG)
        out |= self.exit_long.astype(np.int8) * np.int8(EXIT_LONG)
        if self.entry_short is not None and self.exit_short is not None:
            out |= self.entry_short.astype(np.int8) * np.int8(ENTRY_SHORT)
            out |= self.exit_short.astype(np.int8) * np.int8(EXIT_SHORT)
        return out

    def flag_at(self, row: int) -> int:
        """The flags of one row (negative rows count from the end)."""
        flags = ENTRY_LONG if self.entry_long[row] else 0
        if self.exit_long[row]:
            flags |= EXIT_LONG
        if self.entry_short is not None and self.exit_short is not None:
            if self.entry_short[row]:
                flags |= ENTRY_SHORT
            if self.exit_short[row]:
                flags |= EXIT_SHORT
        return flags

    def direction(self) -> Int8Array:
        """+1 where a long entry fires, −1 where a short entry fires, 0 elsewhere."""
        out = self.entry_long.astype(np.int8)
        if self.entry_short is not None:
            out = out - self.entry_short.astype(np.int8)
        return out

    def outputs(self) -> dict[str, npt.NDArray[Any]]:
        """The registry outputs (:data:`SIGNAL_OUTPUTS`), absent ones filled False / NaN."""
        n = len(self)
        false = np.zeros(n, dtype=np.bool_)
        return {
            "entry_long": self.entry_long,
            "exit_long": self.exit_long,
            "entry_short": false if self.entry_short is None else self.entry_short,
            "exit_short": false if self.exit_short is None else self.exit_short,
            "confidence": (np.full(n, np.nan) if self.confidence is None else self.confidence),
        }


@runtime_checkable
class Strategy(Protocol):
    """What the engine needs from a strategy."""

    @property
    def name(self) -> str:
        """Registry name (``^[a-z][a-z0-9_]*$``)."""
        ...

    @property
    def config(self) -> StrategyConfig:
        """The frozen parameters this instance runs with."""
        ...

    @property
    def warmup(self) -> int:
        """Rows ``0..warmup-1`` of any window never signal."""
        ...

    @property
    def lookback(self) -> int:
        """Bars a rolling window must hold for its last row to equal the full-history row."""
        ...

    def populate(self, window: CandleWindow) -> Signals:
        """Signals for every bar of ``window`` (causal: row *t* reads bars ``≤ t`` only)."""
        ...


C = TypeVar("C", bound=StrategyConfig)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """A registered strategy: how to build it and what its parameters are."""

    name: str
    factory: Callable[[Any], Strategy]
    config_type: type[StrategyConfig]
    description: str = ""
    kind: str = "candle"

    def config(self, params: StrategyConfig | Mapping[str, Any] | None = None) -> StrategyConfig:
        """Validate ``params`` (a mapping, a config of the right type, or ``None``: defaults)."""
        if isinstance(params, StrategyConfig):
            if not isinstance(params, self.config_type):
                raise StrategyConfigError(
                    f"strategy {self.name!r} takes {self.config_type.__name__}, "
                    f"got {type(params).__name__}"
                )
            return params
        try:
            return self.config_type.model_validate(dict(params or {}))
        except ValidationError as exc:
            raise StrategyConfigError(f"strategy {self.name!r}: invalid parameters: {exc}") from exc

    def build(self, params: StrategyConfig | Mapping[str, Any] | None = None) -> Strategy:
        """A strategy instance with validated parameters."""
        strategy = self.factory(self.config(params))
        if strategy.name != self.name:
            raise StrategyError(f"factory of {self.name!r} built a {strategy.name!r} strategy")
        return strategy


_STRATEGIES: dict[str, StrategySpec] = {}


def register_strategy(
    name: str,
    factory: Callable[[C], Strategy],
    config_type: type[C],
    *,
    description: str = "",
    kind: str = "candle",
    lookahead: bool = True,
) -> StrategySpec:
    """Register a strategy under ``name`` and into the analysis registry.

    ``kind`` is one of :data:`STRATEGY_KINDS`. ``lookahead=False`` skips the candle-only
    look-ahead registration (a strategy that needs inputs plain candles lack registers its
    own check).

    Registering the same factory again (a module reload) replaces the entry; another factory
    under a taken name raises :class:`StrategyError`.
    """
    current = _STRATEGIES.get(name)
    if current is not None and current.factory is not factory:
        same_code = getattr(current.factory, "__qualname__", None) == getattr(
            factory, "__qualname__", object()
        )
        if not same_code:
            raise StrategyError(f"strategy {name!r} is already registered")
    if kind not in STRATEGY_KINDS:
        raise StrategyError(f"strategy {name!r}: kind {kind!r} is not one of {STRATEGY_KINDS}")
    spec = StrategySpec(name, factory, config_type, description, kind)
    default = spec.build()
    if lookahead:
        _register_lookahead(spec, default)
    _STRATEGIES[name] = spec
    return spec


def _register_lookahead(spec: StrategySpec, default: Strategy) -> None:
    existing = REGISTRY.entries()
    clash = [e for e in existing if e.name == spec.name and e.kind is not Kind.STRATEGY]
    if clash:
        raise StrategyError(f"{spec.name!r} is already registered as a {clash[0].kind.value}")

    def compute(candles: CandleArrays) -> Mapping[str, npt.NDArray[Any]]:
        return default.populate(candles).outputs()

    try:
        REGISTRY.register(
            spec.name,
            compute,
            outputs=SIGNAL_OUTPUTS,
            kind=Kind.STRATEGY,
            warmup=default.warmup,
            description=spec.description,
            params=default.config.model_dump(),
            replace=True,
        )
    except RegistryError as exc:
        raise StrategyError(f"cannot register {spec.name!r} for look-ahead checks: {exc}") from exc


def unregister_strategy(name: str) -> StrategySpec:
    """Remove ``name`` from the strategy registry and the analysis registry."""
    spec = strategy_spec(name)
    del _STRATEGIES[name]
    if name in REGISTRY and REGISTRY.get(name).kind is Kind.STRATEGY:
        REGISTRY.unregister(name)
    return spec


def strategy_spec(name: str) -> StrategySpec:
    """The registered spec of ``name``."""
    try:
        return _STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(_STRATEGIES)) or "none"
        raise StrategyError(f"unknown strategy {name!r}; registered: {known}") from None


def get_strategy(name: str, params: StrategyConfig | Mapping[str, Any] | None = None) -> Strategy:
    """Build the strategy ``name`` with ``params`` (defaults when ``None``)."""
    return strategy_spec(name).build(params)


def list_strategies() -> list[str]:
    """Registered strategy names, sorted."""
    return sorted(_STRATEGIES)
