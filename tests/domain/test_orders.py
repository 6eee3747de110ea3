"""Orders: the state machine's edges, fill accounting, idempotency and refusals."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftbot.core.errors import IllegalTransitionError
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill, InvalidFillError, Liquidity
from mftbot.domain.orders import (
    ORDER_EDGES,
    FillRejectedError,
    InvalidOrderError,
    Order,
    OrderFSM,
    OrderStatus,
    OrderType,
    OverfillError,
)

S = OrderStatus
LEGAL = {
    (S.PENDING, S.SUBMITTED),
    (S.PENDING, S.REJECTED),
    (S.PENDING, S.CANCELED),
    (S.SUBMITTED, S.ACCEPTED),
    (S.SUBMITTED, S.PARTIALLY_FILLED),
    (S.SUBMITTED, S.FILLED),
    (S.SUBMITTED, S.REJECTED),
    (S.SUBMITTED, S.CANCELED),
    (S.SUBMITTED, S.EXPIRED),
    (S.ACCEPTED, S.PARTIALLY_FILLED),
    (S.ACCEPTED, S.FILLED),
    (S.ACCEPTED, S.CANCELED),
    (S.ACCEPTED, S.EXPIRED),
    (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, S.CANCELED),
    (S.PARTIALLY_FILLED, S.EXPIRED),
}
# shortest path from PENDING to each state, to put a fresh FSM there
PATH = {
    S.PENDING: [],
    S.SUBMITTED: [S.SUBMITTED],
    S.ACCEPTED: [S.SUBMITTED, S.ACCEPTED],
    S.PARTIALLY_FILLED: [S.SUBMITTED, S.PARTIALLY_FILLED],
    S.FILLED: [S.SUBMITTED, S.FILLED],
    S.CANCELED: [S.CANCELED],
    S.REJECTED: [S.REJECTED],
    S.EXPIRED: [S.SUBMITTED, S.EXPIRED],
}


def _fsm_in(state: OrderStatus) -> OrderFSM:
    fsm = OrderFSM(ts=0)
    for i, step in enumerate(PATH[state], start=1):
        fsm.transition(step, ts=i)
    assert fsm.state is state
    return fsm


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_exactly_the_documented_edges_are_legal(source: S, target: S) -> None:
    fsm = _fsm_in(source)
    if (source, target) in LEGAL:
        fsm.transition(target, ts=100, reason="test")
        assert fsm.state is target
        assert fsm.history[-1].source is source
        assert fsm.history[-1].target is target
        assert fsm.history[-1].ts == 100
    else:
        before = fsm.history
        with pytest.raises(IllegalTransitionError, match=f"{source.value} -> {target.value}"):
            fsm.transition(target, ts=100)
        assert fsm.state is source
        assert fsm.history == before


def test_edge_table_matches_the_documented_set() -> None:
    table = {(a, b) for a, targets in ORDER_EDGES.items() for b in targets}
    assert table == LEGAL
    terminal = {s for s in S if not ORDER_EDGES[s]}
    assert terminal == {S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED}


def _order(qty: float = 1.0, **kw: object) -> Order:
    args: dict[str, object] = {
        "client_order_id": "c1",
        "symbol": "BTC/USDT",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "qty": qty,
        "created_ts": 1,
        "price": 100.0,
    }
    args.update(kw)
    return Order(**args)  # type: ignore[arg-type]


def _fill(
    trade_id: str, qty: float, price: float, fee: float = 0.0, ts: int = 10, **kw: object
) -> Fill:
    args: dict[str, object] = {
        "client_order_id": "c1",
        "trade_id": trade_id,
        "symbol": "BTC/USDT",
        "side": Side.BUY,
        "price": price,
        "qty": qty,
        "fee": fee,
        "fee_currency": "USDT",
        "liquidity": Liquidity.TAKER,
        "ts": ts,
    }
    args.update(kw)
    return Fill(**args)  # type: ignore[arg-type]


def test_lifecycle_history_is_timestamped() -> None:
    order = _order(qty=2.0)
    order.mark_submitted(ts=2)
    order.accept(ts=3, venue_order_id="v9")
    assert order.apply_fill(_fill("t1", 0.5, 100.0, fee=0.05, ts=4))
    assert order.apply_fill(_fill("t2", 1.5, 104.0, fee=0.15, ts=5))
    assert order.status is S.FILLED
    assert order.venue_order_id == "v9"
    assert [(h.ts, h.target) for h in order.history] == [
        (1, S.PENDING),
        (2, S.SUBMITTED),
        (3, S.ACCEPTED),
        (4, S.PARTIALLY_FILLED),
        (5, S.FILLED),
    ]
    assert order.history[-1].reason == "fill t2"


def test_partial_fills_accumulate_with_weighted_average_and_fees() -> None:
    order = _order(qty=3.0)
    order.mark_submitted(ts=2)
    order.apply_fill(_fill("t1", 1.0, 100.0, fee=0.1))
    assert order.status is S.PARTIALLY_FILLED
    assert order.remaining_qty == pytest.approx(2.0)
    order.apply_fill(_fill("t2", 0.5, 106.0, fee=0.2))
    order.apply_fill(_fill("t3", 0.5, 110.0, fee=0.05, fee_currency="BNB"))
    assert order.status is S.PARTIALLY_FILLED
    assert order.filled_qty == pytest.approx(2.0)
    # (1×100 + 0.5×106 + 0.5×110) / 2 = 104
    assert order.avg_fill_price == pytest.approx(104.0)
    assert order.fees == pytest.approx({"USDT": 0.3, "BNB": 0.05})
    assert len(order.fills) == 3


def test_immediate_fill_before_ack_and_late_ack() -> None:
    order = _order(type=OrderType.MARKET, price=None)
    order.mark_submitted(ts=2)
    order.apply_fill(_fill("t1", 1.0, 101.0, ts=3))
    assert order.status is S.FILLED
    order.accept(ts=4, venue_order_id="v1")
    assert order.status is S.FILLED
    assert order.venue_order_id == "v1"
    assert order.history[-1].reason == "late ack in state filled"


def test_ack_for_an_unsent_or_rejected_order_raises() -> None:
    order = _order()
    with pytest.raises(IllegalTransitionError):
        order.accept(ts=2)
    order.reject(ts=2, reason="risk: max exposure")
    assert order.history[-1].reason == "risk: max exposure"
    with pytest.raises(IllegalTransitionError):
        order.accept(ts=3)


def test_duplicate_fill_is_ignored() -> None:
    order = _order(qty=2.0)
    order.mark_submitted(ts=2)
    assert order.apply_fill(_fill("t1", 1.0, 100.0, fee=0.1))
    assert not order.apply_fill(_fill("t1", 1.0, 100.0, fee=0.1))
    assert order.filled_qty == 1.0
    assert order.fees == {"USDT": 0.1}
    assert len(order.fills) == 1


def test_overfill_is_refused_and_changes_nothing() -> None:
    order = _order(qty=1.0)
    order.mark_submitted(ts=2)
    order.apply_fill(_fill("t1", 0.6, 100.0))
    with pytest.raises(OverfillError, match=r"would fill 1\.1 > order qty 1\.0"):
        order.apply_fill(_fill("t2", 0.5, 100.0))
    assert order.filled_qty == pytest.approx(0.6)
    assert order.status is S.PARTIALLY_FILLED
    assert [f.trade_id for f in order.fills] == ["t1"]


def test_float_noise_completes_instead_of_overfilling() -> None:
    order = _order(qty=0.3)
    order.mark_submitted(ts=2)
    order.apply_fill(_fill("t1", 0.1, 100.0))
    order.apply_fill(_fill("t2", 0.2, 100.0))  # 0.1 + 0.2 = 0.30000000000000004
    assert order.status is S.FILLED
    assert order.filled_qty == 0.3
    assert order.remaining_qty == 0.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("client_order_id", "other"), ("symbol", "ETH/USDT"), ("side", Side.SELL)],
)
def test_fill_for_another_order_is_refused(field: str, value: object) -> None:
    order = _order()
    order.mark_submitted(ts=2)
    with pytest.raises(FillRejectedError, match=field):
        order.apply_fill(_fill("t1", 1.0, 100.0, **{field: value}))
    assert order.filled_qty == 0.0


@pytest.mark.parametrize("state", [S.PENDING, S.REJECTED, S.FILLED])
def test_fill_in_a_state_that_cannot_trade_raises(state: S) -> None:
    order = _order()
    if state is S.REJECTED:
        order.reject(ts=2)
    elif state is S.FILLED:
        order.mark_submitted(ts=2)
        order.apply_fill(_fill("t0", 1.0, 100.0))
    with pytest.raises(IllegalTransitionError, match="cannot apply fill"):
        order.apply_fill(_fill("t1", 0.5, 100.0))


def test_late_fill_after_cancel_is_kept_but_status_stays() -> None:
    order = _order(qty=2.0)
    order.mark_submitted(ts=2)
    order.accept(ts=3)
    order.cancel(ts=5, reason="user")
    assert order.apply_fill(_fill("t1", 0.5, 99.0, ts=4))
    assert order.status is S.CANCELED
    assert order.filled_qty == 0.5
    assert "late fill t1 after canceled" in order.history[-1].reason
    # a late fill that would complete the order contradicts the cancel
    with pytest.raises(IllegalTransitionError, match="reconcile"):
        order.apply_fill(_fill("t2", 1.5, 99.0, ts=4))
    assert order.filled_qty == 0.5


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"qty": 0.0}, "qty"),
        ({"qty": float("nan")}, "qty"),
        ({"type": OrderType.LIMIT, "price": None}, "needs price"),
        ({"type": OrderType.MARKET, "price": 100.0}, "takes no price"),
        ({"type": OrderType.STOP_MARKET, "price": None}, "needs stop_price"),
        ({"type": OrderType.STOP_LIMIT, "stop_price": 90.0, "price": -1.0}, "price must be > 0"),
        ({"type": OrderType.LIMIT, "stop_price": 90.0}, "takes no stop_price"),
        ({"client_order_id": ""}, "client_order_id"),
    ],
)
def test_inconsistent_orders_are_refused(kw: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidOrderError, match=match):
        _order(**kw)


def test_stop_and_take_profit_orders_carry_trigger_prices() -> None:
    stop = _order(type=OrderType.STOP_LIMIT, price=95.0, stop_price=96.0, reduce_only=True)
    tp = _order(type=OrderType.TAKE_PROFIT_MARKET, price=None, stop_price=120.0)
    assert (stop.price, stop.stop_price, stop.reduce_only) == (95.0, 96.0, True)
    assert tp.stop_price == 120.0
    assert tp.price is None


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"price": 0.0}, "price"),
        ({"qty": -1.0}, "qty"),
        ({"fee": float("inf")}, "fee"),
        ({"trade_id": ""}, "trade_id"),
        ({"ts": -5}, "ts"),
    ],
)
def test_malformed_fills_are_refused(kw: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidFillError, match=match):
        _fill(**{"trade_id": "t", "qty": 1.0, "price": 1.0, **kw})  # type: ignore[arg-type]


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=1e-3, max_value=1.0),
            st.floats(min_value=1.0, max_value=1e5),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_fill_sequence_keeps_average_and_never_overfills(parts: list[tuple[float, float]]) -> None:
    qty = 10.0
    order = _order(qty=qty)
    order.mark_submitted(ts=2)
    accepted: list[tuple[float, float]] = []
    for i, (q, p) in enumerate(parts):
        try:
            order.apply_fill(_fill(f"t{i}", q, p))
            accepted.append((q, p))
        except OverfillError:
            assert order.filled_qty + q > qty
        except IllegalTransitionError:
            assert order.status is S.FILLED
        order.apply_fill(_fill("t0", parts[0][0], parts[0][1]))  # replays are no-ops
    filled = sum(q for q, _ in accepted)
    assert order.filled_qty == pytest.approx(filled)
    assert order.filled_qty <= qty
    assert order.avg_fill_price == pytest.approx(sum(q * p for q, p in accepted) / filled)
    expected = S.FILLED if filled >= qty * (1 - 1e-9) else S.PARTIALLY_FILLED
    assert order.status is expected
