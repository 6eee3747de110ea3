"""Signal sources: how the engine reads a strategy's signal flags at each closed bar.

* :class:`PrecomputedSignals`: the series is known in advance (a backtest replay): ``populate``
  runs once over all of it and bar *t* reads row *t* (its open time is checked against the
  event's, so a feed that skips or repeats a bar is an error, not a shifted signal).
* :class:`RollingSignals`: the series arrives live: ``populate`` runs on the last
  ``lookback`` bars and the last row is read.

Principle 2 makes both give the same flags; ``tests/engine`` checks it.
"""

from __future__ import annotations

from array import array
from typing import Protocol

import numpy as np

from mftbot.analysis.registry import CandleArrays
from mftbot.core.errors import MftbotError
from mftbot.domain.events import CandleClosed
from mftbot.engine.market_state import CandleBuffer
from mftbot.strategies.base import Signals, Strategy, StrategyError


class SignalSourceError(MftbotError):
    """The feed and the precomputed series disagree."""


class SignalSource(Protocol):
    """Gives the signal flags of each closed bar of one series."""

    def on_candle(self, event: CandleClosed, buffer: CandleBuffer) -> int:
        """Flags of the bar that just closed (``buffer`` already holds it)."""
        ...


def _checked(strategy: Strategy, signals: Signals, bars: int) -> Signals:
    if not isinstance(signals, Signals):
        raise StrategyError(f"{strategy.name}.populate returned {type(signals).__name__}")
    if len(signals) != bars:
        raise StrategyError(f"{strategy.name}.populate returned {len(signals)} rows for {bars}")
    return signals


class PrecomputedSignals:
    """Flags from one ``populate`` over the whole known series."""

    __slots__ = ("_flags", "_next", "_times", "signals", "strategy")

    def __init__(self, strategy: Strategy, history: CandleArrays) -> None:
        self.strategy = strategy
        self.signals = _checked(strategy, strategy.populate(history), len(history))
        self._flags = array("b", self.signals.flags().tobytes())
        self._times = array("q", history.time_ns.astype(np.int64).tobytes())
        self._next = 0

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


class RollingSignals:
    """Flags from ``populate`` over the rolling window, last row."""

    __slots__ = ("strategy",)

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy

    def on_candle(self, event: CandleClosed, buffer: CandleBuffer) -> int:
        """Last-row flags once the window is past the warm-up, else 0."""
        strategy = self.strategy
        if len(buffer) <= strategy.warmup:
            return 0
        window = buffer.window(strategy.lookback)
        return _checked(strategy, strategy.populate(window), len(window)).flag_at(-1)
