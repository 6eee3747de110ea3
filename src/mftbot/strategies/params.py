"""Strategy parameter declarations: tunable fields, search spaces, shared stop parameters.

A strategy's config declares each optimisable parameter with its default, one-line
description, validation bounds and search range in one line::

    class MyConfig(StrategyConfig):
        period: int = tunable(14, "Lookback (bars).", IntRange(5, 50), ge=2)
        mode: str = tunable("fast", "Which variant.", Choice(("fast", "slow")))

:meth:`SearchSpace.of` collects the tunable fields of a config class into a
:class:`SearchSpace`, which gives a grid (``{name: [values]}``, the shape the walk-forward
``ParamSpace`` takes), seeded random samples, or Optuna-style suggestions. The range is also
stored in the field's JSON schema (``"search"``), so ``model_json_schema()`` shows it. A
combination the config refuses (a cross-field rule such as ``fast < slow``) is for the
optimiser to skip.

:class:`AtrStops` is the mixin every built-in candle strategy's config inherits: suggested
stop-loss and take-profit as ATR multiples, turned into per-bar distances by
:func:`atr_stop_levels` (:class:`StopLevels`); a strategy exposes them as a ``stops(window)``
method (:class:`SuggestsStops`). The strategy class inherits :class:`StopsProtection`, which
turns those distances into the prices the engine hands the risk engine with each entry
(``protection(window)``: stop and take profit of an entry at the bar's close), and counts
:func:`stops_lookback` into its ``lookback`` so a rolling window gives the same prices.

:func:`settle_bars` is the number of bars a recursive (Wilder / EMA) average needs before a
value computed on a rolling window equals the full-history value to ~1e-15 relative: the part
of a strategy's ``lookback`` that its recursive indicators add.

This module imports nothing from :mod:`mftbot.strategies.base`, so ``base`` may import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar, cast, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from mftbot.analysis.indicators import atr
from mftbot.analysis.registry import CandleArrays
from mftbot.core.errors import ConfigError

FloatArray: TypeAlias = npt.NDArray[np.float64]
Scalar: TypeAlias = bool | int | float | str
T = TypeVar("T")

_SEARCH_KEY = "search"
_SETTLE_PER_PERIOD = 35
"""Periods for one Wilder average to forget its seed: e^(−35) < 1e-15."""


class SearchSpaceError(ConfigError, ValueError):
    """A search range is malformed or does not fit the parameter's default."""


@dataclass(frozen=True, slots=True)
class IntRange:
    """Integers ``low..high`` (inclusive) on a ``step`` grid, optionally log-spaced."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def __post_init__(self) -> None:
        if self.step < 1 or self.low > self.high:
            raise SearchSpaceError(f"IntRange needs low <= high and step >= 1, got {self}")
        if self.log and (self.low < 1 or self.step != 1):
            raise SearchSpaceError(f"a log IntRange needs low >= 1 and step 1, got {self}")

    def contains(self, value: object) -> bool:
        """Whether ``value`` is an int on the grid."""
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )

    def grid(self, points: int) -> list[Any]:
        """Up to ``points`` distinct grid values, both ends included."""
        span = np.geomspace if self.log else np.linspace
        raw = span(self.low, self.high, max(points, 1))
        snapped = self.low + np.round((raw - self.low) / self.step).astype(np.int64) * self.step
        return sorted({int(v) for v in np.clip(snapped, self.low, self.high)})

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn uniformly (log-uniformly when ``log``)."""
        if self.log:
            return round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return self.low + self.step * int(rng.integers(0, (self.high - self.low) // self.step + 1))

    def suggest(self, trial: Trial, name: str) -> Any:
        """Ask an Optuna-style ``trial`` for the value."""
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type": "int",
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "log": self.log,
        }


@dataclass(frozen=True, slots=True)
class FloatRange:
    """Floats in ``[low, high]``, optionally on a ``step`` grid or log-spaced."""

    low: float
    high: float
    step: float | None = None
    log: bool = False

    def __post_init__(self) -> None:
        ends = (self.low, self.high)
        if not all(math.isfinite(x) for x in ends) or self.low > self.high:
            raise SearchSpaceError(f"FloatRange needs finite low <= high, got {self}")
        if self.step is not None and not (math.isfinite(self.step) and self.step > 0):
            raise SearchSpaceError(f"FloatRange step must be > 0, got {self}")
        if self.log and (self.low <= 0 or self.step is not None):
            raise SearchSpaceError(f"a log FloatRange needs low > 0 and no step, got {self}")

    def contains(self, value: object) -> bool:
        """Whether ``value`` is a number inside the range."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok and self.low <= cast(float, value) <= self.high

    def grid(self, points: int) -> list[Any]:
        """``points`` values spread over the range (on the step grid when there is one)."""
        span = np.geomspace if self.log else np.linspace
        raw = span(self.low, self.high, max(points, 1))
        if self.step is not None:
            snapped = self.low + np.round((raw - self.low) / self.step) * self.step
            raw = np.clip(snapped, self.low, self.high)
        return sorted({round(float(v), 12) for v in raw})

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn uniformly (log-uniformly when ``log``; snapped to the step)."""
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        value = float(rng.uniform(self.low, self.high))
        if self.step is not None:
            value = self.low + round((value - self.low) / self.step) * self.step
        return float(min(max(value, self.low), self.high))

    def suggest(self, trial: Trial, name: str) -> Any:
        """Ask an Optuna-style ``trial`` for the value."""
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type": "float",
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "log": self.log,
        }


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a fixed tuple of JSON scalars."""

    options: tuple[Scalar, ...]

    def __post_init__(self) -> None:
        if not self.options or len(set(self.options)) != len(self.options):
            raise SearchSpaceError(f"Choice needs distinct options, got {self.options!r}")
        if not all(isinstance(o, bool | int | float | str) for o in self.options):
            raise SearchSpaceError(f"Choice options must be JSON scalars, got {self.options!r}")

    def contains(self, value: object) -> bool:
        """Whether ``value`` is one of the options."""
        return any(value == o and type(value) is type(o) for o in self.options)

    def grid(self, points: int) -> list[Any]:
        """Every option (``points`` does not apply)."""
        return list(self.options)

    def sample(self, rng: np.random.Generator) -> Any:
        """One option, uniformly."""
        return self.options[int(rng.integers(0, len(self.options)))]

    def suggest(self, trial: Trial, name: str) -> Any:
        """Ask an Optuna-style ``trial`` for the value."""
        return trial.suggest_categorical(name, list(self.options))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"type": "choice", "options": list(self.options)}


Dimension: TypeAlias = IntRange | FloatRange | Choice


class Trial(Protocol):
    """The part of :class:`optuna.trial.Trial` a search space uses."""

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """An integer in ``[low, high]``."""
        ...

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """A float in ``[low, high]``."""
        ...

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of ``choices``."""
        ...


def dimension_from_dict(data: Mapping[str, Any]) -> Dimension:
    """Inverse of ``Dimension.to_dict``."""
    kind = data.get("type")
    if kind == "int":
        return IntRange(int(data["low"]), int(data["high"]), int(data["step"]), bool(data["log"]))
    if kind == "float":
        step = data.get("step")
        return FloatRange(
            float(data["low"]),
            float(data["high"]),
            None if step is None else float(step),
            bool(data["log"]),
        )
    if kind == "choice":
        return Choice(tuple(data["options"]))
    raise SearchSpaceError(f"unknown search dimension type {kind!r}")


def tunable(default: T, description: str, space: Dimension, **constraints: Any) -> T:
    """A pydantic ``Field`` with ``default``, ``description``, validation ``constraints``
    (``ge=``, ``lt=``, …) and the search range ``space`` (kept in its JSON schema)."""
    if not space.contains(default):
        raise SearchSpaceError(f"default {default!r} is outside its search range {space}")
    extra: JsonDict = {_SEARCH_KEY: space.to_dict()}
    field = Field(default, description=description, json_schema_extra=extra, **constraints)
    return cast(T, field)


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """The tunable parameters of a strategy and their ranges, in declaration order."""

    dimensions: Mapping[str, Dimension]

    @classmethod
    def of(cls, config_type: type[BaseModel]) -> SearchSpace:
        """The fields of ``config_type`` declared with :func:`tunable` (may be empty)."""
        dims: dict[str, Dimension] = {}
        for name, info in config_type.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, Mapping) and isinstance(extra.get(_SEARCH_KEY), Mapping):
                dims[name] = dimension_from_dict(cast(Mapping[str, Any], extra[_SEARCH_KEY]))
        return cls(dims)

    def __len__(self) -> int:
        return len(self.dimensions)

    def __iter__(self) -> Iterator[str]:
        return iter(self.dimensions)

    def __contains__(self, name: object) -> bool:
        return name in self.dimensions

    def grid(self, points: int = 3) -> dict[str, list[Any]]:
        """``{name: values}``: ``points`` values per range, every option of a choice."""
        if points < 1:
            raise SearchSpaceError(f"points must be >= 1, got {points}")
        return {name: dim.grid(points) for name, dim in self.dimensions.items()}

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One random parameter set (the config may still refuse the combination)."""
        return {name: dim.sample(rng) for name, dim in self.dimensions.items()}

    def suggest(self, trial: Trial) -> dict[str, Any]:
        """One parameter set asked of an Optuna-style ``trial``."""
        return {name: dim.suggest(trial, name) for name, dim in self.dimensions.items()}

    def contains(self, params: Mapping[str, Any]) -> bool:
        """Whether every given parameter that is tunable lies in its range."""
        return all(dim.contains(params[n]) for n, dim in self.dimensions.items() if n in params)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """JSON form: ``{name: {"type": ..., ...}}``."""
        return {name: dim.to_dict() for name, dim in self.dimensions.items()}


def settle_bars(period: int, depth: int = 1) -> int:
    """Bars after which a Wilder/EMA average of ``period`` (``depth`` of them chained, as in
    ADX) no longer depends on where its input started, to about 1e-15 relative.

    One average forgets its seed as ``(1 − 1/period)^k ≈ e^(−k/period)``; a chain of two as
    ``(k/period) · e^(−k/period)``: 35 and 40 periods bring both below 1e-15.
    """
    if period < 1 or depth < 1:
        raise ValueError(f"period and depth must be >= 1, got {period}, {depth}")
    return (_SETTLE_PER_PERIOD + 5 * (depth - 1)) * period


# --------------------------------------------------------------------------- stops


class AtrStops(BaseModel):
    """Suggested stop-loss and take-profit, as multiples of ATR (mixin of strategy configs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stop_atr: float = tunable(
        2.0, "Suggested stop-loss distance (ATR multiples).", FloatRange(0.5, 6.0), gt=0
    )
    take_atr: float = tunable(
        3.0, "Suggested take-profit distance (ATR multiples).", FloatRange(0.5, 12.0), gt=0
    )
    stop_atr_period: int = tunable(
        14, "ATR period (bars) of the suggested stops.", IntRange(5, 50), ge=1
    )


@dataclass(frozen=True, slots=True)
class StopLevels:
    """Suggested protective exits per bar, as price distances from that bar's close.

    For a position entered at ``close[t]``: a long's stop is ``close[t] − stop_distance[t]``
    and its target ``close[t] + take_distance[t]``; a short mirrors both. NaN during the ATR
    warm-up.
    """

    stop_distance: FloatArray
    take_distance: FloatArray

    def long_levels(self, close: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(stop-loss prices, take-profit prices) of a long entered at ``close``."""
        return close - self.stop_distance, close + self.take_distance

    def short_levels(self, close: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(stop-loss prices, take-profit prices) of a short entered at ``close``."""
        return close + self.stop_distance, close - self.take_distance


@runtime_checkable
class SuggestsStops(Protocol):
    """A strategy that suggests protective exits (every built-in candle strategy does)."""

    def stops(self, window: CandleArrays) -> StopLevels:
        """Suggested stop-loss / take-profit distances for every bar of ``window``."""
        ...


def atr_stop_levels(window: CandleArrays, stops: AtrStops) -> StopLevels:
    """``stop_atr`` and ``take_atr`` times Wilder's ATR(``stop_atr_period``), per bar."""
    values = atr(window.high, window.low, window.close, stops.stop_atr_period)
    return StopLevels(stops.stop_atr * values, stops.take_atr * values)


def stops_lookback(stops: AtrStops) -> int:
    """Bars a rolling window needs for its last row's ATR stop to equal the full-history one
    (to ~1e-15 relative): the ATR's own seed plus the bars its Wilder average needs to settle."""
    return settle_bars(stops.stop_atr_period) + stops.stop_atr_period + 1


class _EntryRows(Protocol):
    """The part of a strategy's signals :class:`StopsProtection` reads."""

    @property
    def entry_short(self) -> npt.NDArray[np.bool_] | None:
        """Rows where a short entry fires (``None``: long only)."""
        ...


class _StopsAndSignals(Protocol):
    """A strategy that suggests stops (``self`` of :class:`StopsProtection`)."""

    @property
    def config(self) -> BaseModel:
        """The strategy's parameters (``short`` read when present)."""
        ...

    def stops(self, window: CandleArrays) -> StopLevels:
        """Suggested stop / take distances per bar."""
        ...

    def populate(self, window: CandleArrays) -> Any:
        """The strategy's signals (only ``entry_short`` is read)."""
        ...


class StopsProtection:
    """Mixin of a strategy with ``stops(window)``: the engine's ``protection(window)``.

    Row *t* holds the stop-loss and take-profit prices of an entry at ``close[t]``: a long's
    ``close − stop distance`` and ``close + take distance``; where a short entry fires (a
    config with ``short`` on) the mirror. NaN during the ATR warm-up and where a level would
    not be a positive price (the risk engine's own stop calculator then decides). As causal as
    the distances: row *t* reads bars ``≤ t`` only.
    """

    def protection(self: _StopsAndSignals, window: CandleArrays) -> tuple[FloatArray, FloatArray]:
        """(stop price, take-profit price) per bar."""
        levels = self.stops(window)
        close = window.close
        stop, take = levels.long_levels(close)
        if getattr(self.config, "short", False):
            shorts = cast(_EntryRows, self.populate(window)).entry_short
            if shorts is not None and shorts.any():
                short_stop, short_take = levels.short_levels(close)
                stop = np.where(shorts, short_stop, stop)
                take = np.where(shorts, short_take, take)
        with np.errstate(invalid="ignore"):
            stop = np.where(stop > 0, stop, np.nan)
            take = np.where(take > 0, take, np.nan)
        return stop, take
