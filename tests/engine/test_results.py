"""Round trips from fills, fill logs and the equity recorder."""

from __future__ import annotations

import numpy as np
import pytest

from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill, Liquidity
from mftbot.engine.results import EquityRecorder, FillLog, ResultError, round_trips


def log(rows: list[tuple[int, int, float, float, float]]) -> FillLog:
    ts, side, price, qty, fee = zip(*rows, strict=True) if rows else ((),) * 5
    return FillLog(
        ts=np.array(ts, dtype=np.int64),
        side=np.array(side, dtype=np.int8),
        price=np.array(price, dtype=np.float64),
        qty=np.array(qty, dtype=np.float64),
        fee=np.array(fee, dtype=np.float64),
    )


def test_round_trips_with_partial_legs_and_an_open_trip() -> None:
    fills = log(
        [
            (1, 1, 10.0, 2.0, 0.1),
            (2, 1, 13.0, 1.0, 0.1),  # entry price 11 on 3 units
            (3, -1, 12.0, 1.0, 0.1),
            (4, -1, 15.0, 2.0, 0.1),  # exit price 14 on 3 units
            (5, 1, 20.0, 1.0, 0.2),
        ]
    )
    trips = round_trips(fills, last_price=22.0)
    assert trips.entry_ts.tolist() == [1, 5]
    assert trips.exit_ts.tolist() == [4, -1]
    assert trips.entry_price.tolist() == pytest.approx([11.0, 20.0])
    assert trips.exit_price[0] == pytest.approx(14.0)
    assert np.isnan(trips.exit_price[1])
    assert trips.qty.tolist() == [3.0, 1.0]
    assert trips.fees.tolist() == pytest.approx([0.4, 0.2])
    assert trips.pnl.tolist() == pytest.approx([42.0 - 33.0 - 0.4, 22.0 - 20.0 - 0.2])
    assert trips.is_open.tolist() == [False, True]


def test_no_fills_no_trips() -> None:
    trips = round_trips(log([]), last_price=1.0)
    assert len(trips) == 0
    assert trips.pnl.dtype == np.float64


def test_selling_more_than_held_is_an_error() -> None:
    with pytest.raises(ResultError, match="exceeds"):
        round_trips(log([(1, 1, 10.0, 1.0, 0.0), (2, -1, 10.0, 1.5, 0.0)]), 10.0)
    with pytest.raises(ResultError, match="exceeds"):
        round_trips(log([(1, -1, 10.0, 1.0, 0.0)]), 10.0)


def test_fill_log_from_fills_is_one_symbol() -> None:
    a = Fill("c", "t1", "ETH/BTC", Side.BUY, 1.0, 2.0, 0.01, "BTC", Liquidity.TAKER, 5)
    b = Fill("c", "t2", "LTC/BTC", Side.SELL, 1.0, 2.0, 0.01, "BTC", Liquidity.TAKER, 6)
    assert FillLog.from_fills([a]).side.tolist() == [1]
    with pytest.raises(ResultError, match="one symbol"):
        FillLog.from_fills([a, b])


def test_equity_recorder_replaces_same_ts_and_refuses_going_back() -> None:
    rec = EquityRecorder()
    rec.record(1, 10.0)
    rec.record(2, 11.0)
    rec.record(2, 12.0)
    curve = rec.curve()
    assert curve.ts.tolist() == [1, 2]
    assert curve.equity.tolist() == [10.0, 12.0]
    with pytest.raises(ResultError, match="before the last"):
        rec.record(1, 9.0)
    assert len(EquityRecorder().curve()) == 0
