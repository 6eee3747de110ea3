"""The quick backtest: one strategy, one candle series, all-in long-only spot, from Python.

``backtest("sma_cross", candles, fee=0.001, fill="next_open", mode="fast")`` runs the
strategy through the engine (``mode="step"``: the full event loop with the candle simulated
venue) or through fast mode (``mode="fast"``: vectorised signals and the compiled fill loop);
both give the same trades and equity. The result has ``.trades`` (one row per round trip),
``.equity`` (a UTC Series at bar close times), ``.final_equity``, ``.metrics`` and
``.to_json()``. An open position at the end is marked to the last close without an exit fee
and listed with empty exit fields.

**Risk.** ``risk=None`` (the default) runs no risk engine, so comparisons with other
backtesters stay like for like. ``risk=`` a :class:`~mftbot.risk.config.RiskConfig` or a dict
of it runs the rule-based risk engine on every intent (entries are sized by it: the all-in
intent is the upper bound) with its stops, loss limits and kill switch; HALTED is not
persisted between runs. The risk engine is stateful per event, so such a run always uses the
step engine: ``mode="fast"`` with ``risk=`` runs ``"step"`` and says so in ``.notes`` (``.mode``
is the mode that ran). Unless the config sets ``checks.fee_rate``, the risk engine assumes the
backtest's ``fee``. The result lists every decision: ``.risk`` (rejections and resizes with
rule names and numbers, exits, state changes, summary; also in ``to_json()`` under ``"risk"``,
a key present only when a risk engine ran), ``.risk_frame()`` (a table) and ``.risk_records``.
``audit=`` (e.g. ``AuditWriter(AuditLog(session))``) receives every record as it is made.

**Slippage.** ``slippage="none"`` (the default) fills at the bar's open or close exactly (the
candle venue). A preset (``"optimistic"``, ``"realistic"``, ``"conservative"``) runs on the
realistic :class:`~mftbot.execution.sim.venue.SimulatedVenue` with that candle slippage model
(spread, volatility, size/volume impact, gap penalty) and the same flat ``fee``, in step
mode: ``mode="fast"`` with a preset runs ``"step"`` and says so in ``.notes``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mftbot.analysis.registry import CandleArrays
from mftbot.backtest.metrics import Metrics, compute_metrics
from mftbot.core.clock import SimulatedClock
from mftbot.core.errors import ConfigError, DataError, MftbotError
from mftbot.core.memory import release_free_memory
from mftbot.core.modes import TradingMode
from mftbot.data.candles import index_ns, infer_timeframe
from mftbot.data.timeframes import parse_timeframe
from mftbot.domain.events import CandleClosed
from mftbot.engine.engine import Engine, StrategyBinding
from mftbot.engine.fast import run_strategy_fast
from mftbot.engine.feed import CandleFeed
from mftbot.engine.portfolio import Portfolio
from mftbot.engine.results import EquityCurve, FillLog, RoundTrips, round_trips
from mftbot.execution.ledger import InMemoryLedger
from mftbot.execution.sim.candle_venue import CandleFill, CandleSimVenue, split_spot_symbol
from mftbot.execution.sim.fees import FeeTable
from mftbot.execution.sim.slippage import SlippagePreset
from mftbot.execution.sim.venue import SimulatedVenue, SimVenueConfig
from mftbot.execution.venue import Venue, VenueError
from mftbot.risk.base import PassThroughRisk
from mftbot.risk.factory import RiskArg, build_risk_engine, risk_results
from mftbot.risk.records import RiskAction, RiskRecord
from mftbot.strategies import Strategy, get_strategy

if TYPE_CHECKING:
    from mftbot.risk.config import RiskConfig

OHLCV = ("open", "high", "low", "close", "volume")
MODES = ("fast", "step")
FILLS = tuple(m.value for m in CandleFill)
NO_SLIPPAGE = "none"
SLIPPAGES = (NO_SLIPPAGE, *(p.value for p in SlippagePreset))
"""``slippage=`` choices: no slippage (the candle venue), or a candle slippage preset."""
DEFAULT_SYMBOL = "BASE/QUOTE"
"""Symbol used when none is given (only its quote names the cash currency)."""

TRADE_COLUMNS = (
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "qty",
    "pnl",
    "fees",
)
RISK_COLUMNS = (
    "time",
    "action",
    "strategy",
    "symbol",
    "intent",
    "side",
    "requested_qty",
    "final_qty",
    "failed_rules",
    "binding",
    "portfolio_scale",
    "trading_state",
    "reason",
)
"""Columns of :meth:`BacktestResult.risk_frame`: one row per risk record."""
RISK_STEP_NOTE = (
    "mode 'fast' was asked with a risk engine: ran 'step' (the risk engine is stateful per "
    "event; fast mode has no per-event hooks)"
)
SLIPPAGE_STEP_NOTE = (
    "mode 'fast' was asked with a slippage preset: ran 'step' (the slippage model lives in "
    "the simulated venue of the event loop)"
)


class BacktestError(MftbotError, ValueError):
    """A backtest argument or the candles are invalid."""


@dataclass(frozen=True)
class BacktestResult:
    """Trades, equity and metrics of one quick backtest."""

    strategy: str
    symbol: str
    timeframe: str
    fee: float
    fill: str
    mode: str
    cash: float
    trades: pd.DataFrame = field(repr=False)
    equity: pd.Series = field(repr=False)
    final_equity: float
    metrics: Metrics
    fills: FillLog = field(repr=False)
    round_trips: RoundTrips = field(repr=False)
    risk: dict[str, Any] = field(default_factory=lambda: risk_results(PassThroughRisk()))
    """:func:`~mftbot.risk.factory.risk_results` of the run (``enabled`` false without risk)."""
    risk_records: tuple[RiskRecord, ...] = field(default=(), repr=False)
    notes: tuple[str, ...] = ()
    """What the run changed of what was asked (a fast run done in step mode, say)."""
    diagnostics: Any = field(default=None, repr=False)
    """The strategy's ``diagnostics(candles)`` where it has one (a consensus: its weights per
    re-weight time and vote counters, with a ``to_dict()``), else ``None``."""

    @property
    def risk_enabled(self) -> bool:
        """Whether a risk engine ran."""
        return bool(self.risk.get("enabled"))

    def risk_frame(
        self, actions: Sequence[str] = (RiskAction.REJECTED, RiskAction.RESIZED)
    ) -> pd.DataFrame:
        """The risk records of ``actions`` (default: rejections and resizes) as a table
        (:data:`RISK_COLUMNS`): the failed rules, what bound the size, the portfolio scale and
        the reason with its numbers."""
        wanted = {RiskAction(a) for a in actions}
        rows = [_risk_row(r) for r in self.risk_records if r.action in wanted]
        frame = pd.DataFrame(rows, columns=list(RISK_COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"].astype("int64"), unit="ns", utc=True)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """``{"trades": [...], "final_equity": x, "metrics": {...}}``, JSON-ready (ISO-8601
        UTC times; ``null`` for the exit of an open trade)."""
        rt = self.round_trips
        trades = [
            {
                "side": "long",
                "entry_time": _iso(entry_ts),
                "entry_price": entry_price,
                "exit_time": None if is_open else _iso(exit_ts),
                "exit_price": None if is_open else exit_price,
                "qty": qty,
                "pnl": pnl,
                "fees": fees,
            }
            for entry_ts, entry_price, exit_ts, exit_price, qty, pnl, fees, is_open in zip(
                rt.entry_ts.tolist(),
                rt.entry_price.tolist(),
                rt.exit_ts.tolist(),
                rt.exit_price.tolist(),
                rt.qty.tolist(),
                rt.pnl.tolist(),
                rt.fees.tolist(),
                rt.is_open.tolist(),
                strict=True,
            )
        ]
        metrics = {k: _json_number(v) for k, v in self.metrics.items()}
        doc: dict[str, Any] = {
            "trades": trades,
            "final_equity": self.final_equity,
            "metrics": metrics,
        }
        if self.risk_enabled:
            doc["risk"] = self.risk
        if self.notes:
            doc["notes"] = list(self.notes)
        if self.diagnostics is not None:
            doc["diagnostics"] = self.diagnostics.to_dict()
        return doc

    def to_json(self, *, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON (no NaN: undefined numbers are ``null``)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def _iso(ts_ns: int) -> str:
    return pd.Timestamp(ts_ns, unit="ns", tz="UTC").isoformat()


def _json_number(value: float | int | None) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _risk_row(record: RiskRecord) -> dict[str, Any]:
    portfolio = record.portfolio
    return {
        "time": record.ts,
        "action": record.action.value,
        "strategy": record.strategy,
        "symbol": record.symbol,
        "intent": record.intent_kind,
        "side": record.side,
        "requested_qty": np.nan if record.requested_qty is None else record.requested_qty,
        "final_qty": np.nan if record.final_qty is None else record.final_qty,
        "failed_rules": ",".join(r.name for r in record.failed),
        "binding": "" if record.sizing is None else record.sizing.binding,
        "portfolio_scale": np.nan if portfolio is None else portfolio.scale,
        "trading_state": record.trading_state,
        "reason": record.reason,
    }


# --------------------------------------------------------------------------- validation


def _is_utc(index: pd.DatetimeIndex) -> bool:
    tz = index.tz
    return tz is not None and (str(tz) == "UTC" or getattr(tz, "key", None) == "UTC")


_CHECK_CHUNK = 1 << 16
"""Rows per chunk in the candle checks (no full-length temporaries on long series)."""


def _first_row(n: int, bad: Callable[[slice], np.ndarray[Any, np.dtype[np.bool_]]]) -> int:
    """The first row where ``bad(rows)`` is true, scanning ``n`` rows chunk by chunk (−1: none)."""
    for start in range(0, n, _CHECK_CHUNK):
        hit = np.flatnonzero(bad(slice(start, start + _CHECK_CHUNK)))
        if hit.size:
            return start + int(hit[0])
    return -1


def _nonfinite(
    values: np.ndarray[Any, np.dtype[np.float64]],
) -> Callable[[slice], np.ndarray[Any, np.dtype[np.bool_]]]:
    def bad(rows: slice) -> np.ndarray[Any, np.dtype[np.bool_]]:
        return ~np.isfinite(values[rows])

    return bad


def validate_candles(candles: object) -> CandleArrays:
    """Check a candle DataFrame (OHLCV columns, UTC time index strictly increasing, finite
    positive prices, consistent highs and lows, volume ≥ 0) and return its arrays (views of
    the frame's float64 columns and ns index where they are so already)."""
    if not isinstance(candles, pd.DataFrame):
        raise BacktestError(f"candles must be a pandas DataFrame, got {type(candles).__name__}")
    missing = [c for c in OHLCV if c not in candles.columns]
    if missing:
        raise BacktestError(f"candles lack columns {missing} (need {list(OHLCV)})")
    index = candles.index
    if len(candles) == 0:
        raise BacktestError("candles are empty")
    if not isinstance(index, pd.DatetimeIndex):
        raise BacktestError(
            f"candles need a DatetimeIndex of bar open times, got {type(index).__name__}"
        )
    if not _is_utc(index):
        raise BacktestError(f"candles' time index must be UTC, got tz={index.tz}")
    if index.hasnans:
        raise BacktestError("candles' time index has NaT")
    times = index_ns(index)
    n = len(times)
    later, earlier = times[1:], times[:-1]
    row = _first_row(n - 1, lambda s: later[s] == earlier[s]) + 1
    if row > 0:
        raise BacktestError(f"candles' time index repeats {index[row]} (row {row})")
    row = _first_row(n - 1, lambda s: later[s] < earlier[s]) + 1
    if row > 0:
        raise BacktestError(f"candles' time index is not sorted: row {row} ({index[row]})")
    columns: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = {}
    for name in OHLCV:
        try:
            columns[name] = candles[name].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise BacktestError(f"candles column {name!r} is not numeric: {exc}") from exc
        row = _first_row(n, _nonfinite(columns[name]))
        if row >= 0:
            raise BacktestError(f"candles {name} is NaN or infinite at {index[row]} (row {row})")
    o, h, lo, c, v = (columns[name] for name in OHLCV)
    checks: tuple[tuple[Callable[[slice], np.ndarray[Any, np.dtype[np.bool_]]], str], ...] = (
        (lambda s: (o[s] <= 0) | (h[s] <= 0) | (lo[s] <= 0) | (c[s] <= 0), "a price is <= 0"),
        (lambda s: h[s] < np.maximum(o[s], c[s]), "high is below open or close"),
        (lambda s: lo[s] > np.minimum(o[s], c[s]), "low is above open or close"),
        (lambda s: v[s] < 0, "volume is negative"),
    )
    for bad, what in checks:
        row = _first_row(n, bad)
        if row >= 0:
            raise BacktestError(f"candles at {index[row]} (row {row}): {what}")
    return CandleArrays.from_arrays(open=o, high=h, low=lo, close=c, volume=v, time_ns=times)


def _timeframe(candles: pd.DataFrame, times: np.ndarray[Any, Any], given: str | None) -> str:
    text = given or candles.attrs.get("timeframe") or infer_timeframe(candles)
    if not text:
        raise BacktestError("cannot tell the candles' timeframe: pass timeframe= (e.g. '5m')")
    try:
        tf = parse_timeframe(str(text))
    except DataError as exc:
        raise BacktestError(str(exc)) from exc
    if times.size > 1 and not tf.is_calendar:
        step = tf.step_ns
        later, earlier = times[1:], times[:-1]
        row = _first_row(times.size - 1, lambda s: later[s] - earlier[s] < step) + 1
        if row > 0:
            raise BacktestError(
                f"candle {row} opens less than one {tf.text} bar after the previous one"
            )
    return tf.text


def _risk_config(risk: RiskArg, fee: float) -> tuple[RiskConfig | None, tuple[str, ...]]:
    """The typed config (``None``: no risk engine) and notes; the backtest's fee becomes the
    assumed fee rate unless the config sets one."""
    if risk is None:
        return None, ()
    from mftbot.risk.config import RiskConfig  # pydantic settings load only with a risk config

    try:
        config = RiskConfig.coerce(risk)
        if "fee_rate" in config.checks.model_fields_set or config.checks.fee_rate == fee:
            return config, ()
        data = config.model_dump()
        data["checks"]["fee_rate"] = fee
        aligned = RiskConfig.coerce(data)
    except ConfigError as exc:
        raise BacktestError(str(exc)) from exc
    return aligned, (f"risk: checks.fee_rate set to the backtest fee {fee:g}",)


def _check_args(fee: float, fill: str, mode: str, cash: float, slippage: str) -> None:
    if not isinstance(fee, int | float) or not (math.isfinite(fee) and 0.0 <= fee < 1.0):
        raise BacktestError(f"fee must be a fraction in [0, 1), got {fee!r}")
    if fill not in FILLS:
        raise BacktestError(f"fill must be one of {list(FILLS)}, got {fill!r}")
    if mode not in MODES:
        raise BacktestError(f"mode must be one of {list(MODES)}, got {mode!r}")
    if not isinstance(cash, int | float) or not (math.isfinite(cash) and cash > 0):
        raise BacktestError(f"cash must be finite and > 0, got {cash!r}")
    if slippage not in SLIPPAGES:
        raise BacktestError(f"slippage must be one of {list(SLIPPAGES)}, got {slippage!r}")


def make_venue(quote: str, cash: float, *, fee: float, fill: str, slippage: str) -> Venue:
    """The step engine's venue: the candle venue without slippage, else the simulated venue
    with the ``slippage`` preset and ``fee`` as a flat maker/taker rate."""
    if slippage == NO_SLIPPAGE:
        return CandleSimVenue({quote: cash}, fee=fee, fill=fill)
    config = SimVenueConfig(
        fees=FeeTable.flat(fee),
        slippage=SlippagePreset(slippage),
        candle_fill=CandleFill(fill),
    )
    return SimulatedVenue({quote: cash}, config)


# --------------------------------------------------------------------------- running


def backtest(
    strategy: str | Strategy,
    candles: pd.DataFrame,
    *,
    fee: float = 0.001,
    fill: str = "next_open",
    mode: str = "fast",
    cash: float = 10_000.0,
    params: Mapping[str, Any] | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    risk: RiskArg = None,
    audit: Callable[[RiskRecord], None] | None = None,
    slippage: str = NO_SLIPPAGE,
) -> BacktestResult:
    """Backtest ``strategy`` (a registered name, or an instance) on ``candles``.

    ``candles``: OHLCV columns and a UTC DatetimeIndex of bar open times. ``fee``: fraction of
    notional per side. ``fill``: ``"next_open"`` or ``"close"``. ``mode``: ``"fast"`` or
    ``"step"``. ``params`` configure a strategy given by name. ``symbol`` (spot, ``BASE/QUOTE``)
    names the cash currency; ``timeframe`` defaults to ``candles.attrs["timeframe"]`` or the
    most common spacing. ``risk``: ``None`` (no risk engine), a :class:`RiskConfig` or a dict
    of it (a run in step mode; see the module doc). ``audit``: receives every risk record.
    ``slippage``: ``"none"`` or a candle slippage preset (a run in step mode on the simulated
    venue; see the module doc).
    """
    slippage = str(slippage)
    _check_args(fee, fill, mode, cash, slippage)
    risk_config, notes = _risk_config(risk, fee)
    if audit is not None and risk_config is None:
        raise BacktestError("audit= records risk decisions: pass risk= as well")
    if risk_config is not None and mode == "fast":
        mode, notes = "step", (RISK_STEP_NOTE, *notes)
    if slippage != NO_SLIPPAGE and mode == "fast":
        mode, notes = "step", (*notes, SLIPPAGE_STEP_NOTE)
    arrays = validate_candles(candles)
    tf = _timeframe(candles, arrays.time_ns, timeframe)
    symbol = symbol or DEFAULT_SYMBOL
    try:
        _, quote = split_spot_symbol(symbol)
    except VenueError as exc:
        raise BacktestError(str(exc)) from exc
    if isinstance(strategy, str):
        strat = get_strategy(strategy, params)
    elif params is not None:
        raise BacktestError("params apply to a strategy given by name")
    else:
        strat = strategy
    feed = CandleFeed(arrays, symbol=symbol, timeframe=tf)
    cash = float(cash)
    if mode == "fast":
        fast = run_strategy_fast(strat, arrays, feed.close_ns, fee=fee, fill=fill, cash=cash)
        fills, curve = fast.fills, fast.equity
        risk_info: dict[str, Any] = risk_results(PassThroughRisk())
        records: tuple[RiskRecord, ...] = ()
    else:
        clock = SimulatedClock()
        # The result needs the fills (in columns) and the equity only: fill objects, ended
        # orders, their ledger entries and closed positions are dropped as the run goes, so
        # memory stays flat.
        engine = Engine(
            venue=make_venue(quote, cash, fee=fee, fill=fill, slippage=slippage),
            portfolio=Portfolio({quote: cash}, account_currency=quote, keep_closed=False),
            strategies=[StrategyBinding(strat, symbol, tf)],
            clock=clock,
            risk=build_risk_engine(risk_config, clock=clock, mode=TradingMode.BACKTEST),
            ledger=InMemoryLedger(retain_terminal=False),
            audit=audit,
            retain_terminal=False,
            retain_fills=False,
        )
        run = engine.run(_SetupTrimmedFeed(feed))
        fills, curve = run.fill_log(symbol), run.equity
        risk_info, records = run.risk, run.risk_records
        del engine, run, feed  # the engine's buffers and sets, before the result is built
        curve = _writable(curve)  # the recorder is gone: its buffers are the result's now
    result = _result(strat, symbol, tf, fee, fill, mode, cash, arrays, fills, curve)
    return replace(
        result,
        risk=risk_info,
        risk_records=records,
        notes=notes,
        diagnostics=_diagnostics(strat, arrays),
    )


def _diagnostics(strategy: Strategy, candles: CandleArrays) -> Any:
    """``strategy.diagnostics(candles)`` where the strategy has that method, else ``None``."""
    diagnose = getattr(strategy, "diagnostics", None)
    return diagnose(candles) if callable(diagnose) else None


def _writable(curve: EquityCurve) -> EquityCurve:
    """``curve`` with writable arrays (the recorder hands out read-only views); a copy only
    where the buffer refuses writes."""
    arrays: list[np.ndarray[Any, Any]] = []
    for values in (curve.ts, curve.equity):
        if not values.flags.writeable:
            try:
                values.flags.writeable = True
            except ValueError:
                values = values.copy()
        arrays.append(values)
    return EquityCurve(arrays[0], arrays[1])


class _SetupTrimmedFeed:
    """The candle feed, handing freed heap back to the OS when the engine starts iterating it:
    after its setup (one ``populate`` over the series, with series-long temporaries) and
    before the first event, so those temporaries do not stay resident through the run."""

    __slots__ = ("_feed",)

    def __init__(self, feed: CandleFeed) -> None:
        self._feed = feed

    def history(self, symbol: str, timeframe: str) -> CandleArrays | None:
        """The wrapped feed's series."""
        return self._feed.history(symbol, timeframe)

    def __iter__(self) -> Iterator[CandleClosed]:
        release_free_memory()
        return iter(self._feed)


def _result(
    strategy: Strategy,
    symbol: str,
    timeframe: str,
    fee: float,
    fill: str,
    mode: str,
    cash: float,
    candles: CandleArrays,
    fills: FillLog,
    curve: EquityCurve,
) -> BacktestResult:
    last_close = float(candles.close[-1])
    trips = round_trips(fills, last_close)
    equity = pd.Series(curve.equity, index=utc_index(curve.ts), name="equity", copy=False)
    final = float(curve.equity[-1])
    trades = trades_frame(trips)
    return BacktestResult(
        strategy=strategy.name,
        symbol=symbol,
        timeframe=timeframe,
        fee=fee,
        fill=fill,
        mode=mode,
        cash=cash,
        trades=trades,
        equity=equity,
        final_equity=final,
        metrics=_metrics(trades, equity, cash),
        fills=fills,
        round_trips=trips,
    )


def utc_index(
    times_ns: np.ndarray[Any, np.dtype[np.int64]], name: str = "time"
) -> pd.DatetimeIndex:
    """A UTC ``DatetimeIndex`` over int64 ns times, sharing their buffer where pandas allows
    (a long equity curve is not copied); else a converted copy."""
    values = np.ascontiguousarray(times_ns, dtype=np.int64).view("datetime64[ns]")
    try:
        array = pd.arrays.DatetimeArray._simple_new(  # type: ignore[attr-defined]  # no public zero-copy route
            values, dtype=pd.DatetimeTZDtype("ns", "UTC")
        )
        return pd.DatetimeIndex(array, copy=False, name=name)
    except (AttributeError, TypeError):  # pragma: no cover - other pandas versions
        return pd.DatetimeIndex(pd.to_datetime(times_ns, unit="ns", utc=True), name=name)


def trades_frame(trips: RoundTrips) -> pd.DataFrame:
    """Round trips as the trades table (``TRADE_COLUMNS``; NaT / NaN exits for an open one)."""
    exit_ts = np.where(trips.is_open, np.iinfo(np.int64).min, trips.exit_ts)
    return pd.DataFrame(
        {
            "side": pd.Series(["long"] * len(trips), dtype="str"),
            "entry_time": pd.to_datetime(trips.entry_ts, unit="ns", utc=True),
            "entry_price": trips.entry_price,
            "exit_time": pd.DatetimeIndex(exit_ts.astype("datetime64[ns]"), tz="UTC"),
            "exit_price": trips.exit_price,
            "qty": trips.qty,
            "pnl": trips.pnl,
            "fees": trips.fees,
        },
        columns=list(TRADE_COLUMNS),
    )


def _metrics(trades: pd.DataFrame, equity: pd.Series, cash: float) -> Metrics:
    """:func:`mftbot.backtest.metrics.compute_metrics`, plus the quick form's names
    ``n_trades`` (closed trades) and ``fees`` (all fees paid)."""
    metrics = compute_metrics(trades, equity, initial_cash=cash)
    metrics["n_trades"] = metrics["trades"]
    metrics["fees"] = metrics["fees_paid"]
    return metrics
