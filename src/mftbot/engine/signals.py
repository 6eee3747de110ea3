"""Signal sources: how the engine reads a strategy's signal flags at each closed bar.

* :class:`PrecomputedSignals`: the series is known in advance (a backtest replay): ``populate``
  runs once over all of it and bar *t* reads row *t* (its open time is checked against the
  event's, so a feed that skips or repeats a bar is an error, not a shifted signal).
* :class:`RollingSignals`: the series arrives live: ``populate`` runs on the last
  ``lookback`` bars and the last row is read.

Principle 2 makes both give the same flags; ``tests/engine`` checks it. A strategy that
:func:`needs_book` gets the book columns in ``window.extra`` either way: the engine keeps
them with the candles, a precomputed history carries them.

Each source also tells what the last bar's signal adds for the risk engine
(:meth:`SignalSource.signal_info`): the strategy's ``confidence`` at that row, and, for a
strategy with a ``protection`` method (:class:`ProtectiveStrategy`: a stop price and a take
profit per row, NaN where none, as causal as ``populate``), the stop and target of the entry.
"""

from __future__ import annotations

import math
from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np
import numpy.typing as npt

from mftbot.analysis.registry import CandleArrays
from mftbot.core.errors import MftbotError
from mftbot.domain.events import CandleClosed
from mftbot.engine.market_state import CandleBuffer
from mftbot.risk.base import SignalInfo
from mftbot.strategies.base import (
    CandleWindow,
    Signals,
    Strategy,
    StrategyError,
    list_strategies,
    strategy_spec,
)

FloatArray: TypeAlias = npt.NDArray[np.float64]
NO_SIGNAL_INFO = SignalInfo()


class SignalSourceError(MftbotError):
    """The feed and the precomputed series disagree."""


class SignalSource(Protocol):
    """Gives the signal flags of each closed bar of one series."""

    def on_candle(self, event: CandleClosed, buffer: CandleBuffer) -> int:
        """Flags of the bar that just closed (``buffer`` already holds it)."""
        ...

    def signal_info(self) -> SignalInfo:
        """What the signal of the last bar given by :meth:`on_candle` adds for the risk engine
        (confidence, the strategy's stop and target)."""
        ...


@runtime_checkable
class ProtectiveStrategy(Protocol):
    """A strategy that also places each entry's stop and take profit.

    ``protection(window)`` returns two float64 arrays of one row per bar: the stop price and
    the take-profit price an entry at that bar's close should carry (NaN: none, the risk
    engine's stop calculator decides). Row *t* reads bars ``≤ t`` only, as in ``populate``.
    """

    def protection(self, window: CandleWindow) -> tuple[FloatArray, FloatArray]:
        """(stop price, take profit) per bar."""
        ...


def needs_book(strategy: Strategy) -> bool:
    """Whether the engine must give ``strategy`` the book columns
    (:data:`mftbot.features.bar_book.BOOK_COLUMNS`) in ``window.extra``.

    The rule: the strategy's ``needs_book`` attribute when it has one (a composite sets it
    when any member needs the book), else whether it is registered with kind
    ``"orderbook"``.
    """
    declared = getattr(strategy, "needs_book", None)
    if declared is not None:
        return bool(declared)
    name = strategy.name
    return name in list_strategies() and strategy_spec(name).kind == "orderbook"


def _checked(strategy: Strategy, signals: Signals, bars: int) -> Signals:
    if not isinstance(signals, Signals):
        raise StrategyError(f"{strategy.name}.populate returned {type(signals).__name__}")
    if len(signals) != bars:
        raise StrategyError(f"{strategy.name}.populate returned {len(signals)} rows for {bars}")
    return signals


def protection_of(strategy: Strategy, window: CandleWindow) -> tuple[FloatArray, FloatArray]:
    """The strategy's (stop, take profit) arrays over ``window``, checked; all NaN for a
    strategy without ``protection``."""
    n = len(window)
    if not isinstance(strategy, ProtectiveStrategy):
        nan = np.full(n, np.nan)
        return nan, nan
    out = strategy.protection(window)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise StrategyError(f"{strategy.name}.protection must return (stop, take_profit)")
    arrays = []
    for name, values in zip(("stop", "take_profit"), out, strict=True):
        if not isinstance(values, np.ndarray) or values.shape != (n,):
            raise StrategyError(f"{strategy.name}.protection {name} must be an array of {n} rows")
        arr = values.astype(np.float64, copy=False)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(arr) & ~(np.isfinite(arr) & (arr > 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise StrategyError(
                f"{strategy.name}.protection {name}[{row}] = {arr[row]} is not a price > 0"
            )
        arrays.append(arr)
    return arrays[0], arrays[1]


def make_signal_info(confidence: float, stop: float, take_profit: float) -> SignalInfo:
    """A :class:`SignalInfo` from one row (NaN: not given)."""
    if math.isnan(confidence) and math.isnan(stop) and math.isnan(take_profit):
        return NO_SIGNAL_INFO
    return SignalInfo(
        confidence=1.0 if math.isnan(confidence) else confidence,
        stop_price=None if math.isnan(stop) else stop,
        take_profit=None if math.isnan(take_profit) else take_profit,
    )


class PrecomputedSignals:
    """Flags from one ``populate`` over the whole known series."""

    __slots__ = ("_flags", "_history", "_next", "_protection", "_times", "signals", "strategy")

    def __init__(self, strategy: Strategy, history: CandleArrays) -> None:
        self.strategy = strategy
        self.signals = _checked(strategy, strategy.populate(history), len(history))
        # Memoryviews over the arrays: indexing gives Python ints as fast as an ``array``
        # would, without copying the series (the times view the history's own buffer).
        self._flags = np.ascontiguousarray(self.signals.flags(), dtype=np.int8).data
        self._times = np.ascontiguousarray(history.time_ns, dtype=np.int64).data
        self._next = 0
        self._history = history
        self._protection: tuple[FloatArray, FloatArray] | None = None

    def on_candle(self, event: CandleClosed, buffer: CandleBuffer) -> int:
        """Row *t* of the precomputed flags, for the *t*-th bar of the series."""
        row = self._next
        if row >= len(self._times) or self._times[row] != event.open_time:
            expected = self._times[row] if row < len(self._times) else "the end of the series"
            raise SignalSourceError(
                f"{self.strategy.name} {event.symbol} {event.timeframe}: bar {row} of the feed "
                f"opens at {event.open_time}, the precomputed series has {expected}"
            )
        self._next = row + 1
        return self._flags[row]

    def signal_info(self) -> SignalInfo:
        """Confidence, stop and target of the last bar's row (protection computed once)."""
        row = self._next - 1
        if row < 0:
            return NO_SIGNAL_INFO
        if self._protection is None:
            self._protection = protection_of(self.strategy, self._history)
        stop, target = self._protection
        conf = self.signals.confidence
        return make_signal_info(
            math.nan if conf is None else float(conf[row]), float(stop[row]), float(target[row])
        )


class RollingSignals:
    """Flags from ``populate`` over the rolling window, last row."""

    __slots__ = ("_signals", "_window", "strategy")

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self._window: CandleArrays | None = None
        self._signals: Signals | None = None

    def on_candle(self, event: CandleClosed, buffer: CandleBuffer) -> int:
        """Last-row flags once the window is past the warm-up, else 0."""
        strategy = self.strategy
        if len(buffer) <= strategy.warmup:
            self._window = self._signals = None
            return 0
        window = buffer.window(strategy.lookback)
        signals = _checked(strategy, strategy.populate(window), len(window))
        self._window, self._signals = window, signals
        return signals.flag_at(-1)

    def signal_info(self) -> SignalInfo:
        """Confidence, stop and target of the window's last row."""
        window, signals = self._window, self._signals
        if window is None or signals is None:
            return NO_SIGNAL_INFO
        stop, target = protection_of(self.strategy, window)
        conf = signals.confidence
        return make_signal_info(
            math.nan if conf is None else float(conf[-1]), float(stop[-1]), float(target[-1])
        )
