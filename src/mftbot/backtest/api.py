"""The quick backtest: one strategy, one candle series, all-in long-only spot, from Python.

``backtest("sma_cross", candles, fee=0.001, fill="next_open", mode="fast")`` runs the
strategy through the engine (``mode="step"``: the full event loop with the candle simulated
venue) or through fast mode (``mode="fast"``: vectorised signals and the compiled fill loop);
both give the same trades and equity. The result has ``.trades`` (one row per round trip),
``.equity`` (a UTC Series at bar close times), ``.final_equity``, ``.metrics`` and
``.to_json()``. An open position at the end is marked to the last close without an exit fee
and listed with empty exit fields.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mftbot.analysis.registry import CandleArrays
from mftbot.backtest.metrics import Metrics, compute_metrics
from mftbot.core.clock import SimulatedClock
from mftbot.core.errors import DataError, MftbotError
from mftbot.data.candles import infer_timeframe
from mftbot.data.timeframes import parse_timeframe
from mftbot.engine.engine import Engine, StrategyBinding
from mftbot.engine.fast import run_strategy_fast
from mftbot.engine.feed import CandleFeed
from mftbot.engine.portfolio import Portfolio
from mftbot.engine.results import EquityCurve, FillLog, RoundTrips, round_trips
from mftbot.execution.sim.candle_venue import CandleFill, CandleSimVenue, split_spot_symbol
from mftbot.execution.venue import VenueError
from mftbot.strategies import Strategy, get_strategy

OHLCV = ("open", "high", "low", "close", "volume")
MODES = ("fast", "step")
FILLS = tuple(m.value for m in CandleFill)
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
        return {"trades": trades, "final_equity": self.final_equity, "metrics": metrics}

    def to_json(self, *, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON (no NaN: undefined numbers are ``null``)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def _iso(ts_ns: int) -> str:
    return pd.Timestamp(ts_ns, unit="ns", tz="UTC").isoformat()


def _json_number(value: float | int | None) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------- validation


def _is_utc(index: pd.DatetimeIndex) -> bool:
    tz = index.tz
    return tz is not None and (str(tz) == "UTC" or getattr(tz, "key", None) == "UTC")


def validate_candles(candles: object) -> CandleArrays:
    """Check a candle DataFrame (OHLCV columns, UTC time index strictly increasing, finite
    positive prices, consistent highs and lows, volume ≥ 0) and return its arrays."""
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
    times = index.as_unit("ns").asi8
    steps = np.diff(times)
    if steps.size and bool((steps == 0).any()):
        row = int(np.flatnonzero(steps == 0)[0]) + 1
        raise BacktestError(f"candles' time index repeats {index[row]} (row {row})")
    if steps.size and bool((steps < 0).any()):
        row = int(np.flatnonzero(steps < 0)[0]) + 1
        raise BacktestError(f"candles' time index is not sorted: row {row} ({index[row]})")
    columns: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = {}
    for name in OHLCV:
        try:
            columns[name] = candles[name].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise BacktestError(f"candles column {name!r} is not numeric: {exc}") from exc
        bad = ~np.isfinite(columns[name])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise BacktestError(f"candles {name} is NaN or infinite at {index[row]} (row {row})")
    o, h, lo, c, v = (columns[n] for n in OHLCV)
    checks = (
        ((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), "a price is <= 0"),
        (h < np.maximum(o, c), "high is below open or close"),
        (lo > np.minimum(o, c), "low is above open or close"),
        (v < 0, "volume is negative"),
    )
    for bad, what in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
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
        short = np.flatnonzero(np.diff(times) < step)
        if short.size:
            row = int(short[0]) + 1
            raise BacktestError(
                f"candle {row} opens less than one {tf.text} bar after the previous one"
            )
    return tf.text


def _check_args(fee: float, fill: str, mode: str, cash: float) -> None:
    if not isinstance(fee, int | float) or not (math.isfinite(fee) and 0.0 <= fee < 1.0):
        raise BacktestError(f"fee must be a fraction in [0, 1), got {fee!r}")
    if fill not in FILLS:
        raise BacktestError(f"fill must be one of {list(FILLS)}, got {fill!r}")
    if mode not in MODES:
        raise BacktestError(f"mode must be one of {list(MODES)}, got {mode!r}")
    if not isinstance(cash, int | float) or not (math.isfinite(cash) and cash > 0):
        raise BacktestError(f"cash must be finite and > 0, got {cash!r}")


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
) -> BacktestResult:
    """Backtest ``strategy`` (a registered name, or an instance) on ``candles``.

    ``candles``: OHLCV columns and a UTC DatetimeIndex of bar open times. ``fee``: fraction of
    notional per side. ``fill``: ``"next_open"`` or ``"close"``. ``mode``: ``"fast"`` or
    ``"step"``. ``params`` configure a strategy given by name. ``symbol`` (spot, ``BASE/QUOTE``)
    names the cash currency; ``timeframe`` defaults to ``candles.attrs["timeframe"]`` or the
    most common spacing.
    """
    _check_args(fee, fill, mode, cash)
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
    else:
        engine = Engine(
            venue=CandleSimVenue({quote: cash}, fee=fee, fill=fill),
            portfolio=Portfolio({quote: cash}, account_currency=quote),
            strategies=[StrategyBinding(strat, symbol, tf)],
            clock=SimulatedClock(),
        )
        run = engine.run(feed)
        fills, curve = FillLog.from_fills(run.fills), run.equity
    return _result(strat, symbol, tf, fee, fill, mode, cash, arrays, fills, curve)


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
    equity = pd.Series(
        curve.equity,
        index=pd.DatetimeIndex(pd.to_datetime(curve.ts, unit="ns", utc=True), name="time"),
        name="equity",
    )
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
