"""Monte Carlo robustness of a backtest: trade-order bootstrap and block bootstrap of returns.

Two resamplers, both seeded (``numpy.random.default_rng(seed)``) and vectorised over paths (paths
are processed in chunks of about 2M cells to bound memory):

* :func:`trade_bootstrap` — the closed trades' PnLs (money) drawn with replacement
  (``replace=True``, the bootstrap) or shuffled (``replace=False``, a permutation), added to the
  initial cash: ``E_k = C + Σ_{j≤k} pnl_j``. Equity cannot go below zero: a path that reaches 0 is
  wiped out and stays at 0. A permutation keeps the multiset of PnLs, so every path that is not
  wiped out ends at exactly ``C + Σ pnl`` (computed once, correctly rounded with ``math.fsum``,
  for the original too); only the order, hence drawdowns and ruin, varies. These paths see
  equity at trade exits only, so their drawdowns omit moves inside a trade (the equity curve's
  drawdown in :func:`~mftbot.backtest.metrics.compute_metrics` can be deeper).
* :func:`return_bootstrap` — per-bar log returns ``ℓ_t = ln(E_t / E_{t−1})`` of the equity curve
  resampled by a circular moving-block bootstrap (blocks of ``b`` consecutive returns, start
  uniform over all ``n`` positions, wrapping at the end; default ``b = round(n^(1/3))``), then
  ``E_k = C · exp(Σ_{j≤k} ℓ_j)``, for ``horizon`` bars (default ``n``). Blocks keep short-range
  dependence (volatility clustering) that an i.i.d. resample would destroy.

Per path: final return ``E_end / C − 1``; max drawdown ``max_k (1 − E_k / max(C, max_{j≤k} E_j))``
(in [0, 1]); ruin when some ``E_k ≤ C · (1 + ruin_level)`` (default −50 %). Summary: probability
of ruin (share of ruined paths), mean, standard deviation and percentiles (default 5/50/95,
numpy's linear interpolation) of both distributions. No trades (or a single-point equity curve)
give flat paths: returns 0, drawdowns 0, no ruin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from mftbot.backtest.metrics import MetricsError, equity_path, validate_trades
from mftbot.backtest.report import ReportSection
from mftbot.backtest.report_assets.charts import histogram_chart
from mftbot.backtest.report_assets.tables import fmt_pct, table_html

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

DEFAULT_PERCENTILES = (5.0, 50.0, 95.0)
_CHUNK_CELLS = 2_000_000


class MonteCarloError(MetricsError):
    """Monte Carlo inputs or parameters are invalid."""


@dataclass(frozen=True, slots=True)
class MonteCarloResult:
    """Distributions over ``n_paths`` resampled paths of ``n_steps`` trades or bars."""

    method: str
    initial_cash: float
    ruin_level: float
    percentiles: tuple[float, ...]
    final_returns: FloatArray
    max_drawdowns: FloatArray
    ruined: BoolArray
    original_final_return: float
    original_max_drawdown: float
    n_steps: int
    seed: int | None
    block_size: int | None = None

    @property
    def n_paths(self) -> int:
        """Number of simulated paths."""
        return len(self.final_returns)

    @property
    def prob_ruin(self) -> float:
        """Share of paths that touched ``initial_cash · (1 + ruin_level)``."""
        return float(self.ruined.mean()) if self.n_paths else 0.0

    def _stats(self, values: FloatArray, original: float) -> dict[str, float]:
        out = {"original": original, "mean": float(values.mean()), "std": float(values.std())}
        for p, v in zip(self.percentiles, np.percentile(values, self.percentiles), strict=True):
            out[f"p{p:g}"] = float(v)
        return out

    def final_return_stats(self) -> dict[str, float]:
        """Original, mean, std and percentiles (``p5``, ``p50``, …) of the final return."""
        return self._stats(self.final_returns, self.original_final_return)

    def max_drawdown_stats(self) -> dict[str, float]:
        """Original, mean, std and percentiles of the max drawdown."""
        return self._stats(self.max_drawdowns, self.original_max_drawdown)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (no per-path arrays)."""
        return {
            "method": self.method,
            "n_paths": self.n_paths,
            "n_steps": self.n_steps,
            "seed": self.seed,
            "block_size": self.block_size,
            "initial_cash": self.initial_cash,
            "ruin_level": self.ruin_level,
            "prob_ruin": self.prob_ruin,
            "final_return": self.final_return_stats(),
            "max_drawdown": self.max_drawdown_stats(),
        }

    def summary_table(self) -> pd.DataFrame:
        """Rows ``final_return`` and ``max_drawdown``; columns original, mean, std, p…."""
        rows = {"final_return": self.final_return_stats()}
        rows["max_drawdown"] = self.max_drawdown_stats()
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "statistic"
        return frame


# ---------------------------------------------------------------- validation


def _check(
    n_paths: int, ruin_level: float, percentiles: Sequence[float], initial_cash: float
) -> tuple[float, ...]:
    if n_paths < 1:
        raise MonteCarloError(f"n_paths must be >= 1, got {n_paths}")
    if not -1.0 <= ruin_level < 0.0:
        raise MonteCarloError(f"ruin_level must be in [-1, 0), got {ruin_level!r}")
    if not (math.isfinite(initial_cash) and initial_cash > 0):
        raise MonteCarloError(f"initial_cash must be a finite number > 0, got {initial_cash!r}")
    pct = tuple(float(p) for p in percentiles)
    if not pct or any(not 0.0 <= p <= 100.0 for p in pct):
        raise MonteCarloError(f"percentiles must be in [0, 100], got {percentiles!r}")
    return pct


def _pnl_array(pnl: ArrayLike | pd.DataFrame) -> FloatArray:
    if isinstance(pnl, pd.DataFrame):
        t = validate_trades(pnl)
        closed = t[t["exit_time"].notna()].sort_values(["exit_time", "entry_time"], kind="stable")
        return closed["pnl"].to_numpy(np.float64)
    values = np.asarray(pnl, dtype=np.float64).ravel()
    if not np.isfinite(values).all():
        raise MonteCarloError("trade pnl must be finite")
    return values


def _chunks(n_paths: int, n_steps: int) -> list[int]:
    size = max(1, _CHUNK_CELLS // max(n_steps, 1))
    return [min(size, n_paths - i) for i in range(0, n_paths, size)]


def _flat(
    method: str,
    cash: float,
    ruin: float,
    pct: tuple[float, ...],
    n_paths: int,
    seed: int | None,
    block: int | None = None,
) -> MonteCarloResult:
    zeros = np.zeros(n_paths)
    ruined = np.zeros(n_paths, dtype=bool)
    return MonteCarloResult(
        method, cash, ruin, pct, zeros, zeros.copy(), ruined, 0.0, 0.0, 0, seed, block
    )


# ---------------------------------------------------------------- trade-order bootstrap


def _trade_paths(
    steps: FloatArray, cash: float, ruin: float
) -> tuple[FloatArray, FloatArray, BoolArray, BoolArray]:
    """(last equity, max drawdown, ruined, wiped out) of additive paths, one per column."""
    eq = np.cumsum(steps, axis=0)
    eq += cash
    low = eq.min(axis=0)
    wiped = low <= 0.0
    if wiped.any():  # absorb at zero: once wiped out, a path stays at 0
        cols = np.flatnonzero(wiped)
        sub = eq[:, cols]
        sub[np.logical_or.accumulate(sub <= 0.0, axis=0)] = 0.0
        eq[:, cols] = sub
    ratio = np.maximum.accumulate(eq, axis=0)
    np.maximum(ratio, cash, out=ratio)
    np.divide(eq, ratio, out=ratio)
    return eq[-1], 1.0 - ratio.min(axis=0), low <= cash * (1.0 + ruin), wiped


def trade_bootstrap(
    pnl: ArrayLike | pd.DataFrame,
    *,
    initial_cash: float,
    n_paths: int = 10_000,
    n_trades: int | None = None,
    replace: bool = True,
    ruin_level: float = -0.5,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    seed: int | None = None,
) -> MonteCarloResult:
    """Resample trade PnLs into equity paths (module docstring).

    ``pnl``: the PnLs in trade order, or a trades DataFrame (its closed trades by exit time).
    ``n_trades``: path length for the bootstrap (default: the number of trades); a permutation
    (``replace=False``) always uses every trade once.
    """
    pct = _check(n_paths, ruin_level, percentiles, initial_cash)
    values = _pnl_array(pnl)
    method = "trade_bootstrap" if replace else "trade_permutation"
    n = len(values)
    if n_trades is not None and (n_trades < 0 or (not replace and n_trades != n)):
        raise MonteCarloError(
            f"n_trades must be >= 0, and a permutation uses all {n} trades; got {n_trades}"
        )
    steps = n if n_trades is None else n_trades
    if steps == 0 or n == 0:
        return _flat(method, initial_cash, ruin_level, pct, n_paths, seed)
    total = initial_cash + math.fsum(values.tolist())
    _, orig_dd, _, orig_wiped = _trade_paths(values[:, None], initial_cash, ruin_level)
    rng = np.random.default_rng(seed)
    finals, dds, ruins = [], [], []
    for rows in _chunks(n_paths, steps):
        if replace:
            idx = rng.integers(0, n, size=(steps, rows), dtype=np.int32)
        else:
            idx = rng.permuted(
                np.broadcast_to(np.arange(n, dtype=np.int32)[:, None], (n, rows)), axis=0
            )
        last, dd, ruined, wiped = _trade_paths(values[idx], initial_cash, ruin_level)
        finals.append(np.where(wiped, 0.0, total) if not replace else last)
        dds.append(dd)
        ruins.append(ruined)
    final_orig = 0.0 if orig_wiped[0] else total
    return MonteCarloResult(
        method=method,
        initial_cash=float(initial_cash),
        ruin_level=float(ruin_level),
        percentiles=pct,
        final_returns=np.concatenate(finals) / initial_cash - 1.0,
        max_drawdowns=np.concatenate(dds),
        ruined=np.concatenate(ruins),
        original_final_return=final_orig / initial_cash - 1.0,
        original_max_drawdown=float(orig_dd[0]),
        n_steps=steps,
        seed=seed,
    )


# ---------------------------------------------------------------- block bootstrap of returns


def _return_paths(log_r: FloatArray, ruin: float) -> tuple[FloatArray, FloatArray, BoolArray]:
    """(final return, max drawdown, ruined) from per-path log returns, one per column."""
    cum = np.cumsum(log_r, axis=0)
    low = cum.min(axis=0)
    under = np.maximum.accumulate(cum, axis=0)
    np.maximum(under, 0.0, out=under)
    np.subtract(cum, under, out=under)
    max_dd = -np.expm1(under.min(axis=0))
    ruined = low <= math.log1p(ruin) if ruin > -1 else np.zeros(len(low), dtype=bool)
    return np.expm1(cum[-1]), max_dd, ruined


def return_bootstrap(
    equity: pd.Series,
    *,
    initial_cash: float | None = None,
    n_paths: int = 10_000,
    horizon: int | None = None,
    block_size: int | None = None,
    ruin_level: float = -0.5,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    seed: int | None = None,
) -> MonteCarloResult:
    """Circular block bootstrap of the equity curve's per-bar returns (module docstring).

    ``initial_cash`` (default: the first equity point) starts every path and, as in
    :func:`~mftbot.backtest.metrics.compute_metrics`, precedes the curve when it differs from
    its first point. ``horizon``: bars per path (default: the curve's number of returns).
    """
    path = equity_path(equity, initial_cash).to_numpy()
    cash = float(path[0])
    pct = _check(n_paths, ruin_level, percentiles, cash)
    log_r = np.diff(np.log(path))
    n = len(log_r)
    steps = n if horizon is None else horizon
    block = max(1, round(n ** (1 / 3))) if block_size is None else block_size
    if steps < 0 or block < 1:
        raise MonteCarloError(f"horizon must be >= 0 and block_size >= 1; got {horizon}, {block}")
    if n == 0 or steps == 0:
        return _flat("return_bootstrap", cash, ruin_level, pct, n_paths, seed, block)
    _, orig_dd, _ = _return_paths(log_r[:, None], ruin_level)
    n_blocks = -(-steps // block)
    rng = np.random.default_rng(seed)
    finals, dds, ruins = [], [], []
    for rows in _chunks(n_paths, steps):
        starts = rng.integers(0, n, size=(n_blocks, 1, rows))
        idx = ((starts + np.arange(block)[:, None]) % n).reshape(n_blocks * block, rows)[:steps]
        final, dd, ruined = _return_paths(log_r[idx], ruin_level)
        finals.append(final)
        dds.append(dd)
        ruins.append(ruined)
    return MonteCarloResult(
        method="return_bootstrap",
        initial_cash=cash,
        ruin_level=float(ruin_level),
        percentiles=pct,
        final_returns=np.concatenate(finals),
        max_drawdowns=np.concatenate(dds),
        ruined=np.concatenate(ruins),
        original_final_return=float(path[-1] / path[0] - 1.0),
        original_max_drawdown=float(orig_dd[0]),
        n_steps=steps,
        seed=seed,
        block_size=block,
    )


# ---------------------------------------------------------------- report


def report_section(result: MonteCarloResult, title: str | None = None) -> ReportSection:
    """A report section (pass it in ``write_report(..., sections=[...])``): histograms of the
    final return and the max drawdown with the original and the percentiles marked, the
    summary table and the probability of ruin."""

    def rules(values: FloatArray, original: float) -> list[tuple[float, str, str]]:
        marks = zip(result.percentiles, np.percentile(values, result.percentiles), strict=True)
        out = [(100 * original, "original", "rule")]
        return out + [(100 * float(v), f"p{p:g}", "rule pct") for p, v in marks]

    key = f"mc-{result.method.replace('_', '-')}"
    pct = "{:,.4g} %".format
    fr = histogram_chart(
        100 * result.final_returns,
        key=f"{key}-ret",
        x_fmt=pct,
        rules=rules(result.final_returns, result.original_final_return),
    )
    dd = histogram_chart(
        100 * result.max_drawdowns,
        key=f"{key}-dd",
        signed=False,
        x_fmt=pct,
        rules=rules(result.max_drawdowns, result.original_max_drawdown),
    )
    summary = result.summary_table()
    table = table_html(summary, formats=dict.fromkeys(map(str, summary.columns), fmt_pct))
    block = f", blocks of {result.block_size} bars" if result.block_size else ""
    note = (
        f'<p class="legend">{result.n_paths:,} paths of {result.n_steps:,} steps{block}; seed '
        f"{result.seed}; probability of ruin (equity ≤ {100 * (1 + result.ruin_level):g} % of "
        f"the start): <b>{100 * result.prob_ruin:.2f} %</b></p>"
    )
    html = f"{note}{table}<h3>Final return (%)</h3>{fr}<h3>Max drawdown (%)</h3>{dd}"
    name = title or f"Monte Carlo: {result.method.replace('_', ' ')}"
    return ReportSection(name, html, key)
