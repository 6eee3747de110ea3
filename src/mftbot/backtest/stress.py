"""Stress scenarios: what a sudden price shock does to a backtest.

Scenarios (:data:`SCENARIOS`), each a fall of every price by ``drop`` over ``duration``,
after which prices stay at the shocked level (the bars keep their own moves, scaled):

* ``flash_crash``: −50 % within 5 minutes;
* ``weekend_gap``: −10 % at once, at a Monday 00:00 UTC open;
* ``all_positions``: every open position −5 % at once.

Two methods, both reported for every scenario:

1. **inject** (re-run): the shock is written into the candles at a time ``at`` and the strategy
   runs again on them, reacting as it would. The price multiplier is ``f(t) = 1`` before
   ``at``, ``(1 − drop)^((t − at) / duration)`` during the crash, ``1 − drop`` after; a bar
   gets ``open × f(open time)``, ``close × f(close time)``, ``high × f(open time)`` and
   ``low × f(close time)`` (so its range stays consistent). For a gap (``duration`` 0) a bar
   closing at ``at`` is not shocked and the bar opening at ``at`` opens gapped. Reported at
   the *shock bar* (the first bar closing fully shocked): the equity lost against the
   unshocked run, and that loss as a share of the notional exposed (quantity held before
   ``at`` × the unshocked close of the shock bar) — ``drop`` when the position is held
   through the shock; then the final equity, worst drawdown and survival of the shocked run.
   Default times: the weekend gap at the first Monday 00:00 UTC open with a position carried
   into it (else the first Monday); the others at the open of the bar that carries the
   largest notional into it (the worst moment to be hit).
2. **overlay** (every time): for each equity point of the unshocked run, the equity if the
   shock hit every open position there with no chance to react: ``E_t − drop × notional_t``.
   Reported: the worst loss and when, the worst drawdown counting the shock, the lowest
   shocked equity and survival.

An account *survives* when its equity stays above ``cash × (1 + ruin_level)`` (default
−50 %, as in :mod:`mftbot.backtest.montecarlo`). In the table, ``at`` is the shock's start for
an injection and the bar close of the worst loss for an overlay.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mftbot.backtest.api import BacktestResult, backtest
from mftbot.backtest.metrics import equity_path
from mftbot.backtest.report import ReportSection, write_report
from mftbot.backtest.report_assets.charts import line_chart
from mftbot.backtest.runner import held_quantity
from mftbot.core.errors import MftbotError
from mftbot.strategies import Strategy

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class StressError(MftbotError, ValueError):
    """A stress scenario or its inputs are invalid."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """Every price falls by ``drop`` over ``duration`` and stays there."""

    name: str
    drop: float
    duration: pd.Timedelta
    anchor: str
    """Default time: ``exposure`` (largest position) or ``weekend`` (a Monday 00:00 UTC)."""
    description: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.drop) and 0.0 < self.drop < 1.0):
            raise StressError(f"{self.name}: drop must be in (0, 1), got {self.drop!r}")
        if self.duration < pd.Timedelta(0):
            raise StressError(f"{self.name}: duration must be >= 0")
        if self.anchor not in ("exposure", "weekend"):
            raise StressError(f"{self.name}: anchor must be 'exposure' or 'weekend'")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("flash_crash", 0.5, pd.Timedelta(minutes=5), "exposure", "−50 % in 5 minutes"),
        Scenario("weekend_gap", 0.10, pd.Timedelta(0), "weekend", "−10 % gap at a Monday open"),
        Scenario("all_positions", 0.05, pd.Timedelta(0), "exposure", "every position −5 % at once"),
    )
}
"""The built-in scenarios by name."""


# --------------------------------------------------------------------------- shocking candles


def shock_factor(times_ns: IntArray, at_ns: int, drop: float, duration_ns: int) -> FloatArray:
    """``f(t)`` of the module docstring at ``times_ns`` (a gap applies from ``at`` on)."""
    t = np.asarray(times_ns, dtype=np.int64)
    if duration_ns <= 0:
        return np.where(t >= at_ns, 1.0 - drop, 1.0)
    frac = np.clip((t - at_ns) / duration_ns, 0.0, 1.0)
    return np.asarray(np.power(1.0 - drop, frac), dtype=np.float64)


def _close_times(candles: pd.DataFrame, result: BacktestResult | None = None) -> IntArray:
    if result is not None:
        return np.asarray(pd.DatetimeIndex(result.equity.index).as_unit("ns").asi8)
    index = pd.DatetimeIndex(candles.index).as_unit("ns").asi8
    if len(index) < 2:
        raise StressError("need at least two candles")
    step = int(np.median(np.diff(index)))
    return np.asarray(np.append(index[1:], index[-1] + step).astype(np.int64))


def inject_shock(
    candles: pd.DataFrame, scenario: Scenario, at: pd.Timestamp, *, close_ns: IntArray | None = None
) -> pd.DataFrame:
    """``candles`` with ``scenario`` written in from ``at`` (module docstring). ``close_ns``:
    bar close times (default: next open, the last bar one median step long)."""
    at_ns = _ns(at)
    open_ns = np.asarray(pd.DatetimeIndex(candles.index).as_unit("ns").asi8)
    closes = _close_times(candles) if close_ns is None else close_ns
    duration = int(scenario.duration.value)
    f_open = shock_factor(open_ns, at_ns, scenario.drop, duration)
    if duration > 0:
        f_close = shock_factor(closes, at_ns, scenario.drop, duration)
    else:  # the price just before the close: a bar closing at ``at`` is not gapped
        f_close = np.where(closes > at_ns, 1.0 - scenario.drop, 1.0)
    out = candles.copy()
    out["open"] = candles["open"].to_numpy(np.float64) * f_open
    out["high"] = candles["high"].to_numpy(np.float64) * f_open
    out["low"] = candles["low"].to_numpy(np.float64) * f_close
    out["close"] = candles["close"].to_numpy(np.float64) * f_close
    return out


def _ns(value: pd.Timestamp | str) -> int:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Injection:
    """One scenario injected at one time and re-run."""

    scenario: Scenario
    at: pd.Timestamp
    shock_bar: int
    exposed_notional: float
    shock_loss: float
    result: BacktestResult = field(repr=False)

    @property
    def loss_share(self) -> float:
        """``shock_loss / exposed_notional`` (NaN without exposure)."""
        n = self.exposed_notional
        return self.shock_loss / n if n > 0 else float("nan")


@dataclass(frozen=True)
class Overlay:
    """One scenario applied to the unshocked run's positions at every equity point."""

    scenario: Scenario
    shocked_equity: pd.Series = field(repr=False)
    loss: pd.Series = field(repr=False)

    @property
    def worst_time(self) -> pd.Timestamp:
        """When the shock would have cost most."""
        return pd.Timestamp(self.loss.index[int(np.argmax(self.loss.to_numpy()))])

    @property
    def worst_loss(self) -> float:
        """The largest loss (money)."""
        return float(self.loss.max())


@dataclass(frozen=True)
class StressResult:
    """The unshocked run and every scenario by both methods."""

    baseline: BacktestResult = field(repr=False)
    candles: pd.DataFrame = field(repr=False)
    notional: pd.Series = field(repr=False)
    injections: tuple[Injection, ...]
    overlays: tuple[Overlay, ...]
    cash: float
    ruin_level: float

    @property
    def ruin_equity(self) -> float:
        """Equity at or below which the account is ruined."""
        return self.cash * (1.0 + self.ruin_level)

    def table(self) -> pd.DataFrame:
        """One row per scenario and method (see the module docstring for the columns)."""
        rows: list[dict[str, Any]] = []
        base_final = self.baseline.final_equity
        for inj in self.injections:
            eq = inj.result.equity
            values = equity_path(eq, self.cash).to_numpy()
            dd = 1.0 - values / np.maximum.accumulate(values)
            rows.append(
                {
                    "scenario": inj.scenario.name,
                    "method": "inject",
                    "at": inj.at,
                    "drop": inj.scenario.drop,
                    "exposed_notional": inj.exposed_notional,
                    "shock_loss": inj.shock_loss,
                    "loss_share": inj.loss_share,
                    "final_equity": inj.result.final_equity,
                    "equity_impact": inj.result.final_equity - base_final,
                    "equity_impact_pct": inj.result.final_equity / base_final - 1.0,
                    "worst_drawdown": float(dd.max()),
                    "min_equity": float(eq.min()),
                    "survives": bool(eq.min() > self.ruin_equity),
                }
            )
        for ov in self.overlays:
            path = equity_path(self.baseline.equity, self.cash)
            peak = np.maximum.accumulate(path.to_numpy())[len(path) - len(ov.shocked_equity) :]
            shocked = ov.shocked_equity.to_numpy()
            worst = self.notional.loc[ov.worst_time]
            rows.append(
                {
                    "scenario": ov.scenario.name,
                    "method": "overlay",
                    "at": ov.worst_time,
                    "drop": ov.scenario.drop,
                    "exposed_notional": float(worst),
                    "shock_loss": ov.worst_loss,
                    "loss_share": ov.worst_loss / worst if worst > 0 else float("nan"),
                    "final_equity": float("nan"),
                    "equity_impact": -ov.worst_loss,
                    "equity_impact_pct": -ov.worst_loss
                    / float(self.baseline.equity.loc[ov.worst_time]),
                    "worst_drawdown": float(np.max(1.0 - shocked / peak)),
                    "min_equity": float(shocked.min()),
                    "survives": bool(shocked.min() > self.ruin_equity),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: baseline final equity and max drawdown, and the table's rows."""
        records = []
        for row in self.table().to_dict(orient="records"):
            records.append({k: _json(v) for k, v in row.items()})
        return {
            "baseline_final_equity": self.baseline.final_equity,
            "baseline_max_drawdown": self.baseline.metrics.get("max_drawdown"),
            "cash": self.cash,
            "ruin_level": self.ruin_level,
            "scenarios": records,
        }


def _json(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


# --------------------------------------------------------------------------- running


def overlay(scenario: Scenario, equity: pd.Series, notional: pd.Series) -> Overlay:
    """The equity if ``scenario`` hit every open position (``notional``, aligned with
    ``equity``) at each point, with no reaction."""
    if not equity.index.equals(notional.index):
        raise StressError("equity and notional must share one index")
    loss = notional.astype("float64") * scenario.drop
    shocked = equity.astype("float64") - loss
    return Overlay(scenario, shocked.rename("equity"), loss.rename("loss"))


def default_time(
    scenario: Scenario, candles: pd.DataFrame, held: FloatArray, notional: FloatArray
) -> pd.Timestamp:
    """Where a scenario hits by default (module docstring): the open of a bar with a
    position carried into it."""
    index = pd.DatetimeIndex(candles.index)
    carried = np.concatenate(([0.0], notional[:-1]))
    if scenario.anchor == "weekend":
        monday = (index.day_of_week == 0) & (index.hour == 0) & (index.minute == 0)
        monday &= index.second == 0
        monday[0] = False
        bars = np.flatnonzero(monday)
        if len(bars) == 0:
            raise StressError("the candles hold no Monday 00:00 UTC bar for a weekend gap")
        with_position = bars[np.concatenate(([0.0], held[:-1]))[bars] > 0]
        return pd.Timestamp(index[with_position[0] if len(with_position) else bars[0]])
    through = carried * (held > 0)  # carried into the bar and still held after its fills
    score = through if through[1:].max(initial=0.0) > 0 else carried
    return pd.Timestamp(index[int(np.argmax(score[1:])) + 1])


def _inject(
    scenario: Scenario,
    at: pd.Timestamp,
    candles: pd.DataFrame,
    baseline: BacktestResult,
    held: FloatArray,
    run: Callable[[pd.DataFrame], BacktestResult],
) -> Injection:
    close_ns = _close_times(candles, baseline)
    at_ns = _ns(at)
    open_ns = np.asarray(pd.DatetimeIndex(candles.index).as_unit("ns").asi8)
    if not open_ns[0] < at_ns < close_ns[-1]:
        raise StressError(f"{scenario.name}: {at} is not inside the candles' span")
    end = at_ns + int(scenario.duration.value)
    shocked_bars = np.flatnonzero(
        close_ns > end if scenario.duration.value == 0 else close_ns >= end
    )
    if len(shocked_bars) == 0:
        raise StressError(f"{scenario.name} at {at} does not end before the candles do")
    bar = int(shocked_bars[0])
    before = np.flatnonzero(close_ns <= at_ns)
    held_before = float(held[before[-1]]) if len(before) else 0.0
    result = run(inject_shock(candles, scenario, pd.Timestamp(at_ns, tz="UTC"), close_ns=close_ns))
    base_eq = float(baseline.equity.iloc[bar])
    loss = base_eq - float(result.equity.iloc[bar])
    exposed = held_before * float(candles["close"].iloc[bar])
    return Injection(scenario, pd.Timestamp(at_ns, tz="UTC"), bar, exposed, loss, result)


def run_stress(
    strategy: str | Strategy,
    candles: pd.DataFrame,
    scenarios: Iterable[Scenario | str] | None = None,
    *,
    at: Sequence[pd.Timestamp | str] | None = None,
    params: Mapping[str, Any] | None = None,
    fee: float = 0.001,
    fill: str = "next_open",
    mode: str = "fast",
    cash: float = 10_000.0,
    symbol: str | None = None,
    timeframe: str | None = None,
    ruin_level: float = -0.5,
) -> StressResult:
    """Backtest ``strategy`` on ``candles``, then every scenario (default: all of
    :data:`SCENARIOS`) by both methods. ``at``: times to inject at (default: per scenario,
    see the module docstring); the other arguments are :func:`~mftbot.backtest.backtest`'s."""
    if not -1.0 <= ruin_level < 0.0:
        raise StressError(f"ruin_level must be in [-1, 0), got {ruin_level!r}")
    chosen = [_scenario(s) for s in (SCENARIOS.values() if scenarios is None else scenarios)]
    if not chosen:
        raise StressError("no scenario to run")

    def run(frame: pd.DataFrame) -> BacktestResult:
        return backtest(
            strategy, frame, fee=fee, fill=fill, mode=mode, cash=cash, params=params,
            symbol=symbol, timeframe=timeframe,
        )  # fmt: skip

    baseline = run(candles)
    held = held_quantity(baseline, candles)
    notional_values = held * candles["close"].to_numpy(np.float64)
    notional = pd.Series(notional_values, index=baseline.equity.index, name="notional")
    injections = []
    for scenario in chosen:
        times = (
            [default_time(scenario, candles, held, notional_values)]
            if at is None
            else [pd.Timestamp(_ns(t), tz="UTC") for t in at]
        )
        for when in times:
            injections.append(_inject(scenario, when, candles, baseline, held, run))
    overlays = tuple(overlay(s, baseline.equity, notional) for s in chosen)
    return StressResult(
        baseline=baseline,
        candles=candles,
        notional=notional,
        injections=tuple(injections),
        overlays=overlays,
        cash=float(cash),
        ruin_level=float(ruin_level),
    )


def _scenario(value: Scenario | str) -> Scenario:
    if isinstance(value, Scenario):
        return value
    try:
        return SCENARIOS[value]
    except KeyError:
        raise StressError(f"unknown scenario {value!r}; known: {', '.join(SCENARIOS)}") from None


# --------------------------------------------------------------------------- report


_METHOD_HTML = (
    "<p><b>inject</b>: the shock is written into the candles (prices × f(t), f falling from 1 "
    "to 1 − drop over the scenario's duration and staying there) and the strategy is run "
    "again; <i>shock loss</i> is the equity lost against the unshocked run at the first bar "
    "closing fully shocked, <i>loss share</i> that loss over the notional held into the "
    "shock. <b>overlay</b>: at every bar of the unshocked run, the loss if every open "
    "position fell by the drop at once with no reaction; the row shows the worst bar (its close "
    "time in <i>at</i>). An "
    "account survives when its equity stays above {ruin}.</p>"
)


def _chart(result: StressResult, inj: Injection, key: str) -> str:
    chart, _ = line_chart(result.baseline.equity, cls="equity", key=key, max_points=3000)
    shocked = inj.result.equity
    x = pd.DatetimeIndex(shocked.index).as_unit("ns").asi8
    chart.line(x, shocked.to_numpy(np.float64), "price")
    chart.vline(float(_ns(inj.at)), "rule", f"{inj.scenario.name} at {inj.at:%Y-%m-%d %H:%M}")
    return chart.render()


def write_stress_report(result: StressResult, path: str | Path, *, title: str = "") -> Path:
    """The HTML report of the unshocked run plus the scenario table, the method and, for each
    injection, the shocked equity (grey) over the unshocked one (blue)."""
    method = _METHOD_HTML.format(ruin=f"{result.ruin_equity:,.2f}")
    sections = [ReportSection("Stress method", method, "stress-method")]
    for i, inj in enumerate(result.injections):
        key = f"stress-{inj.scenario.name.replace('_', '-')}-{i}"
        html = _chart(result, inj, key) + (
            f'<p class="legend">{escape(inj.scenario.description)}: shock loss '
            f"{inj.shock_loss:,.2f} on {inj.exposed_notional:,.2f} exposed; final equity "
            f"{inj.result.final_equity:,.2f} (unshocked {result.baseline.final_equity:,.2f})</p>"
        )
        sections.append(ReportSection(f"Injected: {inj.scenario.name}", html, key))
    base = result.baseline
    return write_report(
        path,
        trades=base.trades,
        equity=base.equity,
        candles=result.candles,
        metrics=base.metrics,
        title=title or f"Stress scenarios: {base.strategy} on {base.symbol}",
        extra_tables={"Stress scenarios": result.table().set_index("scenario")},
        sections=sections,
        initial_cash=result.cash,
    )
