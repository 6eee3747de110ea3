"""A registry of named causal computations over candles.

An :class:`Entry` maps a :class:`CandleArrays` (open, high, low, close, volume, open time in
ns, plus optional extra aligned columns) to one or more named output arrays aligned to the
input, with metadata: its kind (indicator, feature, strategy), its warm-up and parameters.
Indicators, features and strategies register themselves into :data:`REGISTRY` when their
module is imported; the look-ahead checker (:mod:`mftbot.analysis.lookahead`) runs over
whatever is registered. This module knows nothing about any particular computation.

An output is addressed by its qualified name: ``"<entry>.<output>"``, or just ``"<entry>"``
for the output named like its entry (``"macd"``, ``"macd.signal"``, ``"rsi"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from mftbot.core.errors import MftbotError

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Outputs: TypeAlias = Mapping[str, npt.NDArray[Any]]
ComputeFn: TypeAlias = Callable[["CandleArrays"], Outputs]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


class RegistryError(MftbotError):
    """An entry is malformed, unknown, duplicated, or returned misaligned outputs."""


class Kind(StrEnum):
    """What a registered computation is."""

    INDICATOR = "indicator"
    FEATURE = "feature"
    STRATEGY = "strategy"


def _frozen(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    view = arr.view()
    view.setflags(write=False)
    return view


@dataclass(frozen=True, slots=True)
class CandleArrays:
    """Aligned candle columns: float64 prices and volume, ``time_ns`` (bar open, int64 ns).

    ``extra`` holds further aligned columns (e.g. book features) that entries may read; they
    are truncated together with the candles. Arrays are stored read-only, so an entry cannot
    alter its input.
    """

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    time_ns: IntArray
    extra: Mapping[str, npt.NDArray[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.close.shape[0] if self.close.ndim == 1 else -1
        for name in (*_PRICE_COLUMNS, "time_ns"):
            arr = getattr(self, name)
            want = np.int64 if name == "time_ns" else np.float64
            if not isinstance(arr, np.ndarray) or arr.dtype != want or arr.ndim != 1:
                raise RegistryError(f"CandleArrays.{name} must be a 1-D {np.dtype(want)} array")
            if arr.shape[0] != n:
                raise RegistryError(f"CandleArrays.{name} has {arr.shape[0]} rows, close has {n}")
            object.__setattr__(self, name, _frozen(arr))
        extra = {}
        for name, arr in self.extra.items():
            if not isinstance(arr, np.ndarray) or arr.shape[:1] != (n,):
                raise RegistryError(f"CandleArrays.extra[{name!r}] is not aligned ({n} rows)")
            extra[name] = _frozen(arr)
        object.__setattr__(self, "extra", MappingProxyType(extra))

    @classmethod
    def from_arrays(
        cls,
        *,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
        time_ns: npt.ArrayLike,
        extra: Mapping[str, npt.ArrayLike] | None = None,
    ) -> CandleArrays:
        """Build from array-likes, converting prices to float64 and ``time_ns`` to int64 ns
        (datetime64 accepted)."""
        times = np.asarray(time_ns)
        if np.issubdtype(times.dtype, np.datetime64):
            times = times.astype("datetime64[ns]").view(np.int64)
        elif not np.issubdtype(times.dtype, np.integer):
            raise RegistryError(f"time_ns must be integers or datetime64, got {times.dtype}")
        return cls(
            open=np.ascontiguousarray(open, dtype=np.float64),
            high=np.ascontiguousarray(high, dtype=np.float64),
            low=np.ascontiguousarray(low, dtype=np.float64),
            close=np.ascontiguousarray(close, dtype=np.float64),
            volume=np.ascontiguousarray(volume, dtype=np.float64),
            time_ns=np.ascontiguousarray(times, dtype=np.int64),
            extra={name: np.asarray(arr) for name, arr in (extra or {}).items()},
        )

    @classmethod
    def from_frame(cls, frame: Any) -> CandleArrays:
        """Build from a pandas DataFrame with ``open, high, low, close, volume`` and the open
        time in a ``time_ns`` (int64 ns) or ``date``/``time`` (datetime) column, or in a
        ``DatetimeIndex`` (as :func:`mftbot.data.candles.read_candles` returns)."""
        missing = [c for c in _PRICE_COLUMNS if c not in frame.columns]
        if missing:
            raise RegistryError(f"candle frame lacks columns {missing}")
        if "time_ns" in frame.columns:
            times = frame["time_ns"].to_numpy(dtype=np.int64)
        else:
            column = next((c for c in ("date", "time") if c in frame.columns), None)
            stamps = pd.Series(frame.index if column is None else frame[column])
            if not pd.api.types.is_datetime64_any_dtype(stamps):
                raise RegistryError("candle frame needs a time_ns, date or time column")
            if stamps.dt.tz is not None:
                stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
            times = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)
        return cls.from_arrays(
            **{c: frame[c].to_numpy(dtype=np.float64) for c in _PRICE_COLUMNS},
            time_ns=times,
        )

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def head(self, stop: int) -> CandleArrays:
        """The first ``stop`` bars (views, no copy)."""
        if not 0 <= stop <= len(self):
            raise RegistryError(f"head({stop}) outside 0..{len(self)}")
        return CandleArrays(
            open=self.open[:stop],
            high=self.high[:stop],
            low=self.low[:stop],
            close=self.close[:stop],
            volume=self.volume[:stop],
            time_ns=self.time_ns[:stop],
            extra={name: arr[:stop] for name, arr in self.extra.items()},
        )

    def tail(self, count: int) -> CandleArrays:
        """The last ``count`` bars (views, no copy)."""
        start = max(len(self) - count, 0)
        return CandleArrays(
            open=self.open[start:],
            high=self.high[start:],
            low=self.low[start:],
            close=self.close[start:],
            volume=self.volume[start:],
            time_ns=self.time_ns[start:],
            extra={name: arr[start:] for name, arr in self.extra.items()},
        )


def qualified_name(entry: str, output: str) -> str:
    """``"entry.output"``, or ``"entry"`` for the output named like the entry."""
    return entry if output == entry else f"{entry}.{output}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One registered computation and its metadata."""

    name: str
    compute: ComputeFn
    outputs: tuple[str, ...]
    kind: Kind
    warmup: int
    description: str = ""
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise RegistryError(f"entry name {self.name!r} must match {_NAME.pattern}")
        if not self.outputs:
            raise RegistryError(f"entry {self.name!r} declares no outputs")
        for out in self.outputs:
            if not _NAME.match(out):
                raise RegistryError(f"{self.name}: output name {out!r} must match {_NAME.pattern}")
        if len(set(self.outputs)) != len(self.outputs):
            raise RegistryError(f"{self.name}: duplicate output names {self.outputs}")
        if self.warmup < 0:
            raise RegistryError(f"{self.name}: warm-up must be >= 0, got {self.warmup}")
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def qualified_outputs(self) -> tuple[str, ...]:
        """Qualified names of the outputs, in declaration order."""
        return tuple(qualified_name(self.name, out) for out in self.outputs)

    def run(self, candles: CandleArrays) -> dict[str, npt.NDArray[Any]]:
        """Compute over ``candles`` and check the outputs: the declared names, each a 1-D
        array as long as the input. Keys of the result are output names."""
        result = self.compute(candles)
        if set(result) != set(self.outputs):
            raise RegistryError(
                f"{self.name}: returned outputs {sorted(result)}, declared {list(self.outputs)}"
            )
        checked: dict[str, npt.NDArray[Any]] = {}
        for out in self.outputs:
            arr = result[out]
            if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.shape[0] != len(candles):
                shape = getattr(arr, "shape", type(arr).__name__)
                raise RegistryError(
                    f"{qualified_name(self.name, out)}: output {shape} is not aligned to "
                    f"{len(candles)} input bars"
                )
            checked[out] = arr
        return checked


class Registry:
    """Named computations, kept in registration order."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def add(self, entry: Entry, *, replace: bool = False) -> Entry:
        """Register ``entry``; a taken name raises unless ``replace``."""
        if entry.name in self._entries and not replace:
            raise RegistryError(f"{entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def register(
        self,
        name: str,
        compute: ComputeFn,
        *,
        outputs: tuple[str, ...] | None = None,
        kind: Kind = Kind.INDICATOR,
        warmup: int = 0,
        description: str = "",
        params: Mapping[str, object] | None = None,
        replace: bool = False,
    ) -> Entry:
        """Register ``compute`` under ``name``; ``outputs`` defaults to ``(name,)``."""
        entry = Entry(
            name=name,
            compute=compute,
            outputs=outputs or (name,),
            kind=kind,
            warmup=warmup,
            description=description,
            params=params or {},
        )
        return self.add(entry, replace=replace)

    def define(
        self,
        name: str,
        *,
        outputs: tuple[str, ...] | None = None,
        kind: Kind = Kind.INDICATOR,
        warmup: int = 0,
        description: str = "",
        params: Mapping[str, object] | None = None,
    ) -> Callable[[ComputeFn], ComputeFn]:
        """Decorator form of :meth:`register`; returns the function unchanged."""

        def decorate(compute: ComputeFn) -> ComputeFn:
            self.register(
                name,
                compute,
                outputs=outputs,
                kind=kind,
                warmup=warmup,
                description=description or (compute.__doc__ or "").strip().split("\n")[0],
                params=params,
            )
            return compute

        return decorate

    def unregister(self, name: str) -> Entry:
        """Remove and return the entry ``name``."""
        try:
            return self._entries.pop(name)
        except KeyError:
            raise RegistryError(f"{name!r} is not registered") from None

    def get(self, name: str) -> Entry:
        """The entry ``name``."""
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(f"{name!r} is not registered") from None

    __getitem__ = get

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def entries(self, kind: Kind | None = None) -> list[Entry]:
        """Entries in registration order, optionally of one kind."""
        return [e for e in self._entries.values() if kind is None or e.kind == kind]

    def names(self, kind: Kind | None = None) -> list[str]:
        """Entry names in registration order, optionally of one kind."""
        return [e.name for e in self.entries(kind)]

    def output_names(self, kind: Kind | None = None) -> list[str]:
        """Qualified output names of every entry, optionally of one kind."""
        return [q for e in self.entries(kind) for q in e.qualified_outputs]

    def compute(self, name: str, candles: CandleArrays) -> dict[str, npt.NDArray[Any]]:
        """Run the entry ``name`` over ``candles``."""
        return self.get(name).run(candles)

    def compute_output(self, qualified: str, candles: CandleArrays) -> npt.NDArray[Any]:
        """One output by its qualified name (``"macd.signal"``, ``"rsi"``)."""
        entry_name, _, output = qualified.partition(".")
        entry = self.get(entry_name)
        output = output or entry_name
        if output not in entry.outputs:
            raise RegistryError(f"{qualified!r}: {entry_name} has outputs {list(entry.outputs)}")
        return entry.run(candles)[output]

    @contextmanager
    def scoped(self) -> Iterator[Registry]:
        """Restore the registry's entries on exit, whatever was added or removed inside."""
        saved = dict(self._entries)
        try:
            yield self
        finally:
            self._entries = saved


REGISTRY = Registry()
"""The process-wide registry every indicator, feature and strategy registers into."""
