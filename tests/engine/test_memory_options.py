"""Memory options of the engine's accounting: closed positions counted, curve handed out as
views that later points never change."""

from __future__ import annotations

import numpy as np
import pytest

from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill, Liquidity
from mftbot.engine.portfolio import Portfolio
from mftbot.engine.results import EquityRecorder, ResultError


def spot_fill(trade_id: str, side: Side, qty: float, price: float) -> Fill:
    return Fill("c", trade_id, "ETH/BTC", side, price, qty, 0.0, "BTC", Liquidity.TAKER, 1)


@pytest.mark.parametrize("keep", [True, False])
def test_closed_positions_are_counted_and_kept_only_when_asked(keep: bool) -> None:
    pf = Portfolio({"BTC": 100.0}, account_currency="BTC", keep_closed=keep)
    for i in range(3):
        pf.apply_fill(spot_fill(f"b{i}", Side.BUY, 1.0, 10.0))
        pf.apply_fill(spot_fill(f"s{i}", Side.SELL, 1.0, 11.0))
    assert pf.closed_count == 3
    assert len(pf.closed_positions) == (3 if keep else 0)
    assert pf.cash() == pytest.approx(103.0)
    again = pf.apply_fill(spot_fill("b0", Side.BUY, 1.0, 10.0))  # seen trade id: ignored
    assert not again.applied
    assert pf.cash() == pytest.approx(103.0)


def test_a_curve_is_a_read_only_view_that_later_points_leave_alone() -> None:
    rec = EquityRecorder()
    assert len(rec.curve()) == 0
    rec.record(1, 10.0)
    rec.record(2, 11.0)
    first = rec.curve()
    assert not first.equity.flags.writeable
    assert not first.ts.flags.writeable
    rec.record(2, 12.0)  # replaces the last point of the recorder, not of ``first``
    rec.record(3, 13.0)
    assert first.ts.tolist() == [1, 2]
    assert first.equity.tolist() == [10.0, 11.0]
    second = rec.curve()
    assert second.ts.tolist() == [1, 2, 3]
    assert second.equity.tolist() == [10.0, 12.0, 13.0]
    assert not np.shares_memory(first.equity, second.equity)


def test_irregular_times_round_trip_through_the_runs() -> None:
    rec = EquityRecorder()
    times = [1, 2, 3, 3, 5, 7, 9, 10, 20, 21, 22, 40]
    for ts in times:
        rec.record(ts, float(ts))
    curve = rec.curve()
    assert curve.ts.tolist() == sorted(set(times))
    assert curve.equity.tolist() == [float(t) for t in sorted(set(times))]
    with pytest.raises(ResultError):
        rec.record(39, 1.0)
