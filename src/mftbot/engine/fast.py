"""Fast mode: vectorised signals plus a compiled fill loop, for candle-only backtests.

It runs exactly what step mode does with one strategy on one spot symbol, the
:class:`~mftbot.engine.sizing.AllInSizer` (fraction 1), the pass-through risk engine and the
:class:`~mftbot.execution.sim.CandleSimVenue`, in the same floating-point operations, so both
give identical fills and equity curves (``tests/engine`` checks it on real data):

* bar *t*: a buy or sell decided at bar *t − 1* fills at ``open[t]`` (``fill="next_open"``);
* while flat, an entry flag sends a buy spending the whole cash, fee included:
  ``qty = cash / (price × (1 + fee))``; while long, an exit flag sells the whole position;
  one decision per bar, and none while an order is in flight;
* with ``fill="close"`` the order fills at once at ``close[t]``;
* the fee is ``price × qty × fee`` on each side; cash ``+= −notional − fee`` on a buy and
  ``+= notional − fee`` on a sell;
* equity at bar *t* (after its fills) is ``cash + qty × close[t]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numba
import numpy as np

from mftbot.analysis.registry import CandleArrays
from mftbot.core.errors import MftbotError
from mftbot.engine.results import (
    EquityCurve,
    FillLog,
    FloatArray,
    Int8Array,
    IntArray,
)
from mftbot.execution.sim.candle_venue import BALANCE_REL_TOL, CandleFill
from mftbot.strategies.base import ENTRY_SHORT, EXIT_SHORT, Signals, Strategy

_F = TypeVar("_F", bound=Callable[..., Any])
_njit = cast(Callable[[_F], _F], numba.njit(cache=True))


class FastModeError(MftbotError):
    """Fast mode cannot run these inputs."""


@dataclass(frozen=True, slots=True)
class FastResult:
    """Fills and equity of a fast-mode run (and the signals it read)."""

    fills: FillLog
    equity: EquityCurve
    signals: Signals


@_njit
def _below_zero(balance: float, change: float, tol: float) -> bool:
    after = balance + change
    return after < -tol * max(1.0, abs(balance), abs(change))


@_njit
def _fill_loop(
    open_: FloatArray,
    close: FloatArray,
    flags: Int8Array,
    fill_at_close: bool,
    fee: float,
    cash0: float,
    tol: float,
    out_bar: IntArray,
    out_side: Int8Array,
    out_price: FloatArray,
    out_qty: FloatArray,
    out_fee: FloatArray,
    equity: FloatArray,
) -> int:
    """Run the all-in long-only book over the bars; return the number of fills written."""
    n = close.shape[0]
    cash = cash0
    held = 0.0
    pending = 0  # 0 none, 1 quote-sized buy, -1 sell
    amount = 0.0
    k = 0
    for t in range(n):
        for phase in range(2):
            if phase == 0:
                if fill_at_close or pending == 0:
                    continue
                price = open_[t]
            else:
                f = flags[t]
                if held == 0.0:
                    if f & 1 and cash > 0.0:
                        pending = 1
                        amount = cash
                elif f & 2:
                    pending = -1
                    amount = held
                if not fill_at_close or pending == 0:
                    continue
                price = close[t]
            if pending == 1:
                qty = amount / (price * (1.0 + fee))
                notional = price * qty
                paid = notional * fee
                change = -notional - paid
                if not _below_zero(cash, change, tol):
                    cash = cash + change
                    held = held + qty
                    out_side[k] = 1
                    out_bar[k] = t
                    out_price[k] = price
                    out_qty[k] = qty
                    out_fee[k] = paid
                    k += 1
            else:
                qty = amount
                notional = price * qty
                paid = notional * fee
                if not _below_zero(held, -qty, tol):
                    held = 0.0
                    cash = cash + (notional - paid)
                    out_side[k] = -1
                    out_bar[k] = t
                    out_price[k] = price
                    out_qty[k] = qty
                    out_fee[k] = paid
                    k += 1
            pending = 0
        equity[t] = cash + held * close[t]
    return k


def run_fast(
    candles: CandleArrays,
    close_ns: IntArray,
    signals: Signals,
    *,
    fee: float,
    fill: CandleFill | str,
    cash: float,
) -> FastResult:
    """Fill ``signals`` over ``candles`` (one spot symbol); ``close_ns`` are the bar close times
    (the equity curve's times share their buffer when they are already contiguous int64).

    Raises :class:`FastModeError` on short signals or misaligned inputs.
    """
    n = len(candles)
    if len(signals) != n or close_ns.shape != (n,):
        raise FastModeError(f"signals ({len(signals)}) / close times not aligned to {n} bars")
    try:
        mode = CandleFill(fill)
    except ValueError:
        raise FastModeError(f"fill must be one of {[m.value for m in CandleFill]}") from None
    if not (np.isfinite(fee) and 0.0 <= fee < 1.0):
        raise FastModeError(f"fee must be in [0, 1), got {fee}")
    if not (np.isfinite(cash) and cash > 0.0):
        raise FastModeError(f"cash must be finite and > 0, got {cash}")
    flags = np.ascontiguousarray(signals.flags())
    if bool(np.any(flags & np.int8(ENTRY_SHORT | EXIT_SHORT))):
        raise FastModeError("short signals are not supported yet (spot, long only)")
    # Each fill comes from a decision on a bar with a flag set, so that count bounds the fills.
    cap = int(np.count_nonzero(flags)) + 1
    bar = np.empty(cap, dtype=np.int64)
    side = np.empty(cap, dtype=np.int8)
    price = np.empty(cap, dtype=np.float64)
    qty = np.empty(cap, dtype=np.float64)
    paid = np.empty(cap, dtype=np.float64)
    equity = np.empty(n, dtype=np.float64)
    at_close = mode is CandleFill.CLOSE
    k = _fill_loop(
        np.ascontiguousarray(candles.open),
        np.ascontiguousarray(candles.close),
        flags,
        at_close,
        float(fee),
        float(cash),
        BALANCE_REL_TOL,
        bar,
        side,
        price,
        qty,
        paid,
        equity,
    )
    bars = bar[:k]
    ts = close_ns[bars] if at_close else candles.time_ns[bars]
    fills = FillLog(
        ts=np.ascontiguousarray(ts, dtype=np.int64),
        side=side[:k].copy(),
        price=price[:k].copy(),
        qty=qty[:k].copy(),
        fee=paid[:k].copy(),
    )
    ts_eq = np.ascontiguousarray(close_ns, dtype=np.int64)  # shared with ``close_ns`` if int64
    return FastResult(fills, EquityCurve(ts_eq, equity), signals)


def run_strategy_fast(
    strategy: Strategy,
    candles: CandleArrays,
    close_ns: IntArray,
    *,
    fee: float,
    fill: CandleFill | str,
    cash: float,
) -> FastResult:
    """``populate`` once over ``candles``, then :func:`run_fast`."""
    signals = strategy.populate(candles)
    if not isinstance(signals, Signals) or len(signals) != len(candles):
        raise FastModeError(f"{strategy.name}.populate did not return one Signals row per bar")
    return run_fast(candles, close_ns, signals, fee=fee, fill=fill, cash=cash)
