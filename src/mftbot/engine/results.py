"""What a run leaves behind, in columns: the fills, the equity curve and the round trips.

Step mode and fast mode both reduce to a :class:`FillLog` and an :class:`EquityCurve`, and
:func:`round_trips` turns fills into trades the same way for both, so their outputs can be
compared value for value.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

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


@dataclass(frozen=True, slots=True)
class EquityCurve:
    """Account equity after each bar: ``ts`` is the bar's close time (ns)."""

    ts: IntArray
    equity: FloatArray

    def __len__(self) -> int:
        return int(self.ts.shape[0])


class EquityRecorder:
    """Appends (ts, equity) points compactly; a point at the last ts replaces it."""

    __slots__ = ("_equity", "_ts")

    def __init__(self) -> None:
        self._ts = array("q")
        self._equity = array("d")

    def record(self, ts: int, equity: float) -> None:
        """Add a point; ``ts`` must not go back in time."""
        if self._ts:
            last = self._ts[-1]
            if ts == last:
                self._equity[-1] = equity
                return
            if ts < last:
                raise ResultError(f"equity point at {ts} is before the last one at {last}")
        self._ts.append(ts)
        self._equity.append(equity)

    def __len__(self) -> int:
        return len(self._ts)

    def curve(self) -> EquityCurve:
        """The points so far, as arrays (copies)."""
        return EquityCurve(
            np.frombuffer(self._ts, dtype=np.int64).copy() if self._ts else _empty_int(),
            np.frombuffer(self._equity, dtype=np.float64).copy() if self._equity else _empty(),
        )


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
