"""The step-mode event loop: a hand-computed run, risk, the ledger, feeds and errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.backtest.api import validate_candles
from mftbot.core.clock import SimulatedClock
from mftbot.core.ids import IntentKind, client_order_id
from mftbot.data.candles import read_candles
from mftbot.domain.enums import Side
from mftbot.domain.events import BookSnapshot, CandleClosed, MarketEvent, TradeTick
from mftbot.domain.fills import Fill, Liquidity
from mftbot.domain.orders import OrderStatus
from mftbot.domain.positions import PositionStatus
from mftbot.engine.engine import Engine, EngineError, StrategyBinding
from mftbot.engine.feed import CandleFeed, EventFeed
from mftbot.engine.portfolio import Portfolio
from mftbot.engine.signals import SignalSourceError
from mftbot.execution import (
    InMemoryLedger,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    VenueReport,
)
from mftbot.execution.sim import CandleSimVenue
from mftbot.risk import OrderIntent, RiskContext, RiskDecision
from mftbot.strategies import CandleWindow, Signals, StrategyConfig, get_strategy

M = 60_000_000_000
OPENS = [10.0, 10.0, 12.5, 13.0, 15.0, 15.0]
CLOSES = [10.0, 10.0, 13.0, 14.0, 15.0, 16.0]


class ScriptConfig(StrategyConfig):
    entries: tuple[int, ...] = ()
    exits: tuple[int, ...] = ()
    short_at: tuple[int, ...] = ()


class Script:
    """Signals at fixed bar open times (minutes since the epoch): causal by construction."""

    name = "script"

    def __init__(self, config: ScriptConfig) -> None:
        self.config = config

    @property
    def warmup(self) -> int:
        return 0

    @property
    def lookback(self) -> int:
        return 1

    def populate(self, window: CandleWindow) -> Signals:
        minute = window.time_ns // M
        short = np.isin(minute, self.config.short_at)
        return Signals(
            entry_long=np.isin(minute, self.config.entries),
            exit_long=np.isin(minute, self.config.exits),
            entry_short=short,
            exit_short=np.zeros_like(short),
        )


def candles(opens: list[float], closes: list[float]) -> CandleArrays:
    o, c = np.array(opens), np.array(closes)
    return CandleArrays.from_arrays(
        open=o,
        high=np.maximum(o, c),
        low=np.minimum(o, c),
        close=c,
        volume=np.ones(len(o)),
        time_ns=np.arange(len(o), dtype=np.int64) * M,
    )


def make_engine(
    strategy: object,
    *,
    fill: str = "next_open",
    fee: float = 0.01,
    cash: float = 1000.0,
    risk: object = None,
    ledger: InMemoryLedger | None = None,
    venue: object = None,
    symbol: str = "ETH/BTC",
    timeframe: str = "1m",
) -> Engine:
    return Engine(
        venue=venue or CandleSimVenue({"BTC": cash}, fee=fee, fill=fill),  # type: ignore[arg-type]
        portfolio=Portfolio({"BTC": cash}, account_currency="BTC"),
        strategies=[StrategyBinding(strategy, symbol, timeframe)],  # type: ignore[arg-type]
        clock=SimulatedClock(),
        risk=risk,  # type: ignore[arg-type]
        ledger=ledger,
    )


def test_a_round_trip_by_hand_with_next_open_fills() -> None:
    ledger = InMemoryLedger()
    engine = make_engine(Script(ScriptConfig(entries=(1,), exits=(3,))), ledger=ledger)
    result = engine.run(CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m"))
    qty = 1000.0 / (12.5 * 1.01)
    buy, sell = result.fills
    assert (buy.side, buy.price, buy.ts) == (Side.BUY, 12.5, 2 * M)
    assert (sell.side, sell.price, sell.ts) == (Side.SELL, 15.0, 4 * M)
    assert buy.qty == sell.qty == pytest.approx(qty, rel=1e-15)
    assert buy.fee == pytest.approx(12.5 * qty * 0.01)
    cash_after = 1000.0 - 12.5 * qty * 1.01 + 15.0 * qty * 0.99
    assert result.equity.ts.tolist() == [(i + 1) * M for i in range(6)]
    expected = [1000.0, 1000.0, 13.0 * qty, 14.0 * qty, cash_after, cash_after]
    assert result.equity.equity.tolist() == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert result.portfolio.equity() == pytest.approx(cash_after)
    assert [o.status for o in result.orders] == [OrderStatus.FILLED, OrderStatus.FILLED]
    position = result.portfolio.closed_positions[0]
    assert [t.target for t in position.history] == [
        PositionStatus.OPENING,
        PositionStatus.OPEN,
        PositionStatus.CLOSING,
        PositionStatus.CLOSED,
    ]
    ids = [
        client_order_id("mftbot", "script", "ETH/BTC", t * M, k, venue="sim")
        for t, k in ((2, IntentKind.ENTRY), (4, IntentKind.EXIT))
    ]
    assert [o.client_order_id for o in result.orders] == ids
    assert [e.status for e in ledger.entries()] == [OrderStatus.FILLED, OrderStatus.FILLED]


def test_close_fills_happen_on_the_signal_bar() -> None:
    engine = make_engine(Script(ScriptConfig(entries=(1,), exits=(3,))), fill="close", fee=0.0)
    result = engine.run(CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m"))
    assert [(f.price, f.ts) for f in result.fills] == [(10.0, 2 * M), (14.0, 4 * M)]
    assert result.equity.equity[-1] == pytest.approx(1400.0)


def test_an_entry_on_the_last_bar_stays_working() -> None:
    engine = make_engine(Script(ScriptConfig(entries=(5,))))
    result = engine.run(CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m"))
    assert result.fills == ()
    assert [o.status for o in result.orders] == [OrderStatus.ACCEPTED]
    assert result.equity.equity.tolist() == [1000.0] * 6


class Refuse:
    def __init__(self) -> None:
        self.seen: list[RiskContext] = []

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskDecision:
        self.seen.append(context)
        return RiskDecision.reject("limit reached")


class Halve:
    def check(self, intent: OrderIntent, context: RiskContext) -> RiskDecision:
        assert intent.quote_qty is not None
        smaller = OrderIntent(
            intent.strategy,
            intent.symbol,
            intent.side,
            intent.intent,
            intent.signal_ts,
            quote_qty=intent.quote_qty / 2,
            ref_price=intent.ref_price,
        )
        return RiskDecision.approve(smaller)


def test_risk_can_refuse_or_resize() -> None:
    risk = Refuse()
    engine = make_engine(Script(ScriptConfig(entries=(1, 2))), risk=risk)
    result = engine.run(CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m"))
    assert result.orders == ()
    assert result.fills == ()
    assert [r.reason for r in result.rejected] == ["limit reached", "limit reached"]
    assert risk.seen[0].equity == 1000.0
    assert risk.seen[0].last_price == 10.0
    assert result.portfolio.positions == {}
    engine = make_engine(Script(ScriptConfig(entries=(1,))), risk=Halve(), fee=0.0)
    result = engine.run(CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m"))
    assert result.fills[0].qty == pytest.approx(500.0 / 12.5)
    assert result.portfolio.cash("BTC") == pytest.approx(500.0)


def test_a_rejected_entry_abandons_the_expected_position() -> None:
    class Broke:
        name = "sim"

        def submit(self, request: OrderRequest) -> list[VenueReport]:
            return [OrderRejected("sim", request.client_order_id, request.ts, request.ts, "no")]

        def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
            return []

        def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
            return []

    engine = make_engine(Script(ScriptConfig(entries=(1, 3))), venue=Broke())
    result = engine.run(CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m"))
    assert [o.status for o in result.orders] == [OrderStatus.REJECTED] * 2
    closed = result.portfolio.closed_positions
    assert [p.status for p in closed] == [PositionStatus.CLOSED] * 2
    assert result.portfolio.positions == {}


def test_reports_may_arrive_through_the_feed() -> None:
    class Silent:
        """A venue whose answers come over its private stream, not from submit()."""

        name = "sim"

        def submit(self, request: OrderRequest) -> list[VenueReport]:
            return []

        def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
            return []

        def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
            return []

    coid = client_order_id("mftbot", "script", "ETH/BTC", 2 * M, IntentKind.ENTRY, venue="sim")
    fill = Fill(coid, "x1", "ETH/BTC", Side.BUY, 12.5, 50.0, 0.5, "BTC", Liquidity.TAKER, 2 * M)
    bars = list(CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m"))
    events: list[object] = [
        *bars[:2],
        OrderAccepted("sim", coid, 2 * M + 1, 2 * M + 2),
        OrderFilled("sim", coid, 2 * M + 3, 2 * M + 4, fill, leaves_qty=0.0),
        *bars[2:],
    ]
    engine = make_engine(Script(ScriptConfig(entries=(1,))), venue=Silent())
    result = engine.run(EventFeed(events))  # type: ignore[arg-type]
    assert result.fills == (fill,)
    assert result.orders[0].status is OrderStatus.FILLED
    assert result.portfolio.cash("BTC") == pytest.approx(1000.0 - 625.0 - 0.5)
    assert result.equity.equity[-1] == pytest.approx(374.5 + 50.0 * 16.0)


def test_market_events_between_candles() -> None:
    bars = list(CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m"))

    def stream() -> Iterator[object]:
        for i, bar in enumerate(bars):
            yield bar
            ts = bar.ts_event + 1
            yield TradeTick("sim", "ETH/BTC", ts, ts, CLOSES[i], 1.0, Side.BUY, f"t{i}")
            yield BookSnapshot(
                "sim", "ETH/BTC", ts, ts, i, [(CLOSES[i] - 1, 1.0)], [(CLOSES[i] + 1, 1.0)]
            )

    engine = make_engine(Script(ScriptConfig(entries=(1,), exits=(3,))))
    result = engine.run(EventFeed(stream()))  # type: ignore[arg-type]
    assert len(result.fills) == 2
    assert result.equity.ts.tolist() == [(i + 1) * M for i in range(6)]
    book = engine.market.book("ETH/BTC")
    assert book is not None
    assert book.best_bid == (15.0, 1.0)
    assert len(engine.market.symbol("ETH/BTC").trades) == 6


def test_rolling_window_and_precomputed_signals_agree_on_real_data(data_dir: Path) -> None:
    frame = read_candles(data_dir / "freqtrade" / "LTC_BTC-5m.feather").iloc[:2500]
    arrays = validate_candles(frame)
    runs = []
    for feed_type in ("history", "live"):
        feed = CandleFeed(arrays, symbol="LTC/BTC", timeframe="5m")
        engine = make_engine(get_strategy("sma_cross"), symbol="LTC/BTC", timeframe="5m", fee=0.001)
        runs.append(engine.run(feed if feed_type == "history" else EventFeed(iter(feed))))
    history, live = runs
    assert len(history.fills) > 20
    assert history.fills == live.fills
    assert np.array_equal(history.equity.equity, live.equity.equity)


def test_misuse_is_an_error() -> None:
    feed = CandleFeed(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m")
    engine = make_engine(Script(ScriptConfig(short_at=(2,))))
    with pytest.raises(EngineError, match="short signals"):
        engine.run(feed)
    strategy = Script(ScriptConfig())
    with pytest.raises(EngineError, match="one strategy per symbol"):
        Engine(
            venue=CandleSimVenue({"BTC": 1.0}),
            portfolio=Portfolio({"BTC": 1.0}, account_currency="BTC"),
            strategies=[StrategyBinding(strategy, "ETH/BTC", "1m")] * 2,
            clock=SimulatedClock(),
        )
    engine = make_engine(strategy)
    engine.on_event(next(iter(feed)))
    with pytest.raises(EngineError, match="before the first event"):
        engine.prepare(feed)
    with pytest.raises(EngineError, match="does not handle"):
        engine.on_event("tick")  # type: ignore[arg-type]


def test_a_feed_that_disagrees_with_its_history_is_caught() -> None:
    class Skipping(CandleFeed):
        def __iter__(self) -> Iterator[CandleClosed]:
            return (e for i, e in enumerate(super().__iter__()) if i != 3)

    feed = Skipping(candles(OPENS, CLOSES), symbol="ETH/BTC", timeframe="1m")
    with pytest.raises(SignalSourceError, match="bar 3 of the feed opens at"):
        make_engine(Script(ScriptConfig())).run(feed)
