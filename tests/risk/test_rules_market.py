"""Market and calendar rules: allow-list, stale data, manipulation, sessions, fat finger,
exchange quantity/lot/tick rules."""

from __future__ import annotations

from dataclasses import replace

from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.orders import OrderType
from mftbot.risk.base import OrderIntent, RiskContext
from mftbot.risk.config import RiskConfig
from mftbot.risk.limits import LossLimits
from mftbot.risk.rules import CheckInput
from mftbot.risk.rules_market import (
    ManipulationRule,
    MarketDataRule,
    PriceDeviationRule,
    QuantityRule,
    SessionRule,
    SymbolAllowedRule,
)
from mftbot.risk.state import RiskState

SECOND = 1_000_000_000
MONDAY_NOON = 1_774_267_200_000_000_000  # 2026-03-23 12:00 UTC
SATURDAY_NOON = MONDAY_NOON + 5 * 24 * 3600 * SECOND


def make_input(
    intent: OrderIntent | None = None,
    *,
    config: dict[str, object] | None = None,
    now: int = MONDAY_NOON,
    state: RiskState | None = None,
    qty: float | None = None,
) -> CheckInput:
    cfg = RiskConfig.coerce(config or {})
    intent = intent or OrderIntent("s", "BTC/USDT", Side.BUY, IntentKind.ENTRY, now, qty=0.1)
    return CheckInput(
        intent=intent,
        context=RiskContext(now, 10_000.0, 10_000.0, 0.0, 70_000.0),
        config=cfg,
        state=state or RiskState(cfg),
        limits=LossLimits(cfg.limits),
        qty=intent.base_qty if qty is None else qty,
        price=70_000.0,
    )


class FakeMonitor:
    """Answers like the manipulation monitor for one symbol and a time window."""

    def __init__(self, symbol: str, until: int) -> None:
        self.symbol = symbol
        self.until = until
        self.asked: list[tuple[str, int, float]] = []

    def is_active(self, symbol: str, now_ns: int, *, min_confidence: float = 0.0) -> bool:
        self.asked.append((symbol, now_ns, min_confidence))
        return symbol == self.symbol and now_ns <= self.until


def test_allow_list() -> None:
    cfg = {"checks": {"allowed_symbols": ["ETH/USDT", "SOL/USDT"]}}
    fail = SymbolAllowedRule().check(make_input(config=cfg))
    assert not fail.passed
    assert fail.reason == "BTC/USDT is not on the allow-list (ETH/USDT, SOL/USDT)"
    assert SymbolAllowedRule().check(make_input()).passed


def test_stale_data_and_no_data() -> None:
    state = RiskState(RiskConfig())
    none = MarketDataRule().check(make_input(state=state))
    assert none.reason == "no market data received for BTC/USDT"
    state.on_market_data("BTC/USDT", MONDAY_NOON - 30 * SECOND)
    assert MarketDataRule().check(make_input(state=state)).passed
    state2 = RiskState(RiskConfig())
    state2.on_market_data("BTC/USDT", MONDAY_NOON - 185 * SECOND)
    stale = MarketDataRule().check(make_input(state=state2))
    assert not stale.passed
    assert stale.reason == "stale market data: BTC/USDT last seen 185.0 s ago, limit 120 s"


def test_manipulation_blocks_while_active() -> None:
    monitor = FakeMonitor("BTC/USDT", until=MONDAY_NOON + 5 * SECOND)
    rule = ManipulationRule(monitor)
    cfg = {"checks": {"manipulation_min_confidence": 0.6}}
    fail = rule.check(make_input(config=cfg))
    assert not fail.passed
    assert fail.reason == "manipulation pattern active on BTC/USDT (confidence ≥ 0.6)"
    assert monitor.asked[-1] == ("BTC/USDT", MONDAY_NOON, 0.6)
    assert rule.check(make_input(now=MONDAY_NOON + 6 * SECOND)).passed
    off = rule.check(make_input(config={"checks": {"block_on_manipulation": False}}))
    assert off.passed
    assert ManipulationRule(None).check(make_input()).passed


def test_weekend_and_overnight_blocks() -> None:
    weekend = {"checks": {"block_weekend": True}}
    fail = SessionRule().check(make_input(config=weekend, now=SATURDAY_NOON))
    assert not fail.passed
    assert fail.reason == "weekend (UTC): entries are blocked"
    assert SessionRule().check(make_input(config=weekend)).passed
    night = {"checks": {"blocked_hours_utc": [12]}}
    blocked = SessionRule().check(make_input(config=night))
    assert blocked.reason == "12:00 UTC is a blocked hour"
    assert SessionRule().check(make_input(config=night, now=MONDAY_NOON + 3600 * SECOND)).passed


def test_fat_finger_price_deviation() -> None:
    state = RiskState(RiskConfig())
    state.on_market_data("BTC/USDT", MONDAY_NOON, price=70_000.0)
    limit = OrderIntent(
        "s",
        "BTC/USDT",
        Side.BUY,
        IntentKind.ENTRY,
        0,
        qty=0.1,
        order_type=OrderType.LIMIT,
        price=74_000.0,
    )
    fail = PriceDeviationRule().check(make_input(limit, state=state))
    assert not fail.passed
    assert fail.reason == "price 74,000 is 5.71 % from the market 70,000, limit 5.00 %"
    near = replace(limit, price=72_000.0)
    assert PriceDeviationRule().check(make_input(near, state=state)).passed
    market = OrderIntent("s", "BTC/USDT", Side.BUY, IntentKind.ENTRY, 0, qty=0.1)
    assert PriceDeviationRule().check(make_input(market, state=state)).reason == (
        "market order at the market price"
    )


def test_quantity_lot_tick_rules() -> None:
    spec = {
        "markets": {
            "BTC/USDT": {"lot_size": 0.001, "min_qty": 0.001, "max_qty": 5.0, "tick_size": 0.1}
        }
    }
    rule = QuantityRule()
    assert rule.check(make_input(config=spec, qty=0.123)).passed
    off_lot = rule.check(make_input(config=spec, qty=0.1234))
    assert off_lot.reason == "quantity 0.1234 is not a multiple of the lot 0.001"
    small = rule.check(make_input(config=spec, qty=0.0004))
    assert small.reason == "quantity 0.0004 below the minimum 0.001"
    big = rule.check(make_input(config=spec, qty=6.0))
    assert big.reason == "quantity 6 above the maximum 5"
    limit = OrderIntent(
        "s",
        "BTC/USDT",
        Side.BUY,
        IntentKind.ENTRY,
        0,
        qty=0.1,
        order_type=OrderType.LIMIT,
        price=70_000.05,
    )
    assert rule.check(make_input(limit, config=spec)).reason == (
        "price 70,000.05 is not on the tick 0.1"
    )
    assert not rule.check(make_input(qty=0.0)).passed
    assert "no market rules" in rule.check(make_input()).reason
