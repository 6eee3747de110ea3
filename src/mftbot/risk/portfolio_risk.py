"""Correlation-aware portfolio risk.

Each position's risk ``r_i`` is what it loses at its stop as a fraction of equity, signed by
direction (long > 0). With ``C`` the rolling correlation matrix of returns:

* effective risk ``√(rᵀ C r)`` (a correlated book loses together; a hedged one less);
* the correlation factor ``√(rᵀ C r) / Σ|r_i|`` (1: everything moves as one);
* clusters: symbols linked by a correlation ≥ ``cluster_threshold`` (single linkage); the
  summed ``|r_i|`` of a cluster is capped at ``max_cluster_risk``.

A new entry is scaled by the largest ``s ∈ [0, 1]`` that keeps both the effective risk under
``max_portfolio_risk`` and its cluster under ``max_cluster_risk``; below ``min_scale`` it is
refused. A correlation matrix estimated pairwise need not be positive semi-definite, so
``rᵀ C r`` is clipped at 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mftbot.risk.config import PortfolioConfig
from mftbot.risk.results import RiskError, pct

FloatArray = npt.NDArray[np.float64]


def effective_risk(risks: npt.ArrayLike, corr: npt.ArrayLike) -> float:
    """``√(rᵀ C r)``, clipped at 0 inside the root."""
    r = np.asarray(risks, dtype=np.float64)
    c = np.asarray(corr, dtype=np.float64)
    if c.shape != (r.size, r.size):
        raise RiskError(f"correlation matrix is {c.shape}, expected {(r.size, r.size)}")
    if not (np.isfinite(r).all() and np.isfinite(c).all()):
        raise RiskError("risks and correlations must be finite")
    return math.sqrt(max(float(r @ c @ r), 0.0))


def correlated_clusters(
    symbols: Sequence[str], corr: npt.ArrayLike, threshold: float
) -> list[frozenset[str]]:
    """Connected components of the graph linking pairs with correlation ≥ ``threshold``."""
    c = np.asarray(corr, dtype=np.float64)
    n = len(symbols)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if c[i, j] >= threshold:
                parent[find(i)] = find(j)
    groups: dict[int, set[str]] = {}
    for i, sym in enumerate(symbols):
        groups.setdefault(find(i), set()).add(sym)
    return [frozenset(g) for g in groups.values()]


def max_scale(existing: FloatArray, new_risk: float, corr: FloatArray, limit: float) -> float:
    """Largest ``s ∈ [0, 1]`` with ``√(rᵀ C r) ≤ limit`` when the new (last) risk is ``s ×
    new_risk``; 0 when no such ``s`` exists."""
    if new_risk == 0.0:
        return 1.0
    cross = float(corr[-1, :-1] @ existing) if existing.size else 0.0
    e0 = float(existing @ corr[:-1, :-1] @ existing) if existing.size else 0.0
    a = new_risk * new_risk
    b = 2.0 * new_risk * cross
    c = e0 - limit * limit

    def f(s: float) -> float:
        return a * s * s + b * s + c

    if f(1.0) <= 0.0:
        return 1.0
    disc = b * b - 4.0 * a * c
    if disc < 0:
        return 0.0
    low = (-b - math.sqrt(disc)) / (2.0 * a)
    high = (-b + math.sqrt(disc)) / (2.0 * a)
    if high < 0.0 or low > 1.0:
        return 0.0
    return min(high, 1.0)


@dataclass(frozen=True, slots=True)
class PortfolioRiskResult:
    """What the portfolio rule found for one new entry."""

    passed: bool
    scale: float
    """Fraction of the proposed entry that fits (1: all of it)."""
    symbols: tuple[str, ...]
    """Open symbols, then the new one (last)."""
    risks: tuple[float, ...]
    """Signed risk fractions in ``symbols`` order, the new one at full size."""
    correlation: tuple[tuple[float, ...], ...]
    sum_risk: float
    effective_risk: float
    """With the new entry at full size."""
    correlation_factor: float
    cluster: tuple[str, ...]
    cluster_risk: float
    """Summed |risk| of the new entry's cluster with the new entry at full size."""
    final_effective_risk: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the audit log."""
        return {
            "passed": self.passed,
            "scale": self.scale,
            "symbols": list(self.symbols),
            "risks": list(self.risks),
            "correlation": [list(row) for row in self.correlation],
            "sum_risk": self.sum_risk,
            "effective_risk": self.effective_risk,
            "correlation_factor": self.correlation_factor,
            "cluster": list(self.cluster),
            "cluster_risk": self.cluster_risk,
            "final_effective_risk": self.final_effective_risk,
            "reason": self.reason,
        }


class PortfolioRiskRule:
    """Scales or refuses new entries by effective and cluster risk (see module doc)."""

    name = "portfolio_risk"

    def __init__(self, config: PortfolioConfig) -> None:
        self.config = config

    def evaluate(
        self,
        symbols: Sequence[str],
        risks: Sequence[float],
        new_symbol: str,
        new_risk: float,
        corr: npt.ArrayLike,
    ) -> PortfolioRiskResult:
        """Judge adding ``new_risk`` (signed fraction of equity) in ``new_symbol`` to the open
        ``risks``; ``corr`` covers ``[*symbols, new_symbol]`` in that order. An addition to an
        open symbol lists that symbol twice (its correlation with itself is 1)."""
        cfg = self.config
        if len(symbols) != len(risks):
            raise RiskError("one risk per open symbol")
        names = (*symbols, new_symbol)
        c = np.asarray(corr, dtype=np.float64)
        r_old = np.asarray(risks, dtype=np.float64)
        r_all = np.append(r_old, new_risk)
        eff = effective_risk(r_all, c)
        total = float(np.abs(r_all).sum())
        factor = eff / total if total > 0 else 1.0
        cluster = next(
            g for g in correlated_clusters(names, c, cfg.cluster_threshold) if new_symbol in g
        )
        others = sum(abs(r) for s, r in zip(symbols, risks, strict=True) if s in cluster)
        cluster_risk = others + abs(new_risk)
        s_port = max_scale(r_old, new_risk, c, cfg.max_portfolio_risk)
        room = cfg.max_cluster_risk - others
        s_cluster = 1.0 if cluster_risk <= cfg.max_cluster_risk else max(room, 0.0) / abs(new_risk)
        scale = min(s_port, s_cluster, 1.0)
        passed = scale >= cfg.min_scale
        final = effective_risk(np.append(r_old, new_risk * (scale if passed else 0.0)), c)
        reason = self._reason(
            eff, total, factor, cluster, cluster_risk, s_port, s_cluster, scale, passed
        )
        return PortfolioRiskResult(
            passed=passed,
            scale=scale if passed else 0.0,
            symbols=names,
            risks=tuple(float(x) for x in r_all),
            correlation=tuple(tuple(float(x) for x in row) for row in c),
            sum_risk=total,
            effective_risk=eff,
            correlation_factor=factor,
            cluster=tuple(sorted(cluster)),
            cluster_risk=cluster_risk,
            final_effective_risk=final,
            reason=reason,
        )

    def _reason(
        self,
        eff: float,
        total: float,
        factor: float,
        cluster: frozenset[str],
        cluster_risk: float,
        s_port: float,
        s_cluster: float,
        scale: float,
        passed: bool,
    ) -> str:
        cfg = self.config
        head = (
            f"effective risk {pct(eff)} (limit {pct(cfg.max_portfolio_risk)}), "
            f"Σ individual {pct(total)}, correlation factor {factor:.2f}, "
            f"cluster {{{', '.join(sorted(cluster))}}} risk {pct(cluster_risk)} "
            f"(limit {pct(cfg.max_cluster_risk)})"
        )
        if scale >= 1.0:
            return f"within limits: {head}"
        why = "portfolio limit" if s_port <= s_cluster else "cluster limit"
        if not passed:
            room = f"room for {pct(scale)} of the entry < {pct(cfg.min_scale)}"
            return f"refused ({why}; {room}): {head}"
        return f"entry cut to {pct(scale)} by the {why}: {head}"
