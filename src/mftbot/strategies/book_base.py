"""What the order-book strategies share: reading the book columns of ``window.extra``
(:mod:`mftbot.features.bar_book`) with a clear error when they are missing, ATR stops, and
the engine's ``needs_book`` flag.

An order-book strategy reads like a candle one: subclass :class:`OrderBookStrategy`, list the
columns it reads in ``columns``, and call :meth:`OrderBookStrategy.book` in ``populate``.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.analysis.book_metrics import rolling_sum as rolling_sum
from mftbot.features.bar_book import BOOK_VALID
from mftbot.strategies.base import CandleWindow, StrategyError
from mftbot.strategies.params import (
    AtrStops,
    StopLevels,
    StopsProtection,
    atr_stop_levels,
    stops_lookback,
)

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


def book_columns(
    window: CandleWindow, names: tuple[str, ...], strategy: str
) -> dict[str, FloatArray]:
    """The named book columns of ``window`` as float64 arrays; a :class:`StrategyError`
    naming every missing one when the window has no book data."""
    missing = [name for name in names if name not in window.extra]
    if missing:
        raise StrategyError(
            f"{strategy} reads the book columns {missing}, which this window lacks: run it "
            "where the engine builds them from book and trade events (a paper session, "
            "mftbot.backtest.book.backtest_book), or give candles with these columns in "
            "CandleArrays.extra (see mftbot.features.bar_book)"
        )
    return {name: np.asarray(window.extra[name], dtype=np.float64) for name in names}


class OrderBookStrategy(StopsProtection):
    """Base of the order-book strategies: ``needs_book``, column access, ATR stops.

    Subclasses set ``name`` and ``columns`` and take a config that inherits
    :class:`~mftbot.strategies.params.AtrStops`.
    """

    name: ClassVar[str]
    columns: ClassVar[tuple[str, ...]] = ()
    needs_book: ClassVar[bool] = True
    """The engine gives this strategy the book columns (see ``engine.signals.needs_book``)."""
    config: Any

    def book(self, window: CandleWindow) -> dict[str, FloatArray]:
        """The columns this strategy reads (``book_valid`` always among them)."""
        return book_columns(window, (BOOK_VALID, *self.columns), self.name)

    def stops(self, window: CandleWindow) -> StopLevels:
        """Suggested stop-loss / take-profit distances (ATR multiples of the config)."""
        stops: AtrStops = self.config
        return atr_stop_levels(window, stops)

    def stops_lookback(self) -> int:
        """Bars the suggested stops need for a rolling window to match the full history."""
        stops: AtrStops = self.config
        return stops_lookback(stops)


def valid(book: dict[str, FloatArray]) -> BoolArray:
    """Rows whose book was synchronised (``book_valid`` is 1)."""
    return np.asarray(book[BOOK_VALID] > 0.5)


def held_for(condition: BoolArray, bars: int) -> BoolArray:
    """Rows where ``condition`` has held for the last ``bars`` rows (this one included)."""
    if bars <= 1:
        return condition.copy()
    out = condition.copy()
    for lag in range(1, bars):
        out[lag:] &= condition[:-lag]
        out[:lag] = False
    return out


def lagged(x: FloatArray, bars: int) -> FloatArray:
    """``x`` shifted ``bars`` rows later (NaN first)."""
    out = np.full_like(x, np.nan)
    if bars < x.shape[0]:
        out[bars:] = x[: x.shape[0] - bars]
    return out


def window_sum(x: FloatArray, window: int) -> FloatArray:
    """Sum of the last ``window`` values at each row, added oldest first (NaN before row
    ``window - 1`` and where the window holds a NaN): the values of
    :func:`mftbot.analysis.book_metrics.window_sum`, in one compiled pass
    (:func:`~mftbot.analysis.book_metrics.rolling_sum`, which compiled strategy passes call
    directly)."""
    if window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    return rolling_sum(np.ascontiguousarray(x, dtype=np.float64), window)
