"""The weight optimiser of the adaptive consensus: scores from performance, then weights with
floors and caps.

Method, for members ``i = 1..m`` with :class:`~mftbot.strategies.performance.TradeStats`
``(n_i, expectancy, volatility, risk_adjusted)``:

1. **Score.** ``s_i = n_i / (n_i + prior_trades) · clip(risk_adjusted_i, −3, 3)``: the
   per-trade Sharpe ratio, shrunk towards 0 (no opinion) when the member made few trades, and
   clipped so one lucky streak cannot dominate. A member without trades scores 0.
2. **Raw weight.** ``u_i = exp(s_i / temperature)``: a softmax, so a member one
   ``temperature`` of score ahead gets ``e`` times the weight. A low temperature follows the
   scores closely, a high one stays near equal weights.
3. **Floors and caps.** The weights are ``w_i = clip(c · u_i, floor, cap)`` with the one
   scale ``c > 0`` that makes ``Σ w_i = 1``. The sum grows with ``c`` from ``m · floor`` to
   ``m · cap`` (so ``c`` exists when ``m · floor ≤ 1 ≤ m · cap``) and is piecewise linear in
   ``c``, so ``c`` is solved exactly on the segment where the sum crosses 1. This
   water-filling keeps the order of the raw weights; no member falls below ``floor`` (a member
   out of favour still votes, and can earn its way back) and none exceeds ``cap`` (no single
   strategy decides alone).

The weights always sum to 1 (to ~1e-12) and lie in ``[floor, cap]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.strategies.performance import TradeStats

FloatArray: TypeAlias = npt.NDArray[np.float64]

SCORE_CLIP = 3.0
"""Bound of the per-trade Sharpe ratio in a score."""


class WeightError(ValueError):
    """Weight settings are inconsistent."""


@dataclass(frozen=True, slots=True)
class WeightRule:
    """Settings of the optimiser (see the module doc)."""

    floor: float = 0.05
    cap: float = 0.5
    temperature: float = 0.5
    prior_trades: float = 10.0

    def check(self, members: int) -> None:
        """Raise :class:`WeightError` unless the rule can weight ``members`` members."""
        if members < 1:
            raise WeightError("need at least one member to weight")
        if not (0.0 <= self.floor <= self.cap <= 1.0):
            raise WeightError(f"need 0 <= floor <= cap <= 1, got {self.floor}, {self.cap}")
        if members * self.floor > 1.0 + 1e-12 or members * self.cap < 1.0 - 1e-12:
            raise WeightError(
                f"{members} members cannot have weights in [{self.floor}, {self.cap}] summing "
                f"to 1: need floor <= 1/{members} <= cap"
            )
        if not (math.isfinite(self.temperature) and self.temperature > 0.0):
            raise WeightError(f"temperature must be > 0, got {self.temperature}")
        if not (math.isfinite(self.prior_trades) and self.prior_trades >= 0.0):
            raise WeightError(f"prior_trades must be >= 0, got {self.prior_trades}")


def score(stats: TradeStats, prior_trades: float) -> float:
    """The shrunk, clipped per-trade Sharpe ratio of one member (step 1)."""
    if stats.trades == 0:
        return 0.0
    shrink = stats.trades / (stats.trades + prior_trades)
    return shrink * min(max(stats.risk_adjusted, -SCORE_CLIP), SCORE_CLIP)


def capped_simplex(raw: npt.ArrayLike, floor: float, cap: float) -> FloatArray:
    """``clip(c · raw, floor, cap)`` with the scale ``c`` that makes the sum 1 (step 3).

    ``raw`` must be positive and finite; ``len(raw) · floor ≤ 1 ≤ len(raw) · cap``.
    """
    u = np.asarray(raw, dtype=np.float64)
    m = u.size
    if m == 0 or not (np.isfinite(u).all() and (u > 0.0).all()):
        raise WeightError("raw weights must be positive and finite")
    WeightRule(floor, cap).check(m)
    if m * floor >= 1.0 - 1e-15:
        return np.full(m, floor)
    if m * cap <= 1.0 + 1e-15:
        return np.full(m, cap)
    # Σ clip(c · u_i, floor, cap) is piecewise linear in c, with kinks at floor / u_i and
    # cap / u_i: find the segment where it crosses 1 and solve the line there.
    kinks = np.unique(np.concatenate((floor / u, cap / u)))
    totals = np.clip(np.outer(kinks, u), floor, cap).sum(axis=1)
    k = int(np.searchsorted(totals, 1.0, side="left"))
    lo = kinks[k - 1] if k > 0 else 0.0
    hi = kinks[min(k, kinks.size - 1)]
    mid = 0.5 * (lo + hi)
    free = (mid * u > floor) & (mid * u < cap)
    fixed = np.where(mid * u <= floor, floor, cap)
    if free.any():
        scale = (1.0 - fixed[~free].sum()) / u[free].sum()
        w = np.where(free, scale * u, fixed)
    else:
        w = fixed
    return np.clip(w, floor, cap)


def optimise_weights(stats: Sequence[TradeStats], rule: WeightRule | None = None) -> FloatArray:
    """Weights of the members with ``stats`` (one per member), summing to 1, in
    ``[rule.floor, rule.cap]``."""
    r = rule or WeightRule()
    r.check(len(stats))
    scores = np.array([score(s, r.prior_trades) for s in stats], dtype=np.float64)
    raw = np.exp((scores - scores.max()) / r.temperature)
    return capped_simplex(raw, r.floor, r.cap)
