"""Positions: the state machine, entry averaging, realised PnL and protection levels."""

from __future__ import annotations

import itertools

import pytest

from mftbot.core.errors import IllegalTransitionError
from mftbot.domain.enums import Side
from mftbot.domain.positions import (
    POSITION_EDGES,
    Position,
    PositionError,
    PositionFSM,
    PositionSide,
    PositionStatus,
)

P = PositionStatus
LEGAL = {
    (P.OPENING, P.OPEN),
    (P.OPENING, P.CLOSED),
    (P.OPEN, P.CLOSING),
    (P.OPEN, P.CLOSED),
    (P.CLOSING, P.OPEN),
    (P.CLOSING, P.CLOSED),
}
PATH = {
    P.OPENING: [],
    P.OPEN: [P.OPEN],
    P.CLOSING: [P.OPEN, P.CLOSING],
    P.CLOSED: [P.CLOSED],
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(P, P)))
def test_exactly_the_documented_edges_are_legal(source: P, target: P) -> None:
    fsm = PositionFSM(ts=0)
    for i, step in enumerate(PATH[source], start=1):
        fsm.transition(step, ts=i)
    if (source, target) in LEGAL:
        fsm.transition(target, ts=50)
        assert fsm.state is target
        assert (fsm.history[-1].source, fsm.history[-1].ts) == (source, 50)
    else:
        with pytest.raises(IllegalTransitionError):
            fsm.transition(target, ts=50)
        assert fsm.state is source
    assert {(a, b) for a, ts in POSITION_EDGES.items() for b in ts} == LEGAL


def _long() -> Position:
    return Position("p1", "BTC/USDT:USDT", PositionSide.LONG, opened_ts=1)


def test_entries_average_and_reduction_realises_pnl() -> None:
    pos = _long()
    assert pos.status is P.OPENING
    pos.increase(1.0, 100.0, ts=2)
    pos.increase(3.0, 120.0, ts=3)
    assert pos.status is P.OPEN
    assert pos.avg_entry_price == pytest.approx(115.0)  # (100 + 360) / 4
    assert pos.unrealised_pnl(125.0) == pytest.approx(40.0)
    assert pos.reduce(1.0, 130.0, ts=4) == pytest.approx(15.0)
    assert pos.qty == pytest.approx(3.0)
    assert pos.avg_entry_price == pytest.approx(115.0)  # reducing keeps the entry
    pos.mark_closing(ts=5, reason="tp order sent")
    assert pos.reduce(3.0, 110.0, ts=6) == pytest.approx(-15.0)
    assert pos.status is P.CLOSED
    assert pos.closed_ts == 6
    assert pos.realised_pnl == pytest.approx(0.0)
    assert [h.target for h in pos.history] == [P.OPENING, P.OPEN, P.CLOSING, P.CLOSED]


def test_short_pnl_sign_and_net_pnl() -> None:
    pos = Position("s1", "ETH/USDT:USDT", PositionSide.SHORT, opened_ts=0)
    pos.increase(2.0, 2000.0, ts=1)
    assert pos.signed_qty == -2.0
    assert pos.unrealised_pnl(1900.0) == pytest.approx(200.0)
    assert pos.reduce(2.0, 1950.0, ts=2) == pytest.approx(100.0)
    pos.add_fee(1.5)
    pos.add_funding(-0.25)
    assert pos.net_pnl == pytest.approx(100.0 - 1.5 - 0.25)


def test_reduce_past_zero_and_changes_after_close_are_refused() -> None:
    pos = _long()
    pos.increase(1.0, 100.0, ts=2)
    with pytest.raises(PositionError, match="exceeds open qty"):
        pos.reduce(1.5, 100.0, ts=3)
    assert pos.qty == 1.0
    pos.reduce(1.0, 100.0, ts=3)
    with pytest.raises(IllegalTransitionError, match="closed"):
        pos.increase(1.0, 100.0, ts=4)
    with pytest.raises(IllegalTransitionError):
        pos.reduce(1.0, 100.0, ts=4)


def test_exit_canceled_returns_to_open_and_unfilled_entry_is_abandoned() -> None:
    pos = _long()
    pos.increase(1.0, 100.0, ts=2)
    pos.mark_closing(ts=3)
    pos.reduce(0.4, 101.0, ts=4)
    assert pos.status is P.CLOSING
    pos.cancel_closing(ts=5, reason="exit canceled")
    assert pos.status is P.OPEN
    with pytest.raises(PositionError, match="holds"):
        pos.abandon(ts=6)
    empty = _long()
    empty.abandon(ts=2, reason="entry rejected")
    assert empty.status is P.CLOSED
    assert empty.closed_ts == 2


@pytest.mark.parametrize(
    ("side", "sl", "tp", "ok"),
    [
        (PositionSide.LONG, 90.0, 120.0, True),
        (PositionSide.LONG, 120.0, 90.0, False),
        (PositionSide.SHORT, 120.0, 90.0, True),
        (PositionSide.SHORT, 90.0, 120.0, False),
        (PositionSide.LONG, -1.0, None, False),
        (PositionSide.LONG, None, float("nan"), False),
    ],
)
def test_protection_levels_are_checked(
    side: PositionSide, sl: float | None, tp: float | None, ok: bool
) -> None:
    if ok:
        pos = Position("p", "X/USDT", side, 0, stop_loss=sl, take_profit=tp)
        assert (pos.stop_loss, pos.take_profit) == (sl, tp)
    else:
        with pytest.raises(PositionError):
            Position("p", "X/USDT", side, 0, stop_loss=sl, take_profit=tp)


@pytest.mark.parametrize(
    ("qty", "price"), [(0.0, 1.0), (-1.0, 1.0), (1.0, 0.0), (1.0, float("inf"))]
)
def test_bad_quantities_and_prices_are_refused(qty: float, price: float) -> None:
    with pytest.raises(PositionError):
        _long().increase(qty, price, ts=1)


def test_side_from_order_side() -> None:
    assert PositionSide.opened_by(Side.BUY) is PositionSide.LONG
    assert PositionSide.opened_by(Side.SELL) is PositionSide.SHORT
    assert PositionSide.SHORT.sign == -1
