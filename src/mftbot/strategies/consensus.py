"""``consensus``: several strategies vote; adaptive weights learn whom to trust in which market.

**Votes.** Each member (a registered candle or order-book strategy) holds a *stance* per bar:
``+1`` (long) from a bar where it fires ``entry_long`` until ``hold`` bars have passed or it
fires ``exit_long``, ``−1`` likewise for shorts, else 0. A stance carries the member's
confidence at its entry bar (1 where the member gives none). A stance depends only on the last
``hold`` bars.

**Agreement** of the long side at bar *t* (the short side mirrors it):

* ``majority``: at least ``min_agree`` members long, and more long than short;
* ``weighted``: at least ``min_agree`` members long, their summed weight at least
  ``min_weight`` (weights sum to 1) and above the short side's;
* ``unanimous``: every member long.

**Signals.** A consensus entry needs a trigger: some member fires ``entry_long`` at *t*; it is
given when the long side agrees and the confidence reaches ``min_confidence``. A consensus exit
needs an exit trigger (some member fires ``exit_long`` at *t*) while the long side no longer
agrees. **Conflicts**: a bar where one member fires an entry and another an exit of the same
side. The rule: agreement decides, so the entry stands while the side agrees and the exit
otherwise; every such bar is counted (:attr:`ConsensusDiagnostics.conflicts`). Entries of both
sides cannot agree at once (each side must beat the other).

**Confidence** of a consensus entry: ``Σ w_i · c_i`` over the members whose stance agrees, with
``c_i`` the member's stance confidence and ``w_i`` its weight (``1/m`` each outside the weighted
mode): the weighted share of the members' conviction behind the signal, in ``[0, 1]``. NaN on
bars without an entry.

**Priority** (DESIGN.md §3: strategies → consensus → ML validator → signal):

1. an active manipulation pattern blocks entries first: where ``window.extra
   ["manipulation_active"]`` is present and > 0 at a bar, no entry is given there (exits pass);
   counted as ``blocked``;
2. ML validation, when a validator is given (``Consensus(config, validator=...)``, a
   :class:`SignalValidator`; none by default): it sees the surviving entries with their
   direction and confidence and may refuse some (counted as ``rejected``); it must be causal;
3. the consensus vote above;
4. a single strategy: a consensus of one member (``min_agree`` 1) gives exactly that member's
   entry and exit flags and confidence.

**Adaptive weights** (the ``weighted`` mode with ``adaptive.enabled``): every
``adaptive.reweight_every`` bars of the absolute time grid (a bar whose open time, divided by
the bar spacing and by ``reweight_every``, starts a new block; the spacing is the smallest gap
between open times), a :class:`~mftbot.strategies.performance.PerformanceTracker` replays each
member's own trades over the last ``adaptive.window`` bars (next-open fills, ``adaptive.fee``
per side; only trades closed by the re-weight bar count) and
:func:`~mftbot.strategies.weights.optimise_weights` turns their per-trade Sharpe ratios into
weights within ``[floor, cap]`` that sum to 1. With ``regime_aware``, a member is judged on its
trades entered in the current market regime (:mod:`mftbot.analysis.regime`) when it has at
least ``min_regime_trades`` of them there. The weights hold from the re-weight bar until the
next; before the first re-weight the initial weights (``weights``, or equal) apply. A re-weight
reads a fixed span of bars before it, so a rolling window of :attr:`Consensus.lookback` bars
gives the same last row as the full history; an instance remembers its recent re-weights by a
digest of that span, so a rolling window computes only the new ones.
:meth:`Consensus.diagnostics` lists the weights per re-weight time; ``backtest()`` results
carry them.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, cast, runtime_checkable

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mftbot.features.bar_book import MANIPULATION_ACTIVE
from mftbot.strategies import ichimoku as _ichimoku  # noqa: F401  (default members)
from mftbot.strategies import momentum as _momentum  # noqa: F401
from mftbot.strategies import sar_wave as _sar_wave  # noqa: F401
from mftbot.strategies import supertrend as _supertrend  # noqa: F401
from mftbot.strategies import volume_profile as _volume_profile  # noqa: F401
from mftbot.strategies import vwap as _vwap  # noqa: F401
from mftbot.strategies.base import (
    CandleWindow,
    Signals,
    Strategy,
    StrategyConfig,
    get_strategy,
    register_strategy,
    strategy_spec,
)
from mftbot.strategies.params import Choice, FloatRange, IntRange, tunable
from mftbot.strategies.performance import PerformanceTracker, regime_pad
from mftbot.strategies.weights import WeightError, WeightRule, optimise_weights

_F = TypeVar("_F", bound=Callable[..., Any])
_njit = cast(Callable[[_F], _F], numba.njit(cache=True))

BoolArray: TypeAlias = npt.NDArray[np.bool_]
FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Int8Array: TypeAlias = npt.NDArray[np.int8]

DEFAULT_MEMBERS = (
    "momentum",
    "sar_wave",
    "supertrend_follow",
    "value_area",
    "ichimoku_cloud",
    "vwap_bands",
)
"""The six candle strategies."""
MODES = ("majority", "weighted", "unanimous")
_TOL = 1e-12
REWEIGHT_MEMORY = 64
"""Re-weights remembered per instance, keyed by a digest of the bars they read: a rolling
window recomputes only the re-weights it has not seen."""


class AdaptiveConfig(BaseModel):
    """Adaptive weights of the ``weighted`` mode (see the module doc)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="Re-weight members from their recent performance.")
    window: int = Field(
        1000, ge=20, description="Bars of each member's simulated trades a re-weight judges."
    )
    reweight_every: int = Field(
        250, ge=1, description="Bars between re-weights, on the absolute time grid."
    )
    floor: float = Field(0.05, ge=0.0, le=1.0, description="Lowest weight of a member.")
    cap: float = Field(0.5, ge=0.0, le=1.0, description="Highest weight of a member.")
    temperature: float = Field(
        0.5, gt=0.0, description="Softmax temperature of the scores (higher: nearer equal)."
    )
    prior_trades: float = Field(
        10.0, ge=0.0, description="Trades at which a member's score counts half (shrinkage)."
    )
    regime_aware: bool = Field(
        True, description="Judge members on their trades in the current market regime."
    )
    min_regime_trades: int = Field(
        5, ge=1, description="Trades in the current regime needed to judge on them alone."
    )
    fee: float = Field(
        0.001, ge=0.0, lt=1.0, description="Fee per side of the members' simulated trades."
    )

    def rule(self) -> WeightRule:
        """The optimiser's settings."""
        return WeightRule(self.floor, self.cap, self.temperature, self.prior_trades)


class ConsensusConfig(StrategyConfig):
    """Parameters of ``consensus``."""

    members: tuple[str, ...] = Field(
        DEFAULT_MEMBERS, min_length=1, description="Registered strategies that vote."
    )
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Parameters per member name (defaults otherwise)."
    )
    mode: Literal["majority", "weighted", "unanimous"] = tunable(
        "weighted", "How votes combine: majority, weighted or unanimous.", Choice(MODES)
    )
    min_agree: int = tunable(2, "Fewest members that must agree on a side.", IntRange(1, 4), ge=1)
    min_confidence: float = tunable(
        0.0, "Lowest consensus confidence to enter at.", FloatRange(0.0, 0.5), ge=0.0, le=1.0
    )
    min_weight: float = tunable(
        0.3,
        "Weighted mode: least summed weight behind a side.",
        FloatRange(0.1, 0.7),
        gt=0.0,
        le=1.0,
    )
    hold: int = tunable(12, "Bars a member's entry keeps its vote.", IntRange(2, 48), ge=1)
    short: bool = Field(False, description="Also emit short signals (members shorting too).")
    weights: dict[str, float] | None = Field(
        None, description="Initial (or static) weights per member; equal when absent."
    )
    adaptive: AdaptiveConfig = Field(
        default_factory=AdaptiveConfig, description="Adaptive weights of the weighted mode."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ConsensusConfig:
        members = self.members
        if len(set(members)) != len(members):
            raise ValueError(f"members repeat a name: {list(members)}")
        for name in members:
            spec = strategy_spec(name)
            if spec.kind == "composite":
                raise ValueError(f"member {name!r} is itself a composite strategy")
        unknown = sorted(set(self.params) - set(members))
        if unknown:
            raise ValueError(f"params name strategies that are not members: {unknown}")
        for name, params in self.params.items():
            strategy_spec(name).config(params)
        if self.min_agree > len(members):
            raise ValueError(f"min_agree ({self.min_agree}) exceeds the {len(members)} member(s)")
        if self.weights is not None:
            if set(self.weights) != set(members):
                raise ValueError(f"weights must name every member exactly: {list(members)}")
            bad = [k for k, v in self.weights.items() if not (math.isfinite(v) and v > 0.0)]
            if bad:
                raise ValueError(f"weights must be finite and > 0: {bad}")
        if self.mode == "weighted" and self.adaptive.enabled:
            try:
                self.adaptive.rule().check(len(members))
            except WeightError as exc:
                raise ValueError(f"adaptive: {exc}") from exc
        return self

    def initial_weights(self) -> FloatArray:
        """The weights before any re-weight: ``weights`` normalised, or equal."""
        if self.weights is None:
            return np.full(len(self.members), 1.0 / len(self.members))
        raw = np.array([self.weights[name] for name in self.members], dtype=np.float64)
        return np.asarray(raw / raw.sum(), dtype=np.float64)

    @property
    def adapts(self) -> bool:
        """Whether weights are re-estimated (weighted mode, adaptive on)."""
        return self.mode == "weighted" and self.adaptive.enabled


@runtime_checkable
class SignalValidator(Protocol):
    """The ML validation hook: may refuse consensus entries.

    ``validate`` gets the window, the entry direction per bar (+1 long, −1 short, 0 none) and
    the consensus confidence, and returns a bool array: which entries to keep (rows without an
    entry are ignored). Row *t* must read bars ``≤ t`` only, and the last row of a rolling
    window of :attr:`Consensus.lookback` bars must equal the full history's.
    """

    def validate(
        self, window: CandleWindow, direction: Int8Array, confidence: FloatArray
    ) -> BoolArray:
        """Which entries to keep."""
        ...


@dataclass(frozen=True)
class ConsensusDiagnostics:
    """What a consensus did over a window: weights per re-weight time and counters.

    :attr:`weights`: one row per re-weight (the first row: the initial weights at the first
    bar), indexed by the bar's open time (UTC), a column per member and ``regime`` (the
    :class:`~mftbot.analysis.regime.Regime` code the re-weight saw; NaN when not used).
    """

    mode: str
    members: tuple[str, ...]
    times: IntArray = field(repr=False)
    """Open time (ns) of each re-weight bar."""
    table: FloatArray = field(repr=False)
    """Weights, one row per re-weight, one column per member."""
    regimes: FloatArray = field(repr=False)
    """Regime code seen by each re-weight (NaN: none)."""
    conflicts: int
    blocked: int
    rejected: int
    entries: int
    exits: int

    @cached_property
    def weights(self) -> pd.DataFrame:
        """The weights history as a table (see the class doc)."""
        history = pd.DataFrame(self.table, columns=list(self.members))
        history["regime"] = self.regimes
        history.index = pd.DatetimeIndex(
            pd.to_datetime(self.times, unit="ns", utc=True), name="time"
        )
        return history

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISO-8601 times; ``null`` for an unknown regime)."""
        rows = [
            {
                "time": pd.Timestamp(int(time), unit="ns", tz="UTC").isoformat(),
                "regime": None if math.isnan(regime) else int(regime),
                "weights": dict(zip(self.members, map(float, row), strict=True)),
            }
            for time, regime, row in zip(
                self.times.tolist(), self.regimes.tolist(), self.table, strict=True
            )
        ]
        return {
            "mode": self.mode,
            "members": list(self.members),
            "conflicts": self.conflicts,
            "blocked": self.blocked,
            "rejected": self.rejected,
            "entries": self.entries,
            "exits": self.exits,
            "weights": rows,
        }


@dataclass(frozen=True)
class _Outcome:
    signals: Signals
    diagnostics: ConsensusDiagnostics


@_njit
def _stances(
    flags: Int8Array,
    confidence: FloatArray,
    hold: int,
    out_dir: Int8Array,
    out_conf: FloatArray,
) -> None:
    """Stance (+1, −1, 0) and its confidence per member (rows) and bar (columns)."""
    members, n = flags.shape
    for i in range(members):
        last_entry = -(hold + 1)
        direction = 0
        conf = 1.0
        last_exit_long = -1
        last_exit_short = -1
        for t in range(n):
            f = flags[i, t]
            if f & 1:
                last_entry, direction, conf = t, 1, confidence[i, t]
            elif f & 4:
                last_entry, direction, conf = t, -1, confidence[i, t]
            if f & 2:
                last_exit_long = t
            if f & 8:
                last_exit_short = t
            if t - last_entry >= hold:
                continue
            if direction == 1 and last_exit_long > last_entry:
                continue
            if direction == -1 and last_exit_short > last_entry:
                continue
            out_dir[i, t] = direction
            out_conf[i, t] = conf


def reweight_bars(time_ns: IntArray, every: int) -> IntArray:
    """Bars that start a new block of ``every`` bars on the absolute time grid: the open time
    over the bar spacing (the smallest gap between open times), over ``every``, changes."""
    if time_ns.shape[0] < 2:
        return np.zeros(0, dtype=np.int64)
    gaps = np.diff(time_ns)
    positive = gaps[gaps > 0]
    if positive.size == 0:
        return np.zeros(0, dtype=np.int64)
    block = (time_ns // positive.min()) // every
    return (np.flatnonzero(block[1:] != block[:-1]) + 1).astype(np.int64)


class Consensus:
    """Members vote; the weighted mode re-weights them from their own recent trades."""

    name = "consensus"

    def __init__(
        self, config: ConsensusConfig | None = None, *, validator: SignalValidator | None = None
    ) -> None:
        self.config: ConsensusConfig = config if config is not None else ConsensusConfig()
        if validator is not None and not isinstance(validator, SignalValidator):
            raise TypeError(f"validator {validator!r} has no validate(window, direction, conf)")
        self.validator = validator
        self.members: tuple[Strategy, ...] = tuple(
            get_strategy(name, self._member_params(name)) for name in self.config.members
        )
        self._cache: tuple[CandleWindow, _Outcome] | None = None
        self._reweights: OrderedDict[bytes, tuple[FloatArray, float]] = OrderedDict()

    def _remember(self, key: bytes, value: tuple[FloatArray, float]) -> None:
        self._reweights[key] = value
        if len(self._reweights) > REWEIGHT_MEMORY:
            self._reweights.popitem(last=False)

    def _member_params(self, name: str) -> dict[str, Any]:
        params = dict(self.config.params.get(name, {}))
        if self.config.short and "short" in strategy_spec(name).config_type.model_fields:
            params["short"] = True
        return params

    @property
    def warmup(self) -> int:
        """The longest member warm-up: no row before it signals (members with a shorter one
        are silenced there, so every window warms up alike)."""
        return max(m.warmup for m in self.members)

    @property
    def _first_reweight(self) -> int:
        """The first bar of a window where a re-weight reads only exact inputs: its window's
        decisions past the members' lookback, and, when regime-aware, the regime chunk of its
        first decision (up to a re-weight interval earlier) with its warm-up."""
        a = self.config.adaptive
        pad = max(m.lookback for m in self.members) - 1
        if a.regime_aware:
            pad = max(pad, a.reweight_every + regime_pad())
        return a.window - 1 + pad

    @property
    def lookback(self) -> int:
        """Members' lookback plus the vote's ``hold``; with adaptive weights, also a
        re-weight interval, the performance window and the members' / regime warm-up."""
        own = max(m.lookback for m in self.members) + self.config.hold
        if not self.config.adapts:
            return own
        return max(own, self.config.adaptive.reweight_every + self._first_reweight + 1)

    @property
    def needs_book(self) -> bool:
        """Whether a member reads book columns from ``window.extra``."""
        return any(
            strategy_spec(m.name).kind == "orderbook" or bool(getattr(m, "needs_book", False))
            for m in self.members
        )

    def populate(self, window: CandleWindow) -> Signals:
        """The consensus signals (see the module doc)."""
        return self._outcome(window).signals

    def diagnostics(self, window: CandleWindow) -> ConsensusDiagnostics:
        """Weights per re-weight time and the vote's counters over ``window``."""
        return self._outcome(window).diagnostics

    # --- computation -----------------------------------------------------------------------

    def _outcome(self, window: CandleWindow) -> _Outcome:
        cached = self._cache
        if cached is not None and cached[0] is window:
            return cached[1]
        outcome = self._compute(window)
        self._cache = (window, outcome)
        return outcome

    def _compute(self, window: CandleWindow) -> _Outcome:
        c = self.config
        n, m = len(window), len(self.members)
        member_signals = [s.populate(window) for s in self.members]
        flags = np.zeros((m, n), dtype=np.int8)
        conf = np.ones((m, n), dtype=np.float64)
        for i, sig in enumerate(member_signals):
            flags[i] = sig.flags()
            if sig.confidence is not None:
                conf[i] = np.where(np.isnan(sig.confidence), 1.0, sig.confidence)
        direction = np.zeros((m, n), dtype=np.int8)
        stance_conf = np.zeros((m, n), dtype=np.float64)
        _stances(flags, conf, c.hold, direction, stance_conf)
        weights, history = self._weights(window, flags)
        share = weights if c.mode == "weighted" else np.full((n, m), 1.0 / m)
        long_side = self._side(direction.T == 1, direction.T == -1, share, stance_conf.T)
        short_side = self._side(direction.T == -1, direction.T == 1, share, stance_conf.T)
        entry_l = _any(flags, 1) & long_side[0] & (long_side[1] >= c.min_confidence - _TOL)
        exit_l = _any(flags, 2) & ~long_side[0]
        conflicts = _conflicts(flags, 1, 2, self.warmup)
        entry_s = np.zeros(n, dtype=np.bool_)
        exit_s = np.zeros(n, dtype=np.bool_)
        if c.short:
            entry_s = _any(flags, 4) & short_side[0] & (short_side[1] >= c.min_confidence - _TOL)
            exit_s = _any(flags, 8) & ~short_side[0]
            conflicts += _conflicts(flags, 4, 8, self.warmup)
        entry_s &= ~entry_l
        for flags_ in (entry_l, exit_l, entry_s, exit_s):
            flags_[: self.warmup] = False  # a member with a shorter warm-up may signal earlier
        confidence = np.where(entry_l, long_side[1], np.where(entry_s, short_side[1], np.nan))
        confidence = np.clip(confidence, 0.0, 1.0)
        blocked = self._manipulation(window)
        n_blocked = int(((entry_l | entry_s) & blocked).sum())
        entry_l &= ~blocked
        entry_s &= ~blocked
        n_rejected = 0
        if self.validator is not None:
            entry_l, entry_s, n_rejected = self._validate(window, entry_l, entry_s, confidence)
        confidence = np.where(entry_l | entry_s, confidence, np.nan)
        if c.short:
            signals = Signals(entry_l, exit_l, entry_s, exit_s, confidence)
        else:
            signals = Signals(entry_long=entry_l, exit_long=exit_l, confidence=confidence)
        diagnostics = ConsensusDiagnostics(
            mode=c.mode,
            members=c.members,
            times=history[0],
            table=history[1],
            regimes=history[2],
            conflicts=conflicts,
            blocked=n_blocked,
            rejected=n_rejected,
            entries=int(entry_l.sum() + entry_s.sum()),
            exits=int(exit_l.sum() + exit_s.sum()),
        )
        return _Outcome(signals, diagnostics)

    def _side(
        self, mine: BoolArray, theirs: BoolArray, share: FloatArray, stance_conf: FloatArray
    ) -> tuple[BoolArray, FloatArray]:
        """Agreement of one side per bar, and the confidence behind it (arrays are bars ×
        members)."""
        c = self.config
        votes = mine.sum(axis=1)
        against = theirs.sum(axis=1)
        weight = np.where(mine, share, 0.0).sum(axis=1)
        weight_against = np.where(theirs, share, 0.0).sum(axis=1)
        confidence = np.where(mine, share * stance_conf, 0.0).sum(axis=1)
        if c.mode == "unanimous":
            agree = votes == mine.shape[1]
        elif c.mode == "majority":
            agree = (votes >= c.min_agree) & (votes > against)
        else:
            agree = (
                (votes >= c.min_agree)
                & (weight >= c.min_weight - _TOL)
                & (weight > weight_against + _TOL)
            )
        return agree, confidence

    def _weights(
        self, window: CandleWindow, flags: Int8Array
    ) -> tuple[FloatArray, tuple[IntArray, FloatArray, FloatArray]]:
        """Weights per bar (bars × members) and their history (one row per re-weight: times,
        weights, regimes)."""
        c, n = self.config, len(window)
        initial = c.initial_weights()
        times: list[int] = [int(window.time_ns[0])] if n else []
        rows: list[FloatArray] = [initial] if n else []
        regimes: list[float] = [math.nan] if n else []
        bars: list[int] = [0] if n else []
        if c.adapts and n:
            a = c.adaptive
            schedule = reweight_bars(window.time_ns, a.reweight_every)
            tracker = PerformanceTracker(
                window,
                list(flags),
                window=a.window,
                fee=a.fee,
                regimes=a.regime_aware,
                chunks=schedule,
            )
            rule = a.rule()
            first = self._first_reweight
            for r in schedule[schedule >= first].tolist():
                key = _span_key(window, r - first, r + 1)
                known = self._reweights.get(key)
                if known is None:
                    evaluation = tracker.evaluate(r)
                    stats = [evaluation.current(i, a.min_regime_trades) for i in range(len(flags))]
                    known = (optimise_weights(stats, rule), evaluation.regime)
                    self._remember(key, known)
                rows.append(known[0])
                regimes.append(known[1])
                times.append(int(window.time_ns[r]))
                bars.append(r)
        table = np.array(rows, dtype=np.float64).reshape(len(rows), len(c.members))
        index = np.searchsorted(np.array(bars, dtype=np.int64), np.arange(n), side="right") - 1
        per_bar = table[np.maximum(index, 0)] if n else np.zeros((0, len(c.members)))
        history = (
            np.array(times, dtype=np.int64),
            table,
            np.array(regimes, dtype=np.float64),
        )
        return per_bar, history

    def _manipulation(self, window: CandleWindow) -> BoolArray:
        column = window.extra.get(MANIPULATION_ACTIVE)
        if column is None:
            return np.zeros(len(window), dtype=np.bool_)
        values = np.asarray(column, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.asarray(values > 0.0, dtype=np.bool_)

    def _validate(
        self, window: CandleWindow, entry_l: BoolArray, entry_s: BoolArray, confidence: FloatArray
    ) -> tuple[BoolArray, BoolArray, int]:
        assert self.validator is not None
        direction = entry_l.astype(np.int8) - entry_s.astype(np.int8)
        keep = np.asarray(self.validator.validate(window, direction, confidence))
        if keep.dtype != np.bool_ or keep.shape != entry_l.shape:
            raise TypeError(f"validator must return {len(entry_l)} bools, got {keep.shape}")
        rejected = int(((entry_l | entry_s) & ~keep).sum())
        return entry_l & keep, entry_s & keep, rejected


def _span_key(window: CandleWindow, start: int, stop: int) -> bytes:
    """A digest of the bars ``start..stop-1`` of every numeric column of ``window``."""
    digest = hashlib.blake2b(digest_size=20)
    columns = [window.time_ns, window.open, window.high, window.low, window.close, window.volume]
    columns += [window.extra[name] for name in sorted(window.extra)]
    for column in columns:
        if column.dtype.kind in "biuf":
            digest.update(np.ascontiguousarray(column[start:stop]).tobytes())
    return digest.digest()


def _conflicts(flags: Int8Array, entry: int, exit_: int, warmup: int) -> int:
    """Bars from ``warmup`` on where one member fires ``entry`` and another ``exit_``."""
    entries = (flags[:, warmup:] & np.int8(entry)) != 0
    exits = (flags[:, warmup:] & np.int8(exit_)) != 0
    n_entries, n_exits = entries.sum(axis=0), exits.sum(axis=0)
    alone = (n_entries == 1) & (n_exits == 1) & (entries & exits).any(axis=0)
    return int(((n_entries > 0) & (n_exits > 0) & ~alone).sum())


def _any(flags: Int8Array, bit: int) -> BoolArray:
    """Bars where any member's flags have ``bit``."""
    return np.asarray((flags & np.int8(bit)).any(axis=0), dtype=np.bool_)


register_strategy(
    Consensus.name,
    Consensus,
    ConsensusConfig,
    description="Members vote (majority, weighted or unanimous); adaptive weights per regime",
    kind="composite",
)
