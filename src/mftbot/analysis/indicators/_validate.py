"""Input validation shared by every indicator.

NaN policy (the same for every indicator in this package): leading NaNs are accepted, e.g.
the warm-up of another indicator used as input. The computation starts at the first bar
where every input is finite and the output is NaN before it. A NaN *after* that bar, or any
infinity, raises :class:`ValueError`: TA-Lib would otherwise carry it silently into every
later value.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import NoReturn, TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.analysis.indicators._jit import jit

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]


def as_series(name: str, values: npt.ArrayLike) -> FloatArray:
    """Convert ``values`` to a contiguous 1-D float64 array or raise ``ValueError``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot convert to float64 ({exc})") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def as_time_ns(name: str, values: npt.ArrayLike, *, check_order: bool = True) -> IntArray:
    """Convert timestamps (int ns since epoch, or datetime64) to a 1-D int64 array.

    With ``check_order``, timestamps that go backwards raise ``ValueError`` (callers that
    scan the times anyway pass False and check as they go).
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.datetime64):
        arr = arr.astype("datetime64[ns]").view(np.int64)
    elif not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected int64 ns since epoch or datetime64, got {arr.dtype}")
    out = np.ascontiguousarray(arr, dtype=np.int64)
    if check_order and out.size > 1:
        back = np.flatnonzero(np.diff(out) < 0)
        if back.size:
            i = int(back[0]) + 1
            raise ValueError(f"{name}: timestamps go backwards at index {i}")
    return out


def check_int(name: str, value: int, minimum: int) -> int:
    """Return ``value`` as an int, raising ``ValueError`` unless it is an integer ≥ minimum."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        as_int = operator.index(value)
    except TypeError as exc:
        raise ValueError(f"{name} must be an integer, got {value!r}") from exc
    if as_int < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {as_int}")
    return as_int


def check_float(name: str, value: float, *, minimum: float = 0.0, strict: bool = True) -> float:
    """Return ``value`` as a finite float above ``minimum`` (or at least it, if not strict)."""
    as_float = float(value)
    if not math.isfinite(as_float):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if (strict and as_float <= minimum) or (not strict and as_float < minimum):
        op = ">" if strict else ">="
        raise ValueError(f"{name} must be {op} {minimum}, got {value!r}")
    return as_float


@dataclass(frozen=True, slots=True)
class Prepared:
    """Validated inputs: ``arrays`` are the suffixes from ``start``, the first all-finite bar."""

    n: int
    start: int
    arrays: tuple[FloatArray, ...]

    @property
    def empty(self) -> bool:
        """True when no bar has every input finite (the output is all NaN)."""
        return self.start >= self.n

    def pad(self, out: FloatArray) -> FloatArray:
        """Place a result computed on the suffix back at its bars, NaN before ``start``."""
        if self.start == 0:
            return out
        full = np.full(self.n, np.nan)
        full[self.start :] = out
        return full

    def nan(self) -> FloatArray:
        """An all-NaN output of the input length."""
        return np.full(self.n, np.nan)


def _first_finite(name: str, arr: FloatArray) -> int:
    if np.isinf(arr).any():
        raise ValueError(f"{name}: infinite value at index {int(np.flatnonzero(np.isinf(arr))[0])}")
    finite = np.flatnonzero(~np.isnan(arr))
    return int(finite[0]) if finite.size else arr.size


def _finite_suffix(arrays: Mapping[str, FloatArray]) -> int:
    """Index of the first bar where every array is finite; raises on a later NaN or an inf."""
    if all(np.isfinite(arr).all() for arr in arrays.values()):
        return 0
    start = max(_first_finite(name, arr) for name, arr in arrays.items())
    for name, arr in arrays.items():
        bad = np.flatnonzero(np.isnan(arr[start:]))
        if bad.size:
            raise ValueError(
                f"{name}: NaN at index {start + int(bad[0])} after the first valid bar "
                f"({start}); only leading NaNs are accepted"
            )
    return start


@jit
def invalid_hlcv(high: float, low: float, close: float, volume: float) -> bool:
    """False when the bar passes :func:`prepare`'s checks for these inputs: every value
    finite, ``high >= low``, ``volume >= 0`` (kernels that validate as they go)."""
    bad = (high - high != 0.0) | (low - low != 0.0) | (close - close != 0.0)
    return bad | (volume - volume != 0.0) | (high < low) | (volume < 0.0)


@jit
def _scan(x: FloatArray, lower: float, strict: bool) -> bool:
    """Every value finite and above ``lower`` (or equal to it unless ``strict``)."""
    bad = False
    for i in range(x.size):
        v = x[i]
        bad |= (v - v != 0.0) | (v < lower) | (strict & (v == lower))
    return not bad


@jit
def _scan_range(high: FloatArray, low: FloatArray, low_positive: bool) -> bool:
    """Both finite, ``high >= low`` everywhere, and ``low > 0`` if asked."""
    bad = False
    for i in range(high.size):
        h = high[i]
        lo = low[i]
        bad |= (h - h != 0.0) | (lo - lo != 0.0) | (h < lo) | (low_positive & (lo <= 0.0))
    return not bad


def _all_valid(arrays: Mapping[str, FloatArray], positive: Collection[str]) -> bool:
    """The fast path: one pass per array (high and low together) finds no problem."""
    paired = "high" in arrays and "low" in arrays
    if paired and "high" in positive:
        positive = {*positive, "low"}  # high >= low > 0 makes high positive too
    for name, arr in arrays.items():
        if paired and name in ("high", "low"):
            continue
        if name in positive:
            ok = _scan(arr, 0.0, True)
        elif name == "volume":
            ok = _scan(arr, 0.0, False)
        else:
            ok = _scan(arr, -np.inf, False)
        if not ok:
            return False
    return not paired or _scan_range(arrays["high"], arrays["low"], "low" in positive)


def all_valid(arrays: Mapping[str, FloatArray], positive: Collection[str] = ()) -> bool:
    """True when converted inputs (:func:`as_inputs`) pass every check of :func:`prepare`
    with no leading NaN: one compiled pass per input, no error message."""
    return _all_valid(arrays, positive)


def _raise_first(name: str, mask: npt.NDArray[np.bool_], offset: int, what: str) -> NoReturn:
    raise ValueError(f"{name}: {what} at index {offset + int(np.flatnonzero(mask)[0])}")


def as_inputs(inputs: Mapping[str, npt.ArrayLike]) -> dict[str, FloatArray]:
    """Convert named inputs with :func:`as_series` and check they share one length; the
    values are not scanned (kernels that validate as they go start from here)."""
    arrays = {name: as_series(name, values) for name, values in inputs.items()}
    lengths = {name: arr.size for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs differ in length: {lengths}")
    return arrays


def prepare(
    inputs: Mapping[str, npt.ArrayLike],
    *,
    positive: Collection[str] = (),
) -> Prepared:
    """Validate named inputs of one indicator.

    All inputs must be 1-D and of one length; NaNs are allowed only before the first bar
    where every input is finite; ``volume`` must be ≥ 0, names in ``positive`` > 0, and
    ``high`` ≥ ``low`` where both are given. The common case (all valid) costs one compiled
    pass over each input and no copies; only a failing input takes the slower path that
    locates the first bad value.
    """
    arrays = as_inputs(inputs)
    n = next(iter(arrays.values())).size
    if _all_valid(arrays, positive):
        return Prepared(n=n, start=0, arrays=tuple(arrays.values()))
    start = _finite_suffix(arrays)
    tails = {name: arr[start:] for name, arr in arrays.items()} if start else arrays
    if start < n:
        volume = tails.get("volume")
        if volume is not None and volume.min() < 0.0:
            _raise_first("volume", volume < 0.0, start, "negative volume")
        for name in positive:
            if tails[name].min() <= 0.0:
                _raise_first(name, tails[name] <= 0.0, start, "non-positive value")
        if "high" in tails and "low" in tails and np.less(tails["high"], tails["low"]).any():
            _raise_first("high", tails["high"] < tails["low"], start, "high below low")
    return Prepared(n=n, start=start, arrays=tuple(tails.values()))
