"""What a run leaves behind, in columns: the fills, the equity curve and the round trips.

Step mode and fast mode both reduce to a :class:`FillLog` and an :class:`EquityCurve`, and
:func:`round_trips` turns fills into trades the same way for both, so their outputs can be
compared value for value.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.core.errors import MftbotError
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Int8Array: TypeAlias = npt.NDArray[np.int8]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

QTY_REL_TOL = 1e-9
"""A position within this relative tolerance of zero is flat."""


class ResultError(MftbotError):
    """Fills or an equity curve are inconsistent."""


@dataclass(frozen=True, slots=True)
class FillLog:
    """Fills of one symbol in time order: ``side`` is +1 (buy) or −1 (sell); ``fee`` in quote."""

    ts: IntArray
    side: Int8Array
    price: FloatArray
    qty: FloatArray
    fee: FloatArray

    def __post_init__(self) -> None:
        n = self.ts.shape[0]
        for name in ("side", "price", "qty", "fee"):
            if getattr(self, name).shape != (n,):
                raise ResultError(f"FillLog.{name} is not aligned with ts ({n} rows)")

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def from_fills(cls, fills: Sequence[Fill]) -> FillLog:
        """Columns of ``fills`` (one symbol, fees in the quote currency)."""
        if len({f.symbol for f in fills}) > 1:
            raise ResultError("a FillLog holds the fills of one symbol")
        return cls(
            ts=np.array([f.ts for f in fills], dtype=np.int64),
            side=np.array([1 if f.side == Side.BUY else -1 for f in fills], dtype=np.int8),
            price=np.array([f.price for f in fills], dtype=np.float64),
            qty=np.array([f.qty for f in fills], dtype=np.float64),
            fee=np.array([f.fee for f in fills], dtype=np.float64),
        )


class FillColumns:
    """Fills of one symbol appended as they come, in columns (a few dozen bytes per fill
    instead of a :class:`Fill` object); :meth:`log` gives the :class:`FillLog`."""

    __slots__ = ("_fee", "_price", "_qty", "_side", "_ts")

    def __init__(self) -> None:
        self._ts = array("q")
        self._side = array("b")
        self._price = array("d")
        self._qty = array("d")
        self._fee = array("d")

    def append(self, fill: Fill) -> None:
        """Add one fill (its fee as given: in the quote currency for a :class:`FillLog`)."""
        self._ts.append(fill.ts)
        self._side.append(1 if fill.side == Side.BUY else -1)
        self._price.append(fill.price)
        self._qty.append(fill.qty)
        self._fee.append(fill.fee)

    def __len__(self) -> int:
        return len(self._ts)

    def log(self) -> FillLog:
        """The fills so far, as new arrays."""
        return FillLog(
            ts=np.array(self._ts, dtype=np.int64),
            side=np.array(self._side, dtype=np.int8),
            price=np.array(self._price, dtype=np.float64),
            qty=np.array(self._qty, dtype=np.float64),
            fee=np.array(self._fee, dtype=np.float64),
        )


class EquityCurve:
    """Account equity after each bar: ``ts`` is the bar's close time (ns).

    A curve from :class:`EquityRecorder` keeps its times as runs of evenly spaced points
    (``start, step, count``) and builds the ``ts`` array on first access, so a long run does
    not hold a second series-long array of bar times while it records.
    """

    __slots__ = ("_runs", "_ts", "equity")

    def __init__(self, ts: IntArray, equity: FloatArray) -> None:
        if ts.shape != equity.shape:
            raise ResultError(f"equity curve: {ts.shape[0]} times for {equity.shape[0]} values")
        self._ts: IntArray | None = ts
        self._runs: IntArray | None = None
        self.equity = equity

    @classmethod
    def from_runs(cls, runs: IntArray, equity: FloatArray) -> EquityCurve:
        """A curve whose times are the runs ``(start, step, count)`` (rows of ``runs``)."""
        counts = runs.reshape(-1, 3)[:, 2]
        if int(counts.sum()) != equity.shape[0]:
            raise ResultError(
                f"equity curve: runs of {int(counts.sum())} points, {len(equity)} values"
            )
        curve = cls.__new__(cls)
        curve._ts, curve._runs, curve.equity = None, runs, equity
        return curve

    @property
    def ts(self) -> IntArray:
        """The bar close times (ns), read-only when built from runs."""
        if self._ts is None:
            self._ts = _expand_runs(self._runs, self.equity.shape[0])
            self._runs = None
        return self._ts

    def __len__(self) -> int:
        return int(self.equity.shape[0])

    def __repr__(self) -> str:
        return f"EquityCurve({len(self)} points)"


_EXPAND_CHUNK = 1 << 16


def _expand_runs(runs: IntArray | None, n: int) -> IntArray:
    """The times of the runs ``(start, step, count)``, built in chunks (no temporaries as long
    as the series)."""
    out = np.empty(n, dtype=np.int64)
    pos = 0
    for start, step, count in (runs if runs is not None else _empty_int()).reshape(-1, 3).tolist():
        for first in range(0, count, _EXPAND_CHUNK):
            last = min(first + _EXPAND_CHUNK, count)
            piece = out[pos + first : pos + last]
            np.multiply(np.arange(first, last, dtype=np.int64), step, out=piece)
            piece += start
        pos += count
    out.flags.writeable = False
    return out


class EquityRecorder:
    """Appends (ts, equity) points compactly; a point at the last ts replaces it.

    Times are kept as runs of evenly spaced points (one run for a gapless candle series).
    :meth:`curve` hands out read-only views of the values, not copies (a million-bar curve is
    not held twice); recording after it first copies the buffers, so a curve taken earlier
    never changes.
    """

    __slots__ = ("_equity", "_last", "_runs", "_shared")

    def __init__(self) -> None:
        self._equity = array("d")
        self._runs = array("q")
        """Flat ``(start, step, count)`` triples."""
        self._last: int | None = None
        self._shared = False

    def record(self, ts: int, equity: float) -> None:
        """Add a point; ``ts`` must not go back in time."""
        if self._shared:
            self._equity, self._runs = array("d", self._equity), array("q", self._runs)
            self._shared = False
        last = self._last
        runs = self._runs
        if last is not None and ts - last == runs[-2] and runs[-1] > 1:
            runs[-1] += 1  # the common case: the next point of a run (its step is > 0)
        elif last is None:
            runs.extend((ts, 0, 1))
        elif ts == last:
            self._equity[-1] = equity
            return
        elif ts < last:
            raise ResultError(f"equity point at {ts} is before the last one at {last}")
        elif runs[-1] == 1:
            runs[-2] = ts - last
            runs[-1] = 2
        elif ts - last == runs[-2]:
            runs[-1] += 1
        else:
            runs.extend((ts, 0, 1))
        self._last = ts
        self._equity.append(equity)

    def __len__(self) -> int:
        return len(self._equity)

    def curve(self) -> EquityCurve:
        """The points so far: the values as a read-only view, the times built on first use
        (later points change neither)."""
        if not self._equity:
            return EquityCurve(_empty_int(), _empty())
        self._shared = True
        runs = np.array(self._runs, dtype=np.int64)
        return EquityCurve.from_runs(runs, _frozen(self._equity, np.float64))


def _frozen(buffer: array[int] | array[float], dtype: type[np.generic]) -> npt.NDArray[Any]:
    view: npt.NDArray[Any] = np.frombuffer(buffer, dtype=dtype)
    view.flags.writeable = False
    return view


def _empty() -> FloatArray:
    return np.empty(0, dtype=np.float64)


def _empty_int() -> IntArray:
    return np.empty(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class RoundTrips:
    """Long round trips, one row each: from flat to flat.

    Prices are quantity-weighted over the fills of each leg; ``fees`` sums both legs;
    ``pnl = exit notional − entry notional − fees``. The last trip may be open (``is_open``):
    no exit (``exit_ts`` −1, ``exit_price`` NaN), marked at the last price without an exit fee.
    """

    entry_ts: IntArray
    entry_price: FloatArray
    exit_ts: IntArray
    exit_price: FloatArray
    qty: FloatArray
    pnl: FloatArray
    fees: FloatArray
    is_open: BoolArray

    def __len__(self) -> int:
        return int(self.entry_ts.shape[0])


def _leg(fills: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(average price, quantity, value) of one leg; one fill keeps its price exactly."""
    qty = sum(q for _, q in fills)
    value = sum(p * q for p, q in fills)
    if not fills:
        return np.nan, 0.0, 0.0
    price = fills[0][0] if len(fills) == 1 else value / qty
    return price, qty, value


def round_trips(fills: FillLog, last_price: float) -> RoundTrips:
    """Group long-only fills into round trips; ``last_price`` marks a trip still open.

    A sell with no long open, or one beyond the quantity held, raises :class:`ResultError`.
    """
    rows: list[tuple[int, float, int, float, float, float, float, bool]] = []
    held = 0.0
    entry_ts = 0
    buys: list[tuple[float, float]] = []
    sells: list[tuple[float, float]] = []
    fees = 0.0
    for ts, side, price, qty, fee in zip(
        fills.ts.tolist(),
        fills.side.tolist(),
        fills.price.tolist(),
        fills.qty.tolist(),
        fills.fee.tolist(),
        strict=True,
    ):
        if side > 0:
            if held == 0.0:
                entry_ts, buys, sells, fees = ts, [], [], 0.0
            held += qty
            buys.append((price, qty))
            fees += fee
            continue
        if held == 0.0 or qty > held * (1.0 + QTY_REL_TOL):
            raise ResultError(f"sell of {qty} at {ts} exceeds the long position {held}")
        held = 0.0 if qty >= held * (1.0 - QTY_REL_TOL) else held - qty
        sells.append((price, qty))
        fees += fee
        if held == 0.0:
            entry_price, bought, bought_value = _leg(buys)
            exit_price, _, sold_value = _leg(sells)
            pnl = sold_value - bought_value - fees
            rows.append((entry_ts, entry_price, ts, exit_price, bought, pnl, fees, False))
    if held > 0.0:
        entry_price, bought, bought_value = _leg(buys)
        value = _leg(sells)[2] + last_price * held
        pnl = value - bought_value - fees
        rows.append((entry_ts, entry_price, -1, np.nan, bought, pnl, fees, True))
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8
    return RoundTrips(
        entry_ts=np.array(columns[0], dtype=np.int64),
        entry_price=np.array(columns[1], dtype=np.float64),
        exit_ts=np.array(columns[2], dtype=np.int64),
        exit_price=np.array(columns[3], dtype=np.float64),
        qty=np.array(columns[4], dtype=np.float64),
        pnl=np.array(columns[5], dtype=np.float64),
        fees=np.array(columns[6], dtype=np.float64),
        is_open=np.array(columns[7], dtype=np.bool_),
    )
