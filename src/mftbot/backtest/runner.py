"""Config-driven backtests: every strategy × symbol × timeframe of a :class:`BacktestConfig`.

:func:`run_config` loads the candles (:func:`load_config_candles`), runs each combination
through :func:`mftbot.backtest.backtest` as an independent long-only spot account holding
``initial_balance / n_runs``, always with the rule-based risk engine of the config's ``risk``
section (:meth:`BacktestConfig.risk_config`, ``mode=backtest``: HALTED is not persisted) and
its slippage preset — both run the step engine (a fast config says so in each run's
``result.notes``) — and combines them: the portfolio equity is the
sum of the runs' equity (each carried forward between its own bar closes, and equal to its
cash before its first close). Then, as the config asks, it writes to
``<output.dir>/<name>-<run_id>/``:

* ``risk.parquet``: every rejection and resize of the risk engine (:data:`RISK_TABLE_COLUMNS`:
  the run, the rule names and their numbers), also a report table and ``risk`` in
  ``metrics.json`` (counts per action and per failed rule, and the rows);
* ``trades.parquet`` (one row per round trip, with ``run``, ``strategy``, ``symbol``,
  ``timeframe``), ``fills.parquet`` (with the client order id of each fill's order),
  ``equity.parquet`` (portfolio: equity, cash, notional, realised and unrealised PnL) and
  ``equity_runs.parquet`` (each run's equity, long format);
* ``report.html`` (:func:`~mftbot.backtest.report.write_report`, with a per-run table and
  breakdowns per strategy, symbol and timeframe) and ``metrics.json``;
* the ledger database: one market order per fill (``PENDING → SUBMITTED → ACCEPTED →
  FILLED``, created at its signal bar's close, filled at the fill time), its fill, the
  strategy's signals with the decision taken on each, equity snapshots of the portfolio (the
  last point of each ``output.equity_snapshot_every`` interval) and one audit-log entry for the
  run (entity ``backtest_run``, id ``run_id``) plus one per risk decision (actor ``risk``, as
  :func:`mftbot.risk.audit.write_record` writes it; ``trace_id`` is the run id). Orders carry
  the bot id
  ``<bot_id>-<run_id>``, so every run's orders can be told apart.

Each fill is one market order (entries, exits and the risk engine's stop exits alike), so the
orders are derived from the fills.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from rich.console import Console
from rich.progress import Progress, TaskID

from mftbot.backtest.api import RISK_COLUMNS, BacktestResult, backtest, validate_candles
from mftbot.backtest.config import BacktestConfig, DataSource
from mftbot.backtest.metrics import Metrics, breakdown, compute_metrics
from mftbot.backtest.report import write_report
from mftbot.core.clock import SimulatedClock, WallClock, ns_to_datetime
from mftbot.core.errors import DataError, MftbotError
from mftbot.core.ids import IntentKind, client_order_id
from mftbot.core.paths import find_data_dir
from mftbot.data.candles import CandleType, parse_freqtrade_filename, read_candles
from mftbot.data.catalog import ParquetCatalog, candle_kind
from mftbot.data.resample import resample_candles
from mftbot.data.synthetic import DEFAULT_START_NS, SyntheticMarket, SyntheticMarketConfig
from mftbot.data.timeframes import is_multiple, parse_timeframe
from mftbot.domain.enums import Side
from mftbot.risk.audit import write_record
from mftbot.risk.records import RiskAction
from mftbot.storage import (
    AuditLog,
    Database,
    EquityRepository,
    Liquidity,
    OrderRepository,
    OrderStatus,
    OrderType,
    SignalDirection,
    SignalRepository,
)
from mftbot.strategies import ENTRY_LONG, ENTRY_SHORT, EXIT_LONG, EXIT_SHORT, get_strategy

VENUE = "sim"
"""Venue id written on the ledger rows of a backtest."""
_RUN_ID = re.compile(r"^[a-z0-9]{1,16}$")
_CANDLE_SUFFIXES = (".feather", ".json", ".json.gz")
_FLAG_DIRECTIONS = (
    (ENTRY_LONG, "entry_long", SignalDirection.LONG),
    (EXIT_LONG, "exit_long", SignalDirection.FLAT),
    (ENTRY_SHORT, "entry_short", SignalDirection.SHORT),
    (EXIT_SHORT, "exit_short", SignalDirection.FLAT),
)


RISK_TABLE_COLUMNS = ("run", *RISK_COLUMNS)
"""Columns of :attr:`ConfigRunResult.risk`."""


class RunnerError(MftbotError):
    """A config-driven backtest cannot run (data missing, bad run id, …)."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class RunKey:
    """One combination: a strategy entry (``strategy`` is its label) on a symbol and timeframe."""

    strategy: str
    name: str
    symbol: str
    timeframe: str

    @property
    def text(self) -> str:
        """``label symbol timeframe``, the value of the ``run`` column."""
        return f"{self.strategy} {self.symbol} {self.timeframe}"


@dataclass(frozen=True)
class Run:
    """One combination's backtest, its candles, cash, and exposure at each equity point."""

    key: RunKey
    result: BacktestResult = field(repr=False)
    candles: pd.DataFrame = field(repr=False)
    cash: float
    notional: pd.Series = field(repr=False)
    """Held quantity × close at each equity point (the market value exposed to a shock)."""
    fill_signal_ns: npt.NDArray[np.int64] = field(repr=False)
    """Close time of the bar whose signal sent each fill's order."""


@dataclass(frozen=True)
class RunOutputs:
    """Where the run's results were written (``None``: not written)."""

    folder: Path
    report: Path | None = None
    metrics: Path | None = None
    trades: Path | None = None
    fills: Path | None = None
    equity: Path | None = None
    equity_runs: Path | None = None
    risk: Path | None = None
    database_url: str | None = None


@dataclass(frozen=True)
class ConfigRunResult:
    """Everything a config-driven backtest produced."""

    config: BacktestConfig
    run_id: str
    data_source: str
    runs: tuple[Run, ...] = field(repr=False)
    trades: pd.DataFrame = field(repr=False)
    fills: pd.DataFrame = field(repr=False)
    equity: pd.DataFrame = field(repr=False)
    """Portfolio at each point: ``equity``, ``cash``, ``notional``, ``realised_pnl``,
    ``unrealised_pnl`` (UTC index ``time``)."""
    metrics: Metrics
    run_table: pd.DataFrame = field(repr=False)
    breakdowns: dict[str, pd.DataFrame] = field(repr=False)
    risk: pd.DataFrame = field(repr=False)
    """Every rejection and resize of the runs' risk engines (:data:`RISK_TABLE_COLUMNS`)."""
    outputs: RunOutputs | None = None
    db_rows: dict[str, int] = field(default_factory=dict)

    @property
    def initial_cash(self) -> float:
        """Total starting cash (the config's initial balance)."""
        return float(self.config.initial_balance)

    @property
    def equity_curve(self) -> pd.Series:
        """The portfolio equity as a Series."""
        series: pd.Series = self.equity["equity"]
        return series

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: run id, data source, portfolio metrics, per-run rows, outputs."""
        runs = [
            {k: _json_value(v) for k, v in row.items()}
            for row in self.run_table.reset_index().to_dict(orient="records")
        ]
        outputs = None
        if self.outputs is not None:
            outputs = {k: None if v is None else str(v) for k, v in vars(self.outputs).items()}
        return {
            "run_id": self.run_id,
            "name": self.config.name,
            "data_source": self.data_source,
            "final_equity": float(self.equity_curve.iloc[-1]),
            "metrics": {k: _json_value(v) for k, v in self.metrics.items()},
            "runs": runs,
            "risk": self.risk_summary(),
            "outputs": outputs,
            "db_rows": dict(self.db_rows),
        }

    def risk_summary(self) -> dict[str, Any]:
        """Counts of the risk decisions (per action, per failed rule, final trading state per
        run) and the rejection and resize rows, JSON-ready."""
        frame = self.risk
        by_rule: dict[str, int] = {}
        for rules in frame["failed_rules"].tolist():
            for rule in filter(None, str(rules).split(",")):
                by_rule[rule] = by_rule.get(rule, 0) + 1
        rows = frame.assign(time=frame["time"].map(lambda t: t.isoformat()))
        return {
            "rejections": int((frame["action"] == RiskAction.REJECTED.value).sum()),
            "resizes": int((frame["action"] == RiskAction.RESIZED.value).sum()),
            "by_rule": dict(sorted(by_rule.items())),
            "trading_state": {
                r.key.text: r.result.risk["summary"]["trading_state"] for r in self.runs
            },
            "decisions": [
                {k: _json_value(v) for k, v in row.items()}
                for row in rows.to_dict(orient="records")
            ],
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


# --------------------------------------------------------------------------- candles


def _clip(frame: pd.DataFrame, config: BacktestConfig, what: str) -> pd.DataFrame:
    index = pd.DatetimeIndex(frame.index)
    keep = np.ones(len(frame), dtype=bool)
    if config.start is not None:
        keep &= index >= pd.Timestamp(config.start)
    if config.end is not None:
        keep &= index < pd.Timestamp(config.end)
    out = frame.loc[keep]
    if len(out) == 0:
        raise RunnerError(f"{what}: no candles in the period {config.start} .. {config.end}")
    out.attrs = dict(frame.attrs)
    return out


def _to_timeframe(frame: pd.DataFrame, source_tf: str, timeframe: str, what: str) -> pd.DataFrame:
    if parse_timeframe(source_tf) == parse_timeframe(timeframe):
        return frame
    if not is_multiple(timeframe, source_tf):
        raise RunnerError(f"{what}: {timeframe} is not a whole multiple of the data's {source_tf}")
    out = resample_candles(frame, timeframe, source_timeframe=source_tf)
    out.attrs["timeframe"] = parse_timeframe(timeframe).text
    return out


def _folder_files(folder: Path, symbol: str) -> dict[str, Path]:
    """The spot candle files of ``symbol`` in a freqtrade folder, by timeframe."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.name.endswith(_CANDLE_SUFFIXES):
            continue
        try:
            name = parse_freqtrade_filename(path)
        except DataError:
            continue
        if name.symbol == symbol and name.candle_type is CandleType.SPOT and name.timeframe:
            found.setdefault(parse_timeframe(name.timeframe).text, path)
    return found


def _from_folder(folder: Path, symbol: str, timeframe: str) -> tuple[pd.DataFrame, str]:
    files = _folder_files(folder, symbol)
    usable = [tf for tf in files if is_multiple(timeframe, tf)]
    if not usable:
        have = ", ".join(files) or "none"
        raise RunnerError(
            f"{folder}: no {symbol} candle file at {timeframe} or a finer timeframe dividing it "
            f"(have: {have})"
        )
    source_tf = max(usable, key=lambda tf: parse_timeframe(tf).step_ns)
    frame = read_candles(files[source_tf])
    return _to_timeframe(frame, source_tf, timeframe, symbol), str(files[source_tf])


def _from_file(path: Path, symbol: str, timeframe: str) -> tuple[pd.DataFrame, str]:
    if not path.is_file():
        raise RunnerError(f"{symbol}: candle file {path} does not exist")
    frame = read_candles(path, infer=True)
    source_tf = str(frame.attrs.get("timeframe") or "")
    if not source_tf:
        raise RunnerError(f"{path}: cannot tell the candles' timeframe")
    return _to_timeframe(frame, source_tf, timeframe, symbol), str(path)


def _from_catalog(config: BacktestConfig, symbol: str, timeframe: str) -> tuple[pd.DataFrame, str]:
    root = config.data.catalog_dir
    assert root is not None  # checked by the config
    catalog = ParquetCatalog(root)
    frame = catalog.read(
        symbol, candle_kind(timeframe), venue=config.data.venue, start=config.start, end=config.end
    )
    frame = frame[["open", "high", "low", "close", "volume"]].astype("float64")
    frame.attrs["timeframe"] = timeframe
    return frame, f"catalog {root}"


def _synthetic(
    config: BacktestConfig, market: SyntheticMarket, symbol: str, timeframe: str
) -> pd.DataFrame:
    tf = parse_timeframe(timeframe)
    start_ns = DEFAULT_START_NS
    if config.start is not None:
        start_ns = tf.next_start(tf.floor(pd.Timestamp(config.start).value - 1))
    n_bars = config.data.synthetic_bars
    if config.start is not None and config.end is not None:
        n_bars = max(1, -(-(pd.Timestamp(config.end).value - start_ns) // tf.step_ns))
    frame = market.candles(symbol, timeframe, n_bars, start_ns=start_ns)
    frame.attrs["timeframe"] = tf.text
    return frame


def load_config_candles(
    config: BacktestConfig, *, data_dir: str | Path | None = None
) -> tuple[dict[tuple[str, str], pd.DataFrame], str]:
    """The candles of every (symbol, timeframe) of ``config``, clipped to its period, and a
    description of where they came from. ``data_dir`` overrides ``config.data.data_dir``.

    ``source: auto`` reads the freqtrade folder ``data.folder`` under the recorded-data
    folder when it holds every symbol, else falls back to the synthetic market and says why.
    """
    data = config.data
    source = data.source
    note = ""
    folder = data.folder
    if source in (DataSource.AUTO, DataSource.FOLDER) and not folder.is_absolute():
        root = find_data_dir(data_dir if data_dir is not None else data.data_dir)
        folder = root / folder if root is not None else folder
        if root is None and source is DataSource.AUTO:
            note = "no recorded-data folder found"
    if source in (DataSource.AUTO, DataSource.FOLDER):
        missing = [s for s in config.symbols if not folder.is_dir() or not _folder_files(folder, s)]
        if missing and source is DataSource.FOLDER:
            raise RunnerError(f"{folder}: no candle files for {', '.join(missing)}")
        if missing:
            note = f" (no recorded candles for {', '.join(missing)}: {note or f'not in {folder}'})"
            source = DataSource.SYNTHETIC
        elif source is DataSource.AUTO:
            source = DataSource.FOLDER
    out: dict[tuple[str, str], pd.DataFrame] = {}
    origins: list[str] = []
    market = (
        SyntheticMarket(SyntheticMarketConfig(), config.symbols, data.synthetic_seed)
        if source is DataSource.SYNTHETIC
        else None
    )
    for symbol in config.symbols:
        for timeframe in config.timeframes:
            what = f"{symbol} {timeframe}"
            if market is not None:
                frame, origin = _synthetic(config, market, symbol, timeframe), ""
            elif source is DataSource.FILES:
                frame, origin = _from_file(data.files[symbol], symbol, timeframe)
            elif source is DataSource.CATALOG:
                frame, origin = _from_catalog(config, symbol, timeframe)
            else:
                frame, origin = _from_folder(folder, symbol, timeframe)
            out[(symbol, timeframe)] = _clip(frame, config, what)
            if origin:
                origins.append(origin)
    if market is not None:
        return out, f"synthetic market (seed {data.synthetic_seed}){note}"
    folders = sorted({str(Path(o).parent) if o.endswith(_CANDLE_SUFFIXES) else o for o in origins})
    return out, f"{source.value}: {', '.join(folders)}"


# --------------------------------------------------------------------------- running


def fill_bars(result: BacktestResult, candles: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Bar index of each fill of ``result`` (run on ``candles``): the bar whose open
    (``fill="next_open"``) or close (``fill="close"``) the fill is stamped with."""
    ts = result.fills.ts
    stamps = (
        pd.DatetimeIndex(candles.index).as_unit("ns").asi8
        if result.fill == "next_open"
        else pd.DatetimeIndex(result.equity.index).as_unit("ns").asi8
    )
    bars = np.searchsorted(stamps, ts)
    if len(ts) and (bars.max() >= len(stamps) or not np.array_equal(stamps[bars], ts)):
        raise RunnerError(f"{result.strategy} {result.symbol}: fills are not on bar times")
    return bars.astype(np.int64)


def held_quantity(result: BacktestResult, candles: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Base quantity held after each bar's fills (aligned with ``result.equity``)."""
    bars = fill_bars(result, candles)
    change = np.zeros(len(candles))
    np.add.at(change, bars, result.fills.side * result.fills.qty)
    held = np.cumsum(change)
    held[np.abs(held) <= 1e-12 * np.abs(result.fills.qty).max(initial=0.0)] = 0.0
    return held


def _make_run(key: RunKey, result: BacktestResult, candles: pd.DataFrame, cash: float) -> Run:
    held = held_quantity(result, candles)
    close = candles["close"].to_numpy(np.float64)
    notional = pd.Series(held * close, index=result.equity.index, name="notional")
    close_ns = pd.DatetimeIndex(result.equity.index).as_unit("ns").asi8
    bars = fill_bars(result, candles)
    signal_bar = bars - 1 if result.fill == "next_open" else bars
    return Run(key, result, candles, cash, notional, close_ns[signal_bar].astype(np.int64))


def _runs_of(config: BacktestConfig) -> list[tuple[RunKey, dict[str, Any]]]:
    return [
        (RunKey(entry.key, entry.name, symbol, tf), dict(entry.params))
        for entry in config.strategies
        for symbol in config.symbols
        for tf in config.timeframes
    ]


def _combined(runs: list[Run], trades: pd.DataFrame) -> pd.DataFrame:
    """Portfolio equity, cash, notional and PnL split at the union of the runs' points."""
    index = pd.DatetimeIndex(sorted(set().union(*(r.result.equity.index for r in runs))))
    equity = np.zeros(len(index))
    notional = np.zeros(len(index))
    for run in runs:
        equity += run.result.equity.reindex(index).ffill().fillna(run.cash).to_numpy()
        notional += run.notional.reindex(index).ffill().fillna(0.0).to_numpy()
    total = sum(r.cash for r in runs)
    closed = trades[trades["exit_time"].notna()].sort_values("exit_time", kind="stable")
    exits = pd.DatetimeIndex(closed["exit_time"]).as_unit("ns").asi8
    cum = np.concatenate(([0.0], np.cumsum(closed["pnl"].to_numpy(np.float64))))
    realised = cum[np.searchsorted(exits, index.as_unit("ns").asi8, side="right")]
    return pd.DataFrame(
        {
            "equity": equity,
            "cash": equity - notional,
            "notional": notional,
            "realised_pnl": realised,
            "unrealised_pnl": equity - total - realised,
        },
        index=index.rename("time"),
    )


def _trades_table(runs: list[Run]) -> pd.DataFrame:
    parts = []
    for run in runs:
        t = run.result.trades.copy()
        t.insert(0, "timeframe", run.key.timeframe)
        t.insert(0, "symbol", run.key.symbol)
        t.insert(0, "strategy", run.key.strategy)
        t.insert(0, "run", run.key.text)
        parts.append(t)
    trades = pd.concat(parts, ignore_index=True)
    for column in ("run", "strategy", "symbol", "timeframe", "side"):
        trades[column] = trades[column].astype("str")
    return trades.sort_values(["entry_time", "run"], kind="stable").reset_index(drop=True)


def _fills_table(runs: list[Run], ledger_bot: str) -> pd.DataFrame:
    parts = []
    for run in runs:
        f = run.result.fills
        key = run.key
        coids = [
            client_order_id(
                ledger_bot,
                f"{key.strategy}/{key.timeframe}",
                key.symbol,
                int(signal_ns),
                IntentKind.ENTRY if side > 0 else IntentKind.EXIT,
                venue=VENUE,
            )
            for signal_ns, side in zip(run.fill_signal_ns.tolist(), f.side.tolist(), strict=True)
        ]
        parts.append(
            pd.DataFrame(
                {
                    "run": key.text,
                    "strategy": key.strategy,
                    "symbol": key.symbol,
                    "timeframe": key.timeframe,
                    "time": pd.to_datetime(f.ts, unit="ns", utc=True),
                    "signal_time": pd.to_datetime(run.fill_signal_ns, unit="ns", utc=True),
                    "side": np.where(f.side > 0, "buy", "sell"),
                    "price": f.price,
                    "qty": f.qty,
                    "fee": f.fee,
                    "client_order_id": coids,
                }
            )
        )
    fills = pd.concat(parts, ignore_index=True)
    for column in ("run", "strategy", "symbol", "timeframe", "side", "client_order_id"):
        fills[column] = fills[column].astype("str")
    return fills.sort_values(["time", "run"], kind="stable").reset_index(drop=True)


_RUN_COLUMNS = (
    "final_equity",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "trades",
    "win_rate",
    "profit_factor",
    "expectancy",
    "exposure",
    "fees_paid",
)


def _run_table(runs: list[Run]) -> pd.DataFrame:
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "run": run.key.text,
            "strategy": run.key.strategy,
            "symbol": run.key.symbol,
            "timeframe": run.key.timeframe,
            "bars": len(run.candles),
            "cash": run.cash,
        }
        row.update({c: run.result.metrics.get(c) for c in _RUN_COLUMNS})
        row["risk_rejections"] = len(run.result.risk["rejections"])
        row["risk_resizes"] = len(run.result.risk["resizes"])
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("run")
    numeric = [c for c in frame.columns if c not in ("strategy", "symbol", "timeframe")]
    counts = ("bars", "trades", "risk_rejections", "risk_resizes")
    return frame.astype({c: "float64" for c in numeric if c not in counts})


@contextmanager
def _progress(console: Console | None) -> Iterator[Progress]:
    with Progress(console=console, disable=console is None, transient=False) as progress:
        yield progress


def new_run_id() -> str:
    """A fresh 8-character run id."""
    return uuid.uuid4().hex[:8]


def run_config(
    config: BacktestConfig,
    *,
    run_id: str | None = None,
    console: Console | None = None,
    data_dir: str | Path | None = None,
    candles: Mapping[tuple[str, str], pd.DataFrame] | None = None,
) -> ConfigRunResult:
    """Run ``config`` and write what its ``output`` section asks (module docstring).

    ``console``: where the progress bar goes (``None``: no progress shown). ``candles``:
    (symbol, timeframe) → candles to use instead of loading them (tests, stress scenarios).
    """
    run_id = run_id or new_run_id()
    if not _RUN_ID.match(run_id):
        raise RunnerError(f"run id {run_id!r}: 1 to 16 lower-case letters or digits")
    if candles is None:
        series, source = load_config_candles(config, data_dir=data_dir)
    else:
        series, source = dict(candles), "given candles"
    combos = _runs_of(config)
    cash = config.initial_balance / len(combos)
    risk = config.risk_config()
    runs: list[Run] = []
    with _progress(console) as progress:
        task = progress.add_task("backtest", total=len(combos))
        for key, params in combos:
            progress.update(task, description=f"backtest {key.text}")
            frame = series.get((key.symbol, key.timeframe))
            if frame is None:
                raise RunnerError(f"no candles for {key.symbol} {key.timeframe}")
            result = backtest(
                key.name,
                frame,
                fee=config.fee,
                fill=config.fill,
                mode=config.mode,
                cash=cash,
                params=params,
                symbol=key.symbol,
                timeframe=key.timeframe,
                risk=risk,
                slippage=str(config.slippage),
            )
            runs.append(_make_run(key, result, frame, cash))
            progress.advance(task)
        return _write_outputs(_assemble(config, run_id, source, runs), progress)


def _assemble(config: BacktestConfig, run_id: str, source: str, runs: list[Run]) -> ConfigRunResult:
    trades = _trades_table(runs)
    equity = _combined(runs, trades)
    return ConfigRunResult(
        config=config,
        run_id=run_id,
        data_source=source,
        runs=tuple(runs),
        trades=trades,
        fills=_fills_table(runs, f"{config.bot_id}-{run_id}"),
        equity=equity,
        metrics=compute_metrics(trades, equity["equity"], initial_cash=config.initial_balance),
        run_table=_run_table(runs),
        breakdowns={by: breakdown(trades, by) for by in ("strategy", "symbol", "timeframe")},
        risk=_risk_table(runs),
    )


def _risk_table(runs: list[Run]) -> pd.DataFrame:
    """The runs' rejections and resizes, oldest first, with the run's name."""
    parts = [run.result.risk_frame().assign(run=run.key.text) for run in runs]
    table = pd.concat(parts, ignore_index=True)[list(RISK_TABLE_COLUMNS)]
    for column in ("run", "action", "strategy", "symbol", "intent", "side"):
        table[column] = table[column].astype("str")
    for column in ("failed_rules", "binding", "trading_state", "reason"):
        table[column] = table[column].astype("str")
    return table.sort_values(["time", "run"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- outputs


def _write_outputs(result: ConfigRunResult, progress: Progress) -> ConfigRunResult:
    out = result.config.output
    folder = out.dir / f"{result.config.name}-{result.run_id}"
    steps = int(out.parquet) + int(out.report) + int(out.database) + 1
    task = progress.add_task("write results", total=steps)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {"folder": folder, "metrics": folder / "metrics.json"}
    if out.parquet:
        paths.update(write_parquet(result, folder))
        progress.advance(task)
    if out.report:
        paths["report"] = write_config_report(result, folder / "report.html")
        progress.advance(task)
    if out.database:
        paths["database_url"] = result.config.database_url
    final = replace(result, outputs=RunOutputs(**paths))
    if out.database:
        with Database(result.config.database_url) as db:
            db.upgrade()
            final = replace(final, db_rows=persist(final, db, progress))
        progress.advance(task)
    paths["metrics"].write_text(json.dumps(final.to_dict(), indent=2, allow_nan=False) + "\n")
    progress.advance(task)
    return final


def write_parquet(result: ConfigRunResult, folder: Path) -> dict[str, Path]:
    """Write trades, fills, portfolio equity and per-run equity as Parquet; return the paths."""
    runs_equity = pd.concat(
        [
            pd.DataFrame(
                {
                    "run": run.key.text,
                    "time": run.result.equity.index,
                    "equity": run.result.equity.to_numpy(),
                    "notional": run.notional.to_numpy(),
                }
            )
            for run in result.runs
        ],
        ignore_index=True,
    )
    runs_equity["run"] = runs_equity["run"].astype("str")
    frames = {
        "trades": result.trades,
        "fills": result.fills,
        "equity": result.equity.reset_index(),
        "equity_runs": runs_equity,
        "risk": result.risk,
    }
    paths = {}
    for name, frame in frames.items():
        path = folder / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        paths[name] = path
    return paths


def write_config_report(result: ConfigRunResult, path: Path) -> Path:
    """The HTML report of the portfolio: per-run table, breakdowns, price charts per symbol."""
    finest: dict[str, pd.DataFrame] = {}
    for run in result.runs:
        current = finest.get(run.key.symbol)
        step = parse_timeframe(run.key.timeframe).step_ns
        if current is None or step < parse_timeframe(current.attrs["timeframe"]).step_ns:
            frame = run.candles.copy()
            frame.attrs["timeframe"] = run.key.timeframe
            finest[run.key.symbol] = frame
    config = result.config
    title = f"{config.name} · run {result.run_id} · {len(result.runs)} runs"
    return write_report(
        path,
        trades=result.trades,
        equity=result.equity_curve,
        candles=finest,
        metrics=result.metrics,
        title=title,
        extra_tables={"Runs": result.run_table, "Risk decisions": result.risk},
        initial_cash=config.initial_balance,
    )


# --------------------------------------------------------------------------- database


def _snapshots(equity: pd.DataFrame, every: str | None) -> pd.DataFrame:
    if every is None:
        return equity
    step = parse_timeframe(every)
    buckets = step.floor_array(pd.DatetimeIndex(equity.index).as_unit("ns").asi8 - 1)
    last = ~pd.Series(buckets).duplicated(keep="last").to_numpy()
    return equity.loc[last]


def persist(
    result: ConfigRunResult, db: Database, progress: Progress | None = None
) -> dict[str, int]:
    """Write the run to the ledger database in one transaction; return rows written per table."""
    config = result.config
    ledger_bot = f"{config.bot_id}-{result.run_id}"
    snapshots = _snapshots(result.equity, config.output.equity_snapshot_every)
    task = None
    if progress is not None:
        task = progress.add_task("ledger", total=len(result.fills) + len(snapshots))
    counts: dict[str, int] = {}
    with db.transaction() as session:
        counts["orders"] = counts["fills"] = _persist_orders(
            result, OrderRepository(session, SimulatedClock()), ledger_bot, progress, task
        )
        counts["signals"] = _persist_signals(result, SignalRepository(session))
        equity_repo = EquityRepository(session)
        columns = [snapshots[c].tolist() for c in ("equity", "cash", "unrealised_pnl")]
        columns.append(snapshots["realised_pnl"].tolist())
        times = pd.DatetimeIndex(snapshots.index).as_unit("ns").asi8.tolist()
        for ts, equity, cash, unrealised, realised in zip(times, *columns, strict=True):
            equity_repo.record(
                equity=equity,
                cash=cash,
                unrealised_pnl=unrealised,
                realised_pnl=realised,
                mode="backtest",
                ts=ns_to_datetime(ts),
            )
            if progress is not None and task is not None:
                progress.advance(task)
        counts["equity_snapshots"] = len(snapshots)
        audit = AuditLog(session, WallClock())
        decisions = 0
        for run in result.runs:
            for record in run.result.risk_records:
                write_record(audit, record, trace_id=result.run_id)
                decisions += 1
        counts["risk_decisions"] = decisions
        counts["audit_log"] = 1 + decisions
        audit.append(
            "backtest_run",
            actor="mftbot.backtest",
            entity_type="backtest_run",
            entity_id=result.run_id,
            details=_audit_details(result, ledger_bot, counts),
        )
    return counts


def _persist_orders(
    result: ConfigRunResult,
    orders: OrderRepository,
    ledger_bot: str,
    progress: Progress | None,
    task: TaskID | None,
) -> int:
    """One market order per fill: written at its signal time, then submitted, accepted and
    filled at the fill time (the repository's clock is moved to each)."""
    clock = orders.clock
    assert isinstance(clock, SimulatedClock)
    f = result.fills
    rows = zip(
        f["client_order_id"].tolist(),
        f["run"].tolist(),
        f["strategy"].tolist(),
        f["symbol"].tolist(),
        f["timeframe"].tolist(),
        f["side"].tolist(),
        pd.DatetimeIndex(f["signal_time"]).as_unit("ns").asi8.tolist(),
        pd.DatetimeIndex(f["time"]).as_unit("ns").asi8.tolist(),
        f["price"].tolist(),
        f["qty"].tolist(),
        f["fee"].tolist(),
        strict=True,
    )
    for coid, run, strategy, symbol, timeframe, side, signal_ns, fill_ns, price, qty, fee in rows:
        clock.advance_to(signal_ns)
        order = orders.add_intent(
            client_order_id=coid,
            bot_id=ledger_bot,
            strategy=strategy,
            venue=VENUE,
            symbol=symbol,
            side=Side.BUY if side == "buy" else Side.SELL,
            order_type=OrderType.MARKET,
            quantity=qty,
            payload={"run_id": result.run_id, "run": run, "timeframe": timeframe},
        )
        orders.update_status(order, OrderStatus.SUBMITTED)
        orders.update_status(order, OrderStatus.ACCEPTED)
        clock.advance_to(fill_ns)
        orders.add_fill(
            order,
            venue_trade_id=f"{result.run_id}-{coid}",
            price=price,
            qty=qty,
            liquidity=Liquidity.TAKER,
            fee=fee,
            fee_currency=symbol.partition("/")[2],
        )
        if progress is not None and task is not None:
            progress.advance(task)
    return len(f)


def _persist_signals(result: ConfigRunResult, repo: SignalRepository) -> int:
    """The strategies' signals, each with ``taken`` (an order was sent) or ``ignored``."""
    written = 0
    taken = set(zip(result.fills["run"], result.fills["signal_time"].astype("int64"), strict=True))
    for run in result.runs:
        key = run.key
        strategy = get_strategy(key.name, dict(_params_of(result.config, key.strategy)))
        signals = strategy.populate(validate_candles(run.candles))
        flags = signals.flags()
        close_ns = pd.DatetimeIndex(run.result.equity.index).as_unit("ns").asi8
        confidence = signals.confidence
        for row in np.flatnonzero(flags).tolist():
            for bit, name, direction in _FLAG_DIRECTIONS:
                if not flags[row] & bit:
                    continue
                conf = 1.0 if confidence is None else float(confidence[row])
                ts = int(close_ns[row])
                repo.add(
                    strategy=key.strategy,
                    symbol=key.symbol,
                    timeframe=key.timeframe,
                    direction=direction,
                    confidence=1.0 if math.isnan(conf) else conf,
                    signal_time=ns_to_datetime(ts),
                    payload={"run_id": result.run_id, "run": key.text, "flag": name},
                    decision="taken" if (key.text, ts) in taken else "ignored",
                )
                written += 1
    return written


def _params_of(config: BacktestConfig, label: str) -> Mapping[str, Any]:
    return next(e.params for e in config.strategies if e.key == label)


def _audit_details(
    result: ConfigRunResult, ledger_bot: str, counts: dict[str, int]
) -> dict[str, Any]:
    summary = result.to_dict()
    return {
        "name": result.config.name,
        "ledger_bot_id": ledger_bot,
        "data_source": result.data_source,
        "config": result.config.model_dump(mode="json"),
        "metrics": summary["metrics"],
        "runs": summary["runs"],
        "outputs": summary["outputs"],
        "rows": dict(counts),
    }
