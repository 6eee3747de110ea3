"""Backtest performance metrics from a trade list and an equity curve.

Inputs (the engine's contract):

* ``trades`` — one row per round trip: ``side`` ("long"/"short"), ``entry_time``, ``exit_time``
  (tz-aware, converted to UTC; ``NaT`` for a trade still open at the end), ``entry_price``,
  ``exit_price`` (NaN when open), ``qty``, ``pnl`` (net of fees, quote currency), ``fees``, and
  optionally ``symbol``, ``strategy``, ``timeframe`` and ``risk`` (initial risk in quote
  currency, for R multiples; NaN = unknown, otherwise > 0).
* ``equity`` — account equity (> 0) on a non-decreasing UTC ``DatetimeIndex``.

The equity *path* is ``equity``, preceded by ``initial_cash`` one bar before the first point when
``initial_cash`` is given and differs from the first value. Definitions (``E_t`` the path,
``P`` periods per year — ``periods_per_year`` or ``365.25 d / median positive bar spacing``):

* per-bar return ``r_t = E_t / E_{t-1} − 1``; ``rf = (1 + risk_free)^(1/P) − 1`` per bar;
* Sharpe ``= mean(r − rf) / std(r − rf, ddof=1) · √P``; Sortino ``= mean(r − rf) / D · √P``
  with ``D = √(Σ min(r − rf, 0)² / (n − 1))``; volatility ``= std(r, ddof=1) · √P``;
* total return ``= E_end / E_0 − 1``; CAGR ``= (E_end / E_0)^(1/years) − 1``, years = elapsed
  calendar time / 365.25 days; Calmar ``= CAGR / max drawdown``;
* drawdown ``dd_t = 1 − E_t / max_{s≤t} E_s`` (in [0, 1)); its money form ``max_{s≤t} E_s − E_t``;
  duration: longest span from a peak to the first point back at or above it (an unrecovered
  drawdown runs to the last point), in seconds and bars; recovery factor ``= net profit / max
  money drawdown``;
* exposure: length of the union of trade intervals ``[entry, exit or end]`` clipped to the path,
  over the path's span.

Trade statistics use closed trades (``exit_time`` present), ordered by exit then entry time: a
win has ``pnl > 0``, a loss ``pnl < 0`` (zero is neither and breaks both streaks). Win rate
``= wins / closed trades``; profit factor ``= Σ wins / |Σ losses|``; expectancy ``= mean pnl``;
expectancy in R ``= mean(pnl / risk)`` over closed trades with a known risk; average R:R ``= avg
win / |avg loss|``. ``fees_paid`` sums the fees of every trade, open ones included.

Undefined values are ``None``, never NaN or inf: ratios with a zero denominator (no losing trade
for the profit factor, zero volatility, no negative return for Sortino, no drawdown for Calmar and
the recovery factor), anything annualised from fewer than two returns or a zero time span, a CAGR
that overflows a float, averages over no trades. Counts, streaks, fees and exposure without trades
are 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mftbot.core.errors import MftbotError
from mftbot.data.candles import index_ns, spacing_counts

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Metrics = dict[str, float | int | None]

SECONDS_PER_YEAR = 365.25 * 86_400.0
TRADE_COLUMNS = (
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "qty",
    "pnl",
    "fees",
)
BREAKDOWN_KEYS = ("strategy", "symbol", "timeframe", "side")
_COUNT_KEYS = frozenset(
    {
        "trades",
        "open_trades",
        "winning_trades",
        "losing_trades",
        "max_win_streak",
        "max_loss_streak",
    }
)
_TINY = 1e-14
"""Below this a standard deviation (of per-bar returns) is float noise: treated as zero."""
_CHUNK = 1 << 16
"""Points per chunk where the equity path is scanned piecewise (no full-length temporaries)."""


class MetricsError(MftbotError, ValueError):
    """Trades or equity handed to the metrics are malformed."""


# ---------------------------------------------------------------- validation


def _utc_times(col: pd.Series, name: str, *, allow_nat: bool) -> pd.Series:
    if col.isna().all() and allow_nat:
        return pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns, UTC]")
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        raise MetricsError(f"trades.{name} must be tz-aware timestamps (UTC), got {col.dtype}")
    out: pd.Series = col.dt.tz_convert("UTC")
    if not allow_nat and out.isna().any():
        raise MetricsError(f"trades.{name} has a missing value at row {int(out.isna().argmax())}")
    return out


def _finite_column(trades: pd.DataFrame, name: str, *, allow_nan: bool = False) -> pd.Series:
    try:
        col = trades[name].astype("float64")
    except (TypeError, ValueError) as exc:
        raise MetricsError(f"trades.{name} must be numeric: {exc}") from exc
    bad = ~np.isfinite(col.to_numpy()) & ~(allow_nan & col.isna().to_numpy())
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise MetricsError(f"trades.{name} is not finite at row {row}: {col.iloc[row]!r}")
    return col


def validate_trades(trades: pd.DataFrame | None) -> pd.DataFrame:
    """Check ``trades`` against the contract; return a normalised copy (UTC times, float64).

    ``None`` or a frame without rows is "no trades". Raises :class:`MetricsError` on a missing
    column, an unknown side, naive or missing times, an exit before its entry, a non-finite
    price/qty/pnl/fee, a closed trade without exit price, or a risk that is not NaN and not > 0.
    """
    if trades is None or (isinstance(trades, pd.DataFrame) and len(trades) == 0):
        empty = {c: pd.Series(dtype="float64") for c in TRADE_COLUMNS}
        empty["side"] = pd.Series(dtype="object")
        empty["entry_time"] = pd.Series(dtype="datetime64[ns, UTC]")
        empty["exit_time"] = pd.Series(dtype="datetime64[ns, UTC]")
        extra = {} if trades is None else {c: trades[c] for c in trades.columns if c not in empty}
        return pd.DataFrame({**empty, **extra})
    if not isinstance(trades, pd.DataFrame):
        raise MetricsError(f"trades must be a pandas DataFrame, got {type(trades).__name__}")
    missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
    if missing:
        raise MetricsError(f"trades lack column(s) {missing}")
    out = trades.reset_index(drop=True).copy()
    sides = set(out["side"].unique()) - {"long", "short"}
    if sides:
        raise MetricsError(f"trades.side must be 'long' or 'short', got {sorted(map(str, sides))}")
    out["entry_time"] = _utc_times(out["entry_time"], "entry_time", allow_nat=False)
    out["exit_time"] = _utc_times(out["exit_time"], "exit_time", allow_nat=True)
    early = (out["exit_time"] < out["entry_time"]).to_numpy()
    if early.any():
        raise MetricsError(f"trade at row {int(np.flatnonzero(early)[0])} exits before it enters")
    for name in ("entry_price", "qty", "pnl", "fees"):
        out[name] = _finite_column(out, name)
    out["exit_price"] = _finite_column(out, "exit_price", allow_nan=True)
    no_exit = (out["exit_time"].notna() & out["exit_price"].isna()).to_numpy()
    if no_exit.any():
        raise MetricsError(
            f"closed trade at row {int(np.flatnonzero(no_exit)[0])} has no exit_price"
        )
    if "risk" in out.columns:
        out["risk"] = _finite_column(out, "risk", allow_nan=True)
        if (out["risk"] <= 0).any():
            raise MetricsError("trades.risk must be > 0 (or NaN when unknown)")
    return out


def validate_equity(equity: pd.Series) -> pd.Series:
    """Check ``equity`` (finite, > 0, non-decreasing UTC index); return it as float64 in UTC."""
    values, index = _checked_equity(equity)
    return pd.Series(values, index=index, name=equity.name)


def _checked_equity(equity: pd.Series) -> tuple[FloatArray, pd.DatetimeIndex]:
    """:func:`validate_equity`'s checks; the values (float64, no copy when they are already)
    and the UTC index."""
    if not isinstance(equity, pd.Series):
        raise MetricsError(f"equity must be a pandas Series, got {type(equity).__name__}")
    index = equity.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise MetricsError("equity must have a tz-aware (UTC) DatetimeIndex")
    if len(equity) == 0:
        raise MetricsError("equity is empty")
    if not index.is_monotonic_increasing:
        raise MetricsError("equity index must be sorted by time")
    try:
        values = equity.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricsError(f"equity must be numeric: {exc}") from exc
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetricsError(f"equity must be finite and > 0; got {values[i]!r} at {index[i]}")
    return values, index.tz_convert("UTC")


def _check_positive(value: float | None, name: str) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise MetricsError(f"{name} must be a finite number > 0, got {value!r}")
    return value


# ---------------------------------------------------------------- equity path


def _times_ns(index: pd.Index) -> IntArray:
    return np.asarray(index_ns(pd.DatetimeIndex(index)), dtype=np.int64)


def bar_seconds(times_ns: IntArray) -> float | None:
    """Median positive spacing between points, in seconds (None with no positive spacing)."""
    return _median_step(*spacing_counts(np.asarray(times_ns, dtype=np.int64)))


def _median_step(values: IntArray, counts: IntArray) -> float | None:
    """``np.median`` of the positive gaps given as distinct ``values`` and their ``counts``,
    in seconds (the same float: the middle gap, or the mean of the middle two)."""
    positive = values > 0
    values, counts = values[positive], counts[positive]
    total = int(counts.sum())
    if total == 0:
        return None
    ends = np.cumsum(counts)

    def at(k: int) -> np.int64:
        return np.int64(values[int(np.searchsorted(ends, k, side="right"))])

    if total % 2:
        return float(at(total // 2)) / 1e9
    middle = np.array([at(total // 2 - 1), at(total // 2)], dtype=np.int64)
    return float(np.mean(middle)) / 1e9


def equity_path(equity: pd.Series, initial_cash: float | None = None) -> pd.Series:
    """The validated equity, preceded by ``initial_cash`` one bar earlier when it differs."""
    eq = validate_equity(equity)
    cash = _check_positive(initial_cash, "initial_cash")
    if cash is None or cash == eq.iloc[0]:
        return eq
    index = pd.DatetimeIndex(eq.index)
    step = bar_seconds(_times_ns(index)) or 0.0
    first = index[0] - pd.Timedelta(seconds=step)
    head = pd.Series([float(cash)], index=pd.DatetimeIndex([first]).as_unit(index.unit))
    path: pd.Series = pd.concat([head, eq])
    path.name = eq.name
    return path


def drawdown_series(equity: pd.Series, initial_cash: float | None = None) -> pd.Series:
    """Drawdown fraction ``1 − E_t / max_{s≤t} E_s`` along the equity path."""
    path = equity_path(equity, initial_cash)
    v = path.to_numpy()
    return pd.Series(1.0 - v / np.maximum.accumulate(v), index=path.index, name="drawdown")


@dataclass(frozen=True)
class _Path:
    """The equity path without copying it: ``head`` (the initial cash, at ``head_ns``) when
    given, then the values ``v`` at times ``t`` (ns)."""

    head: float | None
    head_ns: int
    v: FloatArray
    t: IntArray

    def __len__(self) -> int:
        return len(self.v) + (self.head is not None)

    @property
    def first(self) -> float:
        return float(self.v[0]) if self.head is None else self.head

    @property
    def first_ns(self) -> int:
        return int(self.t[0]) if self.head is None else self.head_ns

    def times(self, idx: IntArray) -> IntArray:
        """Times (ns) of the path points ``idx``."""
        if self.head is None:
            return self.t[idx]
        inner = self.t[np.maximum(idx - 1, 0)]
        return np.where(idx == 0, np.int64(self.head_ns), inner)

    def chunks(self) -> Iterator[tuple[int, FloatArray]]:
        """``(offset, values)`` pieces of at most ``_CHUNK`` points, in order."""
        v = self.v
        start = 0
        if self.head is not None:
            first = np.concatenate(([self.head], v[: _CHUNK - 1]))
            yield 0, first
            start = _CHUNK - 1
        shift = self.head is not None
        for i in range(start, len(v), _CHUNK):
            yield i + shift, v[i : i + _CHUNK]


def _drawdown_stats(path: _Path) -> Metrics:
    """Drawdown depth (fraction and money) and the longest drawdown, scanned in chunks: the
    same numbers as over the whole path at once (maximum and ordering are exact)."""
    carry = -math.inf
    lowest_ratio, deepest_money = math.inf, -math.inf
    highs: list[IntArray] = []
    for offset, vals in path.chunks():
        peak = np.maximum.accumulate(vals)
        np.maximum(peak, carry, out=peak)
        carry = float(peak[-1])
        highs.append(np.flatnonzero(vals >= peak) + offset)  # points at a running high
        tmp = np.divide(vals, peak)
        lowest_ratio = min(lowest_ratio, float(tmp.min()))  # max(1 − x) = 1 − min(x)
        deepest_money = max(deepest_money, float(np.subtract(peak, vals, out=tmp).max()))
    starts = np.concatenate(highs)  # always includes 0
    ends = np.append(starts[1:], len(path) - 1)
    bars = ends - starts
    real = np.append(bars[:-1] >= 2, bars[-1] >= 1)  # at least one point under water
    seconds = np.where(real, (path.times(ends) - path.times(starts)) / 1e9, -1.0)
    longest = int(np.lexsort((bars, seconds))[-1])
    return {
        "max_drawdown": float(np.subtract(1.0, lowest_ratio)),
        "max_drawdown_money": deepest_money,
        "max_drawdown_duration_s": float(seconds[longest]) if real[longest] else 0.0,
        "max_drawdown_duration_bars": int(bars[longest]) if real[longest] else 0,
    }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > _TINY else None


def _returns(path: _Path, out: FloatArray | None = None) -> FloatArray:
    """Per-bar returns ``E_t / E_{t−1} − 1`` along the path (into ``out`` when given)."""
    v = path.v
    r = np.empty(len(path) - 1, dtype=np.float64) if out is None else out
    if path.head is None:
        np.divide(v[1:], v[:-1], out=r)
    else:
        np.divide(v[:1], path.head, out=r[:1])
        np.divide(v[1:], v[:-1], out=r[1:])
    r -= 1.0
    return r


def std_in_place(x: FloatArray) -> float:
    """``float(x.std(ddof=1))`` to the last bit (numpy's own steps: mean by a pairwise sum,
    squared deviations, pairwise sum, ``/ (n − 1)``, square root), but computed in ``x``
    itself, which it overwrites: no temporary as long as the series."""
    n = x.shape[0]
    mean = np.add.reduce(x, axis=None, keepdims=True)
    np.true_divide(mean, n, out=mean, casting="unsafe")
    np.subtract(x, mean, out=x)
    np.multiply(x, x, out=x)
    total = np.add.reduce(x, axis=None)
    return float(np.sqrt(total.dtype.type(total / max(n - 1, 0))))


def _return_stats(path: _Path, periods: float | None, risk_free: float) -> Metrics:
    """Sharpe, Sortino and volatility over one returns buffer, refilled rather than copied
    (``r.std()`` would allocate a second series-long array)."""
    out: Metrics = {"sharpe": None, "sortino": None, "volatility": None}
    if len(path) < 3 or periods is None:
        return out
    r = _returns(path)
    n = len(r)
    scale = math.sqrt(periods)
    volatility = std_in_place(r)
    rf = (1.0 + risk_free) ** (1.0 / periods) - 1.0
    excess = _returns(path, out=r)  # r − rf (rf = 0: r itself)
    if rf != 0.0:
        excess -= rf
    mean = float(excess.mean())
    spread = volatility
    if rf != 0.0:
        spread = std_in_place(excess)
        excess = _returns(path, out=r)
        excess -= rf
    down = np.minimum(excess, 0.0, out=excess)
    down **= 2
    downside = math.sqrt(float(np.sum(down)) / (n - 1))
    del down, excess, r
    sharpe, sortino = _ratio(mean, spread), _ratio(mean, downside)
    out["sharpe"] = None if sharpe is None else sharpe * scale
    out["sortino"] = None if sortino is None else sortino * scale
    out["volatility"] = volatility * scale
    return out


def _cagr(growth: float, seconds: float) -> float | None:
    if seconds <= 0:
        return None
    try:
        return math.exp(math.log(growth) * SECONDS_PER_YEAR / seconds) - 1.0
    except OverflowError:
        return None


def _exposure(trades: pd.DataFrame, start: int, end: int) -> float | None:
    if len(trades) == 0:
        return 0.0
    if end <= start:
        return None
    s = np.clip(_times_ns(pd.DatetimeIndex(trades["entry_time"])), start, end)
    exits = pd.DatetimeIndex(trades["exit_time"]).fillna(pd.Timestamp(end, tz="UTC"))
    e = np.clip(_times_ns(exits), start, end)
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    prev_end = np.concatenate(([start], np.maximum.accumulate(e)[:-1]))
    covered = np.clip(e - np.maximum(s, prev_end), 0, None)
    return float(covered.sum()) / float(end - start)


# ---------------------------------------------------------------- trade statistics


def _longest_run(mask: BoolArray) -> int:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(runs.max()) if len(runs) else 0


def _mean(x: FloatArray) -> float | None:
    return float(x.mean()) if len(x) else None


def _trade_stats(t: pd.DataFrame) -> Metrics:
    """Statistics of validated trades (see the module docstring)."""
    closed = t[t["exit_time"].notna()].sort_values(["exit_time", "entry_time"], kind="stable")
    pnl = closed["pnl"].to_numpy(dtype=np.float64)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    gross_profit, gross_loss = float(wins.sum()), abs(float(losses.sum()))
    avg_win, avg_loss = _mean(wins), _mean(losses)
    r_mult: FloatArray = np.empty(0)
    if "risk" in closed.columns:
        risk = closed["risk"].to_numpy(dtype=np.float64)
        r_mult = pnl[~np.isnan(risk)] / risk[~np.isnan(risk)]
    held: FloatArray = np.asarray(
        (closed["exit_time"] - closed["entry_time"]).dt.total_seconds(), dtype=np.float64
    )
    return {
        "trades": len(pnl),
        "open_trades": len(t) - len(pnl),
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "win_rate": len(wins) / len(pnl) if len(pnl) else None,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "net_pnl": float(pnl.sum()),
        "profit_factor": gross_profit / gross_loss if gross_loss > 0 else None,
        "expectancy": _mean(pnl),
        "expectancy_r": _mean(r_mult),
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "avg_rr": avg_win / -avg_loss if avg_win is not None and avg_loss is not None else None,
        "best_trade": float(pnl.max()) if len(pnl) else None,
        "worst_trade": float(pnl.min()) if len(pnl) else None,
        "max_win_streak": _longest_run(pnl > 0),
        "max_loss_streak": _longest_run(pnl < 0),
        "avg_holding_s": _mean(held),
        "fees_paid": float(t["fees"].sum()),
    }


def trade_stats(trades: pd.DataFrame | None) -> Metrics:
    """Trade statistics only (win rate, profit factor, expectancy, streaks, …); no equity."""
    return _clean(_trade_stats(validate_trades(trades)))


def _clean(metrics: Mapping[str, float | int | None]) -> Metrics:
    """JSON-safe values: Python int/float, non-finite floats become None."""
    out: Metrics = {}
    for key, value in metrics.items():
        if value is None or isinstance(value, (int, np.integer)):
            out[key] = None if value is None else int(value)
        else:
            out[key] = float(value) if math.isfinite(value) else None
    return out


# ---------------------------------------------------------------- public API


def compute_metrics(
    trades: pd.DataFrame | None,
    equity: pd.Series,
    *,
    initial_cash: float | None = None,
    periods_per_year: float | None = None,
    risk_free: float = 0.0,
) -> Metrics:
    """Every metric of a backtest as a JSON-safe dict (definitions: module docstring).

    ``initial_cash`` defaults to the first equity value; ``periods_per_year`` to the one implied by
    the median bar spacing (24/7 calendar); ``risk_free`` is an annual rate. Keys: equity metrics
    (``initial_cash``, ``final_equity``, ``net_profit``, ``total_return``, ``cagr``, ``sharpe``,
    ``sortino``, ``calmar``, ``volatility``, ``max_drawdown``, ``max_drawdown_money``,
    ``max_drawdown_duration_s``, ``max_drawdown_duration_bars``, ``recovery_factor``,
    ``exposure``, ``bars``, ``duration_s``, ``periods_per_year``) then :func:`trade_stats`'.
    """
    t = validate_trades(trades)
    path = _equity_path(equity, initial_cash)
    if not (math.isfinite(risk_free) and risk_free > -1):
        raise MetricsError(f"risk_free must be a finite annual rate > -1, got {risk_free!r}")
    periods = _check_positive(periods_per_year, "periods_per_year")
    if periods is None:
        step = _path_step(path)
        periods = SECONDS_PER_YEAR / step if step else None
    start_ns, end_ns = path.first_ns, int(path.t[-1])
    duration = (np.int64(end_ns) - np.int64(start_ns)) / 1e9
    first, last = np.float64(path.first), np.float64(path.v[-1])
    net = float(last - first)
    dd = _drawdown_stats(path)
    cagr = _cagr(float(last / first), duration)
    max_dd, max_dd_money = float(dd["max_drawdown"] or 0.0), float(dd["max_drawdown_money"] or 0.0)
    out: Metrics = {
        "initial_cash": float(first),
        "final_equity": float(last),
        "net_profit": net,
        "total_return": float(last / first - 1.0),
        "cagr": cagr,
        **_return_stats(path, periods, risk_free),
        "calmar": cagr / max_dd if cagr is not None and max_dd > 0 else None,
        **dd,
        "recovery_factor": net / max_dd_money if max_dd_money > 0 else None,
        "exposure": _exposure(t, start_ns, end_ns),
        "bars": len(path) - 1,
        "duration_s": float(duration),
        "periods_per_year": periods,
    }
    return _clean({**out, **_trade_stats(t)})


def _equity_path(equity: pd.Series, initial_cash: float | None) -> _Path:
    """:func:`equity_path` as a :class:`_Path` over the validated arrays (no copies)."""
    values, index = _checked_equity(equity)
    cash = _check_positive(initial_cash, "initial_cash")
    t = _times_ns(index)
    if cash is None or cash == values[0]:
        return _Path(None, 0, values, t)
    step = bar_seconds(t) or 0.0
    first = index[0] - pd.Timedelta(seconds=step)
    head_ns = int(_times_ns(pd.DatetimeIndex([first]).as_unit(index.unit))[0])
    return _Path(float(cash), head_ns, values, t)


def _path_step(path: _Path) -> float | None:
    """:func:`bar_seconds` over the path's times (the head's gap included)."""
    values, counts = spacing_counts(path.t)
    if path.head is not None:
        gap = np.array([int(path.t[0]) - path.head_ns], dtype=np.int64)
        merged, where = np.unique(np.concatenate((values, gap)), return_inverse=True)
        total = np.zeros(merged.size, dtype=np.int64)
        np.add.at(total, where, np.concatenate((counts, [1])))
        values, counts = merged.astype(np.int64), total
    return _median_step(values, counts)


def breakdown(trades: pd.DataFrame | None, by: str = "strategy") -> pd.DataFrame:
    """Trade statistics per value of ``by`` (one of :data:`BREAKDOWN_KEYS`), one row per group.

    Columns: the :func:`trade_stats` keys plus ``pnl_max_drawdown`` — the largest fall of the
    group's cumulative closed-trade pnl (ordered by exit time, starting from 0) below its running
    high, in money. Counts are int64, the rest float64 with NaN where the dicts say None. No
    trades give an empty frame with those columns.
    """
    if by not in BREAKDOWN_KEYS:
        raise MetricsError(f"breakdown by must be one of {BREAKDOWN_KEYS}, got {by!r}")
    t = validate_trades(trades)
    if by not in t.columns:
        raise MetricsError(f"trades have no {by!r} column to break down by")
    rows: dict[object, Metrics] = {}
    for key, group in t.groupby(by, sort=True, dropna=False):
        stats = _trade_stats(group)
        closed = group[group["exit_time"].notna()].sort_values(["exit_time", "entry_time"])
        cum = np.concatenate(([0.0], closed["pnl"].to_numpy(dtype=np.float64).cumsum()))
        stats["pnl_max_drawdown"] = float(np.max(np.maximum.accumulate(cum) - cum))
        rows[key] = _clean(stats)
    columns = [*_trade_stats(validate_trades(None)), "pnl_max_drawdown"]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame = frame.astype({c: "int64" if c in _COUNT_KEYS else "float64" for c in columns})
    frame.index.name = by
    return frame


def monthly_returns(equity: pd.Series, *, initial_cash: float | None = None) -> pd.DataFrame:
    """Monthly returns, year × month (columns 1–12), as fractions; NaN outside the data.

    ``R_m = E_last(m) / E_last(m−1) − 1`` with ``E_last(m)`` the last equity point in month ``m``
    (carried forward over a month without points) and ``E_last`` before the first month equal to
    ``initial_cash`` (default: the first equity point).
    """
    eq = validate_equity(equity)
    base = _check_positive(initial_cash, "initial_cash") or float(eq.iloc[0])
    index = pd.DatetimeIndex(eq.index)
    month = index.year.to_numpy() * 12 + index.month.to_numpy() - 1
    last = pd.Series(eq.to_numpy()).groupby(month).last()
    last = last.reindex(range(int(month[0]), int(month[-1]) + 1)).ffill()
    values = last.to_numpy()
    rets = values / np.concatenate(([base], values[:-1])) - 1.0
    keys = last.index.to_numpy()
    frame = pd.DataFrame({"year": keys // 12, "month": keys % 12 + 1, "ret": rets})
    table = frame.pivot(index="year", columns="month", values="ret")
    return table.reindex(columns=range(1, 13)).rename_axis(index="year", columns="month")
