"""Order intents and the pass-through risk engine."""

from __future__ import annotations

import pytest

from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.orders import OrderType
from mftbot.risk import InvalidIntentError, OrderIntent, PassThroughRisk, RiskContext, RiskDecision


def test_pass_through_approves_the_same_intent() -> None:
    intent = OrderIntent("s", "ETH/BTC", Side.SELL, IntentKind.EXIT, 5, qty=2.0)
    context = RiskContext(ts=5, equity=1.0, available=1.0, position_qty=2.0, last_price=0.1)
    decision = PassThroughRisk().check(intent, context)
    assert decision.approved
    assert decision.intent is intent


def test_quote_sized_intent_has_a_provisional_base_quantity() -> None:
    intent = OrderIntent(
        "s", "ETH/BTC", Side.BUY, IntentKind.ENTRY, 0, quote_qty=50.0, ref_price=0.05
    )
    assert intent.base_qty == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"qty": 1.0, "quote_qty": 1.0, "ref_price": 1.0}, "exactly one"),
        ({}, "exactly one"),
        ({"qty": -1.0}, "qty must be"),
        ({"qty": float("nan")}, "qty must be"),
        ({"quote_qty": 10.0}, "ref_price"),
        ({"quote_qty": 10.0, "ref_price": 1.0, "side": Side.SELL}, "market buys only"),
        (
            {"quote_qty": 10.0, "ref_price": 1.0, "order_type": OrderType.LIMIT, "price": 1.0},
            "market buys only",
        ),
        ({"qty": 1.0, "signal_ts": -1}, "signal_ts"),
        ({"qty": 1.0, "symbol": ""}, "symbol"),
    ],
)
def test_inconsistent_intents_are_refused(kwargs: dict[str, object], match: str) -> None:
    fields: dict[str, object] = {
        "strategy": "s",
        "symbol": "ETH/BTC",
        "side": Side.BUY,
        "intent": IntentKind.ENTRY,
        "signal_ts": 0,
    }
    fields.update(kwargs)
    with pytest.raises(InvalidIntentError, match=match):
        OrderIntent(**fields)  # type: ignore[arg-type]


def test_decisions_must_be_complete() -> None:
    assert RiskDecision.reject("too big").reason == "too big"
    with pytest.raises(InvalidIntentError):
        RiskDecision(True, None)
    with pytest.raises(InvalidIntentError):
        RiskDecision(False, None, "")
