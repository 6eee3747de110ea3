"""The generic look-ahead checker (DESIGN.md principle 2).

For every registered entry: compute over the full input, then truncate the input at seeded
random cut points (some inside the warm-up), recompute over each prefix and require every
value before the cut to be unchanged: equal, both NaN, or within ``rtol`` relative (for
recursive float computations). The first differing index is reported per output. An entry
that raises, returns misaligned outputs or writes to its input fails too.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mftbot.analysis.registry import REGISTRY, CandleArrays, Entry, Registry, qualified_name

DEFAULT_CUTS = 20
DEFAULT_RTOL = 1e-9
_MINUTE_NS = 60_000_000_000


@dataclass(frozen=True, slots=True)
class Violation:
    """A value before ``cut`` that changed when the input was truncated at ``cut``."""

    output: str
    cut: int
    index: int
    full: float
    truncated: float
    failed_cuts: int

    def __str__(self) -> str:
        return (
            f"{self.output}: cut at {self.cut} changes index {self.index} "
            f"({self.full!r} -> {self.truncated!r}); {self.failed_cuts} cut(s) fail"
        )


@dataclass(frozen=True, slots=True)
class EntryResult:
    """The verdict for one registered entry."""

    name: str
    kind: str
    outputs: tuple[str, ...]
    cuts: tuple[int, ...]
    violations: tuple[Violation, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when no output looked ahead and nothing failed."""
        return not self.violations and self.error is None


@dataclass(frozen=True, slots=True)
class LookaheadReport:
    """Results of one run of the checker over a set of entries."""

    bars: int
    seed: int
    rtol: float
    results: tuple[EntryResult, ...]

    @property
    def ok(self) -> bool:
        """True when every entry passed."""
        return all(r.ok for r in self.results)

    @property
    def violations(self) -> list[Violation]:
        """Every violation, entry by entry."""
        return [v for r in self.results for v in r.violations]

    @property
    def failed(self) -> list[EntryResult]:
        """Entries that looked ahead or failed to compute."""
        return [r for r in self.results if not r.ok]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "ok": self.ok,
            "bars": self.bars,
            "seed": self.seed,
            "rtol": self.rtol,
            "entries": len(self.results),
            "outputs": sum(len(r.outputs) for r in self.results),
            "violations": [
                {
                    "output": v.output,
                    "cut": v.cut,
                    "index": v.index,
                    "full": _json_float(v.full),
                    "truncated": _json_float(v.truncated),
                    "failed_cuts": v.failed_cuts,
                }
                for v in self.violations
            ],
            "errors": {r.name: r.error for r in self.results if r.error is not None},
            "results": [
                {"name": r.name, "kind": r.kind, "ok": r.ok, "outputs": list(r.outputs)}
                for r in self.results
            ],
        }


def _json_float(value: float) -> float | str:
    return value if np.isfinite(value) else str(value)


def cut_points(bars: int, warmup: int, count: int, rng: np.random.Generator) -> list[int]:
    """Up to ``count`` distinct cuts in ``1..bars-1``: a quarter (at least one) in
    ``1..warmup+1`` (inside the warm-up and right after it), the rest after the warm-up."""
    if bars < 2 or count < 1:
        return []
    early_top = min(warmup + 1, bars - 1)
    n_early = min(max(1, count // 4), early_top)
    early = rng.choice(np.arange(1, early_top + 1), size=n_early, replace=False)
    late_pool = np.arange(early_top + 1, bars)
    n_late = min(count - n_early, late_pool.size)
    late = rng.choice(late_pool, size=n_late, replace=False) if n_late > 0 else late_pool[:0]
    return sorted({int(c) for c in np.concatenate((early, late))})


def first_mismatch(full: npt.NDArray[Any], truncated: npt.NDArray[Any], rtol: float) -> int:
    """Index of the first position where the arrays differ (beyond ``rtol``), or -1."""
    if full.shape != truncated.shape:
        raise ValueError(f"shapes differ: {full.shape} vs {truncated.shape}")
    if not (np.issubdtype(full.dtype, np.number) and np.issubdtype(truncated.dtype, np.number)):
        same = full == truncated
    elif np.issubdtype(full.dtype, np.inexact) or np.issubdtype(truncated.dtype, np.inexact):
        a = full.astype(np.float64)
        b = truncated.astype(np.float64)
        with np.errstate(invalid="ignore"):
            close = np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b))
        same = (a == b) | (np.isnan(a) & np.isnan(b)) | close
    else:
        same = full == truncated
    bad = np.flatnonzero(~same)
    return int(bad[0]) if bad.size else -1


def _value(arr: npt.NDArray[Any], index: int) -> float:
    try:
        return float(arr[index])
    except (TypeError, ValueError):
        return float("nan")


def _entry_seed(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def check_entry(
    entry: Entry,
    candles: CandleArrays,
    *,
    cuts: int = DEFAULT_CUTS,
    seed: int = 0,
    rtol: float = DEFAULT_RTOL,
) -> EntryResult:
    """Check one entry over ``candles`` at ``cuts`` seeded cut points."""
    points = cut_points(len(candles), entry.warmup, cuts, _entry_seed(seed, entry.name))

    def result(violations: Sequence[Violation] = (), error: str | None = None) -> EntryResult:
        return EntryResult(
            entry.name,
            entry.kind.value,
            entry.qualified_outputs,
            tuple(points),
            tuple(violations),
            error,
        )

    try:
        full = entry.run(candles)
    except Exception as exc:
        return result(error=f"full input: {type(exc).__name__}: {exc}")
    first: dict[str, Violation] = {}
    failed: dict[str, int] = {}
    for cut in points:
        try:
            part = entry.run(candles.head(cut))
        except Exception as exc:
            return result(tuple(first.values()), f"cut at {cut}: {type(exc).__name__}: {exc}")
        for out in entry.outputs:
            index = first_mismatch(full[out][:cut], part[out], rtol)
            if index < 0:
                continue
            name = qualified_name(entry.name, out)
            failed[name] = failed.get(name, 0) + 1
            if name not in first:
                first[name] = Violation(
                    name, cut, index, _value(full[out], index), _value(part[out], index), 0
                )
    violations = [
        Violation(v.output, v.cut, v.index, v.full, v.truncated, failed[v.output])
        for v in first.values()
    ]
    return result(violations)


def check_lookahead(
    candles: CandleArrays,
    *,
    registry: Registry | None = None,
    names: Iterable[str] | None = None,
    cuts: int = DEFAULT_CUTS,
    seed: int = 0,
    rtol: float = DEFAULT_RTOL,
    on_entry: Callable[[EntryResult], None] | None = None,
) -> LookaheadReport:
    """Check every registered entry (or those in ``names``) over ``candles``.

    ``on_entry`` is called after each entry (e.g. to advance a progress bar).
    """
    reg = REGISTRY if registry is None else registry
    entries = reg.entries() if names is None else [reg.get(n) for n in names]
    results = []
    for entry in entries:
        res = check_entry(entry, candles, cuts=cuts, seed=seed, rtol=rtol)
        results.append(res)
        if on_entry is not None:
            on_entry(res)
    return LookaheadReport(bars=len(candles), seed=seed, rtol=rtol, results=tuple(results))


def synthetic_candles(bars: int = 5000, seed: int = 0, start_ns: int = 0) -> CandleArrays:
    """Seeded random-walk 1-minute candles, for machines without recorded data.

    Log-normal closes (about 0.1 % per bar), opens at the previous close, wicks beyond both,
    log-normal volume with about 2 % zero-volume bars; ``start_ns`` is the first open time.
    """
    if bars < 1:
        raise ValueError(f"bars must be >= 1, got {bars}")
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, bars)))
    open_ = np.concatenate(([100.0], close[:-1]))
    body_top = np.maximum(open_, close)
    body_bottom = np.minimum(open_, close)
    high = body_top * np.exp(np.abs(rng.normal(0.0, 5e-4, bars)))
    low = body_bottom * np.exp(-np.abs(rng.normal(0.0, 5e-4, bars)))
    volume = rng.lognormal(0.0, 1.0, bars) * (rng.random(bars) > 0.02)
    return CandleArrays.from_arrays(
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        time_ns=start_ns + np.arange(bars, dtype=np.int64) * _MINUTE_NS,
    )
